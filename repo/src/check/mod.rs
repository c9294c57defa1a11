//! `check`: structure and index consistency, optionally re-reading pack data.
//! DESIGN.md § 5b; SPEC.md § [Pack files](../../SPEC.md#pack-files),
//! § [Index files](../../SPEC.md#index-files), § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! Damage never stops the check: every problem is recorded with the object it concerns and
//! the check moves on to the next index file, pack, snapshot or tree.
//!
//! | file | job |
//! |---|---|
//! | [`structure`] | index files, pack files and pack headers against the index |
//! | [`walk`] | snapshots, trees and list blobs; who uses a damaged blob |
//! | [`deltas`] | delta chains: bases indexed, depth bounded, no loops |
//! | [`read_data`] | `--read-data`: authenticate, decode and re-hash every blob |

mod deltas;
mod read_data;
mod structure;
pub(crate) mod walk;

use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::id::{BlobId, PackId};
use std::collections::BTreeSet;
use std::str::FromStr;

/// At most this many paths are listed per problem; the rest are counted.
pub const MAX_PATHS: usize = 20;

/// Which packs `--read-data` reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Subset {
    /// Every pack.
    All,
    /// Packs whose ID's first byte mod `t` is `n − 1` (`n/t`, 1 ≤ n ≤ t ≤ 256).
    Part {
        /// Which part, from 1.
        n: u32,
        /// Number of parts.
        t: u32,
    },
    /// A random sample of this percentage of packs (at least one).
    Percent(f64),
}

impl Subset {
    /// Whether pack `id` belongs to a `Part` subset (always true otherwise).
    pub fn part_contains(&self, id: &PackId) -> bool {
        match *self {
            Self::Part { n, t } => u32::from(id.0[0]) % t == n - 1,
            _ => true,
        }
    }
}

impl FromStr for Subset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage(format!("--read-data-subset {s:?}: {why}"));
        if let Some(p) = s.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| bad("expected a percentage such as 10%"))?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad("the percentage must be above 0 and at most 100"));
            }
            return Ok(Self::Percent(p));
        }
        let (n, t) = s
            .split_once('/')
            .ok_or_else(|| bad("expected n/t (e.g. 1/5) or P% (e.g. 10%)"))?;
        let n: u32 = n.trim().parse().map_err(|_| bad("n is not a number"))?;
        let t: u32 = t.trim().parse().map_err(|_| bad("t is not a number"))?;
        if !(1 <= n && n <= t && t <= 256) {
            return Err(bad("need 1 ≤ n ≤ t ≤ 256"));
        }
        Ok(Self::Part { n, t })
    }
}

/// What to check beyond the structure.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Read, authenticate, decode and re-hash the blobs of these packs.
    pub read_data: Option<Subset>,
}

/// One error or warning.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The object concerned, e.g. `pack 1a2b…`, `index …`, `snapshot …`, `blob …`.
    pub object: String,
    /// What is wrong.
    pub message: String,
    /// Snapshots (full hex IDs) that reference the damaged data.
    pub snapshots: Vec<String>,
    /// Up to [`MAX_PATHS`] affected paths inside those snapshots.
    pub paths: Vec<String>,
    /// How many affected paths there are in all.
    pub paths_total: usize,
}

/// Counts for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Snapshot files.
    pub snapshots: u64,
    /// Packs named by the live index.
    pub packs: u64,
    /// Blobs in the live index.
    pub blobs: u64,
    /// Of those, blobs stored as deltas.
    pub deltas: u64,
    /// Packs read in full by `--read-data`.
    pub packs_read: u64,
    /// Bytes read by `--read-data`.
    pub bytes_read: u64,
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CheckReport {
    /// Whether no error was found.
    pub ok: bool,
    /// Damage: anything that makes a snapshot unreadable or the repository inconsistent.
    pub errors: Vec<Problem>,
    /// Harmless findings (unreferenced packs, damaged lock files).
    pub warnings: Vec<Problem>,
    /// Counts.
    pub stats: Stats,
}

/// An error together with the blobs it makes unreadable, so their users can be named.
pub(crate) struct Finding {
    pub problem: Problem,
    pub blobs: Vec<BlobId>,
}

impl Finding {
    pub(crate) fn new(object: String, message: String, blobs: Vec<BlobId>) -> Self {
        Self {
            problem: Problem {
                object,
                message,
                ..Problem::default()
            },
            blobs,
        }
    }
}

/// Runs the check. Fails only when the repository cannot be listed at all; damage is
/// reported in the [`CheckReport`].
#[tracing::instrument(skip_all)]
pub fn check(repo: &Repository, opts: &CheckOptions) -> Result<CheckReport> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut warnings: Vec<Problem> = Vec::new();
    let mut stats = Stats::default();

    tracing::info!("checking index files and packs");
    let s = structure::check(repo, &mut findings, &mut warnings)?;
    stats.packs = s.expected.len() as u64;
    stats.blobs = s.index.len() as u64;
    stats.deltas = deltas::check(&s.index, &mut findings);

    tracing::info!("checking snapshots and trees");
    let snaps = walk::check_snapshots(repo, &s.index, &mut findings)?;
    stats.snapshots = snaps.count;

    if let Some(subset) = opts.read_data {
        tracing::info!("reading pack data");
        let (read, bytes) = read_data::check(repo, &s, subset, &mut findings);
        stats.packs_read = read;
        stats.bytes_read = bytes;
    }

    let bad: BTreeSet<BlobId> = findings
        .iter()
        .flat_map(|f| f.blobs.iter().copied())
        .collect();
    let users = if bad.is_empty() {
        Default::default()
    } else {
        walk::users(repo, &s.index, &snaps.good, &bad)
    };
    let errors = findings
        .into_iter()
        .map(|f| {
            let mut p = f.problem;
            let mut snapshots = BTreeSet::new();
            let mut paths = BTreeSet::new();
            for b in &f.blobs {
                if let Some(u) = users.get(b) {
                    snapshots.extend(u.snapshots.iter().map(|s| s.to_hex()));
                    paths.extend(u.paths.iter().cloned());
                }
            }
            p.snapshots.extend(snapshots);
            p.paths_total = paths.len();
            p.paths.extend(paths.into_iter().take(MAX_PATHS));
            p
        })
        .collect::<Vec<_>>();
    Ok(CheckReport {
        ok: errors.is_empty(),
        errors,
        warnings,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_parses_parts_and_percentages() {
        assert_eq!(
            "1/2".parse::<Subset>().unwrap(),
            Subset::Part { n: 1, t: 2 }
        );
        assert_eq!(
            "256/256".parse::<Subset>().unwrap(),
            Subset::Part { n: 256, t: 256 }
        );
        assert_eq!("12.5%".parse::<Subset>().unwrap(), Subset::Percent(12.5));
        for bad in ["0/2", "3/2", "1/257", "0%", "101%", "-5%", "1/", "x", ""] {
            assert!(
                matches!(bad.parse::<Subset>(), Err(Error::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn parts_partition_every_first_byte() {
        for t in [1u32, 2, 3, 7, 256] {
            for b in 0..=255u8 {
                let id = PackId([b; 32]);
                let hits = (1..=t)
                    .filter(|&n| Subset::Part { n, t }.part_contains(&id))
                    .count();
                assert_eq!(hits, 1, "byte {b}, t {t}");
            }
        }
    }
}
