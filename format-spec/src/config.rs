//! The repository config: SPEC.md § [Config](../../SPEC.md#config).
//!
//! Sealed (kind `Config`) in the file `config`; it fixes the chunker and pack parameters
//! every writer of the repository must use, so that all writers deduplicate alike.
//!
//! A config may carry [`DedupKeys`]: the blob-ID and chunker keys of another repository
//! (`init --copy-chunker-params`), used instead of the ones derived from this repository's
//! master key, so that both cut and name chunks alike and `copy` moves blobs between them
//! without re-chunking. The encryption key is always this repository's own.

use crate::crypto::{MasterKey, SubKey, SubKeys};
use crate::decode::check_version;
use crate::error::DecodeError;
use crate::id::RepoId;
use crate::limits;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;

/// FastCDC sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// No cut before this many bytes.
    pub min: u32,
    /// Target average; a power of two.
    pub avg: u32,
    /// Forced cut at this many bytes.
    pub max: u32,
}

impl ChunkerParams {
    /// Defaults: 256 KiB / 1 MiB / 4 MiB.
    pub const DEFAULT: Self = Self {
        min: 256 << 10,
        avg: 1 << 20,
        max: 4 << 20,
    };

    /// Checks `MIN_CHUNK_SIZE ≤ min < avg < max ≤ MAX_CHUNK_SIZE`, all even, avg a power of two.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let ok = limits::MIN_CHUNK_SIZE <= self.min
            && self.min < self.avg
            && self.avg < self.max
            && self.max <= limits::MAX_CHUNK_SIZE
            && self.avg.is_power_of_two()
            && self.min.is_multiple_of(2)
            && self.max.is_multiple_of(2);
        if !ok {
            return Err(DecodeError::Invalid {
                what: "chunker params",
                reason: format!("{self:?} out of bounds"),
            });
        }
        Ok(())
    }
}

/// The blob-ID key and chunker key of a repository that shares them with another (SPEC.md §
/// [Keys](../../SPEC.md#keys)): whoever holds both cuts a file into the same chunks and
/// gives them the same blob IDs. Secret like every key; printed as `SubKey(..)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupKeys {
    /// Keys the hash that names blobs (and whole-file hashes).
    pub blob_id: SubKey,
    /// Derives the gear table of the chunker.
    pub chunker: SubKey,
}

impl DedupKeys {
    /// The blob-ID and chunker keys of a set of sub-keys.
    pub fn of(keys: &SubKeys) -> Self {
        Self {
            blob_id: keys.blob_id.clone(),
            chunker: keys.chunker.clone(),
        }
    }
}

/// The repository config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    /// Structure version (1).
    pub v: u32,
    /// Repository ID (also in every AAD).
    pub id: RepoId,
    /// Creation time, ns since the epoch.
    pub created_ns: i64,
    /// Chunker sizes.
    pub chunker: ChunkerParams,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// zstd level for new blobs.
    pub zstd_level: i32,
    /// Blob-ID and chunker keys shared with another repository; absent (the usual case):
    /// derived from the master key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_keys: Option<DedupKeys>,
}

impl RepoConfig {
    /// The sub-keys of a repository with this config: derived from the master key, except
    /// the blob-ID and chunker keys when the config carries `dedup_keys`.
    pub fn sub_keys(&self, master: &MasterKey) -> SubKeys {
        let mut keys = SubKeys::derive(master);
        if let Some(k) = &self.dedup_keys {
            keys.blob_id = k.blob_id.clone();
            keys.chunker = k.chunker.clone();
        }
        keys
    }

    /// Checks version and parameter bounds.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("config", self.v, VERSION)?;
        self.chunker.validate()?;
        if u64::from(self.pack_size) > limits::MAX_PACK_SIZE / 2 || self.pack_size < (1 << 20) {
            return Err(DecodeError::Invalid {
                what: "config pack_size",
                reason: format!("{} out of bounds", self.pack_size),
            });
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err(DecodeError::Invalid {
                what: "config zstd_level",
                reason: format!("{} out of 1..=19", self.zstd_level),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dedup_keys: Option<DedupKeys>) -> RepoConfig {
        RepoConfig {
            v: VERSION,
            id: RepoId([1; 32]),
            created_ns: 0,
            chunker: ChunkerParams::DEFAULT,
            pack_size: 16 << 20,
            zstd_level: 3,
            dedup_keys,
        }
    }

    #[test]
    fn dedup_keys_replace_blob_id_and_chunker_keys_only() {
        let (a, b) = (MasterKey([1; 32]), MasterKey([2; 32]));
        let plain = config(None);
        assert_eq!(plain.sub_keys(&a).blob_id, SubKeys::derive(&a).blob_id);
        let shared = config(Some(DedupKeys::of(&SubKeys::derive(&a))));
        let (ka, kb) = (shared.sub_keys(&a), shared.sub_keys(&b));
        assert_eq!(ka.blob_id(b"x"), kb.blob_id(b"x"), "same blob IDs");
        assert_eq!(ka.chunker, kb.chunker, "same gear table");
        assert_ne!(ka.encryption, kb.encryption, "own encryption key");
        assert_eq!(kb.encryption, SubKeys::derive(&b).encryption);
    }

    #[test]
    fn dedup_keys_are_omitted_when_absent_and_round_trip() {
        let plain = config(None);
        let bytes = crate::decode::to_msgpack(&plain);
        assert!(!bytes.windows(10).any(|w| w == b"dedup_keys"));
        let shared = config(Some(DedupKeys::of(&SubKeys::derive(&MasterKey([3; 32])))));
        let bytes = crate::decode::to_msgpack(&shared);
        let back: RepoConfig = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, shared);
        assert!(
            format!("{shared:?}").contains("blob_id: SubKey(..)"),
            "keys never print"
        );
    }
}
