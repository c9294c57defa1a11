//! Opening and creating a repository; reading and writing its objects.
//! SPEC.md § [Repository layout](../../SPEC.md#repository-layout), § [Key files](../../SPEC.md#key-files).

use crate::backend::{Backend, FileType};
use crate::blob_cache::{BlobCache, DEFAULT_CACHE_BYTES};
use crate::error::{Error, Result};
use crate::index::{BlobLocation, ChainError, MasterIndex};
use crate::util::{hostname, now_ns, username};
use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::config::{ChunkerParams, DedupKeys, RepoConfig};
use format_spec::crypto::{self, MasterKey, ObjectKind, SubKeys, NONCE_LEN};
use format_spec::id::{content_name, BlobId, IndexId, KeyId, RepoId};
use format_spec::index::IndexFile;
use format_spec::keyfile::{Argon2Params, KeyFile, UnlockError};
use format_spec::{limits, object};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::ErrorKind;
use std::sync::Arc;

/// Parameters fixed at `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Argon2id cost of the first key.
    pub kdf: Argon2Params,
    /// Chunker sizes.
    pub chunker: ChunkerParams,
    /// Target pack size.
    pub pack_size: u32,
    /// zstd level.
    pub zstd_level: i32,
    /// Blob-ID and chunker keys to share with another repository (`init
    /// --copy-chunker-params`); `None` derives them from the new master key.
    pub dedup_keys: Option<DedupKeys>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            kdf: Argon2Params::DEFAULT,
            chunker: ChunkerParams::DEFAULT,
            pack_size: 16 << 20,
            zstd_level: 3,
            dedup_keys: None,
        }
    }
}

/// An open repository: backend, keys and config.
pub struct Repository {
    backend: Arc<dyn Backend>,
    keys: SubKeys,
    master: MasterKey,
    id: RepoId,
    config: RepoConfig,
    key_id: KeyId,
    /// Decoded delta bases, shared by every reader of this handle.
    cache: BlobCache,
    /// Sealed blob bytes read from packs (what a backup reads back to find bases).
    blob_bytes_read: std::sync::atomic::AtomicU64,
}

/// The content name (unkeyed BLAKE3) of parts as if concatenated.
pub fn content_name_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// Index files that loaded (with their IDs), and the names and errors of those that did not.
pub type IndexFiles = (Vec<(IndexId, IndexFile)>, Vec<(String, Error)>);

/// A fresh random nonce.
pub fn nonce() -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut n);
    n
}

fn read_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |cause| Error::RepoRead { what, cause }
}

fn write_err(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |cause| Error::RepoWrite { what, cause }
}

impl Repository {
    /// Whether a repository (its config) exists at the backend.
    pub fn exists(backend: &dyn Backend) -> Result<bool> {
        backend
            .exists(FileType::Config, "config")
            .map_err(read_err("config".into()))
    }

    /// Creates a repository with one key file.
    pub fn init(backend: Arc<dyn Backend>, passphrase: &[u8], opts: &InitOptions) -> Result<Self> {
        if Self::exists(backend.as_ref())? {
            return Err(Error::AlreadyExists {
                location: backend.location(),
            });
        }
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        let master = MasterKey(master);
        let mut id = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id = RepoId(id);
        let config = RepoConfig {
            v: 1,
            id,
            created_ns: now_ns(),
            chunker: opts.chunker,
            pack_size: opts.pack_size,
            zstd_level: opts.zstd_level,
            dedup_keys: opts.dedup_keys.clone(),
        };
        config.validate().map_err(|e| Error::Usage(e.to_string()))?;
        backend
            .create()
            .map_err(write_err("repository directories".into()))?;
        let keys = config.sub_keys(&master);
        let mut repo = Self {
            backend,
            keys,
            master,
            id,
            config,
            key_id: KeyId::default(),
            cache: BlobCache::new(DEFAULT_CACHE_BYTES),
            blob_bytes_read: Default::default(),
        };
        // Key before config: a crash between them leaves no config, so no half repository
        // is ever opened (the orphan key file is harmless).
        repo.key_id = repo.add_key(passphrase, opts.kdf)?;
        let sealed = object::seal(
            &repo.keys,
            &repo.id,
            ObjectKind::Config,
            &nonce(),
            &repo.config,
        );
        repo.backend
            .write(FileType::Config, "config", &sealed)
            .map_err(write_err("config".into()))?;
        Ok(repo)
    }

