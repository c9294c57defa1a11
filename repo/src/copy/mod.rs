//! `copy`: snapshots from one repository into another: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots).
//!
//! ```text
//! plan     source and destination snapshots → which to copy, parents first   (plan.rs)
//! per snapshot, one of:
//!   same dedup keys   reach its blobs → those the destination lacks → read, check,
//!                     seal again with the destination's key → packs           (reach.rs, transfer.rs)
//!   other keys        walk its tree → read each changed file → the destination's
//!                     backup pipeline (chunk, dedup, deltas vs the parent copy) (rechunk.rs, reader.rs)
//!   then              index file → snapshot (lineage remapped, `original` set)
//! drills   of every snapshot copied or already there                          (drills.rs)
//! ```
//!
//! **Write order.** Each snapshot is finished before the next begins: its packs, then the
//! index file naming them (added to the in-memory index, so the next snapshot deduplicates
//! against it and may use it as delta bases), then the snapshot file, last. A copy killed
//! at any point leaves at most packs and index files no snapshot names; a rerun finds the
//! snapshots already written (by their `original`) and the blobs already indexed, and
//! stores only the rest.
//!
//! **Memory** is bounded per snapshot, not per repository: a few batches of blobs (same
//! keys) or the backup pipeline's bounded queues (other keys), plus both indexes and one
//! set of the blob IDs this run reached.
//!
//! **Locks.** The caller holds a shared lock on both repositories (SPEC.md § Locks): the
//! source's keeps a prune there from deleting what is being read; the destination's is
//! checked before every index and snapshot write, as a backup's is.

pub mod drills;
pub mod plan;
pub mod reach;
mod reader;
pub mod rechunk;
pub mod transfer;

use crate::backend::FileType;
use crate::backup::commit_index;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::lock::Lock;
use crate::progress::Progress;
use crate::repository::Repository;
use crate::snapshots::Filter;
use format_spec::crypto::ObjectKind;
use format_spec::id::{BlobId, SnapshotId};
use format_spec::snapshot::{Level, Snapshot};
use plan::{identity, Action};
use std::collections::HashMap;
use std::time::Instant;

/// What to copy.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    /// Source snapshot references (`latest`, ID prefixes); empty: every source snapshot
    /// the filter passes.
    pub snapshots: Vec<String>,
    /// Narrows the selection (and `latest`).
    pub filter: Filter,
}

/// How blobs reach the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Same chunker and dedup keys: blobs move as they are.
    Blobs,
    /// Otherwise: files are read and chunked again.
    Rechunk,
}

impl Mode {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Blobs => "blobs",
            Self::Rechunk => "rechunk",
        }
    }
}

/// What copying one snapshot stored in the destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Blobs stored.
    pub blobs: u64,
    /// Their plaintext bytes.
    pub bytes_new: u64,
    /// Bytes of the packs written.
    pub bytes_stored: u64,
    /// Packs written.
    pub packs: u64,
    /// Blobs stored as deltas.
    pub deltas: u64,
    /// File bytes read from the source and chunked again (re-chunking only).
    pub bytes_read: u64,
    /// Files whose content was reused from the parent's copy (re-chunking only).
    pub files_reused: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// What happened to one source snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Copied as this destination snapshot.
    Copied {
        /// The new snapshot.
        id: SnapshotId,
        /// What it stored.
        stats: CopyStats,
    },
    /// Skipped: the destination already has it, as this snapshot.
    Present(SnapshotId),
    /// Not copied, and why (its chain is broken in the source).
    Refused(String),
}

/// One source snapshot of a copy run.
#[derive(Clone, Debug)]
pub struct SnapshotCopy {
    /// Its ID in the source.
    pub source: SnapshotId,
    /// The source snapshot.
    pub snapshot: Snapshot,
    /// The selected snapshot whose chain pulled it in (`None`: selected itself).
    pub needed_by: Option<SnapshotId>,
    /// What happened.
    pub outcome: Outcome,
}

