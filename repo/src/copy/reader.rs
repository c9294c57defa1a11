//! A source file's content as a byte stream, for the destination's chunker: SPEC.md §
//! [Reading a snapshot](../../../SPEC.md#reading-a-snapshot), step 6.
//!
//! Chunks are fetched and decoded ahead on several threads, in file order, by the same
//! machinery as restore (`for_each_in_order`, a bounded window), and handed over a bounded
//! channel to a [`Read`] the chunker pulls from; memory stays a few chunks whatever the
//! file's size. The file's length and whole-file hash (source key) are checked as the
//! bytes pass: a copy must not store a file the source could not prove whole.

use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::content::ChunkEntries;
use crate::restore::fetch::{fetch_into, for_each_in_order};
use crossbeam_channel::{bounded, Receiver};
use format_spec::id::BlobId;
use format_spec::list::Content;
use format_spec::tree::Node;
use std::io::Read;

/// Decoded chunks waiting for the chunker.
const QUEUE: usize = 4;

/// Calls `f` with a reader of `node`'s content in `src` (`content` taken from the node).
/// A read error reaches `f` as an I/O error wrapping the engine's [`Error`]
/// ([`engine_error`] unwraps it).
pub fn with_content<R>(
    src: &Repository,
    index: &MasterIndex,
    node: &Node,
    content: &Content,
    path: &str,
    f: impl FnOnce(&mut dyn Read) -> R,
) -> R {
    // At most one chunk (most files): no thread is worth starting. Its ID check is the
    // whole-file check (a one-chunk file's hash is its chunk's ID).
    if let (0, [] | [_]) = (content.level, content.entries.as_slice()) {
        let mut buf = Vec::new();
        let r = match content.entries.first() {
            Some(only) => fetch_into(src, index, only, path, &mut buf),
            None => Ok(()),
        }
        .and_then(|()| {
            check_whole(node, path, buf.len() as u64, None)?;
            Ok(buf)
        });
        return match r {
            Ok(buf) => f(&mut std::io::Cursor::new(buf)),
            Err(e) => f(&mut Failing(Some(e))),
        };
    }
    let (tx, rx) = bounded::<Result<Vec<u8>>>(QUEUE);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut hasher = blake3::Hasher::new_keyed(&src.keys().blob_id.0);
            let mut size = 0u64;
            let mut entries = ChunkEntries::new(src, index, content);
            let r = for_each_in_order(src, index, &mut entries, path, &mut |b| {
                size += b.len() as u64;
                if node.hash.is_some() {
                    hasher.update(b);
                }
                tx.send(Ok(b.to_vec()))
                    .map_err(|_| Error::Internal("the chunker stopped reading".into()))
            })
            .and_then(|()| {
                let hash = BlobId(*hasher.finalize().as_bytes());
                check_whole(node, path, size, Some(hash))
            });
            if let Err(e) = r {
                // The chunker may have stopped already; then nobody needs the error.
                let _ = tx.send(Err(e));
            }
        });
        let mut reader = ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        };
        let out = f(&mut reader);
        // Dropping the receiver stops a fetcher the chunker gave up on.
        drop(reader);
        out
    })
}

/// The file's length, and its whole-file hash when it records one, against its node.
fn check_whole(node: &Node, path: &str, size: u64, hash: Option<BlobId>) -> Result<()> {
    let hash_ok = match (node.hash, hash) {
        (Some(want), Some(got)) => want == got,
        _ => true,
    };
    if size != node.size || !hash_ok {
        return Err(Error::damaged(
            format!("file {path} (source repository)"),
            std::io::Error::other(format!(
                "its content ({size} bytes) does not match its node ({} bytes{})",
                node.size,
                if hash_ok { "" } else { ", other hash" }
            )),
        ));
    }
    Ok(())
}

/// The engine error inside an I/O error from [`with_content`]'s reader, or the I/O error
/// itself as a failed read of the source repository.
pub fn engine_error(e: std::io::Error, path: &str) -> Error {
    let kind = e.kind();
    let what = format!("file {path} (source repository)");
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(engine)) => *engine,
        Some(Err(other)) => Error::RepoRead {
            what,
            cause: std::io::Error::new(kind, other),
        },
        None => Error::RepoRead {
            what,
            cause: std::io::Error::from(kind),
        },
    }
}

/// Chunks from the fetcher, then end of file (or its error).
struct ChannelReader {
    rx: Receiver<Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(left) = self.cur.get(self.pos..).filter(|l| !l.is_empty()) {
                let n = left.len().min(out.len());
                if let (Some(dst), Some(src)) = (out.get_mut(..n), left.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.pos += n;
                return Ok(n);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// A reader that fails at once with an engine error.
struct Failing(Option<Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(std::io::Error::other(e)),
            None => Ok(0),
        }
    }
}
