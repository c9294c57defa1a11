//! One restored file whose chunks several workers decode at once and write in order.
//! SPEC.md § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! Workers decode a file's chunks in parallel; the chunks are written in file order, by
//! whichever worker holds the next one: a chunk decoded before its predecessors is parked
//! (up to [`PARK_BYTES`] per file; beyond that its worker waits), and the worker that
//! writes the chunk before it writes it too. Writing one file from two threads at once
//! gains nothing (the filesystem takes the inode's lock for every write; on ext4 the second
//! writer spins on it, burning the core another chunk could be decoded on), and in order
//! the whole-file hash of `--verify` comes free with the write. The worker that writes the
//! last byte finishes the file.

use super::fetch::BufPool;
use crate::error::{Error, Result};
use format_spec::tree::Node;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Decoded bytes a file may hold waiting for earlier chunks before its workers wait.
pub const PARK_BYTES: usize = 8 << 20;

/// Sparse writes skip all-zero blocks of this size (aligned in the file).
const BLOCK: usize = 4096;

/// A file being restored.
pub struct FileTask {
    /// Where it is written.
    pub target: PathBuf,
    /// Its path in the snapshot, for messages.
    pub shown: String,
    /// Its tree node (size, hash, metadata).
    pub node: Node,
    /// Open for reading and writing.
    pub file: File,
    /// Leave all-zero blocks as holes.
    sparse: bool,
    state: Mutex<WriteState>,
    advanced: Condvar,
    /// The whole-file hash, when computed; only the worker writing the next chunk uses it.
    hasher: Mutex<Option<blake3::Hasher>>,
}

struct WriteState {
    /// Bytes written so far: the offset of the next chunk to write. The worker holding
    /// that chunk writes it (outside the lock) and then advances this.
    written: u64,
    /// Chunks decoded before their predecessors, by offset.
    parked: BTreeMap<u64, Vec<u8>>,
    parked_bytes: usize,
    /// A chunk of this file failed: nothing more will be written.
    failed: bool,
}

/// What a chunk's arrival did to its file.
pub enum Arrival {
    /// Written or parked; the file goes on.
    Pending,
    /// The last byte was accounted for, and the file is the caller's to finish; with the
    /// whole-file hash when hashing.
    Complete(Option<blake3::Hash>),
}

