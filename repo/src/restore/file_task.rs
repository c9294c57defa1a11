//! One restored file whose chunks several workers write at their offsets.
//! SPEC.md § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! Each chunk is written where it belongs (`pwrite`), by whichever worker decoded it, and
//! the worker that accounts for the last byte finishes the file. With `--verify` the
//! whole-file hash is computed as the chunks are written: it needs the bytes in order, so a
//! chunk that arrives before its predecessors is parked (up to [`PARK_BYTES`] per file;
//! beyond that its worker waits) and hashed once they are.

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
pub const PARK_BYTES: usize = 16 << 20;

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
    /// Whether the whole-file hash is computed.
    hashing: bool,
    state: Mutex<HashState>,
    advanced: Condvar,
}

struct HashState {
    /// Bytes hashed so far (the offset of the next chunk to hash); without hashing, bytes
    /// written so far.
    hashed: u64,
    /// Chunks written but not hashed yet, by offset.
    parked: BTreeMap<u64, Vec<u8>>,
    parked_bytes: usize,
    hasher: blake3::Hasher,
    /// A chunk of this file failed: nothing more will be hashed.
    failed: bool,
}

/// What a chunk's arrival did to its file.
pub enum Arrival {
    /// Hashed or parked; the file goes on.
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
    ) -> Self {
        Self {
            target,
            shown,
            node,
            file,
            hashing: hash_key.is_some(),
            state: Mutex::new(HashState {
                hashed: 0,
                parked: BTreeMap::new(),
                parked_bytes: 0,
                hasher: hash_key.map_or_else(blake3::Hasher::new, blake3::Hasher::new_keyed),
                failed: false,
            }),
            advanced: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `buf` at `offset` (skipping all-zero blocks when `sparse`: the file was
    /// created empty, so they read back as zeros once its length is set).
    pub fn write_at(&self, buf: &[u8], offset: u64, sparse: bool) -> Result<()> {
        let err = |cause| Error::RestoreWrite {
            path: self.target.clone(),
            cause,
        };
        if !sparse {
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

    /// Records that the chunk at `offset` was written. When hashing: hashes it (and any
    /// parked chunks it unblocks) if it is next, else parks it. Returns buffers to `pool`
    /// once done with them.
    /// Waits while this file already parks [`PARK_BYTES`] and the chunk is not next;
    /// `abort` ends the wait.
    pub fn arrived(
        &self,
        offset: u64,
        buf: Vec<u8>,
        pool: &BufPool,
        abort: &AtomicBool,
    ) -> Result<Arrival> {
        let mut st = self.lock();
        if !self.hashing {
            st.hashed += buf.len() as u64;
            pool.put(buf);
            let done = st.hashed == self.node.size && !st.failed;
            return Ok(if done {
                Arrival::Complete(None)
            } else {
                Arrival::Pending
            });
        }
        loop {
            if st.failed || abort.load(Ordering::Relaxed) {
                pool.put(buf);
                return Ok(Arrival::Pending);
            }
            if offset == st.hashed {
                break;
            }
            if offset < st.hashed || st.parked.contains_key(&offset) {
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
        let mut next = Some(buf);
        while let Some(b) = next {
            st.hasher.update(&b);
            st.hashed += b.len() as u64;
            pool.put(b);
            let key = st.hashed;
            next = st.parked.remove(&key);
            if let Some(p) = &next {
                st.parked_bytes -= p.len();
            }
        }
        self.advanced.notify_all();
        if st.hashed == self.node.size && st.parked.is_empty() {
            return Ok(Arrival::Complete(Some(st.hasher.finalize())));
        }
        Ok(Arrival::Pending)
    }

    /// Marks the file failed: its waiting workers stop, its parked chunks are dropped.
    pub fn fail(&self) {
        let mut st = self.lock();
        st.failed = true;
        st.parked.clear();
        st.parked_bytes = 0;
        self.advanced.notify_all();
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
            name: b"f".to_vec().into(),
            kind: format_spec::tree::NodeKind::File,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            size: content.len() as u64,
            inode: 0,
            dev: 0,
            rdev: 0,
            link: None,
            xattrs: vec![],
            content: None,
            hash: None,
            subtree: None,
        };
        let task = Arc::new(FileTask::new(
            path.clone(),
            "/f".into(),
            node,
            file,
            Some(&key),
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
                    task.write_at(&buf, off, false).unwrap();
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
