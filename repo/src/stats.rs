//! Repository sizes for `strata stats`, from the snapshot files (SPEC.md
//! § [Snapshots](../../SPEC.md#snapshots)) and the master index (§ [Index
//! files](../../SPEC.md#index-files)) alone: no pack is read, so the cost is that of
//! `snapshots` plus loading the index, whatever the repository's size.
//!
//! ```text
//! logical      Σ summary.total_bytes of the selected snapshots
//! added        Σ summary.bytes_stored of the selected snapshots
//! stored       Σ pack size in the index (whole repository)
//! dedup ratio  logical / raw bytes of the indexed data blobs
//! compression  raw / sealed bytes of the indexed blobs (zstd and zstd-delta together)
//! ```

/*
What "unique data" means here: every blob the index knows, referenced or not. Telling
referenced from unreferenced blobs needs every tree and list blob, that is, pack reads; a
repository still holding the data of removed snapshots therefore shows a lower dedup ratio
than its snapshots alone would give.

For the same reason a narrowed selection (`--set`, `--host`) has no dedup ratio: the
unique data of some snapshots is not known without walking their trees. The index-wide
figures (stored, blobs, deltas) stay repository-wide and say so.

A blob listed in several packs counts once in the blob totals (the master index keeps one
location per blob, a plain copy over a delta), while every pack counts in `stored`: the
difference is exactly what `prune` can reclaim from duplicates.
*/

use crate::error::Result;
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::snapshots::Filter;
use format_spec::blob::{BlobKind, Encoding};
use format_spec::id::SnapshotId;
use format_spec::snapshot::{Level, Snapshot};
use std::collections::BTreeMap;

/// Count and sizes of a group of indexed blobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlobTotals {
    /// Number of blobs.
    pub count: u64,
    /// Plaintext bytes (the index entries' raw lengths).
    pub raw_bytes: u64,
    /// Sealed bytes in packs (the index entries' stored lengths).
    pub stored_bytes: u64,
}

impl BlobTotals {
    fn add(&mut self, raw: u32, stored: u32) {
        self.count = self.count.saturating_add(1);
        self.raw_bytes = self.raw_bytes.saturating_add(raw.into());
        self.stored_bytes = self.stored_bytes.saturating_add(stored.into());
    }

    fn plus(self, o: Self) -> Self {
        Self {
            count: self.count.saturating_add(o.count),
            raw_bytes: self.raw_bytes.saturating_add(o.raw_bytes),
            stored_bytes: self.stored_bytes.saturating_add(o.stored_bytes),
        }
    }
}

/// Data blobs stored as `zstd-delta` against base blobs (SPEC.md § Blob encodings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaTotals {
    /// Their count and sizes (raw = the reconstructed plaintext).
    pub blobs: BlobTotals,
    /// The deepest delta chain (0 when there is no delta).
    pub max_depth: usize,
    /// Deltas whose chain cannot be followed (a base missing, or too deep); `check`
    /// names them.
    pub broken: u64,
}

/// One backup set's row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetStats {
    /// Set name.
    pub set: String,
    /// Snapshots of the set.
    pub snapshots: u64,
    /// Of which full.
    pub full: u64,
    /// Of which diff.
    pub diff: u64,
    /// Of which incr.
    pub incr: u64,
    /// Σ `summary.total_bytes`.
    pub logical_bytes: u64,
    /// Σ `summary.bytes_stored`: what this set's backups wrote to packs.
    pub added_bytes: u64,
}

impl SetStats {
    fn add(&mut self, s: &Snapshot) {
        self.snapshots = self.snapshots.saturating_add(1);
        let level = match s.level {
            Level::Full => &mut self.full,
            Level::Diff => &mut self.diff,
            Level::Incr => &mut self.incr,
        };
        *level = level.saturating_add(1);
        self.logical_bytes = self.logical_bytes.saturating_add(s.summary.total_bytes);
        self.added_bytes = self.added_bytes.saturating_add(s.summary.bytes_stored);
    }
}

/// Everything `strata stats` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Totals over the selected snapshots (`set` is empty).
    pub selected: SetStats,
    /// Whether the selection is every snapshot; the dedup ratio exists only then.
    pub whole_repository: bool,
    /// Packs in the index.
    pub packs: u64,
    /// Σ pack sizes from the index: the bytes the repository's packs occupy.
    pub stored_bytes: u64,
    /// Indexed data blobs.
    pub data: BlobTotals,
    /// Indexed tree blobs.
    pub tree: BlobTotals,
    /// Indexed list blobs.
    pub list: BlobTotals,
    /// The data blobs stored as deltas (also counted in `data`).
    pub deltas: DeltaTotals,
    /// Per backup set, by name.
    pub sets: Vec<SetStats>,
}