/// A copy run's result.
#[derive(Clone, Debug)]
pub struct CopyReport {
    /// How blobs were moved.
    pub mode: Mode,
    /// Every snapshot involved, in the order handled (parents first).
    pub snapshots: Vec<SnapshotCopy>,
    /// Drill records written.
    pub drills: u64,
}

/// Whether blobs can move between two repositories as they are: the same chunker sizes,
/// blob-ID key and chunker key (SPEC.md § Keys, dedup keys).
pub fn same_dedup_keys(a: &Repository, b: &Repository) -> bool {
    a.config().chunker == b.config().chunker
        && a.keys().blob_id == b.keys().blob_id
        && a.keys().chunker == b.keys().chunker
}

/// Copies snapshots from `src` into `dst`. `lock` is the caller's shared lock on `dst`,
/// checked before every index and snapshot write (the caller also holds one on `src`).
/// `on_snapshot` hears about each snapshot as soon as it is handled. Stops at the first
/// error; snapshots copied before it stay.
#[tracing::instrument(skip_all, fields(from = %src.backend().location(), to = %dst.backend().location()))]
pub fn copy(
    src: &Repository,
    dst: &Repository,
    opts: &CopyOptions,
    progress: &dyn Progress,
    lock: Option<&Lock>,
    on_snapshot: &mut dyn FnMut(&SnapshotCopy),
) -> Result<CopyReport> {
    let mode = if same_dedup_keys(src, dst) {
        Mode::Blobs
    } else {
        Mode::Rechunk
    };
    // Snapshots before indexes, as prune reads them: an index file is written before the
    // snapshots that use it, so every snapshot listed has its blobs in an index loaded later.
    let src_snaps = src.snapshots()?;
    let selected = select(src, &src_snaps, opts)?;
    let dst_snaps = dst.snapshots()?;
    let steps = plan::plan(&src_snaps, &dst_snaps, &selected);
    tracing::info!(mode = mode.name(), snapshots = steps.len(), "copy planned");
    let src_index = src.load_index()?;
    let mut dst_index = dst.load_index()?;
    let by_id: HashMap<SnapshotId, &Snapshot> = src_snaps.iter().map(|(i, s)| (*i, s)).collect();
    let mut run = Run {
        src,
        src_index: &src_index,
        dst,
        dst_index: &mut dst_index,
        lock,
        progress,
        mode,
        mapping: HashMap::new(),
        dst_trees: dst_snaps.iter().map(|(i, s)| (*i, s.tree)).collect(),
        reached: reach::Reached::default(),
    };
    let mut report = CopyReport {
        mode,
        snapshots: Vec::with_capacity(steps.len()),
        drills: 0,
    };
    for step in steps {
        let snapshot = by_id
            .get(&step.id)
            .map(|s| (*s).clone())
            .ok_or_else(|| Error::Internal(format!("planned snapshot {} is unknown", step.id)))?;
        let outcome = match step.action {
            Action::Present(d) => {
                run.mapping.insert(step.id, d);
                Outcome::Present(d)
            }
            Action::Refuse(why) => {
                tracing::warn!(snapshot = %step.id.short(), "not copied: {why}");
                Outcome::Refused(why)
            }
            Action::Copy => {
                let (id, stats) = run.one(&step.id, &snapshot, &by_id)?;
                Outcome::Copied { id, stats }
            }
        };
        let entry = SnapshotCopy {
            source: step.id,
            snapshot,
            needed_by: step.needed_by,
            outcome,
        };
        on_snapshot(&entry);
        report.snapshots.push(entry);
    }
    report.drills = drills::copy_drills(src, dst, &run.mapping)?;
    Ok(report)
}

