//! `prune`: SPEC.md § [Pruning](../../../SPEC.md#pruning).
//!
//! Deletes the packs no snapshot needs and rewrites the mostly-unneeded ones, while backups
//! keep running. The steps, each durable before the next:
//!
//! ```text
//! lock (prune lock: excludes other prunes and forget, not backups)
//!   → snapshots, then index → mark (mark.rs) → plan (plan.rs)
//!   → repack + its index (repack.rs) → pending notice (pending.rs)
//!   → wait for every lock holder older than the notice
//!   → snapshots and index again, mark what is new, keep back what is needed now
//!   → one index superseding all (delete.rs) → delete packs, old index files, notices
//! ```
//!
//! Why a backup running beside it stays safe: a backup that took its lock after the notice
//! was durable read the notice and never adds a reference to a blob only announced packs
//! hold (`MasterIndex::usable`); a backup that took it before is waited for, and the second
//! mark sees its snapshot. A backup whose lock went stale meanwhile stops before it commits
//! (`Lock::check_held`). Memory is bounded by the index and one set of needed blob IDs
//! (32 bytes each plus the set's overhead); repacking holds one pack at a time.

pub mod delete;
pub mod mark;
pub mod plan;
pub mod repack;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::index::MasterIndex;
use crate::lock::{live_holders, Holder, Lock, LockKind};
use crate::repository::Repository;
use format_spec::crypto::ObjectKind;
use format_spec::id::{IndexId, PackId, SnapshotId};
use format_spec::index::IndexFile;
use format_spec::snapshot::Snapshot;
use mark::Marks;
use plan::{BlobCounts, Plan, Thresholds};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A temporary file younger than this may be a write in progress: never deleted.
pub const TEMPORARY_GRACE: Duration = Duration::from_secs(15 * 60);

/// Deletes temporaries of killed writes (a file being written is seconds old).
fn remove_temporaries(repo: &Repository, grace: Duration) -> Result<u64> {
    repo.backend()
        .remove_stale_temporaries(grace.max(TEMPORARY_GRACE))
        .map_err(|cause| Error::RepoWrite {
            what: "temporary files (deleting them)".into(),
            cause,
        })
}

/// How prune behaves.
#[derive(Clone, Debug)]
pub struct PruneOptions {
    /// Repack a pack whose unused share exceeds this percentage (default 5).
    pub max_unused_percent: f64,
    /// Repack at most this many bytes of packs per run.
    pub max_repack_bytes: Option<u64>,
    /// Packs no index names are deleted only when older than this (default 1 hour).
    pub grace: Duration,
    /// Give up waiting for older lock holders after this long (the notice stays; the next
    /// prune finishes the job).
    pub max_wait: Duration,
    /// Plan and report; write and delete nothing.
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            max_unused_percent: 5.0,
            max_repack_bytes: None,
            grace: Duration::from_secs(3600),
            max_wait: Duration::from_secs(6 * 3600),
            dry_run: false,
        }
    }
}

/// What prune did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    /// Nothing was written or deleted.
    pub dry_run: bool,
    /// Snapshots marked.
    pub snapshots: u64,
    /// Pack files before.
    pub packs_before: u64,
    /// Their bytes.
    pub bytes_before: u64,
    /// Packs deleted: no needed blob.
    pub packs_unused: u64,
    /// Packs deleted after copying their needed blobs.
    pub packs_repacked: u64,
    /// Packs no index named, deleted past the grace period.
    pub packs_unindexed: u64,
    /// Packs no index names, left because they are younger than the grace period.
    pub packs_unindexed_young: u64,
    /// Packs that were to be deleted but were needed by a snapshot committed meanwhile.
    pub packs_kept_back: u64,
    /// All packs deleted.
    pub packs_deleted: u64,
    /// Their bytes.
    pub bytes_deleted: u64,
    /// New packs written by repacking.
    pub packs_written: u64,
    /// Their bytes.
    pub bytes_written: u64,
    /// Bytes read from packs (repacking, and tree and list blobs while marking).
    pub bytes_read: u64,
    /// Stored bytes of blobs no snapshot needs: the most a perfect prune could free
    /// (before pack padding and headers).
    pub unreferenced_bytes: u64,
    /// Pack files after.
    pub packs_after: u64,
    /// Their bytes.
    pub bytes_after: u64,
    /// Blob counts by kind.
    pub blobs: BlobCounts,
    /// Index files superseded and deleted.
    pub index_files_deleted: u64,
    /// Temporary files of killed writes deleted (older than the grace period, at least
    /// [`TEMPORARY_GRACE`]).
    pub temporaries_deleted: u64,
    /// Time spent waiting for lock holders older than the notice.
    pub waited_ms: u64,
    /// Holders waited for.
    pub waited_for: Vec<String>,
    /// The wait was given up: nothing was deleted, the notice stays for the next prune.
    pub deferred: bool,
    /// Wall time.
    pub duration_ms: u64,
}

