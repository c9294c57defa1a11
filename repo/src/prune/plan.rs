//! Deciding each pack's fate: SPEC.md § [Pruning](../../../SPEC.md#pruning), step 4.
//!
//! A pack's used bytes are the stored lengths of the needed blobs whose chosen copy is in
//! it (a second copy elsewhere counts as unused, so duplicates left by a crashed repack go
//! away). No used byte: delete. Unused share above `max_unused`: repack (within
//! `max_repack_bytes`, the emptiest first). Packs no index names are deleted only past the
//! grace period. Every indexed pack must be in the listing with the size the index states:
//! a short listing or a lost pack stops prune before it deletes anything.

use super::mark::Marks;
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use format_spec::blob::{BlobKind, Encoding};
use format_spec::id::{BlobId, IndexId, PackId};
use format_spec::index::{IndexBlob, IndexFile};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

/// One indexed pack and what it holds.
#[derive(Clone, Debug)]
pub struct PackInfo {
    /// Pack ID.
    pub id: PackId,
    /// File size.
    pub size: u64,
    /// Its blobs, as the index lists them.
    pub blobs: Vec<IndexBlob>,
    /// Stored bytes of needed blobs whose chosen copy is here.
    pub used: u64,
}

impl PackInfo {
    /// Whether a blob entry of this pack is the needed, chosen copy.
    pub fn keeps(&self, b: &IndexBlob, index: &MasterIndex, marks: &Marks) -> bool {
        marks.contains(&b.id)
            && index
                .get(&b.id)
                .is_some_and(|loc| index.pack(loc.pack).0 == self.id && loc.offset == b.off)
    }
}

/// Blob counts of one kind.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct KindCounts {
    /// Needed blobs kept (in kept packs or copied by repacking).
    pub kept: u64,
    /// Blobs whose pack is deleted or repacked and that are not needed there.
    pub removed: u64,
    /// Unneeded blobs left in kept packs (below the repack threshold).
    pub unused_left: u64,
}

/// Blob counts by kind.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct BlobCounts {
    /// Data blobs.
    pub data: KindCounts,
    /// Tree blobs.
    pub tree: KindCounts,
    /// List blobs.
    pub list: KindCounts,
}

impl BlobCounts {
    fn of(&mut self, kind: BlobKind) -> &mut KindCounts {
        match kind {
            BlobKind::Data => &mut self.data,
            BlobKind::Tree => &mut self.tree,
            BlobKind::List => &mut self.list,
        }
    }
}

/// What prune will do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every indexed pack (by the live index files).
    pub packs: HashMap<PackId, PackInfo>,
    /// Indexed packs with no used byte.
    pub unused: Vec<PackId>,
    /// Indexed packs to rewrite.
    pub repack: Vec<PackId>,
    /// Packs no index names, older than the grace period.
    pub unindexed_old: Vec<(PackId, u64)>,
    /// Packs no index names, younger than the grace period (left alone).
    pub unindexed_young: Vec<(PackId, u64)>,
    /// Stored bytes of blobs no snapshot needs, in indexed packs: the ideal to free.
    pub unreferenced_bytes: u64,
    /// Blob counts by kind.
    pub blobs: BlobCounts,
    /// Pack files listed, and their bytes.
    pub packs_before: (u64, u64),
}

impl Plan {
    /// Adds a kept pack to the repack list: its unneeded blobs move from left to removed.
    fn repack_pack(&mut self, id: PackId, index: &MasterIndex, marks: &Marks) {
        self.repack.push(id);
        if let Some(p) = self.packs.get(&id) {
            for b in &p.blobs {
                if !p.keeps(b, index, marks) {
                    let c = self.blobs.of(b.kind);
                    c.unused_left = c.unused_left.saturating_sub(1);
                    c.removed += 1;
                }
            }
        }
    }

    /// Every pack to delete (unused, repacked, unindexed past the grace period).
    pub fn to_delete(&self) -> Vec<PackId> {
        let mut v: Vec<PackId> = self.unused.iter().chain(&self.repack).copied().collect();
        v.extend(self.unindexed_old.iter().map(|(id, _)| *id));
        v
    }

    /// Size of a planned pack (indexed or not).
    pub fn size_of(&self, id: &PackId) -> u64 {
        self.packs.get(id).map(|p| p.size).unwrap_or_else(|| {
            self.unindexed_old
                .iter()
                .chain(&self.unindexed_young)
                .find(|(p, _)| p == id)
                .map_or(0, |(_, s)| *s)
        })
    }

    /// Bytes the deletions free before repacking writes anything back.
    pub fn delete_bytes(&self) -> u64 {
        self.to_delete().iter().map(|id| self.size_of(id)).sum()
    }

    /// Bytes repacking writes (the used blobs of repacked packs, before padding).
    pub fn repack_bytes(&self) -> u64 {
        self.repack
            .iter()
            .filter_map(|id| self.packs.get(id))
            .map(|p| p.used)
            .sum()
    }
}

/// The blobs readable from `packs` alone: plain copies, then deltas whose bases are
/// readable, one level at a time (a delta is at most `MAX_DELTA_DEPTH` deep).
pub fn readable<'a>(packs: impl Iterator<Item = &'a PackInfo> + Clone) -> HashSet<BlobId> {
    let mut ok: HashSet<BlobId> = packs
        .clone()
        .flat_map(|p| &p.blobs)
        .filter(|b| b.enc != Encoding::ZstdDelta)
        .map(|b| b.id)
        .collect();
    for _ in 0..format_spec::limits::MAX_DELTA_DEPTH {
        let more: Vec<BlobId> = packs
            .clone()
            .flat_map(|p| &p.blobs)
            .filter(|b| {
                b.enc == Encoding::ZstdDelta
                    && !ok.contains(&b.id)
                    && b.bases.iter().all(|x| ok.contains(x))
            })
            .map(|b| b.id)
            .collect();
        if more.is_empty() {
            break;
        }
        ok.extend(more);
    }
    ok
}

