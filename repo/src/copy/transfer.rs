//! Moving blobs between repositories that share their dedup keys: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots), rule 4.
//!
//! Blob IDs are the same in both repositories, so a blob is stored only when the
//! destination lacks it (not *usable* there: absent, or held only by packs a prune
//! announced). Each one is read from its source pack, authenticated with the source's key,
//! decoded and re-hashed against its ID (nothing read is trusted), then its stored bytes
//! (the same zstd frame or delta frame) are sealed with the destination's key and opened
//! again before they may enter a pack. Nothing is re-chunked or recompressed.
//!
//! Deltas stay deltas when the destination can read them: their bases are copied too when
//! it lacks them, and a delta whose depth there would pass `MAX_DELTA_DEPTH` (because the
//! destination holds a base as a deeper delta than the source did) is stored plain. Data
//! blobs of a `full` are stored plain, as a full backup stores them.
//!
//! Blobs are read in pack order, in batches of about [`BATCH_BYTES`] decoded on every core,
//! and packed by the backup's upload stage on its own thread, so memory stays at a few
//! batches whatever the snapshot's size.

use crate::backup::upload;
use crate::error::{Error, Result};
use crate::index::{BlobLocation, MasterIndex};
use crate::pipeline::packer::PackStats;
use crate::pipeline::seal::{seal_blob, SealedBlob};
use crate::progress::Progress;
use crate::repository::{nonce, Repository};
use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::crypto;
use format_spec::id::BlobId;
use format_spec::index::IndexPack;
use format_spec::limits::MAX_DELTA_DEPTH;
use rayon::prelude::*;
use std::collections::HashMap;

/// Decoded bytes gathered before a batch is sealed in parallel.
pub const BATCH_BYTES: u64 = 32 << 20;

/// One blob to store in the destination.
#[derive(Clone, Debug)]
pub struct Item {
    /// The blob.
    pub id: BlobId,
    /// Its kind.
    pub kind: BlobKind,
    /// Its source copy (the one the source index chooses).
    pub loc: BlobLocation,
    /// Keep a delta's frame and bases; false stores it plain.
    pub keep_delta: bool,
}

/// Counters of one snapshot's transfer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransferStats {
    /// Blobs stored.
    pub blobs: u64,
    /// Their plaintext bytes.
    pub bytes_new: u64,
    /// Blobs stored as deltas (kept from the source).
    pub deltas: u64,
    /// Packs written and their bytes.
    pub packs: PackStats,
}

/// Chooses what to store for the blobs a snapshot reached: those the destination lacks,
/// plus the bases of kept deltas it lacks. `full` stores data blobs plain (and counts a
/// data blob the destination holds only as a delta as lacking). `dst` must include what
/// earlier snapshots of the run stored: each snapshot's index is written, and added to it,
/// before the next is planned.
pub fn plan(
    src: &MasterIndex,
    dst: &MasterIndex,
    reached: &[(BlobId, BlobKind)],
    full: bool,
) -> Result<Vec<Item>> {
    let mut p = Planner {
        src,
        dst,
        full,
        items: Vec::new(),
        at: HashMap::new(),
        depth: HashMap::new(),
    };
    for (id, kind) in reached {
        let present = if *kind == BlobKind::Data && full {
            dst.usable_plain(id)
        } else {
            dst.usable(id)
        };
        if !present {
            p.add(id, *kind)?;
        }
    }
    // Depths need every planned blob first: a base may be planned after its delta.
    for i in 0..p.items.len() {
        let id = p.items.get(i).map(|it| it.id);
        if let Some(id) = id {
            p.resolve(&id, MAX_DELTA_DEPTH + 1)?;
        }
    }
    Ok(p.items)
}

struct Planner<'a> {
    src: &'a MasterIndex,
    dst: &'a MasterIndex,
    full: bool,
    items: Vec<Item>,
    /// Position of each planned blob in `items`.
    at: HashMap<BlobId, usize>,
    /// Delta depth of each planned blob as it will be stored.
    depth: HashMap<BlobId, usize>,
}

