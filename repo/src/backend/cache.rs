//! A local cache in front of a remote backend: SPEC.md § [Repository
//! layout](../../SPEC.md#repository-layout) (§ Local cache).
//!
//! Every repository file but `config` is named by the hash of its bytes, so a cached copy
//! can never be out of date: it is either the file or absent. The cache keeps files as
//! stored (encrypted), checks each one's hash against its name before keeping it, and
//! writes it under a temporary name then renames it, so a crash leaves no half file.
//!
//! - **Metadata** (keys, index and snapshot files) is cached on every read and write:
//!   every command reads all index files, which on S3 would be one GET each.
//! - **Packs** are cached when [`CachePolicy::Packs`] is on (backups): the packs a backup
//!   writes, and whole packs fetched on a read miss. An hourly incremental then decodes its
//!   delta bases from the packs of the full and diff already on local disk instead of
//!   downloading them (the point of this cache). Other commands read a pack from the cache
//!   when it is there and never add one.
//! - **Bounded**: when the total passes the limit, the least recently used files go
//!   (packs first). **Invalidated** by prune (a removed file leaves the cache too) and by
//!   listings: a cached file of a type that the remote no longer lists is dropped.
//! - `check` and `verify` do not use it: they judge the remote copy.

use super::{Backend, FileType, Traffic};
use rand::Rng;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// What a command lets the cache hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// Keys, index and snapshot files; packs are read from the cache when present.
    Metadata,
    /// Also packs, on write and on read (backups: their delta bases).
    Packs,
}

/// Default bound of one repository's cache.
pub const DEFAULT_CACHE_BYTES: u64 = 4 << 30;

/// A remote backend with a local cache directory.
pub struct CachedBackend {
    inner: Arc<dyn Backend>,
    dir: PathBuf,
    policy: CachePolicy,
    max_bytes: u64,
    /// Bytes in the cache, as counted at open and kept up to date since (approximate when
    /// several processes share it; eviction recounts).
    used: AtomicU64,
    /// Packs being fetched whole right now, so two readers do not fetch one twice.
    fetching: Mutex<HashSet<String>>,
    fetched: std::sync::Condvar,
    hits: AtomicU64,
}

fn cached_type(t: FileType) -> bool {
    matches!(
        t,
        FileType::Key | FileType::Index | FileType::Snapshot | FileType::Pack
    )
}

impl CachedBackend {
    /// A cache for `inner` under `root` (one subdirectory per location), bounded by
    /// `max_bytes`.
    pub fn new(
        inner: Arc<dyn Backend>,
        root: &Path,
        policy: CachePolicy,
        max_bytes: u64,
    ) -> io::Result<Self> {
        let tag = blake3::hash(inner.location().as_bytes()).to_hex();
        let dir = root.join(&tag[..16]);
        fs::create_dir_all(&dir)?;
        // Tell backup tools to skip it (the Cache Directory Tagging Specification).
        let tag_file = root.join("CACHEDIR.TAG");
        if !tag_file.exists() {
            let _ = fs::write(
                &tag_file,
                "Signature: 8a477f597d28d172789f06886806bc55\n# strata cache\n",
            );
        }
        let _ = fs::write(dir.join("location"), inner.location());
        let c = Self {
            inner,
            dir,
            policy,
            max_bytes,
            used: AtomicU64::new(0),
            fetching: Mutex::new(HashSet::new()),
            fetched: std::sync::Condvar::new(),
            hits: AtomicU64::new(0),
        };
        c.used
            .store(c.scan().iter().map(|f| f.2).sum(), Ordering::Relaxed);
        Ok(c)
    }

