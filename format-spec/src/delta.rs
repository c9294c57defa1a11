//! The `zstd-delta` blob encoding: SPEC.md § [Blob encodings](../../SPEC.md#blob-encodings).
//!
//! A delta is one zstd frame (RFC 8878) whose history before its first byte is the
//! concatenation of its base blobs' plaintexts, in the order the pack entry names them
//! (zstd's "raw content" dictionary, `ZSTD_CCtx_refPrefix`). The frame states its content
//! size and carries no dictionary ID. Writers choose the parameters below so the whole
//! history is indexed; readers need none of them.

use crate::decode::check_limit;
use crate::error::DecodeError;
use crate::id::BlobId;
use crate::limits;
use zstd::zstd_safe::{CCtx, CParameter, DCtx, DParameter, Strategy};

/// Largest zstd window a reader accepts for a delta frame (log2): history plus output.
pub const WINDOW_LOG_MAX: u32 = 27;
/// Minimum match length the writer uses (long runs of unchanged rows; 6 skips noise).
const MIN_MATCH: u32 = 6;

/// Window log for a history of `history` bytes followed by `len` bytes.
pub fn window_log(history: usize, len: usize) -> u32 {
    let total = (history + len).max(1 << 10) as u64;
    64 - (total - 1).leading_zeros()
}

/// Compresses `plaintext` as a delta against `history` (the bases' plaintexts, concatenated).
///
/// Strategy `fast` over a hash table of 2^(windowLog − 3) entries (16 to 20). zstd indexes a
/// dictionary only up to `8 << max(hashLog, chainLog)` bytes from its end, so chainLog (no
/// table of its own under `fast`) is set to the window log: the whole history is indexed,
/// the first base included, with a small table that is cheap to clear for every chunk.
pub fn compress(history: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let wlog = window_log(history.len(), plaintext.len());
    if wlog > WINDOW_LOG_MAX {
        return Err(DecodeError::TooLarge {
            what: "delta history",
            len: (history.len() + plaintext.len()) as u64,
            max: 1 << WINDOW_LOG_MAX,
        });
    }
    let fail = |code: usize| DecodeError::Invalid {
        what: "zstd-delta compression",
        reason: zstd::zstd_safe::get_error_name(code).to_string(),
    };
    let mut cctx = CCtx::try_create().ok_or_else(|| fail(0))?;
    for p in [
        CParameter::CompressionLevel(1),
        CParameter::Strategy(Strategy::ZSTD_fast),
        CParameter::WindowLog(wlog),
        CParameter::HashLog(wlog.saturating_sub(3).clamp(16, 20)),
        CParameter::ChainLog(wlog),
        CParameter::MinMatch(MIN_MATCH),
        CParameter::ContentSizeFlag(true),
        CParameter::ChecksumFlag(false),
        CParameter::DictIdFlag(false),
    ] {
        cctx.set_parameter(p).map_err(fail)?;
    }
    cctx.ref_prefix(history).map_err(fail)?;
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(plaintext.len()));
    cctx.compress2(&mut out, plaintext).map_err(fail)?;
    Ok(out)
}

/// The content size a zstd frame states in its header, if it states one.
pub fn frame_content_size(stored: &[u8]) -> Option<u64> {
    zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
}

/// Decodes a delta frame against `history` into `out` (cleared first); `raw_len` is the
/// entry's raw length, bounded by `MAX_BLOB_SIZE`, and the frame must yield exactly that.
pub fn decompress_into(
    history: &[u8],
    stored: &[u8],
    raw_len: u32,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    check_limit(
        "blob raw length",
        raw_len.into(),
        limits::MAX_BLOB_SIZE.into(),
    )?;
    check_limit(
        "delta window (history and output)",
        (history.len() as u64).saturating_add(raw_len.into()),
        1 << WINDOW_LOG_MAX,
    )?;
    let invalid = |reason: String| DecodeError::Invalid {
        what: "zstd-delta blob",
        reason,
    };
    match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(n)) if n == u64::from(raw_len) => {}
        Ok(Some(n)) => return Err(invalid(format!("frame says {n} bytes, entry {raw_len}"))),
        _ => return Err(invalid("not a zstd frame with a content size".into())),
    }
    out.clear();
    out.reserve(raw_len as usize);
    let zerr = |e: usize| invalid(zstd::zstd_safe::get_error_name(e).into());
    // A fresh context per frame: the prefix borrows `history` for this frame only.
    let mut dctx = DCtx::try_create().ok_or_else(|| invalid("no zstd context".into()))?;
    dctx.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
        .map_err(zerr)?;
    dctx.ref_prefix(history).map_err(zerr)?;
    dctx.decompress(out, stored).map_err(zerr)?;
    if out.len() != raw_len as usize {
        return Err(invalid(format!(
            "decoded {} bytes, entry says {raw_len}",
            out.len()
        )));
    }
    Ok(())
}

