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
use std::cell::RefCell;

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

thread_local! {
    // zstd contexts are costly to create (allocation plus table zeroing); with many small
    // files that cost dominated a backup, so each thread keeps one of each.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compress(plaintext: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_none_or(|(l, _)| *l != level) {
            *c = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        match c.as_mut() {
            Some((_, z)) => z.compress(plaintext),
            None => zstd::bulk::compress(plaintext, level),
        }
    })
}

fn decompress(stored: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(z) => z.decompress(stored, capacity),
            None => zstd::bulk::decompress(stored, capacity),
        }
    })
}

/// Decompresses one zstd frame whose header states its content size, refusing sizes above
/// `max` before allocating (a hostile frame cannot make the reader allocate more).
pub fn decompress_bounded(
    what: &'static str,
    stored: &[u8],
    max: usize,
) -> Result<Vec<u8>, DecodeError> {
    let size = zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
        .ok_or_else(|| DecodeError::Invalid {
            what,
            reason: "not a zstd frame with a content size".into(),
        })?;
    check_limit(what, size, max as u64)?;
    let out = decompress(stored, size as usize).map_err(|e| DecodeError::Invalid {
        what,
        reason: e.to_string(),
    })?;
    if out.len() as u64 != size {
        return Err(DecodeError::Invalid {
            what,
            reason: format!("decoded {} bytes, frame says {size}", out.len()),
        });
    }
    Ok(out)
}

/// Compresses metadata objects (zstd level 3, content size in the frame header).
pub fn compress_object(plaintext: &[u8]) -> Vec<u8> {
    compress(plaintext, OBJECT_LEVEL).unwrap_or_else(|_| {
        // Unreachable in practice; fall back to a stateless call, which cannot fail on owned input.
        zstd::bulk::compress(plaintext, OBJECT_LEVEL).unwrap_or_default()
    })
}

/// zstd level for sealed MessagePack objects (index files, snapshots, …).
pub const OBJECT_LEVEL: i32 = 3;

/// Compresses a plaintext with zstd at `level`, keeping it raw when zstd does not shrink it.
pub fn encode(plaintext: &[u8], level: i32) -> (Encoding, Vec<u8>) {
    match compress(plaintext, level) {
        Ok(z) if z.len() < plaintext.len() => (Encoding::Zstd, z),
        _ => (Encoding::Raw, plaintext.to_vec()),
    }
}

/// [`decode`] into `out` (cleared first), reusing its allocation.
pub fn decode_into(
    encoding: Encoding,
    stored: &[u8],
    raw_len: u32,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    check_limit(
        "blob raw length",
        raw_len.into(),
        limits::MAX_BLOB_SIZE.into(),
    )?;
    out.clear();
    match encoding {
        Encoding::Raw => out.extend_from_slice(stored),
        Encoding::Zstd => {
            out.reserve(raw_len as usize);
            DECOMPRESSOR
                .with(|d| {
                    let mut d = d.borrow_mut();
                    if d.is_none() {
                        *d = Some(zstd::bulk::Decompressor::new()?);
                    }
                    match d.as_mut() {
                        Some(z) => z.decompress_to_buffer(stored, out).map(|_| ()),
                        None => Err(std::io::Error::other("no zstd context")),
                    }
                })
                .map_err(|e| DecodeError::Invalid {
                    what: "zstd blob",
                    reason: e.to_string(),
                })?;
        }
        Encoding::ZstdDelta => {
            return Err(DecodeError::Invalid {
                what: "blob encoding",
                reason: "zstd-delta needs its base blobs; use decode_against".into(),
            })
        }
    }
    if out.len() != raw_len as usize {
        return Err(DecodeError::Invalid {
            what: "blob raw length",
            reason: format!("decoded {} bytes, header says {raw_len}", out.len()),
        });
    }
    Ok(())
}

/// Decodes a blob of any encoding into `out` (cleared first): `history` is the concatenated
/// base plaintexts of a `zstd-delta` blob ([`crate::delta`]) and unused for the others.
pub fn decode_against(
    encoding: Encoding,
    stored: &[u8],
    raw_len: u32,
    history: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    match encoding {
        Encoding::ZstdDelta => crate::delta::decompress_into(history, stored, raw_len, out),
        _ => decode_into(encoding, stored, raw_len, out),
    }
}

/// Reverses [`encode`], allocating at most `raw_len` (bounded by `MAX_BLOB_SIZE`) bytes.
pub fn decode(encoding: Encoding, stored: &[u8], raw_len: u32) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    decode_into(encoding, stored, raw_len, &mut out)?;
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
