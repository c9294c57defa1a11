//! Streaming chunker: SPEC.md § [Chunking](../../SPEC.md#chunking).
//!
//! Holds at most two maximum-size chunks of input at a time, whatever the stream's length.

use format_spec::chunking::Chunker;
use std::io::{self, Read};

/// Cuts a reader into content-defined chunks.
pub struct StreamChunker<'c, R> {
    reader: R,
    chunker: &'c Chunker,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<'c, R: Read> StreamChunker<'c, R> {
    /// Wraps a reader.
    pub fn new(reader: R, chunker: &'c Chunker) -> Self {
        Self::with_buffer(reader, chunker, Vec::new())
    }

    /// Wraps a reader, reusing `buf` (from [`Self::into_buffer`]) so that a walk over many
    /// small files does not allocate and zero two maximum-size chunks per file.
    pub fn with_buffer(reader: R, chunker: &'c Chunker, mut buf: Vec<u8>) -> Self {
        let cap = chunker.params().max as usize * 2;
        if buf.len() != cap {
            buf = vec![0u8; cap];
        }
        Self {
            reader,
            chunker,
            buf,
            start: 0,
            end: 0,
            eof: false,
        }
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "start <= end <= buf.len() is kept by every update"
    )]
    fn fill(&mut self) -> io::Result<()> {
        let max = self.chunker.params().max as usize;
        if self.end - self.start >= max || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < self.buf.len() {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Gives the buffer back for the next stream.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The next chunk, or `None` at the end of the stream.
    #[expect(
        clippy::indexing_slicing,
        reason = "start <= end <= buf.len() and n <= avail.len()"
    )]
    pub fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.fill()?;
        let avail = &self.buf[self.start..self.end];
        if avail.is_empty() {
            return Ok(None);
        }
        let n = self.chunker.cut(avail).clamp(1, avail.len());
        let out = avail[..n].to_vec();
        self.start += n;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::config::ChunkerParams;
    use format_spec::crypto::SubKey;

    /// A reader that returns at most 7 bytes per call, to exercise refills.
    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(7).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn streaming_matches_whole_buffer_cuts() {
        let mut data = vec![0u8; 300_000];
        blake3::Hasher::new()
            .update(b"x")
            .finalize_xof()
            .fill(&mut data);
        let c = Chunker::new(
            &SubKey([3; 32]),
            ChunkerParams {
                min: 4096,
                avg: 16384,
                max: 65536,
            },
        );
        let mut s = StreamChunker::new(Dribble(&data), &c);
        let mut lens = Vec::new();
        let mut joined = Vec::new();
        while let Some(ch) = s.next_chunk().unwrap() {
            lens.push(ch.len());
            joined.extend_from_slice(&ch);
        }
        assert_eq!(joined, data);
        assert_eq!(lens, c.lengths(&data));
    }
}