impl Planner<'_> {
    fn add(&mut self, id: &BlobId, kind: BlobKind) -> Result<()> {
        if self.at.contains_key(id) {
            return Ok(());
        }
        let loc = self.src.get(id).ok_or_else(|| Error::MissingBlob {
            blob: id.to_hex(),
            needed_by: "a snapshot being copied (source repository)".into(),
        })?;
        self.at.insert(*id, self.items.len());
        self.items.push(Item {
            id: *id,
            kind,
            loc,
            keep_delta: loc.encoding == Encoding::ZstdDelta && !self.full,
        });
        Ok(())
    }

    /// The depth `id` will have in the destination, deciding for planned deltas whether they
    /// stay deltas (their bases planned too when the destination lacks them). `budget`
    /// bounds the recursion whatever a damaged source index says.
    fn resolve(&mut self, id: &BlobId, budget: usize) -> Result<usize> {
        const TOO_DEEP: usize = MAX_DELTA_DEPTH + 1;
        if let Some(&d) = self.depth.get(id) {
            return Ok(d);
        }
        let Some(&i) = self.at.get(id) else {
            // Not stored by this copy: the destination's own copy, if it can serve as a base.
            return Ok(match self.dst.get(id) {
                Some(loc) if loc.kind == BlobKind::Data && self.dst.usable(id) => {
                    self.dst.depth(id).unwrap_or(TOO_DEEP)
                }
                _ => TOO_DEEP,
            });
        };
        let keep = self.items.get(i).is_some_and(|it| it.keep_delta);
        let mut depth = 0;
        if keep && budget > 0 {
            let bases = self.src.bases(id).to_vec();
            let mut deepest = 0;
            for b in &bases {
                let lacking = !self.dst.usable(b) && !self.at.contains_key(b);
                if lacking {
                    self.add(b, BlobKind::Data)?;
                }
                deepest = deepest.max(self.resolve(b, budget - 1)?);
            }
            depth = deepest + 1;
        }
        if keep && (budget == 0 || depth > MAX_DELTA_DEPTH) {
            // Its bases are deeper deltas in the destination than in the source.
            if let Some(it) = self.items.get_mut(i) {
                it.keep_delta = false;
            }
            depth = 0;
        }
        self.depth.insert(*id, depth);
        Ok(depth)
    }
}

/// Stores `items` (read from `src`) in `dst`'s packs. Returns the packs, not yet indexed.
pub fn run(
    src: &Repository,
    src_index: &MasterIndex,
    dst: &Repository,
    mut items: Vec<Item>,
    progress: &dyn Progress,
) -> Result<(Vec<IndexPack>, TransferStats)> {
    // Pack order: each source pack is read front to back.
    items.sort_by_key(|it| (it.loc.pack, it.loc.offset));
    let mut stats = TransferStats::default();
    let (tx, rx) = crossbeam_channel::bounded::<SealedBlob>(8);
    let (sent, uploaded) = std::thread::scope(|s| {
        let uploader = s.spawn(|| upload(dst, rx, false, progress));
        let sent = (|| {
            let mut batch: Vec<Item> = Vec::new();
            let mut bytes = 0u64;
            let mut rest = items.into_iter().peekable();
            while let Some(it) = rest.next() {
                bytes += u64::from(it.loc.raw_len);
                batch.push(it);
                if bytes < BATCH_BYTES && rest.peek().is_some() {
                    continue;
                }
                let sealed: Vec<Result<SealedBlob>> = batch
                    .par_iter()
                    .map(|it| transfer_one(src, src_index, dst, it))
                    .collect();
                batch.clear();
                for sealed in sealed {
                    let sealed = sealed?;
                    stats.blobs += 1;
                    stats.bytes_new += u64::from(sealed.raw_len);
                    if !sealed.bases.is_empty() {
                        stats.deltas += 1;
                    }
                    progress.bytes(u64::from(sealed.raw_len));
                    tx.send(sealed).map_err(|_| Error::RepoWrite {
                        what: "pack".into(),
                        cause: std::io::Error::other("pack writer stopped"),
                    })?;
                }
                bytes = 0;
            }
            Ok::<(), Error>(())
        })();
        // Let the uploader flush and end whether or not every blob was sent.
        drop(tx);
        let uploaded = uploader
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("upload thread panicked".into())));
        (sent, uploaded)
    });
    // An upload error is the root cause when both failed (sending saw a closed channel).
    let (packs, pack_stats) = uploaded?;
    sent?;
    stats.packs = pack_stats;
    Ok((packs, stats))
}

/// Reads one blob from the source, checks it, and seals it for the destination.
fn transfer_one(
    src: &Repository,
    src_index: &MasterIndex,
    dst: &Repository,
    it: &Item,
) -> Result<SealedBlob> {
    let (loc, stored) = src.read_stored(src_index, &it.id, it.kind)?;
    let what = || format!("blob {} (source repository)", it.id);
    let mut plain = Vec::new();
    if loc.encoding == Encoding::ZstdDelta {
        src.with_delta_history(src_index, &it.id, |history| {
            blob::decode_against(loc.encoding, &stored, loc.raw_len, history, &mut plain)
        })?
        .map_err(|e| Error::damaged(what(), e))?;
    } else {
        blob::decode_against(loc.encoding, &stored, loc.raw_len, &[], &mut plain)
            .map_err(|e| Error::damaged(what(), e))?;
    }
    if src.keys().blob_id(&plain) != it.id {
        return Err(Error::HashMismatch {
            blob: it.id.to_hex(),
            pack: format!("{} (source repository)", src_index.pack(loc.pack).0),
        });
    }
    if loc.encoding == Encoding::ZstdDelta && !it.keep_delta {
        return seal_blob(dst, it.kind, it.id, &plain);
    }
    let bases = if loc.encoding == Encoding::ZstdDelta {
        src_index.bases(&it.id).to_vec()
    } else {
        Vec::new()
    };
    reseal(
        dst,
        it.kind,
        it.id,
        loc.encoding,
        &stored,
        loc.raw_len,
        bases,
    )
}

