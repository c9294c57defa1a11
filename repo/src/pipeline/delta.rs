//! Delta chunks: DESIGN.md §4b, SPEC.md § [Blob encodings](../../SPEC.md#blob-encodings).
//!
//! A changed chunk of a diff or incr backup is compressed with zstd against the chunks at
//! the same place in the parent's version of the file (its candidate bases, found by the
//! producer). The delta is kept only when it is clearly smaller than the plain frame;
//! bases are read through the repository's cache, and a base too deep to build on is
//! replaced by its own bases, so no chain grows past `MAX_DELTA_DEPTH`.

use crate::error::Result;
use crate::index::MasterIndex;
use crate::pipeline::seal::{seal_blob_at, seal_stored, SealedBlob, Stored};
use crate::repository::Repository;
use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::delta::WINDOW_LOG_MAX;
use format_spec::id::BlobId;
use format_spec::limits::{MAX_DELTA_BASES, MAX_DELTA_DEPTH};

/// Bases are added until their plaintexts reach this multiple of the chunk's length.
pub const HISTORY_FACTOR: usize = 2;

/// A delta at most 1/`TINY` of the raw chunk is kept without trying the plain frame.
pub const TINY: usize = 32;
/// Otherwise it is kept when at most `KEEP_NUM`/`KEEP_DEN` (3/4) of the plain zstd frame:
/// clearly smaller, yet a chunk half made of new rows (inserted into space freed by deleted
/// ones) still gains its unchanged half.
pub const KEEP_NUM: usize = 3;
/// See [`KEEP_NUM`].
pub const KEEP_DEN: usize = 4;

/// Turns candidate bases into bases a new delta may use: indexed data blobs of depth below
/// `MAX_DELTA_DEPTH` (a deeper candidate is replaced by its own bases), at most
/// `MAX_DELTA_BASES`, with a history that fits the delta window.
pub fn resolve_bases(index: &MasterIndex, candidates: &[BlobId], raw_len: usize) -> Vec<BlobId> {
    let mut out: Vec<BlobId> = Vec::new();
    let mut history = 0usize;
    let mut add = |b: &BlobId, out: &mut Vec<BlobId>| {
        let Some(loc) = index.get(b) else { return };
        // A base only pending packs hold may be deleted by the prune that announced them.
        if !index.usable(b) {
            return;
        }
        let fits = (history + loc.raw_len as usize + raw_len) <= (1usize << WINDOW_LOG_MAX);
        // Enough history to cover the chunk with room for a moved cut; more only slows the
        // delta's compression and every restore of it.
        let enough = history >= HISTORY_FACTOR * raw_len;
        if loc.kind == BlobKind::Data
            && fits
            && !enough
            && out.len() < MAX_DELTA_BASES
            && !out.contains(b)
        {
            history += loc.raw_len as usize;
            out.push(*b);
        }
    };
    for c in candidates {
        match index.depth(c) {
            Ok(d) if d < MAX_DELTA_DEPTH => add(c, &mut out),
            Ok(_) => {
                for b in index.bases(c) {
                    if index.depth(b).is_ok_and(|d| d < MAX_DELTA_DEPTH) {
                        add(b, &mut out);
                    }
                }
            }
            Err(_) => {}
        }
    }
    out
}

/// Seals a new data chunk as a delta against `candidates` when that pays, else plain.
pub fn seal_chunk(
    repo: &Repository,
    index: &MasterIndex,
    id: BlobId,
    data: &[u8],
    level: i32,
    candidates: &[BlobId],
) -> Result<SealedBlob> {
    let bases = resolve_bases(index, candidates, data.len());
    if bases.is_empty() {
        if !candidates.is_empty() {
            tracing::debug!(chunk = %id, candidates = candidates.len(), "no usable base");
        }
        return seal_blob_at(repo, BlobKind::Data, id, data, level);
    }
    HISTORY.with(|h| {
        let mut history = h.borrow_mut();
        history.clear();
        for b in &bases {
            match repo.read_base(index, b) {
                Ok(p) => history.extend_from_slice(&p),
                Err(e) => {
                    // A damaged base only costs this chunk its delta; check reports the damage.
                    tracing::warn!(base = %b, error = %e, "delta base unreadable; chunk stored plain");
                    return seal_blob_at(repo, BlobKind::Data, id, data, level);
                }
            }
        }
        seal_against(repo, id, data, level, bases, &history)
    })
}

thread_local! {
    // The concatenated bases, reused per thread: a multi-MiB buffer per chunk would be
    // mapped and faulted in afresh every time.
    static HISTORY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn seal_against(
    repo: &Repository,
    id: BlobId,
    data: &[u8],
    level: i32,
    bases: Vec<BlobId>,
    history: &[u8],
) -> Result<SealedBlob> {
    let Ok(delta) = format_spec::delta::compress(history, data) else {
        return seal_blob_at(repo, BlobKind::Data, id, data, level);
    };
    let as_delta = |delta: Vec<u8>| Stored {
        kind: BlobKind::Data,
        id,
        encoding: Encoding::ZstdDelta,
        stored: delta,
        bases: bases.clone(),
    };
    if delta.len().saturating_mul(TINY) <= data.len() {
        return seal_stored(repo, as_delta(delta), data, history);
    }
    let (encoding, plain) = blob::encode(data, level);
    tracing::debug!(chunk = %id, raw = data.len(), delta = delta.len(), plain = plain.len(), bases = bases.len(), history = history.len(), "large delta");
    if delta.len().saturating_mul(KEEP_DEN) <= plain.len().saturating_mul(KEEP_NUM) {
        seal_stored(repo, as_delta(delta), data, history)
    } else {
        let stored = Stored {
            kind: BlobKind::Data,
            id,
            encoding,
            stored: plain,
            bases: Vec::new(),
        };
        seal_stored(repo, stored, data, &[])
    }
}