impl Stats {
    /// Computes the figures for `selected` snapshots out of `all` in the repository.
    pub fn compute(all: &[(SnapshotId, Snapshot)], filter: &Filter, index: &MasterIndex) -> Self {
        let mut st = Self::default();
        let mut sets: BTreeMap<&str, SetStats> = BTreeMap::new();
        for (_, s) in all.iter().filter(|(_, s)| filter.matches(s)) {
            st.selected.add(s);
            sets.entry(&s.set).or_default().add(s);
        }
        st.whole_repository = st.selected.snapshots == all.len() as u64;
        st.sets = sets
            .into_iter()
            .map(|(name, row)| SetStats {
                set: name.to_string(),
                ..row
            })
            .collect();

        st.packs = index.packs().len() as u64;
        st.stored_bytes = index
            .packs()
            .iter()
            .fold(0u64, |acc, (_, size)| acc.saturating_add(*size));
        for (id, loc) in index.blobs() {
            let group = match loc.kind {
                BlobKind::Data => &mut st.data,
                BlobKind::Tree => &mut st.tree,
                BlobKind::List => &mut st.list,
            };
            group.add(loc.raw_len, loc.stored_len);
            if loc.encoding == Encoding::ZstdDelta {
                st.deltas.blobs.add(loc.raw_len, loc.stored_len);
                match index.depth(id) {
                    Ok(d) => st.deltas.max_depth = st.deltas.max_depth.max(d),
                    Err(_) => st.deltas.broken = st.deltas.broken.saturating_add(1),
                }
            }
        }
        st
    }

    /// All indexed blobs.
    pub fn blobs(&self) -> BlobTotals {
        self.data.plus(self.tree).plus(self.list)
    }

    /// Logical bytes per byte of unique data; `None` for a narrowed selection (its unique
    /// data is unknown without reading trees) or an empty repository.
    pub fn dedup_ratio(&self) -> Option<f64> {
        if !self.whole_repository {
            return None;
        }
        ratio(self.selected.logical_bytes, self.data.raw_bytes)
    }

    /// Raw bytes per sealed byte over every indexed blob: what zstd and zstd-delta save
    /// (the seal's 40 bytes per blob included, so incompressible data is just under 1).
    pub fn compression_ratio(&self) -> Option<f64> {
        let b = self.blobs();
        ratio(b.raw_bytes, b.stored_bytes)
    }

    /// The deltas' share of the data blobs' sealed bytes (0..=1).
    pub fn delta_share(&self) -> Option<f64> {
        ratio(self.deltas.blobs.stored_bytes, self.data.stored_bytes)
    }
}

