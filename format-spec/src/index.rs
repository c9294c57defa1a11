//! Index files: SPEC.md § [Index files](../../SPEC.md#index-files).
//!
//! An index file says which pack holds which blob, at which offset and in which encoding.
//! It may name older index files it supersedes (written by `repair index` and prune).
//! Everything in it can be rebuilt from pack headers.

use crate::blob::{BlobKind, Encoding};
use crate::decode::check_version;
use crate::error::DecodeError;
use crate::id::{BlobId, IndexId, PackId};
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;

/// One index file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    /// Structure version (1).
    pub v: u32,
    /// Index files this one replaces; readers ignore those.
    #[serde(default)]
    pub supersedes: Vec<IndexId>,
    /// The packs this file describes.
    pub packs: Vec<IndexPack>,
}

/// A pack and its blobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPack {
    /// The pack's ID (its file name).
    pub id: PackId,
    /// The pack file's size in bytes.
    pub size: u64,
    /// Its blobs, as in its header.
    pub blobs: Vec<IndexBlob>,
}

/// Where one blob lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexBlob {
    /// Blob ID.
    pub id: BlobId,
    /// Blob kind.
    pub kind: BlobKind,
    /// Encoding.
    pub enc: Encoding,
    /// Offset in the pack.
    pub off: u32,
    /// Sealed length.
    pub len: u32,
    /// Plaintext length.
    pub raw: u32,
    /// Bases of a delta.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<BlobId>,
}

impl From<crate::pack::PackEntry> for IndexBlob {
    /// An index entry says what the pack header's entry says (SPEC.md § Index files).
    fn from(e: crate::pack::PackEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            enc: e.encoding,
            off: e.offset,
            len: e.stored_len,
            raw: e.raw_len,
            bases: e.bases,
        }
    }
}

impl IndexFile {
    /// Checks the version and that every entry lies inside its pack.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("index", self.v, VERSION)?;
        for p in &self.packs {
            crate::decode::check_limit("index pack size", p.size, crate::limits::MAX_PACK_SIZE)?;
            for b in &p.blobs {
                crate::decode::check_limit(
                    "index entry raw length",
                    b.raw.into(),
                    crate::limits::MAX_BLOB_SIZE.into(),
                )?;
                // A writer stores a blob raw when compression does not shrink it, so the
                // sealed length never exceeds the plaintext's by more than the seal overhead.
                crate::decode::check_limit(
                    "index entry sealed length",
                    b.len.into(),
                    u64::from(b.raw) + crate::crypto::SEAL_OVERHEAD as u64,
                )?;
                if (b.enc == Encoding::ZstdDelta) == b.bases.is_empty() {
                    return Err(DecodeError::Invalid {
                        what: "index entry",
                        reason: format!(
                            "blob {}: only zstd-delta entries name bases, and they must",
                            b.id.short()
                        ),
                    });
                }
                crate::decode::check_limit(
                    "index entry bases",
                    b.bases.len() as u64,
                    crate::limits::MAX_DELTA_BASES as u64,
                )?;
                if b.bases.contains(&b.id) || (!b.bases.is_empty() && b.kind != BlobKind::Data) {
                    return Err(DecodeError::Invalid {
                        what: "index entry",
                        reason: format!(
                            "blob {}: a delta must be a data blob and not its own base",
                            b.id.short()
                        ),
                    });
                }
                if u64::from(b.off) + u64::from(b.len) > p.size {
                    return Err(DecodeError::Invalid {
                        what: "index entry",
                        reason: format!(
                            "blob {} lies past the end of pack {}",
                            b.id.short(),
                            p.id.short()
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}
