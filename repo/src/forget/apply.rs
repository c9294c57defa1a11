//! Applying a plan: SPEC.md § [Retention](../../../SPEC.md#retention), *Applying*.
//!
//! Order: lock, list and plan under the lock, delete snapshot files, then delete the drills
//! whose snapshot no longer exists. Snapshot files go first because a drill without its
//! snapshot is valid (SPEC.md § Drills) while a snapshot must never lose data it needs; a
//! crash in between leaves only orphan drills, which every later `forget` deletes.

use super::{make_plan, ForgetOptions, Plan};
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::lock::{Lock, LockKind};
use crate::repository::Repository;
use format_spec::crypto::ObjectKind;
use format_spec::drill::Drill;
use format_spec::id::SnapshotId;
use format_spec::limits;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What applying a plan deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Snapshot files deleted.
    pub snapshots_removed: usize,
    /// Drill files deleted (of the removed snapshots and of snapshots already gone).
    pub drills_removed: usize,
    /// Drill files that did not open and were left in place.
    pub drills_unreadable: usize,
}

impl Repository {
    /// The plan for `opts` from the repository's current snapshots and policies.
    ///
    /// # Errors
    /// A reference in `opts.ids` that resolves to nothing ([`Error::SnapshotRef`]), and
    /// everything [`make_plan`] refuses.
    pub fn forget_plan(&self, opts: &ForgetOptions, now_ns: i64) -> Result<Plan> {
        let snapshots = self.snapshots()?;
        let policies = self.policies()?;
        let mut ids = Vec::with_capacity(opts.ids.len());
        for r in &opts.ids {
            ids.push(self.resolve_snapshot(r, &opts.scope)?.0);
        }
        make_plan(&snapshots, &policies, opts, &ids, now_ns)
    }

    /// Deletes the drills whose snapshot is not in `existing`; returns (deleted, unreadable).
    fn remove_orphan_drills(&self, existing: &BTreeSet<SnapshotId>) -> Result<(usize, usize)> {
        let (mut removed, mut unreadable) = (0, 0);
        for (name, _) in self.list(FileType::Drill)? {
            let d: Drill = match self.load(
                FileType::Drill,
                ObjectKind::Drill,
                &name,
                limits::MAX_DRILL_FILE,
            ) {
                Ok(d) => d,
                Err(e) => {
                    // A damaged drill says nothing trustworthy about its snapshot: leave it
                    // for `check` to report rather than guess.
                    tracing::warn!(drill = %name, error = %e, "drill does not open; left in place");
                    unreadable += 1;
                    continue;
                }
            };
            if !existing.contains(&d.snapshot) {
                self.backend()
                    .remove(FileType::Drill, &name)
                    .map_err(|cause| Error::RepoWrite {
                        what: format!("deleting drill {name}"),
                        cause,
                    })?;
                removed += 1;
            }
        }
        Ok((removed, unreadable))
    }
}

/// `strata forget`: plans, and unless `dry_run` applies the plan under an exclusive lock.
/// The plan is made after the lock is taken, so it reflects what is deleted.
///
/// # Errors
/// [`Error::Locked`] when another command holds a conflicting lock, the errors of
/// [`Repository::forget_plan`], and failed deletions ([`Error::RepoWrite`]; snapshots
/// already deleted stay deleted, and a rerun finishes the job).
#[tracing::instrument(skip_all, fields(dry_run = dry_run))]
pub fn run(
    repo: &Arc<Repository>,
    opts: &ForgetOptions,
    now_ns: i64,
    dry_run: bool,
) -> Result<(Plan, Option<Applied>)> {
    if dry_run {
        return Ok((repo.forget_plan(opts, now_ns)?, None));
    }
    // A prune lock: backups go on, and no prune is between its two marks while snapshots
    // disappear (SPEC.md § Pruning).
    let _lock = Lock::acquire_kind(repo.clone(), LockKind::Prune, "forget")?;
    let plan = repo.forget_plan(opts, now_ns)?;
    let removed = plan.removed();
    tracing::info!(removed = removed.len(), "removing snapshots");
    for id in &removed {
        repo.backend()
            .remove(FileType::Snapshot, &id.to_hex())
            .map_err(|cause| Error::RepoWrite {
                what: format!("deleting snapshot {id}"),
                cause,
            })?;
    }
    // List again rather than subtract: a snapshot written by a concurrent backup (which
    // holds no conflicting lock only if it finished first) keeps its drills.
    let existing: BTreeSet<SnapshotId> = repo
        .list(FileType::Snapshot)?
        .into_iter()
        .filter_map(|(name, _)| name.parse().ok())
        .collect();
    let (drills_removed, drills_unreadable) = repo.remove_orphan_drills(&existing)?;
    Ok((
        plan,
        Some(Applied {
            snapshots_removed: removed.len(),
            drills_removed,
            drills_unreadable,
        }),
    ))
}