fn refuse(object: String, reason: String) -> Error {
    Error::PruneRefused { object, reason }
}

fn fail(point: &str) -> Result<()> {
    failpoint::hit(point).map_err(|cause| Error::RepoWrite {
        what: point.into(),
        cause,
    })
}

/// Every snapshot, or a refusal naming the one that does not open.
fn snapshots(repo: &Repository) -> Result<Vec<(SnapshotId, Snapshot)>> {
    repo.snapshots().map_err(|e| match e {
        Error::RepoRead { .. } => e,
        other => refuse("snapshots".into(), format!("{other:#}")),
    })
}

/// Every index file, or a refusal naming the first that does not open: its packs would
/// look unindexed, and their blobs unneeded.
fn index_files(repo: &Repository) -> Result<Vec<(IndexId, IndexFile)>> {
    let (files, damaged) = repo.load_index_files()?;
    if let Some((name, e)) = damaged.into_iter().next() {
        return Err(refuse(
            format!("index {name}"),
            format!("{e:#}; run `strata repair index` first"),
        ));
    }
    Ok(files)
}

/// Steps 2 to 4: snapshots, index, marks and the plan, as of now.
fn survey(
    repo: &Repository,
    pending: HashSet<PackId>,
    skip: &HashSet<SnapshotId>,
    t: Thresholds,
) -> Result<Survey> {
    let snaps = snapshots(repo)?;
    let files = index_files(repo)?;
    let index = MasterIndex::build_with_pending(&files, pending);
    let mut marks = Marks::default();
    for (id, s) in &snaps {
        if !skip.contains(id) {
            marks.snapshot(repo, &index, id, &s.tree)?;
        }
    }
    marks.close_bases(&index)?;
    let listing = repo.list(FileType::Pack)?;
    let plan = plan::plan(repo, &index, &files, &marks, &listing, t)?;
    let live = MasterIndex::live_files(&files);
    let superseded = files
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !live.contains(id))
        .collect();
    Ok(Survey {
        snaps: snaps.into_iter().map(|(id, _)| id).collect(),
        marks,
        plan,
        index,
        superseded,
    })
}

struct Survey {
    snaps: HashSet<SnapshotId>,
    marks: Marks,
    plan: Plan,
    index: MasterIndex,
    /// Index files another loaded file supersedes (left by an interrupted prune or repair).
    superseded: Vec<IndexId>,
}

/// The plan prune would make if the snapshots in `removed` did not exist: what `forget
/// --dry-run` reports as the bytes its removals would free.
pub fn estimate(
    repo: &Repository,
    removed: &HashSet<SnapshotId>,
    opts: &PruneOptions,
) -> Result<Plan> {
    let pending = repo.pending_packs()?;
    Ok(survey(repo, pending, removed, thresholds(opts))?.plan)
}

fn thresholds(opts: &PruneOptions) -> Thresholds {
    Thresholds {
        max_unused_percent: opts.max_unused_percent,
        max_repack_bytes: opts.max_repack_bytes,
        grace: opts.grace,
    }
}