/// Thresholds of a plan.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// A pack whose unused share exceeds this percentage is repacked.
    pub max_unused_percent: f64,
    /// At most this many bytes of packs are repacked in one run.
    pub max_repack_bytes: Option<u64>,
    /// Packs no index names are deleted only when older than this.
    pub grace: Duration,
}

/// The packs of the live index files, each once (the first file naming it wins).
pub fn indexed_packs(files: &[(IndexId, IndexFile)]) -> HashMap<PackId, PackInfo> {
    let live = MasterIndex::live_files(files);
    let mut out: HashMap<PackId, PackInfo> = HashMap::new();
    for (id, f) in files {
        if !live.contains(id) {
            continue;
        }
        for p in &f.packs {
            out.entry(p.id).or_insert_with(|| PackInfo {
                id: p.id,
                size: p.size,
                blobs: p.blobs.clone(),
                used: 0,
            });
        }
    }
    out
}

fn refuse(object: String, reason: String) -> Error {
    Error::PruneRefused { object, reason }
}

/// Plans the fate of every pack: `listing` is `data/` as listed after the index was loaded.
pub fn plan(
    repo: &Repository,
    index: &MasterIndex,
    files: &[(IndexId, IndexFile)],
    marks: &Marks,
    listing: &[(String, u64)],
    t: Thresholds,
) -> Result<Plan> {
    let mut plan = Plan {
        packs: indexed_packs(files),
        ..Plan::default()
    };
    let mut listed: HashMap<PackId, u64> = HashMap::with_capacity(listing.len());
    for (name, size) in listing {
        let id: PackId = name
            .parse()
            .map_err(|e| refuse(format!("pack file {name}"), format!("{e}")))?;
        listed.insert(id, *size);
        plan.packs_before.0 += 1;
        plan.packs_before.1 += size;
    }
    let mut candidates: Vec<(PackId, f64, u64)> = Vec::new();
    for p in plan.packs.values_mut() {
        match listed.get(&p.id) {
            Some(s) if *s == p.size => {}
            Some(s) => {
                return Err(refuse(
                    format!("pack {}", p.id),
                    format!("is {s} bytes, the index says {}", p.size),
                ))
            }
            None => {
                return Err(refuse(
                    format!("pack {}", p.id),
                    "the index names it but it is not in the listing of data/ \
                     (lost, or a short listing); run `strata check`"
                        .into(),
                ))
            }
        }
        let mut used = 0u64;
        let mut counts = BlobCounts::default();
        for b in &p.blobs {
            if p.keeps(b, index, marks) {
                used += u64::from(b.len);
                counts.of(b.kind).kept += 1;
            } else {
                plan.unreferenced_bytes += u64::from(b.len);
                counts.of(b.kind).unused_left += 1;
            }
        }
        p.used = used;
        // The share of the pack's blob bytes that no snapshot needs. Padding and the
        // header are left out: they shrink with the pack, and counting them would repack a
        // small, fully used pack again on every run.
        let stored: u64 = p.blobs.iter().map(|b| u64::from(b.len)).sum();
        let unused_share = if stored == 0 {
            100.0
        } else {
            100.0 * stored.saturating_sub(used) as f64 / stored as f64
        };
        let fate_removes = if used == 0 {
            plan.unused.push(p.id);
            true
        } else if unused_share > t.max_unused_percent {
            candidates.push((p.id, unused_share, p.size));
            false
        } else {
            false
        };
        for kind in [BlobKind::Data, BlobKind::Tree, BlobKind::List] {
            let c = *counts.of(kind);
            let total = plan.blobs.of(kind);
            total.kept += c.kept;
            if fate_removes {
                total.removed += c.unused_left;
            } else {
                total.unused_left += c.unused_left;
            }
        }
    }
    // The emptiest packs first: they free the most per byte copied.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut budget = t.max_repack_bytes.unwrap_or(u64::MAX);
    for (id, _, size) in candidates {
        if size > budget {
            continue;
        }
        budget -= size;
        plan.repack_pack(id, index, marks);
    }
    // A kept pack may hold an unneeded delta whose bases only go with the deleted packs:
    // it would stay indexed and unreadable. Such a pack is repacked instead (its needed
    // blobs are copied, the broken delta is not), until no kept pack has one.
    loop {
        let gone: HashSet<PackId> = plan.unused.iter().chain(&plan.repack).copied().collect();
        let kept = || plan.packs.values().filter(|p| !gone.contains(&p.id));
        let ok = readable(kept());
        let broken: Vec<PackId> = kept()
            .filter(|p| {
                p.blobs
                    .iter()
                    .any(|b| b.enc == Encoding::ZstdDelta && !ok.contains(&b.id))
            })
            .map(|p| p.id)
            .collect();
        if broken.is_empty() {
            break;
        }
        for id in broken {
            plan.repack_pack(id, index, marks);
        }
    }
    plan.unused.sort();
    let indexed: HashSet<PackId> = plan.packs.keys().copied().collect();
    let now = SystemTime::now();
    for (id, size) in listed {
        if indexed.contains(&id) {
            continue;
        }
        let modified = repo
            .backend()
            .modified(FileType::Pack, &id.to_hex())
            .map_err(|cause| Error::RepoRead {
                what: format!("pack {} (modification time)", id.short()),
                cause,
            })?;
        let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
        if age >= t.grace {
            plan.unindexed_old.push((id, size));
        } else {
            plan.unindexed_young.push((id, size));
        }
    }
    plan.unindexed_old.sort();
    plan.unindexed_young.sort();
    Ok(plan)
}