impl FileTask {
    /// A file about to receive its chunks; `hash_key`, when given, keys the whole-file
    /// hash, which is then computed.
    pub fn new(
        target: PathBuf,
        shown: String,
        node: Node,
        file: File,
        hash_key: Option<&[u8; 32]>,
        sparse: bool,
    ) -> Self {
        Self {
            target,
            shown,
            node,
            file,
            sparse,
            state: Mutex::new(WriteState {
                written: 0,
                parked: BTreeMap::new(),
                parked_bytes: 0,
                failed: false,
            }),
            advanced: Condvar::new(),
            hasher: Mutex::new(hash_key.map(blake3::Hasher::new_keyed)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `buf` at `offset` (skipping all-zero blocks when sparse: the file was
    /// created empty, so they read back as zeros once its length is set).
    pub fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let err = |cause| Error::RestoreWrite {
            path: self.target.clone(),
            cause,
        };
        if !self.sparse {
            return self.file.write_all_at(buf, offset).map_err(err);
        }
        for (start, len) in data_runs(buf, offset) {
            let run = buf.get(start..start + len).unwrap_or_default();
            self.file
                .write_all_at(run, offset + start as u64)
                .map_err(err)?;
        }
        Ok(())
    }

    /// Takes the decoded chunk at `offset`: writes it (and the parked chunks that follow it)
    /// if it is next, else parks it, waiting while the file already parks [`PARK_BYTES`]
    /// (`abort` ends the wait). Buffers go back to `pool` once written. Chunks must be
    /// taken from the queue in file order, so that the next one is always being decoded
    /// by some worker and a waiting worker is never waiting for itself.
    pub fn arrived(
        &self,
        offset: u64,
        buf: Vec<u8>,
        pool: &BufPool,
        abort: &AtomicBool,
    ) -> Result<Arrival> {
        let mut st = self.lock();
        loop {
            if st.failed || abort.load(Ordering::Relaxed) {
                pool.put(buf);
                return Ok(Arrival::Pending);
            }
            if offset == st.written {
                break;
            }
            if offset < st.written || st.parked.contains_key(&offset) {
                pool.put(buf);
                return Err(Error::Internal(format!(
                    "{}: chunk at offset {offset} arrived twice",
                    self.shown
                )));
            }
            if st.parked_bytes + buf.len() <= PARK_BYTES || st.parked.is_empty() {
                st.parked_bytes += buf.len();
                st.parked.insert(offset, buf);
                return Ok(Arrival::Pending);
            }
            st = self
                .advanced
                .wait_timeout(st, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        // This worker holds the next chunk: nobody else writes until `written` moves.
        let (mut offset, mut buf) = (offset, buf);
        loop {
            drop(st);
            let r = self.write_at(&buf, offset);
            if r.is_ok() {
                let mut h = self.hasher.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(h) = h.as_mut() {
                    h.update(&buf);
                }
            }
            let len = buf.len() as u64;
            pool.put(buf);
            r?;
            st = self.lock();
            st.written += len;
            let next = st.written;
            match st.parked.remove(&next) {
                Some(b) => {
                    st.parked_bytes -= b.len();
                    (offset, buf) = (next, b);
                }
                None => break,
            }
        }
        self.advanced.notify_all();
        if st.written == self.node.size && !st.failed {
            let hash = self.hasher.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Ok(Arrival::Complete(hash.map(|h| h.finalize())));
        }
        Ok(Arrival::Pending)
    }

    /// Gives the file up after a failure: its waiting workers stop, its parked chunks are
    /// dropped and the half-written file is removed, so it is not left looking whole.
    pub fn abandon(&self) {
        let mut st = self.lock();
        st.failed = true;
        st.parked.clear();
        st.parked_bytes = 0;
        self.advanced.notify_all();
        drop(st);
        let _ = std::fs::remove_file(&self.target);
    }

    /// The error for content that does not add up to this file's size or hash.
    pub fn mismatch(&self) -> Error {
        Error::ContentMismatch {
            path: self.shown.clone(),
        }
    }
}

/// The (start, len) runs of `buf` that are not whole zero blocks, where `buf` sits at
/// `offset` of the file and blocks are [`BLOCK`] bytes aligned in the file.
fn data_runs(buf: &[u8], offset: u64) -> Vec<(usize, usize)> {
    static ZEROS: [u8; BLOCK] = [0; BLOCK];
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let in_block = ((offset + pos as u64) % BLOCK as u64) as usize;
        let end = (pos + BLOCK - in_block).min(buf.len());
        let block = buf.get(pos..end).unwrap_or_default();
        // A partial block at either end of the chunk is written: the next chunk may hold
        // data in the rest of that block.
        let whole = end - pos == BLOCK;
        if !(whole && block == &ZEROS[..]) {
            match runs.last_mut() {
                Some((s, l)) if *s + *l == pos => *l += end - pos,
                _ => runs.push((pos, end - pos)),
            }
        }
        pos = end;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Chunks taken in order by four threads but finished out of order (every fourth is
    /// slow) give the same file and the same whole-file hash as one pass in order; large
    /// chunks make the parked bytes reach [`PARK_BYTES`], so workers also wait.
    #[test]
    fn chunks_finished_in_any_order_hash_as_the_whole_file() {
        let key = [7u8; 32];
        let content: Vec<u8> = (0..(64u32 << 20)).map(|i| (i * 31 % 251) as u8).collect();
        // Uneven chunks, as a content-defined chunker makes.
        let mut chunks = std::collections::VecDeque::new();
        let mut at = 0usize;
        for k in 0usize.. {
            if at == content.len() {
                break;
            }
            let len = ((5 << 20) + (k * 1_299_709) % (4 << 20)).min(content.len() - at);
            chunks.push_back((k, at as u64, content[at..at + len].to_vec()));
            at += len;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let node = Node {
            size: content.len() as u64,
            ..crate::backup::source::stream_node("f")
        };
        let task = Arc::new(FileTask::new(
            path.clone(),
            "/f".into(),
            node,
            file,
            Some(&key),
            false,
        ));
        let queue = Mutex::new(chunks);
        let pool = BufPool::default();
        let abort = AtomicBool::new(false);
        let hashes = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let Some((k, off, buf)) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    if k % 4 == 0 {
                        std::thread::sleep(Duration::from_millis(30));
                    }
                    if let Arrival::Complete(h) = task.arrived(off, buf, &pool, &abort).unwrap() {
                        hashes.lock().unwrap().push(h);
                    }
                });
            }
        });
        let hashes = hashes.into_inner().unwrap();
        assert_eq!(hashes.len(), 1, "exactly one worker completes the file");
        assert_eq!(hashes[0], Some(blake3::keyed_hash(&key, &content)));
        assert!(std::fs::read(&path).unwrap() == content);
    }

    #[test]
    fn zero_blocks_aligned_in_the_file_are_skipped() {
        let mut buf = vec![0u8; 5 * BLOCK];
        buf[10] = 1; // block 0 has data
        buf[3 * BLOCK + 7] = 2; // block 3 has data
        assert_eq!(
            data_runs(&buf, 0),
            vec![(0, BLOCK), (3 * BLOCK, BLOCK)],
            "blocks 1, 2 and 4 are holes"
        );
        // Unaligned in the file: the partial first and last blocks are always written.
        let runs = data_runs(&buf, 100);
        assert_eq!(runs.first(), Some(&(0, BLOCK - 100)));
        assert_eq!(runs.last().map(|(s, l)| s + l), Some(buf.len()));
        assert!(data_runs(&vec![0u8; 3 * BLOCK], 0).is_empty());
        assert_eq!(data_runs(&[7u8; 10], 0), vec![(0, 10)]);
    }
}
