//! A byte-bounded cache of decoded blob plaintexts: the bases of delta blobs.
//!
//! Consecutive changed chunks of a file usually share a base (chunk k's second base is
//! chunk k+1's first), so backup and restore keep recently used bases here instead of
//! reading and decoding them again. Least recently used entries go first once the cache
//! holds more than its byte bound.

use format_spec::id::BlobId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Default bound per repository handle: the bases of the chunks in flight, plus the next
/// chunk's first base. Measured on a 1.08 GB dump, two deltas deep: restore decodes no
/// more at 8 MiB than at 32 MiB (16 MiB leaves room for 4 MiB chunks), and the peak RSS
/// of restore and backup drops by the difference.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// Shared, thread-safe, LRU by bytes.
pub struct BlobCache {
    inner: Mutex<Inner>,
    cap: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<BlobId, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    tick: u64,
}

impl BlobCache {
    /// An empty cache holding at most `cap` bytes of plaintext.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            cap,
        }
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
}