/// `num / den` for people (53 bits of precision are plenty); `None` when `den` is 0.
fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl Repository {
    /// `strata stats`: reads the snapshot files and the index, never a pack.
    #[tracing::instrument(skip_all)]
    pub fn stats(&self, filter: &Filter) -> Result<Stats> {
        let all = self.snapshots()?;
        let index = self.load_index()?;
        Ok(Stats::compute(&all, filter, &index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::id::{BlobId, IndexId, PackId};
    use format_spec::index::{IndexBlob, IndexFile, IndexPack};
    use format_spec::snapshot::Summary;

    fn snap(set: &str, host: &str, level: Level, total: u64, stored: u64) -> Snapshot {
        let lineage = (level != Level::Full).then_some(SnapshotId([1; 32]));
        Snapshot {
            v: 1,
            time_ns: 0,
            host: host.into(),
            user: "u".into(),
            set: set.into(),
            paths: vec!["/x".into()],
            tags: vec![],
            tree: BlobId([0; 32]),
            level,
            parent: lineage,
            base: lineage,
            program: "test".into(),
            command: None,
            exit_status: None,
            original: None,
            summary: Summary {
                total_bytes: total,
                bytes_stored: stored,
                ..Summary::default()
            },
        }
    }

    fn blob(n: u8, kind: BlobKind, enc: Encoding, raw: u32, len: u32, bases: &[u8]) -> IndexBlob {
        IndexBlob {
            id: BlobId([n; 32]),
            kind,
            enc,
            off: 0,
            len,
            raw,
            bases: bases.iter().map(|b| BlobId([*b; 32])).collect(),
        }
    }

    fn index() -> MasterIndex {
        use BlobKind::{Data, Tree};
        use Encoding::{Raw, Zstd, ZstdDelta};
        let file = IndexFile {
            v: 1,
            supersedes: vec![],
            packs: vec![
                IndexPack {
                    id: PackId([1; 32]),
                    size: 5000,
                    blobs: vec![
                        blob(1, Data, Raw, 1000, 1040, &[]),
                        blob(2, Data, Zstd, 2000, 540, &[]),
                        blob(3, Data, ZstdDelta, 2000, 140, &[2]),
                        blob(4, Data, ZstdDelta, 2000, 90, &[3]),
                        // A delta whose base is not indexed.
                        blob(5, Data, ZstdDelta, 1000, 60, &[9]),
                    ],
                },
                IndexPack {
                    id: PackId([2; 32]),
                    size: 700,
                    blobs: vec![blob(7, Tree, Zstd, 600, 240, &[])],
                },
                // The same tree again in a second pack: counted once, its pack counts.
                IndexPack {
                    id: PackId([3; 32]),
                    size: 300,
                    blobs: vec![blob(7, Tree, Zstd, 600, 240, &[])],
                },
            ],
        };
        MasterIndex::build(vec![(IndexId([0; 32]), file)])
    }

    fn snapshots() -> Vec<(SnapshotId, Snapshot)> {
        vec![
            (
                SnapshotId([1; 32]),
                snap("a", "h1", Level::Full, 8000, 3000),
            ),
            (SnapshotId([2; 32]), snap("a", "h1", Level::Incr, 8000, 500)),
            (
                SnapshotId([3; 32]),
                snap("b", "h2", Level::Full, 4000, 1500),
            ),
            (SnapshotId([4; 32]), snap("a", "h1", Level::Diff, 8000, 700)),
        ]
    }

    #[test]
    fn stats_add_up_snapshots_blobs_packs_and_deltas() {
        let st = Stats::compute(&snapshots(), &Filter::default(), &index());
        assert!(st.whole_repository);
        assert_eq!(st.selected.snapshots, 4);
        assert_eq!(st.selected.logical_bytes, 28_000);
        assert_eq!(st.selected.added_bytes, 5_700);
        assert_eq!(st.packs, 3);
        assert_eq!(st.stored_bytes, 6_000);
        assert_eq!(
            st.data,
            BlobTotals {
                count: 5,
                raw_bytes: 8_000,
                stored_bytes: 1_870
            }
        );
        assert_eq!(
            st.tree,
            BlobTotals {
                count: 1,
                raw_bytes: 600,
                stored_bytes: 240
            }
        );
        assert_eq!(st.list, BlobTotals::default());
        assert_eq!(
            st.deltas,
            DeltaTotals {
                blobs: BlobTotals {
                    count: 3,
                    raw_bytes: 5_000,
                    stored_bytes: 290
                },
                max_depth: 2,
                broken: 1,
            }
        );
        assert_eq!(st.dedup_ratio(), Some(3.5));
        assert_eq!(st.compression_ratio(), Some(8_600.0 / 2_110.0));
        assert_eq!(st.delta_share(), Some(290.0 / 1_870.0));
    }

    #[test]
    fn stats_rows_per_set_count_levels() {
        let st = Stats::compute(&snapshots(), &Filter::default(), &index());
        let names: Vec<&str> = st.sets.iter().map(|s| s.set.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            st.sets.first(),
            Some(&SetStats {
                set: "a".into(),
                snapshots: 3,
                full: 1,
                diff: 1,
                incr: 1,
                logical_bytes: 24_000,
                added_bytes: 4_200,
            })
        );
        assert_eq!(
            st.sets.get(1).map(|s| (s.full, s.added_bytes)),
            Some((1, 1500))
        );
    }

    #[test]
    fn stats_for_a_narrowed_selection_have_no_dedup_ratio() {
        let filter = Filter {
            host: Some("h2".into()),
            ..Filter::default()
        };
        let st = Stats::compute(&snapshots(), &filter, &index());
        assert!(!st.whole_repository);
        assert_eq!(st.selected.snapshots, 1);
        assert_eq!(st.selected.logical_bytes, 4_000);
        assert_eq!(st.sets.len(), 1);
        assert_eq!(st.dedup_ratio(), None);
        // Index-wide figures do not depend on the selection.
        assert_eq!(st.stored_bytes, 6_000);
        assert_eq!(st.data.count, 5);

        // A filter that happens to select everything is the whole repository.
        let all = Filter {
            host: Some("h1".into()),
            ..Filter::default()
        };
        let one_host: Vec<_> = snapshots()
            .into_iter()
            .filter(|(_, s)| s.host == "h1")
            .collect();
        assert!(Stats::compute(&one_host, &all, &index()).whole_repository);
    }

    #[test]
    fn stats_of_an_empty_repository_have_no_ratios() {
        let st = Stats::compute(&[], &Filter::default(), &MasterIndex::default());
        assert_eq!(
            st,
            Stats {
                whole_repository: true,
                ..Stats::default()
            }
        );
        assert_eq!(st.dedup_ratio(), None);
        assert_eq!(st.compression_ratio(), None);
        assert_eq!(st.delta_share(), None);
    }
}