/// The selected source snapshots: the references given, else every one the filter passes.
fn select(
    src: &Repository,
    all: &[(SnapshotId, Snapshot)],
    opts: &CopyOptions,
) -> Result<Vec<SnapshotId>> {
    if opts.snapshots.is_empty() {
        return Ok(all
            .iter()
            .filter(|(_, s)| opts.filter.matches(s))
            .map(|(id, _)| *id)
            .collect());
    }
    let mut out = Vec::new();
    for r in &opts.snapshots {
        let (id, s) = src.resolve_snapshot(r, &opts.filter)?;
        if !opts.filter.matches(&s) {
            return Err(Error::SnapshotRef {
                reference: r.clone(),
                reason: "does not pass --set/--host/--tag".into(),
            });
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// State of one copy run.
struct Run<'a> {
    src: &'a Repository,
    src_index: &'a MasterIndex,
    dst: &'a Repository,
    dst_index: &'a mut MasterIndex,
    lock: Option<&'a Lock>,
    progress: &'a dyn Progress,
    mode: Mode,
    /// Source snapshot → its destination snapshot (copied or already there).
    mapping: HashMap<SnapshotId, SnapshotId>,
    /// Root trees of destination snapshots, for the parent of a re-chunked copy.
    dst_trees: HashMap<SnapshotId, BlobId>,
    reached: reach::Reached,
}

impl Run<'_> {
    /// Copies one snapshot whose parent and base are already mapped.
    fn one(
        &mut self,
        id: &SnapshotId,
        s: &Snapshot,
        by_id: &HashMap<SnapshotId, &Snapshot>,
    ) -> Result<(SnapshotId, CopyStats)> {
        let started = Instant::now();
        let mapped = |link: Option<SnapshotId>| -> Result<Option<SnapshotId>> {
            link.map(|l| {
                self.mapping.get(&l).copied().ok_or_else(|| {
                    Error::Internal(format!("{} is copied before its chain", id.short()))
                })
            })
            .transpose()
        };
        let (parent, base) = (mapped(s.parent)?, mapped(s.base)?);
        let (tree, packs, mut stats) = match self.mode {
            Mode::Blobs => {
                let reached = self.reached.snapshot(self.src, self.src_index, &s.tree)?;
                let items = transfer::plan(
                    self.src_index,
                    self.dst_index,
                    &reached,
                    s.level == Level::Full,
                )?;
                let (packs, t) =
                    transfer::run(self.src, self.src_index, self.dst, items, self.progress)?;
                let stats = CopyStats {
                    blobs: t.blobs,
                    bytes_new: t.bytes_new,
                    bytes_stored: t.packs.bytes,
                    packs: t.packs.packs,
                    deltas: t.deltas,
                    ..CopyStats::default()
                };
                (s.tree, packs, stats)
            }
            Mode::Rechunk => {
                let side = rechunk::SourceSide {
                    repo: self.src,
                    index: self.src_index,
                    snapshot: s,
                    parent_tree: s.parent.and_then(|p| by_id.get(&p)).map(|p| p.tree),
                };
                let dst_parent_tree = parent.and_then(|p| self.dst_trees.get(&p).copied());
                rechunk::copy_snapshot(
                    &side,
                    self.dst,
                    self.dst_index,
                    dst_parent_tree,
                    self.progress,
                )?
            }
        };
        // Index before snapshot: a snapshot must never name blobs no index can find.
        if let Some(file) = commit_index(self.dst, packs, self.lock)? {
            self.dst_index.add_file(&file);
        }
        let copy = Snapshot {
            tree,
            parent,
            base,
            original: Some(identity(id, s)),
            ..s.clone()
        };
        self.lock.map_or(Ok(()), Lock::check_held)?;
        let new = SnapshotId(
            self.dst
                .save(FileType::Snapshot, ObjectKind::Snapshot, &copy)?,
        );
        tracing::info!(from = %id.short(), to = %new.short(), blobs = stats.blobs, "snapshot copied");
        self.mapping.insert(*id, new);
        self.dst_trees.insert(new, tree);
        stats.duration_ms = started.elapsed().as_millis() as u64;
        Ok((new, stats))
    }
}