    /// The default cache root: `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("strata"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("strata"))
    }

    /// Reads served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn path(&self, t: FileType, name: &str) -> io::Result<PathBuf> {
        super::check_name(name)?;
        Ok(self.dir.join(t.dir()).join(name))
    }

    /// Every cached file: (path, last use, size).
    fn scan(&self) -> Vec<(PathBuf, SystemTime, u64)> {
        let mut out = Vec::new();
        for t in [
            FileType::Key,
            FileType::Index,
            FileType::Snapshot,
            FileType::Pack,
        ] {
            let Ok(rd) = fs::read_dir(self.dir.join(t.dir())) else {
                continue;
            };
            for e in rd.flatten() {
                if let Ok(md) = e.metadata() {
                    let used = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    out.push((e.path(), used, md.len()));
                }
            }
        }
        out
    }

    /// Keeps a copy of a file whose bytes hash to its name.
    fn store(&self, t: FileType, name: &str, parts: &[&[u8]]) {
        if !cached_type(t) || (t == FileType::Pack && self.policy != CachePolicy::Packs) {
            return;
        }
        let mut h = blake3::Hasher::new();
        for p in parts {
            h.update(p);
        }
        if h.finalize().to_hex().as_str() != name {
            return;
        }
        let Ok(path) = self.path(t, name) else { return };
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if len > self.max_bytes / 4 {
            return;
        }
        let Some(dir) = path.parent() else { return };
        let tmp = dir.join(format!(".tmp-{:016x}", rand::thread_rng().gen::<u64>()));
        let written = (|| {
            fs::create_dir_all(dir)?;
            let mut f = File::create(&tmp)?;
            for p in parts {
                f.write_all(p)?;
            }
            fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            // A full or read-only cache disk costs speed, never the command.
            let _ = fs::remove_file(&tmp);
            return;
        }
        if self.used.fetch_add(len, Ordering::Relaxed) + len > self.max_bytes {
            self.evict();
        }
    }

    /// Removes least recently used files until the cache is under 90 % of its bound;
    /// packs go before metadata.
    fn evict(&self) {
        let mut files = self.scan();
        let mut used: u64 = files.iter().map(|f| f.2).sum();
        let target = self.max_bytes / 10 * 9;
        let is_pack = |p: &Path| {
            p.parent()
                .and_then(|d| d.file_name())
                .is_some_and(|d| d == FileType::Pack.dir())
        };
        files.sort_by_key(|(p, used, _)| (!is_pack(p), *used));
        for (p, _, len) in files {
            if used <= target {
                break;
            }
            if fs::remove_file(&p).is_ok() {
                used = used.saturating_sub(len);
            }
        }
        self.used.store(used, Ordering::Relaxed);
    }

    /// Opens a cached file, marking it used.
    fn open_cached(&self, t: FileType, name: &str) -> Option<File> {
        if !cached_type(t) {
            return None;
        }
        let path = self.path(t, name).ok()?;
        let f = File::options().read(true).write(true).open(path).ok()?;
        let _ = f.set_modified(SystemTime::now());
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }

    fn drop_cached(&self, t: FileType, name: &str) {
        if let Ok(p) = self.path(t, name) {
            if let Ok(md) = fs::metadata(&p) {
                if fs::remove_file(&p).is_ok() {
                    self.used.fetch_sub(
                        md.len().min(self.used.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                }
            }
        }
    }

    /// Fetches a whole pack into the cache (one GET) unless another thread already is;
    /// returns whether it is cached now.
    fn fill_pack(&self, name: &str) -> bool {
        {
            let mut busy = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
            while busy.contains(name) {
                busy = self.fetched.wait(busy).unwrap_or_else(|e| e.into_inner());
            }
            if self.path(FileType::Pack, name).is_ok_and(|p| p.exists()) {
                return true;
            }
            busy.insert(name.to_string());
        }
        let got = self
            .inner
            .read(FileType::Pack, name, format_spec::limits::MAX_PACK_SIZE);
        if let Ok(bytes) = &got {
            self.store(FileType::Pack, name, &[bytes]);
        }
        let mut busy = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        busy.remove(name);
        self.fetched.notify_all();
        got.is_ok() && self.path(FileType::Pack, name).is_ok_and(|p| p.exists())
    }
}

fn read_range_from(f: &mut File, offset: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
    let size = f.metadata()?.len();
    if offset.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("range {offset}+{len} past the end ({size} bytes)"),
        ));
    }
    out.clear();
    out.try_reserve_exact(len).map_err(io::Error::other)?;
    out.resize(len, 0);
    f.read_exact_at(out, offset)
}

impl Backend for CachedBackend {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn create(&self) -> io::Result<()> {
        self.inner.create()
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.write_parts(t, name, &[bytes])
    }

    fn write_parts(&self, t: FileType, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        self.inner.write_parts(t, name, parts)?;
        self.store(t, name, parts);
        Ok(())
    }

    fn read(&self, t: FileType, name: &str, max: u64) -> io::Result<Vec<u8>> {
        if let Some(mut f) = self.open_cached(t, name) {
            let len = f.metadata()?.len();
            if len <= max {
                let mut out = Vec::with_capacity(len as usize);
                f.seek(io::SeekFrom::Start(0))?;
                f.take(max + 1).read_to_end(&mut out)?;
                return Ok(out);
            }
        }
        let bytes = self.inner.read(t, name, max)?;
        if t != FileType::Pack || self.policy == CachePolicy::Packs {
            self.store(t, name, &[&bytes]);
        }
        Ok(bytes)
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        if let Some(mut f) = self.open_cached(t, name) {
            return read_range_from(&mut f, offset, len, out);
        }
        if t == FileType::Pack && self.policy == CachePolicy::Packs && self.fill_pack(name) {
            if let Some(mut f) = self.open_cached(t, name) {
                return read_range_from(&mut f, offset, len, out);
            }
        }
        self.inner.read_range_into(t, name, offset, len, out)
    }