/// Runs prune under a prune lock (a shared one for a dry run).
#[tracing::instrument(skip_all)]
pub fn run(repo: Arc<Repository>, opts: &PruneOptions) -> Result<PruneReport> {
    let started = Instant::now();
    let kind = if opts.dry_run {
        LockKind::Shared
    } else {
        LockKind::Prune
    };
    let lock = Lock::acquire_kind(repo.clone(), kind, "prune")?;
    let read_before = repo.blob_bytes_read();
    // Step 1: notices left by a crashed prune are superseded by this run's. Under the prune
    // lock no other prune runs, so a damaged notice is a dead prune's and is removed with
    // the others (dry runs hold no prune lock and leave it).
    let (old_notices, damaged_notices) = repo.pending_notices_checked()?;
    for (name, e) in &damaged_notices {
        tracing::warn!(notice = %name, error = %e, "damaged pending notice; removing it");
    }
    let old_pending: HashSet<PackId> = old_notices
        .iter()
        .flat_map(|(_, r)| r.packs.iter().copied())
        .collect();
    // Every notice present now goes in step 10 (or at once when there is nothing to delete).
    let mut notices: Vec<String> = old_notices
        .into_iter()
        .map(|(n, _)| n)
        .chain(damaged_notices.into_iter().map(|(n, _)| n))
        .collect();
    let t = thresholds(opts);
    let Survey {
        snaps: first_snaps,
        marks,
        plan,
        index: first_index,
        superseded,
    } = survey(&repo, old_pending.clone(), &HashSet::new(), t)?;
    let plan = &plan;
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        snapshots: first_snaps.len() as u64,
        packs_before: plan.packs_before.0,
        bytes_before: plan.packs_before.1,
        packs_unused: plan.unused.len() as u64,
        packs_repacked: plan.repack.len() as u64,
        packs_unindexed: plan.unindexed_old.len() as u64,
        packs_unindexed_young: plan.unindexed_young.len() as u64,
        unreferenced_bytes: plan.unreferenced_bytes,
        blobs: plan.blobs,
        ..PruneReport::default()
    };
    tracing::info!(
        unused = plan.unused.len(),
        repack = plan.repack.len(),
        unindexed = plan.unindexed_old.len(),
        "plan made"
    );
    let delete: Vec<PackId> = plan.to_delete();
    if opts.dry_run {
        report.packs_deleted = delete.len() as u64;
        report.bytes_deleted = plan.delete_bytes();
        report.bytes_written = plan.repack_bytes();
        report.packs_after = report.packs_before - report.packs_deleted;
        report.bytes_after = report.bytes_before - report.bytes_deleted + report.bytes_written;
        report.bytes_read = repo.blob_bytes_read() - read_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    if delete.is_empty() {
        // Nothing to delete: what an interrupted prune left is finished here. Superseded
        // index files are ignored by every reader (the file superseding them is durable);
        // leftover notices only stop backups deduplicating.
        let old: Vec<String> = superseded.iter().map(|id| id.to_hex()).collect();
        report.index_files_deleted =
            delete::remove_all(&repo, FileType::Index, &old, "prune:after-index-delete")?;
        delete::remove_all(&repo, FileType::Pending, &notices, "prune:after-delete")?;
        report.temporaries_deleted = remove_temporaries(&repo, opts.grace)?;
        report.packs_after = report.packs_before;
        report.bytes_after = report.bytes_before;
        report.bytes_read = repo.blob_bytes_read() - read_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    // Step 5.
    let repacked = repack::repack(&repo, &first_index, &marks, plan)?;
    // Step 8 builds its own index; the first one need not stay in memory beside it.
    drop(first_index);
    report.packs_written = repacked.packs;
    report.bytes_written = repacked.bytes_written;
    fail("prune:after-repack")?;
    // Step 6.
    let notice = repo.write_pending(delete.clone())?;
    fail("prune:after-notice")?;
    // Step 7.
    let waited = Instant::now();
    let older = live_holders(&repo, Some(lock.started_ns()))?;
    report.waited_for = older.iter().map(|h| h.description.clone()).collect();
    let gone = wait_for(&repo, &lock, &older, opts.max_wait)?;
    report.waited_ms = waited.elapsed().as_millis() as u64;
    if !gone {
        tracing::warn!("lock holders older than the notice are still running; deleting nothing");
        report.deferred = true;
        report.bytes_read = repo.blob_bytes_read() - read_before + repacked.bytes_read;
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    // Step 8: what was committed meanwhile.
    let mut pending = old_pending;
    pending.extend(delete.iter().copied());
    let snaps = snapshots(&repo)?;
    let now_ids: HashSet<SnapshotId> = snaps.iter().map(|(id, _)| *id).collect();
    if let Some(lost) = first_snaps.difference(&now_ids).next() {
        return Err(refuse(
            format!("snapshot {lost}"),
            "disappeared while prune held its lock (a short listing?)".into(),
        ));
    }
    let files = index_files(&repo)?;
    let index = MasterIndex::build_with_pending(&files, pending);
    let mut marks = marks;
    for (id, s) in &snaps {
        if !first_snaps.contains(id) {
            marks.snapshot(&repo, &index, id, &s.tree)?;
        }
    }
    marks.close_bases(&index)?;
    let now_indexed = plan::indexed_packs(&files);
    let mut final_delete: HashSet<PackId> = HashSet::with_capacity(delete.len());
    for id in &delete {
        let keep = match now_indexed.get(id) {
            // Unindexed at planning, indexed now: a backup committed it.
            Some(_) if !plan.packs.contains_key(id) => true,
            Some(p) => p.blobs.iter().any(|b| p.keeps(b, &index, &marks)),
            None => false,
        };
        if keep {
            report.packs_kept_back += 1;
        } else {
            final_delete.insert(*id);
        }
    }
    // Step 9.
    let new_index = delete::final_index(&files, now_indexed, &final_delete);
    let new_name = hex::encode(repo.save(FileType::Index, ObjectKind::Index, &new_index)?);
    fail("prune:after-index")?;
    // Step 10.
    let mut packs: Vec<PackId> = final_delete.into_iter().collect();
    packs.sort();
    let names: Vec<String> = packs.iter().map(|p| p.to_hex()).collect();
    report.packs_deleted =
        delete::remove_all(&repo, FileType::Pack, &names, "prune:after-pack-delete")?;
    report.bytes_deleted = packs.iter().map(|p| plan.size_of(p)).sum();
    let old_index: Vec<String> = files
        .iter()
        .map(|(id, _)| id.to_hex())
        .filter(|n| *n != new_name)
        .collect();
    report.index_files_deleted = delete::remove_all(
        &repo,
        FileType::Index,
        &old_index,
        "prune:after-index-delete",
    )?;
    notices.push(notice);
    delete::remove_all(&repo, FileType::Pending, &notices, "prune:after-delete")?;
    report.temporaries_deleted = remove_temporaries(&repo, opts.grace)?;
    report.packs_after = report.packs_before + report.packs_written - report.packs_deleted;
    report.bytes_after =
        (report.bytes_before + report.bytes_written).saturating_sub(report.bytes_deleted);
    report.bytes_read = repo.blob_bytes_read() - read_before + repacked.bytes_read;
    report.duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(deleted = report.packs_deleted, "prune done");
    drop(lock);
    Ok(report)
}

/// Polls the locks until no holder in `older` holds a lock that is not stale; false when
/// `max_wait` passed first. Also fails if prune's own lock was lost meanwhile.
fn wait_for(repo: &Repository, own: &Lock, older: &[Holder], max_wait: Duration) -> Result<bool> {
    if older.is_empty() {
        return Ok(true);
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let live = live_holders(repo, Some(own.started_ns()))?;
        let remaining: Vec<&Holder> = older.iter().filter(|h| live.contains(h)).collect();
        if remaining.is_empty() {
            own.check_held()?;
            return Ok(true);
        }
        if start.elapsed() >= max_wait {
            return Ok(false);
        }
        tracing::info!(
            holders = remaining.len(),
            first = %remaining.first().map_or("", |h| h.description.as_str()),
            "waiting for lock holders older than the pending notice"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
