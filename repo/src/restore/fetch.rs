//! Fetching data chunks for restore, dump and verify: decoding on several threads into
//! reused buffers. SPEC.md § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! Every chunk is read, authenticated, decoded and re-hashed against its ID by
//! [`Repository::read_blob_into`]; here its length is checked against its list entry.

use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crossbeam_channel::{bounded, unbounded};
use format_spec::blob::BlobKind;
use format_spec::list::ListEntry;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Threads that decode chunks: one per core, at most 8.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Decoded-chunk buffers handed back after use, so that their pages stay mapped.
#[derive(Default)]
pub struct BufPool(Mutex<Vec<Vec<u8>>>);

/// Buffers kept for reuse; more are dropped when returned.
const POOL_MAX: usize = 64;

impl BufPool {
    /// A buffer from the pool, or a new empty one.
    pub fn take(&self) -> Vec<u8> {
        self.lock().pop().unwrap_or_default()
    }

    /// Returns a buffer for reuse.
    pub fn put(&self, buf: Vec<u8>) {
        let mut g = self.lock();
        if g.len() < POOL_MAX {
            g.push(buf);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads the data chunk of list entry `e` into `out`, checking its length against the entry;
/// errors name `path`, the file that needs it.
pub fn fetch_into(
    repo: &Repository,
    index: &MasterIndex,
    e: &ListEntry,
    path: &str,
    out: &mut Vec<u8>,
) -> Result<()> {
    repo.read_blob_into(index, &e.id, BlobKind::Data, out)
        .map_err(|err| match err {
            Error::MissingBlob { blob, .. } => Error::MissingBlob {
                blob,
                needed_by: path.into(),
            },
            other => other,
        })?;
    if out.len() as u64 != e.size {
        return Err(Error::damaged(
            format!("data blob {} (in {path})", e.id),
            std::io::Error::other(format!("{} bytes, list says {}", out.len(), e.size)),
        ));
    }
    Ok(())
}

/// Chunks decoded ahead of the one being consumed, at most, per worker: enough to keep
/// every worker busy while one chunk is slow (a delta reading its bases), few enough that
/// the buffers stay small (chunks are up to 4 MiB by default).
const WINDOW_PER_THREAD: usize = 3;

/// Calls `sink` with every chunk of `entries` in file order. Chunks are decoded by
/// [`threads`] workers while `sink` consumes earlier ones, at most [`WINDOW_PER_THREAD`]
/// chunks ahead per worker,
/// so memory is bounded whatever the file size. The first error stops everything.
pub fn for_each_in_order(
    repo: &Repository,
    index: &MasterIndex,
    entries: &mut dyn Iterator<Item = Result<ListEntry>>,
    path: &str,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let pool = BufPool::default();
    let threads = threads();
    let mut first = entries.next().transpose()?;
    let Some(e0) = first.take() else {
        return Ok(());
    };
    let mut peeked = entries.next().transpose()?;
    if threads == 1 || peeked.is_none() {
        // One chunk (most files) or one core: no thread is worth starting.
        let mut buf = Vec::new();
        let mut next = Some(e0);
        while let Some(e) = next {
            fetch_into(repo, index, &e, path, &mut buf)?;
            sink(&buf)?;
            next = match peeked.take() {
                Some(p) => Some(p),
                None => entries.next().transpose()?,
            };
        }
        return Ok(());
    }
    let abort = AtomicBool::new(false);
    let window = threads * WINDOW_PER_THREAD;
    std::thread::scope(|s| {
        let (job_tx, job_rx) = bounded::<(usize, ListEntry)>(window);
        let (res_tx, res_rx) = unbounded::<(usize, Result<Vec<u8>>)>();
        for _ in 0..threads {
            let (job_rx, res_tx) = (job_rx.clone(), res_tx.clone());
            let (pool, abort) = (&pool, &abort);
            s.spawn(move || {
                for (seq, e) in job_rx {
                    if abort.load(Ordering::Relaxed) {
                        continue;
                    }
                    let mut buf = pool.take();
                    let r = fetch_into(repo, index, &e, path, &mut buf).map(|()| buf);
                    if res_tx.send((seq, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((job_rx, res_tx));
        let mut pending = std::iter::once(Ok(e0))
            .chain(peeked.take().map(Ok))
            .chain(entries);
        let r = drive(&mut pending, window, job_tx, &res_rx, &pool, sink);
        if r.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        r
    })
}

/// Feeds jobs while fewer than `window` chunks are in flight and hands finished chunks to
/// `sink` in sequence. Dropping `job_tx` on return lets the workers end.
fn drive(
    entries: &mut dyn Iterator<Item = Result<ListEntry>>,
    window: usize,
    job_tx: crossbeam_channel::Sender<(usize, ListEntry)>,
    res_rx: &crossbeam_channel::Receiver<(usize, Result<Vec<u8>>)>,
    pool: &BufPool,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let (mut sent, mut emitted) = (0usize, 0usize);
    let mut done = false;
    let mut parked: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    loop {
        while !done && sent - emitted < window {
            match entries.next() {
                Some(e) => {
                    job_tx
                        .send((sent, e?))
                        .map_err(|_| Error::Internal("restore workers ended early".into()))?;
                    sent += 1;
                }
                None => done = true,
            }
        }
        if sent == emitted {
            return Ok(());
        }
        let (seq, r) = res_rx
            .recv()
            .map_err(|_| Error::Internal("restore workers ended early".into()))?;
        parked.insert(seq, r?);
        while let Some(buf) = parked.remove(&emitted) {
            sink(&buf)?;
            pool.put(buf);
            emitted += 1;
        }
    }
}