/// Why a delta chain cannot be followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// This blob (the one asked for or a base on its chain) is not known.
    Missing(BlobId),
    /// The chain is deeper than `MAX_DELTA_DEPTH`, or loops back on itself.
    TooDeep,
}

/// The delta depth of `id`: 0 for a plain blob, 1 + the deepest base for a delta.
///
/// `bases(b)` is `None` for an unknown blob and the (possibly empty) base list otherwise.
/// The walk goes level by level with no recursion and gives up after `MAX_DELTA_DEPTH`
/// levels, so a blob that is its own base, a cycle and an over-long chain all end as
/// [`ChainError::TooDeep`] after at most `MAX_DELTA_DEPTH + 1` levels of at most
/// `MAX_DELTA_BASES^level` lookups.
pub fn depth<'a>(
    id: &BlobId,
    bases: impl Fn(&BlobId) -> Option<&'a [BlobId]>,
) -> Result<usize, ChainError> {
    let mut level: Vec<BlobId> = vec![*id];
    for depth in 0..=limits::MAX_DELTA_DEPTH {
        let mut next: Vec<BlobId> = Vec::new();
        for b in &level {
            for base in bases(b).ok_or(ChainError::Missing(*b))? {
                if !next.contains(base) {
                    next.push(*base);
                }
            }
        }
        if next.is_empty() {
            return Ok(depth);
        }
        level = next;
    }
    Err(ChainError::TooDeep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seed: &str, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        blake3::Hasher::new()
            .update(seed.as_bytes())
            .finalize_xof()
            .fill(&mut v);
        v.iter()
            .map(|b| b"0123456789abcdef"[(b & 15) as usize])
            .collect()
    }

    #[test]
    fn a_small_edit_is_a_small_delta_and_round_trips() {
        let base = text("base", 1 << 20);
        let mut new = base.clone();
        new.splice(500_000..500_100, text("edit", 300));
        let d = compress(&base, &new).unwrap();
        assert!(
            d.len() < 1000,
            "delta of a 300-byte edit is {} bytes",
            d.len()
        );
        let mut out = Vec::new();
        decompress_into(&base, &d, new.len() as u32, &mut out).unwrap();
        assert_eq!(out, new);
        // The wrong history decodes to other bytes or fails; never the plaintext.
        let other = text("other", 1 << 20);
        let r = decompress_into(&other, &d, new.len() as u32, &mut out);
        assert!(r.is_err() || out != new);
    }

    #[test]
    fn depth_rejects_cycles_and_long_chains() {
        use std::collections::HashMap;
        let id = |i: u8| BlobId([i; 32]);
        let mut m: HashMap<BlobId, Vec<BlobId>> = HashMap::new();
        m.insert(id(0), vec![]);
        m.insert(id(1), vec![id(0)]);
        m.insert(id(2), vec![id(1), id(0)]);
        m.insert(id(3), vec![id(2)]);
        m.insert(id(4), vec![id(5)]);
        m.insert(id(5), vec![id(4)]);
        m.insert(id(6), vec![id(6)]);
        m.insert(id(7), vec![id(9)]);
        let f = |b: &BlobId| m.get(b).map(Vec::as_slice);
        assert_eq!(depth(&id(0), f), Ok(0));
        assert_eq!(depth(&id(1), f), Ok(1));
        assert_eq!(depth(&id(2), f), Ok(2));
        assert_eq!(depth(&id(3), f), Err(ChainError::TooDeep));
        assert_eq!(depth(&id(4), f), Err(ChainError::TooDeep));
        assert_eq!(depth(&id(6), f), Err(ChainError::TooDeep));
        assert_eq!(depth(&id(7), f), Err(ChainError::Missing(id(9))));
    }

    #[test]
    fn raw_len_must_match_the_frame() {
        let base = text("b", 4096);
        let d = compress(&base, &base).unwrap();
        let mut out = Vec::new();
        assert!(decompress_into(&base, &d, 4095, &mut out).is_err());
        assert!(decompress_into(&base, &d, limits::MAX_BLOB_SIZE + 1, &mut out).is_err());
        assert!(decompress_into(&base, b"not zstd", 4096, &mut out).is_err());
    }
}
