//! Blobs and their encodings: SPEC.md § [Blobs](../../SPEC.md#blobs) and
//! § [Blob encodings](../../SPEC.md#blob-encodings).
//!
//! A blob's ID is the keyed hash of its plaintext whatever the encoding, so dedup and
//! verification never depend on how a blob was stored.
//!
//! ```text
//! raw        stored plaintext = plaintext
//! zstd       stored plaintext = one zstd frame (content size present) of the plaintext
//! zstd-delta stored plaintext = one zstd frame whose dictionary is the concatenation of the
//!            base blobs' plaintexts (reserved: readers of this version reject it)
//! ```

use crate::decode::check_limit;
use crate::error::DecodeError;
use crate::limits;
use serde::{Deserialize, Serialize};

/// What a blob holds; tree and list blobs live in separate packs from data blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum BlobKind {
    /// A chunk of file content.
    Data = 0,
    /// A directory listing.
    Tree = 1,
    /// Part of a large file's chunk list.
    List = 2,
}

impl BlobKind {
    /// Decodes the pack-header byte.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(Self::Data),
            1 => Ok(Self::Tree),
            2 => Ok(Self::List),
            _ => Err(DecodeError::UnknownTag {
                what: "blob kind",
                value: v.into(),
            }),
        }
    }

    /// The sealed-object kind used in the blob's AAD.
    pub fn object_kind(self) -> crate::crypto::ObjectKind {
        use crate::crypto::ObjectKind;
        match self {
            Self::Data => ObjectKind::DataBlob,
            Self::Tree => ObjectKind::TreeBlob,
            Self::List => ObjectKind::ListBlob,
        }
    }

    /// Whether blobs of this kind go to metadata packs.
    pub fn is_metadata(self) -> bool {
        !matches!(self, Self::Data)
    }
}

/// How a blob's plaintext was turned into the bytes that were sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Encoding {
    /// Stored as is (zstd did not shrink it).
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
    /// A zstd frame against base blobs (reserved for delta chunks).
    ZstdDelta = 2,
}

impl Encoding {
    /// Decodes the pack-header byte.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(Self::Raw),
            1 => Ok(Self::Zstd),
            2 => Ok(Self::ZstdDelta),
            _ => Err(DecodeError::UnknownTag {
                what: "blob encoding",
                value: v.into(),
            }),
        }
    }

    /// Name as shown by `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Zstd => "zstd",
            Self::ZstdDelta => "zstd-delta",
        }
    }
}

/// Compresses a plaintext with zstd at `level`, keeping it raw when zstd does not shrink it.
pub fn encode(plaintext: &[u8], level: i32) -> (Encoding, Vec<u8>) {
    match zstd::bulk::compress(plaintext, level) {
        Ok(z) if z.len() < plaintext.len() => (Encoding::Zstd, z),
        _ => (Encoding::Raw, plaintext.to_vec()),
    }
}

/// Reverses [`encode`], allocating at most `raw_len` (bounded by `MAX_BLOB_SIZE`) bytes.
pub fn decode(encoding: Encoding, stored: &[u8], raw_len: u32) -> Result<Vec<u8>, DecodeError> {
    check_limit(
        "blob raw length",
        raw_len.into(),
        limits::MAX_BLOB_SIZE.into(),
    )?;
    let out = match encoding {
        Encoding::Raw => stored.to_vec(),
        Encoding::Zstd => {
            zstd::bulk::decompress(stored, raw_len as usize).map_err(|e| DecodeError::Invalid {
                what: "zstd blob",
                reason: e.to_string(),
            })?
        }
        Encoding::ZstdDelta => {
            return Err(DecodeError::Invalid {
                what: "blob encoding",
                reason: "zstd-delta needs its base blobs; use decode_delta".into(),
            })
        }
    };
    if out.len() != raw_len as usize {
        return Err(DecodeError::Invalid {
            what: "blob raw length",
            reason: format!("decoded {} bytes, header says {raw_len}", out.len()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_is_zstd_and_random_is_raw() {
        let text = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".repeat(10);
        let (enc, z) = encode(&text, 3);
        assert_eq!(enc, Encoding::Zstd);
        assert_eq!(decode(enc, &z, text.len() as u32).unwrap(), text);
        let mut noise = vec![0u8; 1000];
        blake3::Hasher::new()
            .update(b"noise")
            .finalize_xof()
            .fill(&mut noise);
        let (enc, r) = encode(&noise, 3);
        assert_eq!(enc, Encoding::Raw);
        assert_eq!(decode(enc, &r, 1000).unwrap(), noise);
    }

    #[test]
    fn zstd_bomb_is_bounded_by_raw_len() {
        let big = vec![0u8; 1 << 20];
        let (_, z) = encode(&big, 3);
        assert!(decode(Encoding::Zstd, &z, 1000).is_err());
        assert!(matches!(
            decode(Encoding::Raw, &[], limits::MAX_BLOB_SIZE + 1),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