    /// Opens a repository with a passphrase, trying every key file.
    pub fn open(backend: Arc<dyn Backend>, passphrase: &[u8]) -> Result<Self> {
        if !Self::exists(backend.as_ref())? {
            return Err(Error::NoRepository {
                location: backend.location(),
            });
        }
        let key_files = backend
            .list(FileType::Key)
            .map_err(read_err("key list".into()))?;
        let mut unlocked = None;
        let mut invalid = Vec::new();
        for (name, _) in &key_files {
            let bytes = match backend.read(FileType::Key, name, limits::MAX_KEY_FILE as u64) {
                Ok(b) => b,
                Err(e) => {
                    invalid.push(format!("key {name}: {e}"));
                    continue;
                }
            };
            let kf = match KeyFile::decode(&bytes) {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(key = %name, error = %e, "skipping damaged key file");
                    invalid.push(format!("key {name}: {e}"));
                    continue;
                }
            };
            match kf.unlock(passphrase) {
                Ok((master, repo_id)) => {
                    let key_id = name
                        .parse()
                        .map_err(|e| Error::damaged(format!("key file name {name}"), e))?;
                    unlocked = Some((master, repo_id, key_id));
                    break;
                }
                Err(UnlockError::WrongPassphrase) => {}
                Err(UnlockError::Invalid(e)) => invalid.push(format!("key {name}: {e}")),
            }
        }
        let Some((master, id, key_id)) = unlocked else {
            if key_files.is_empty() {
                return Err(Error::damaged(
                    "keys/",
                    std::io::Error::new(ErrorKind::NotFound, "no key files"),
                ));
            }
            if invalid.len() == key_files.len() {
                return Err(Error::damaged(
                    "keys/",
                    std::io::Error::other(invalid.join("; ")),
                ));
            }
            return Err(Error::WrongPassphrase);
        };
        // The config opens with the encryption key, which is always the master key's;
        // the blob-ID and chunker keys may then come from the config (SPEC.md § Keys).
        let keys = SubKeys::derive(&master);
        let bytes = backend
            .read(FileType::Config, "config", limits::MAX_CONFIG_FILE as u64)
            .map_err(|e| Error::damaged("config", e))?;
        let config: RepoConfig = object::open(
            &keys,
            &id,
            ObjectKind::Config,
            &bytes,
            limits::MAX_CONFIG_FILE,
        )
        .map_err(|e| Error::damaged("config", e))?;
        config.validate().map_err(|e| Error::damaged("config", e))?;
        if config.id != id {
            return Err(Error::damaged(
                "config",
                std::io::Error::other("repository ID differs from the key file's"),
            ));
        }
        let keys = config.sub_keys(&master);
        Ok(Self {
            backend,
            keys,
            master,
            id,
            config,
            key_id,
            cache: BlobCache::new(DEFAULT_CACHE_BYTES),
            blob_bytes_read: Default::default(),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// Sub-keys.
    pub fn keys(&self) -> &SubKeys {
        &self.keys
    }
    /// Repository ID.
    pub fn id(&self) -> &RepoId {
        &self.id
    }
    /// Config.
    pub fn config(&self) -> &RepoConfig {
        &self.config
    }
    /// The key file this session opened with.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Names and sizes of the repository files of a type; a listing failure is a read error.
    pub fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.backend
            .list(t)
            .map_err(read_err(format!("{} list", t.name())))
    }

    /// Writes bytes under their content name; returns the name's bytes.
    pub fn write_named(&self, t: FileType, bytes: &[u8]) -> Result<[u8; 32]> {
        self.write_named_parts(t, &[bytes])
    }

    /// Writes a file given in parts under the content name of their concatenation.
    pub fn write_named_parts(&self, t: FileType, parts: &[&[u8]]) -> Result<[u8; 32]> {
        let name = content_name_parts(parts);
        self.backend
            .write_parts(t, &hex::encode(name), parts)
            .map_err(write_err(format!(
                "{} {}",
                t.name(),
                hex::encode(&name[..4])
            )))?;
        Ok(name)
    }

    /// Seals and writes a MessagePack object under its content name.
    pub fn save<T: Serialize>(&self, t: FileType, kind: ObjectKind, value: &T) -> Result<[u8; 32]> {
        let sealed = object::seal(&self.keys, &self.id, kind, &nonce(), value);
        self.write_named(t, &sealed)
    }

    /// Reads, authenticates and decodes a sealed MessagePack object.
    pub fn load<T: DeserializeOwned>(
        &self,
        t: FileType,
        kind: ObjectKind,
        name: &str,
        max: usize,
    ) -> Result<T> {
        let what = format!("{} {name}", t.name());
        let bytes = self
            .backend
            .read(t, name, max as u64)
            .map_err(|e| Error::damaged(what.clone(), e))?;
        if t != FileType::Config && hex::encode(content_name(&bytes)) != name {
            return Err(Error::damaged(
                what,
                std::io::Error::other("file content does not hash to its name"),
            ));
        }
        object::open(&self.keys, &self.id, kind, &bytes, max).map_err(|e| Error::damaged(what, e))
    }

    /// Loads every index file into a master index, knowing the pending packs (read first:
    /// SPEC.md § Pending deletions).
    pub fn load_index(&self) -> Result<MasterIndex> {
        let pending = self.pending_packs()?;
        // A damaged index file must not take every snapshot down with it: its blobs are
        // reported missing where they are needed, `check` names it, `repair index`
        // rebuilds it from the pack headers.
        let (files, damaged) = self.load_index_files()?;
        for (_, e) in damaged {
            tracing::warn!("skipping {e:#}; run `strata check`, then `strata repair index`");
        }
        Ok(MasterIndex::build_with_pending(&files, pending))
    }

    /// Every index file that opens and validates, and the names and errors of those that do
    /// not. Fails only when the index directory cannot be listed or read. A file that
    /// vanishes between the listing and its read was superseded and deleted by a prune or
    /// repair meanwhile: the listing is taken again (a few times), so a reader running
    /// beside a prune sees either the old index files or the new one, whole.
    pub fn load_index_files(&self) -> Result<IndexFiles> {
        let mut attempt = 0;
        loop {
            let (files, damaged) = self.load_index_files_once()?;
            let vanished = damaged
                .iter()
                .any(|(name, _)| !self.backend.exists(FileType::Index, name).unwrap_or(true));
            attempt += 1;
            if !vanished || attempt >= 5 {
                return Ok((files, damaged));
            }
            tracing::debug!("an index file vanished while loading; listing again");
        }
    }

    fn load_index_files_once(&self) -> Result<IndexFiles> {
        let names = self.list(FileType::Index)?;
        let (mut files, mut damaged) = (Vec::with_capacity(names.len()), Vec::new());
        for (name, _) in names {
            let object = || format!("index {name}");
            let loaded = self
                .load::<IndexFile>(
                    FileType::Index,
                    ObjectKind::Index,
                    &name,
                    limits::MAX_INDEX_FILE,
                )
                .and_then(|f| {
                    f.validate()
                        .map(|()| f)
                        .map_err(|e| Error::damaged(object(), e))
                })
                .and_then(|f| {
                    name.parse::<IndexId>()
                        .map(|id| (id, f))
                        .map_err(|e| Error::damaged(object(), e))
                });
            match loaded {
                Ok(pair) => files.push(pair),
                Err(Error::RepoRead { what, cause }) => {
                    return Err(Error::RepoRead { what, cause })
                }
                Err(e) => damaged.push((name, e)),
            }
        }
        Ok((files, damaged))
    }

    /// Reads one blob of the kind the reference implies, authenticates, decodes and
    /// re-hashes it against its ID. A delta's bases are read first (level by level, at most
    /// `MAX_DELTA_DEPTH` deep, through the base cache).
    pub fn read_blob(&self, index: &MasterIndex, id: &BlobId, kind: BlobKind) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_blob_into(index, id, kind, &mut out)?;
        Ok(out)
    }