/// Seals stored bytes that were just decoded and re-hashed, for `dst`, and opens the
/// result again: the bytes that enter the pack open to exactly those stored bytes (verify
/// before upload, at the cost of one open instead of a second decode).
fn reseal(
    dst: &Repository,
    kind: BlobKind,
    id: BlobId,
    encoding: Encoding,
    stored: &[u8],
    raw_len: u32,
    bases: Vec<BlobId>,
) -> Result<SealedBlob> {
    let okind = kind.object_kind();
    let aad = crypto::aad(dst.id(), okind, Some(&id));
    let bytes = crypto::seal(&dst.keys().encryption, &nonce(), &aad, stored);
    let opened = crypto::open(&dst.keys().encryption, okind, &aad, &bytes)
        .map_err(|e| Error::damaged(format!("new blob {id} (check before upload)"), e))?;
    if opened != stored {
        return Err(Error::HashMismatch {
            blob: id.to_hex(),
            pack: "(not yet written: check before upload)".into(),
        });
    }
    Ok(SealedBlob {
        kind,
        id,
        encoding,
        raw_len,
        bytes,
        bases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::id::{IndexId, PackId};
    use format_spec::index::{IndexBlob, IndexFile};

    fn id(n: u8) -> BlobId {
        BlobId([n; 32])
    }

    /// An index of one pack holding `blobs`: (ID, bases); no bases is plain.
    fn index(pack: u8, blobs: &[(u8, &[u8])]) -> MasterIndex {
        let blobs = blobs
            .iter()
            .enumerate()
            .map(|(i, (b, bases))| IndexBlob {
                id: id(*b),
                kind: BlobKind::Data,
                enc: if bases.is_empty() {
                    Encoding::Zstd
                } else {
                    Encoding::ZstdDelta
                },
                off: i as u32 * 100,
                len: 100,
                raw: 1000,
                bases: bases.iter().map(|x| id(*x)).collect(),
            })
            .collect();
        let file = IndexFile {
            v: 1,
            supersedes: vec![],
            packs: vec![format_spec::index::IndexPack {
                id: PackId([pack; 32]),
                size: 1 << 20,
                blobs,
            }],
        };
        MasterIndex::build(vec![(IndexId([pack; 32]), file)])
    }

    fn planned(items: &[Item]) -> Vec<(u8, bool)> {
        let mut v: Vec<(u8, bool)> = items.iter().map(|i| (i.id.0[0], i.keep_delta)).collect();
        v.sort();
        v
    }

    #[test]
    fn only_what_the_destination_lacks_and_the_bases_of_kept_deltas() {
        // Source: 1 plain, 2 = delta of 1, 3 = delta of 2, 4 plain.
        let src = index(1, &[(1, &[]), (2, &[1]), (3, &[2]), (4, &[])]);
        let dst = index(2, &[(4, &[])]);
        let reached = [(id(3), BlobKind::Data), (id(4), BlobKind::Data)];
        let items = plan(&src, &dst, &reached, false).unwrap();
        assert_eq!(planned(&items), vec![(1, false), (2, true), (3, true)]);
    }

    #[test]
    fn a_full_stores_plain_and_takes_no_bases() {
        let src = index(1, &[(1, &[]), (2, &[1])]);
        let dst = index(2, &[(9, &[])]);
        let items = plan(&src, &dst, &[(id(2), BlobKind::Data)], true).unwrap();
        assert_eq!(planned(&items), vec![(2, false)]);
        // A data blob the destination holds only as a delta is stored again, plain.
        let dst = index(2, &[(9, &[]), (2, &[9])]);
        let items = plan(&src, &dst, &[(id(2), BlobKind::Data)], true).unwrap();
        assert_eq!(planned(&items), vec![(2, false)]);
        let items = plan(&src, &dst, &[(id(2), BlobKind::Data)], false).unwrap();
        assert!(items.is_empty(), "a diff or incr may use the delta");
    }

    #[test]
    fn a_delta_too_deep_over_the_destinations_bases_is_stored_plain() {
        // In the source, 5 is a delta of plain 1. The destination holds 1 as a delta of
        // depth 2 (1 ← 7 ← 8): 5 on top of it would be depth 3.
        let src = index(1, &[(1, &[]), (5, &[1])]);
        let dst = index(2, &[(8, &[]), (7, &[8]), (1, &[7])]);
        let items = plan(&src, &dst, &[(id(5), BlobKind::Data)], false).unwrap();
        assert_eq!(planned(&items), vec![(5, false)]);
        // Over a depth-1 base it stays a delta (depth 2).
        let dst = index(2, &[(7, &[]), (1, &[7])]);
        let items = plan(&src, &dst, &[(id(5), BlobKind::Data)], false).unwrap();
        assert_eq!(planned(&items), vec![(5, true)]);
    }

    #[test]
    fn a_blob_the_source_index_lacks_is_an_error() {
        let src = index(1, &[(1, &[])]);
        let dst = index(2, &[]);
        let err = plan(&src, &dst, &[(id(3), BlobKind::Data)], false).unwrap_err();
        assert!(matches!(err, Error::MissingBlob { .. }), "{err}");
    }
}
