//! The repository config: SPEC.md § [Config](../../SPEC.md#config).
//!
//! Sealed (kind `Config`) in the file `config`; it fixes the chunker and pack parameters
//! every writer of the repository must use, so that all writers deduplicate alike.

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
}

impl RepoConfig {
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
