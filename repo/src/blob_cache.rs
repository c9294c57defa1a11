//! A byte-bounded cache of decoded blob plaintexts: the bases of delta blobs.
//!
//! Consecutive changed chunks of a file usually share a base (chunk k's second base is
//! chunk k+1's first), so backup and restore keep recently used bases here instead of
//! reading and decoding them again. Least recently used entries go first once the cache
//! holds more than its byte bound. A blob being decoded by one thread is not decoded again
//! by another that needs it at the same moment (workers on neighbouring chunks share
//! bases): the second waits for the first ([`BlobCache::get_or_load`]).

use format_spec::id::BlobId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Default bound per repository handle: the bases of the chunks in flight, plus the next
/// chunk's first base. Measured on a 1.08 GB dump, two deltas deep: restore decodes no
/// more at 8 MiB than at 32 MiB (16 MiB leaves room for 4 MiB chunks), and the peak RSS
/// of restore and backup drops by the difference.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// Shared, thread-safe, LRU by bytes.
pub struct BlobCache {
    inner: Mutex<Inner>,
    loaded: Condvar,
    cap: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<BlobId, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    tick: u64,
    /// Blobs some thread is decoding now.
    loading: HashSet<BlobId>,
}

impl BlobCache {
    /// An empty cache holding at most `cap` bytes of plaintext.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            loaded: Condvar::new(),
            cap,
        }
    }

    /// The cached plaintext of `id`, or `load`'s, cached. When another thread is loading
    /// `id` already, waits for its result instead of loading it twice; if that load fails
    /// (or its result is too large to cache), loads it here. `load` may itself call this for
    /// the blob's own bases: a loader only ever waits for blobs below it in the delta graph,
    /// which has no cycles (chains are checked first), so no two loaders wait on each other.
    pub fn get_or_load<E>(
        &self,
        id: &BlobId,
        load: impl FnOnce() -> Result<Arc<Vec<u8>>, E>,
    ) -> Result<Arc<Vec<u8>>, E> {
        let mut g = self.lock();
        loop {
            g.tick += 1;
            let tick = g.tick;
            if let Some((v, t)) = g.map.get_mut(id) {
                *t = tick;
                return Ok(Arc::clone(v));
            }
            if g.loading.insert(*id) {
                break;
            }
            // The timeout only bounds a missed wake-up; the loader always notifies.
            g = self
                .loaded
                .wait_timeout(g, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(g);
        let r = load();
        if let Ok(v) = &r {
            self.insert(*id, Arc::clone(v));
        }
        self.lock().loading.remove(id);
        self.loaded.notify_all();
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached plaintext of `id`, marking it recently used.
    pub fn get(&self, id: &BlobId) -> Option<Arc<Vec<u8>>> {
        let mut g = self.lock();
        g.tick += 1;
        let tick = g.tick;
        g.map.get_mut(id).map(|(v, t)| {
            *t = tick;
            Arc::clone(v)
        })
    }

    /// Caches a plaintext, evicting the least recently used entries beyond the bound.
    /// A plaintext larger than the whole bound is not cached.
    pub fn insert(&self, id: BlobId, plaintext: Arc<Vec<u8>>) {
        let len = plaintext.len();
        if len > self.cap {
            return;
        }
        let mut g = self.lock();
        g.tick += 1;
        let tick = g.tick;
        if let Some((old, _)) = g.map.insert(id, (plaintext, tick)) {
            g.bytes -= old.len();
        }
        g.bytes += len;
        while g.bytes > self.cap {
            let Some(victim) = g.map.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k) else {
                break;
            };
            if let Some((v, _)) = g.map.remove(&victim) {
                g.bytes -= v.len();
            }
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_the_bound() {
        let c = BlobCache::new(300);
        let id = |i: u8| BlobId([i; 32]);
        c.insert(id(1), Arc::new(vec![1; 100]));
        c.insert(id(2), Arc::new(vec![2; 100]));
        c.insert(id(3), Arc::new(vec![3; 100]));
        assert!(c.get(&id(1)).is_some()); // 1 is now newer than 2
        c.insert(id(4), Arc::new(vec![4; 100]));
        assert!(c.get(&id(2)).is_none());
        assert!(c.get(&id(1)).is_some() && c.get(&id(3)).is_some() && c.get(&id(4)).is_some());
        assert!(c.bytes() <= 300);
        c.insert(id(5), Arc::new(vec![5; 301]));
        assert!(c.get(&id(5)).is_none());
    }

    /// Eight threads asking for the same blob at once load it once; a failed load lets the
    /// next caller try again.
    #[test]
    fn concurrent_callers_load_a_blob_once() {
        let c = BlobCache::new(1 << 20);
        let loads = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = c
                        .get_or_load::<()>(&BlobId([9; 32]), || {
                            loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok(Arc::new(vec![9; 10]))
                        })
                        .unwrap();
                    assert_eq!(*v, vec![9; 10]);
                });
            }
        });
        assert_eq!(loads.into_inner(), 1);
        assert!(c.get_or_load(&BlobId([8; 32]), || Err("damaged")).is_err());
        let again = c.get_or_load::<()>(&BlobId([8; 32]), || Ok(Arc::new(vec![8])));
        assert_eq!(*again.unwrap(), vec![8]);
    }
}