    /// [`Self::read_blob`] into `out` (replacing its contents), with this thread's sealed and
    /// opened buffers: no allocation per blob once the buffers have grown (restore's hot
    /// path; fresh multi-MiB buffers per blob cost more in page faults than decoding).
    pub fn read_blob_into(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        kind: BlobKind,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let loc = self.locate(index, id, kind)?;
        let what = || format!("pack {} (blob {})", index.pack(loc.pack).0, id.short());
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let (sealed, opened) = &mut *scratch;
            self.read_opened_into(index, id, &loc, sealed, opened)?;
            match loc.encoding {
                // Raw: the opened bytes are the plaintext; swap rather than copy.
                Encoding::Raw if opened.len() == loc.raw_len as usize => {
                    std::mem::swap(opened, out);
                }
                Encoding::ZstdDelta => self
                    .with_delta_history(index, id, |history| {
                        blob::decode_against(loc.encoding, opened, loc.raw_len, history, out)
                    })?
                    .map_err(|e| Error::damaged(what(), e))?,
                _ => blob::decode_against(loc.encoding, opened, loc.raw_len, &[], out)
                    .map_err(|e| Error::damaged(what(), e))?,
            }
            if self.keys.blob_id(out) != *id {
                return Err(Error::HashMismatch {
                    blob: id.to_hex(),
                    pack: index.pack(loc.pack).0.to_hex(),
                });
            }
            Ok(())
        })
    }

    /// A blob's stored bytes (authenticated, not decoded) and the index entry they were read
    /// by: what `copy` seals again for another repository without re-encoding. The caller
    /// decodes and re-hashes them.
    pub fn read_stored(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        kind: BlobKind,
    ) -> Result<(BlobLocation, Vec<u8>)> {
        let loc = self.locate(index, id, kind)?;
        let (mut sealed, mut opened) = (Vec::new(), Vec::new());
        self.read_opened_into(index, id, &loc, &mut sealed, &mut opened)?;
        Ok((loc, opened))
    }

    /// Reads a blob's sealed bytes into `sealed` and opens them into `opened` (both
    /// replaced, their allocations reused).
    fn read_opened_into(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        loc: &BlobLocation,
        sealed: &mut Vec<u8>,
        opened: &mut Vec<u8>,
    ) -> Result<()> {
        let pack_hex = index.pack(loc.pack).0.to_hex();
        let what = || format!("pack {pack_hex} (blob {})", id.short());
        self.backend
            .read_range_into(
                FileType::Pack,
                &pack_hex,
                loc.offset.into(),
                loc.stored_len as usize,
                sealed,
            )
            .map_err(|e| Error::damaged(what(), e))?;
        self.blob_bytes_read
            .fetch_add(sealed.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let aad = crypto::aad(&self.id, loc.kind.object_kind(), Some(id));
        crypto::open_into(
            &self.keys.encryption,
            loc.kind.object_kind(),
            &aad,
            sealed,
            opened,
        )
        .map_err(|e| Error::damaged(what(), e))
    }

    /// The index entry of a blob referenced as `kind`, with the checks every read makes.
    fn locate(&self, index: &MasterIndex, id: &BlobId, kind: BlobKind) -> Result<BlobLocation> {
        let loc = index.get(id).ok_or_else(|| Error::MissingBlob {
            blob: id.to_hex(),
            needed_by: "snapshot".into(),
        })?;
        let what = || format!("pack {} (blob {})", index.pack(loc.pack).0, id.short());
        if kind == BlobKind::Data && loc.raw_len > self.config.chunker.max {
            return Err(Error::damaged(
                what(),
                std::io::Error::other(format!(
                    "raw length {} exceeds the maximum chunk size {}",
                    loc.raw_len, self.config.chunker.max
                )),
            ));
        }
        if loc.kind != kind {
            // A tree must not be read as file data, nor data as a tree (SPEC.md § Reading a snapshot).
            return Err(Error::damaged(
                what(),
                std::io::Error::other(format!(
                    "indexed as a {:?} blob, referenced as {kind:?}",
                    loc.kind
                )),
            ));
        }
        Ok(loc)
    }

    /// The history a delta blob decodes against, as an owned copy ([`Self::with_delta_history`]).
    pub fn delta_history(&self, index: &MasterIndex, id: &BlobId) -> Result<Vec<u8>> {
        self.with_delta_history(index, id, <[u8]>::to_vec)
    }

    /// The history of one stored copy of a delta blob whose entry names `bases` (a blob
    /// stored twice may have other bases in another pack than the copy the index chose).
    pub fn delta_history_with(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        bases: &[BlobId],
    ) -> Result<Vec<u8>> {
        self.with_history_of(index, id, bases, <[u8]>::to_vec)
    }

    /// Calls `f` with the history a delta blob decodes against: its bases' plaintexts,
    /// concatenated in entry order (SPEC.md § Blob encodings). Bases come from the cache or
    /// are read level by level from the deepest up, so no chain is followed by recursion; a
    /// missing base, a chain deeper than `MAX_DELTA_DEPTH` or a loop is an error naming the
    /// delta. Concatenations go to per-thread buffers (one base is lent, not copied): fresh
    /// multi-MiB buffers per chunk cost more in page faults than the decoding itself.
    pub fn with_delta_history<R>(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        self.with_history_of(index, id, index.bases(id), f)
    }

    /// [`Self::with_delta_history`] for a copy of `id` whose entry names `bases`.
    fn with_history_of<R>(
        &self,
        index: &MasterIndex,
        id: &BlobId,
        bases: &[BlobId],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let chain_err = |e: ChainError| match e {
            ChainError::Missing(base) if base != *id => Error::MissingBase {
                blob: id.to_hex(),
                base: base.to_hex(),
            },
            ChainError::Missing(_) => Error::MissingBlob {
                blob: id.to_hex(),
                needed_by: "a delta read".into(),
            },
            ChainError::TooDeep => Error::damaged(
                format!("delta blob {id}"),
                std::io::Error::other(format!(
                    "its chain of bases is deeper than {} or loops",
                    limits::MAX_DELTA_DEPTH
                )),
            ),
        };
        // This copy's depth is 1 + its deepest base's; a base that is the blob itself, or
        // whose chain reaches it, loops.
        for b in bases {
            match index.depth(b).map_err(chain_err)? {
                _ if b == id => return Err(chain_err(ChainError::TooDeep)),
                d if d >= limits::MAX_DELTA_DEPTH => return Err(chain_err(ChainError::TooDeep)),
                _ => {}
            }
        }
        // levels[0] = the blob; levels[1] = its bases; levels[k + 1] = bases of the deltas
        // in levels[k].
        let mut first: Vec<BlobId> = Vec::new();
        for b in bases {
            if !first.contains(b) {
                first.push(*b);
            }
        }
        let mut levels: Vec<Vec<BlobId>> = vec![vec![*id]];
        if !first.is_empty() {
            levels.push(first);
        }
        while let Some(last) = levels.last().filter(|_| levels.len() > 1) {
            let mut next: Vec<BlobId> = Vec::new();
            for b in last {
                for base in index.bases(b) {
                    if !next.contains(base) {
                        next.push(*base);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            levels.push(next);
        }
        let mut got: std::collections::HashMap<BlobId, Arc<Vec<u8>>> = Default::default();
        for level in levels.iter().skip(1).rev() {
            for b in level {
                if got.contains_key(b) {
                    continue;
                }
                let plain = self.cache.get_or_load(b, || {
                    let loc = self.locate(index, b, BlobKind::Data).map_err(|e| match e {
                        Error::MissingBlob { .. } => Error::MissingBase {
                            blob: id.to_hex(),
                            base: b.to_hex(),
                        },
                        other => other,
                    })?;
                    // Authenticated, decoded, not re-hashed: a base only ever serves as
                    // history, and every plaintext built on it is re-hashed against its own
                    // ID (a wrong base cannot yield a right one). That saves two BLAKE3
                    // passes per changed chunk of a depth-2 restore. The sealed and opened
                    // bytes go to this thread's reused buffers.
                    let p = BASE_SCRATCH.with(|cell| {
                        let mut scratch = cell.borrow_mut();
                        let (sealed, opened) = &mut *scratch;
                        self.read_opened_into(index, b, &loc, sealed, opened)?;
                        with_concat(index.bases(b), &got, &MID_HISTORY, |h| {
                            decode_stored(index, b, &loc, opened, h)
                        })?
                    })?;
                    Ok::<_, Error>(Arc::new(p))
                })?;
                got.insert(*b, plain);
            }
        }
        with_concat(bases, &got, &LEAF_HISTORY, f)
    }

    /// A data blob's plaintext through the base cache (delta bases during backup).
    pub fn read_base(&self, index: &MasterIndex, id: &BlobId) -> Result<Arc<Vec<u8>>> {
        self.cache.get_or_load(id, || {
            Ok(Arc::new(self.read_blob(index, id, BlobKind::Data)?))
        })
    }

    /// Sealed blob bytes read from packs through this handle so far.
    pub fn blob_bytes_read(&self) -> u64 {
        self.blob_bytes_read
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes a new key file for `passphrase`; returns its ID.
    pub fn add_key(&self, passphrase: &[u8], kdf: Argon2Params) -> Result<KeyId> {
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let kf = KeyFile::create(
            passphrase,
            kdf,
            &salt,
            &nonce(),
            &self.master,
            self.id,
            now_ns(),
            &hostname(),
            &username(),
        )
        .map_err(|e| Error::Usage(format!("key parameters: {e}")))?;
        Ok(KeyId(self.write_named(FileType::Key, &kf.encode())?))
    }
}

/// A repository in `dir/r` with the cheapest key the floor allows, for unit tests.
#[cfg(test)]
pub(crate) fn test_repository(dir: &std::path::Path) -> Repository {
    let opts = InitOptions {
        kdf: Argon2Params {
            m_kib: format_spec::limits::ARGON2_MIN_M_KIB,
            t: format_spec::limits::ARGON2_MIN_T,
            p: 1,
        },
        ..InitOptions::default()
    };
    let backend = Arc::new(crate::backend::local::LocalBackend::new(dir.join("r")));
    Repository::init(backend, b"pw", &opts).expect("init a test repository")
}

/// Decodes stored bytes (against `history` for a delta) without re-hashing.
fn decode_stored(
    index: &MasterIndex,
    id: &BlobId,
    loc: &BlobLocation,
    stored: &[u8],
    history: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    blob::decode_against(loc.encoding, stored, loc.raw_len, history, &mut out).map_err(|e| {
        Error::damaged(
            format!("pack {} (blob {})", index.pack(loc.pack).0, id.short()),
            e,
        )
    })?;
    Ok(out)
}

thread_local! {
    // Sealed and opened bytes of the blob being read ([`Repository::read_blob_into`]).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    // The same for the bases of a delta, read while SCRATCH holds the delta itself.
    static BASE_SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    // Concatenated histories, reused per thread: one for the bases of a blob's bases, one for
    // the blob's own (both can be in use at once: the second is filled after the first).
    static MID_HISTORY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static LEAF_HISTORY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f` with the base plaintexts (already decoded into `got`) concatenated in the order
/// given: one base is lent as is, several are copied into the thread's `buf`.
fn with_concat<R>(
    bases: &[BlobId],
    got: &std::collections::HashMap<BlobId, Arc<Vec<u8>>>,
    buf: &'static std::thread::LocalKey<std::cell::RefCell<Vec<u8>>>,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R> {
    let get = |b: &BlobId| {
        got.get(b).ok_or_else(|| Error::MissingBlob {
            blob: b.to_hex(),
            needed_by: "a delta read".into(),
        })
    };
    if let [only] = bases {
        return Ok(f(get(only)?));
    }
    buf.with(|cell| {
        let mut out = cell.borrow_mut();
        out.clear();
        for b in bases {
            out.extend_from_slice(get(b)?);
        }
        Ok(f(&out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys_given_at_init_name_blobs_like_the_other_repository() {
        let dir = tempfile::tempdir().unwrap();
        let a = test_repository(dir.path());
        let opts = InitOptions {
            kdf: Argon2Params {
                m_kib: limits::ARGON2_MIN_M_KIB,
                t: limits::ARGON2_MIN_T,
                p: 1,
            },
            dedup_keys: Some(DedupKeys::of(a.keys())),
            ..InitOptions::default()
        };
        let backend = Arc::new(crate::backend::local::LocalBackend::new(
            dir.path().join("b"),
        ));
        Repository::init(backend.clone(), b"other", &opts).unwrap();
        // Opened again, the keys come from its config.
        let b = Repository::open(backend, b"other").unwrap();
        assert_eq!(b.keys().blob_id(b"chunk"), a.keys().blob_id(b"chunk"));
        assert_eq!(b.keys().chunker, a.keys().chunker);
        assert_ne!(
            b.keys().encryption,
            a.keys().encryption,
            "its own master key"
        );
        assert_ne!(b.id(), a.id());
        assert!(a.config().dedup_keys.is_none());
    }
}