    fn size(&self, t: FileType, name: &str) -> io::Result<u64> {
        self.inner.size(t, name)
    }

    /// The remote's listing; cached files of the type that it lacks are dropped.
    fn list(&self, t: FileType) -> io::Result<Vec<(String, u64)>> {
        let listed = self.inner.list(t)?;
        if cached_type(t) {
            if let Ok(rd) = fs::read_dir(self.dir.join(t.dir())) {
                let names: HashSet<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if !n.starts_with(".tmp-") && !names.contains(n.as_str()) {
                        self.drop_cached(t, &n);
                    }
                }
            }
        }
        Ok(listed)
    }

    fn remove(&self, t: FileType, name: &str) -> io::Result<()> {
        self.drop_cached(t, name);
        self.inner.remove(t, name)
    }

    fn exists(&self, t: FileType, name: &str) -> io::Result<bool> {
        self.inner.exists(t, name)
    }

    fn modified(&self, t: FileType, name: &str) -> io::Result<SystemTime> {
        self.inner.modified(t, name)
    }

    fn remove_stale_temporaries(&self, older_than: std::time::Duration) -> io::Result<u64> {
        self.inner.remove_stale_temporaries(older_than)
    }

    fn traffic(&self) -> Option<Traffic> {
        self.inner.traffic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::LocalBackend;

    fn named(bytes: &[u8]) -> String {
        blake3::hash(bytes).to_hex().to_string()
    }

    #[test]
    fn cached_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let inner = Arc::new(LocalBackend::new(dir.path().join("repo")));
        let c = CachedBackend::new(
            inner,
            &dir.path().join("cache"),
            CachePolicy::Packs,
            1 << 30,
        )
        .unwrap();
        crate::backend::conformance::run(&c);
    }

    #[test]
    fn packs_are_served_locally_once_cached_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let inner = Arc::new(LocalBackend::new(dir.path().join("repo")));
        inner.create().unwrap();
        let root = dir.path().join("cache");
        let c = CachedBackend::new(inner.clone(), &root, CachePolicy::Packs, 1 << 20).unwrap();
        let a = vec![1u8; 200 << 10];
        let b = vec![2u8; 200 << 10];
        let (na, nb) = (named(&a), named(&b));
        c.write(FileType::Pack, &na, &a).unwrap();
        // Written through: the remote copy can go and the range still reads.
        fs::remove_file(dir.path().join("repo/data").join(&na[..2]).join(&na)).unwrap();
        assert_eq!(
            c.read_range(FileType::Pack, &na, 10, 5).unwrap(),
            vec![1u8; 5]
        );
        // A pack written elsewhere is fetched whole on the first miss.
        inner.write(FileType::Pack, &nb, &b).unwrap();
        assert_eq!(
            c.read_range(FileType::Pack, &nb, 0, 3).unwrap(),
            vec![2u8; 3]
        );
        assert!(c.dir.join("data").join(&nb).exists());
        // Bytes that do not hash to their name are never kept.
        let bogus = "f".repeat(64);
        inner.write(FileType::Index, &bogus, b"not this").unwrap();
        c.read(FileType::Index, &bogus, 100).unwrap();
        assert!(!c.dir.join("index").join(&bogus).exists());
        // Past the bound the oldest packs go.
        for i in 0..8u8 {
            let p = vec![i + 10; 200 << 10];
            c.write(FileType::Pack, &named(&p), &p).unwrap();
        }
        let total: u64 = c.scan().iter().map(|f| f.2).sum();
        assert!(total <= 1 << 20, "{total}");
        // A listing drops what the remote no longer has.
        c.list(FileType::Pack).unwrap();
        assert!(!c.dir.join("data").join(&na).exists());
    }

    #[test]
    fn metadata_policy_reads_cached_packs_but_adds_none() {
        let dir = tempfile::tempdir().unwrap();
        let inner = Arc::new(LocalBackend::new(dir.path().join("repo")));
        inner.create().unwrap();
        let root = dir.path().join("cache");
        let c = CachedBackend::new(inner.clone(), &root, CachePolicy::Metadata, 1 << 30).unwrap();
        let p = vec![7u8; 1000];
        let np = named(&p);
        c.write(FileType::Pack, &np, &p).unwrap();
        c.read_range(FileType::Pack, &np, 0, 10).unwrap();
        assert!(!c.dir.join("data").join(&np).exists());
        let s = b"snapshot bytes".to_vec();
        let ns = named(&s);
        c.write(FileType::Snapshot, &ns, &s).unwrap();
        assert_eq!(fs::read(c.dir.join("snapshots").join(&ns)).unwrap(), s);
        assert_eq!(c.read(FileType::Snapshot, &ns, 100).unwrap(), s);
        assert_eq!(c.hits(), 1);
    }
}
