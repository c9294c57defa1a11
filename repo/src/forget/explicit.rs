//! Explicit snapshot IDs and the safety floor: SPEC.md § [Retention](../../../SPEC.md#retention),
//! *Explicit snapshot IDs* and *Safety*.
//!
//! Both refuse a whole plan rather than trim it: a user who names a snapshot that a kept
//! one depends on, or whose rules would leave a set without a full, is told why and nothing
//! is removed.

use super::{closure, newest_first, Decision, ForgetOptions, Plan, RuleSource, SetPlan, Snap};
use crate::error::{Error, Result};
use format_spec::id::SnapshotId;
use format_spec::snapshot::Level;
use std::collections::{BTreeMap, BTreeSet};

/// The plan that removes exactly `ids`; refused when a remaining snapshot needs one of them
/// (unless `opts.force`) or when it removes a set's last full (unless `allow_empty_set`).
pub(crate) fn plan(all: &[Snap], ids: &[SnapshotId], opts: &ForgetOptions) -> Result<Plan> {
    let named: BTreeSet<SnapshotId> = ids.iter().copied().collect();
    if named.is_empty() {
        return Err(Error::Usage("no snapshot ID given".into()));
    }
    let closed = closure::close(all, &named, &BTreeSet::new());
    let mut needed_by: BTreeMap<SnapshotId, String> = BTreeMap::new();
    for (id, why) in closed.pulled {
        needed_by.insert(id, why);
    }
    if !opts.force {
        if let Some((id, why)) = needed_by.iter().next() {
            return Err(Error::ForgetRefused {
                reason: format!(
                    "{} is needed: it is the {why}, which is kept (remove that too, or use --force)",
                    id.short()
                ),
            });
        }
    }
    let mut groups: BTreeMap<&str, Vec<&Snap>> = BTreeMap::new();
    for snap in all.iter().filter(|(id, _)| named.contains(id)) {
        groups.entry(snap.1.set.as_str()).or_default().push(snap);
    }
    let sets = groups
        .into_iter()
        .map(|(set, mut group)| {
            newest_first(&mut group);
            let decisions = group
                .iter()
                .map(|(id, s)| {
                    let mut reasons = vec!["named on the command line".to_string()];
                    if let Some(why) = needed_by.get(id) {
                        reasons.push(format!("removed by --force although it is the {why}"));
                    }
                    Decision {
                        id: *id,
                        time_ns: s.time_ns,
                        level: s.level,
                        keep: false,
                        reasons,
                    }
                })
                .collect();
            SetPlan {
                set: set.to_string(),
                source: RuleSource::Ids,
                decisions,
            }
        })
        .collect();
    let plan = Plan {
        sets,
        missing: closed.missing,
    };
    check_floor(all, &plan, opts.allow_empty_set)?;
    Ok(plan)
}

/// Refuses a plan that removes the last full of a set that has one.
pub(crate) fn check_floor(all: &[Snap], plan: &Plan, allow_empty_set: bool) -> Result<()> {
    if allow_empty_set {
        return Ok(());
    }
    let removed: BTreeSet<SnapshotId> = plan.removed().into_iter().collect();
    let mut fulls: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, s) in all.iter().filter(|(_, s)| s.level == Level::Full) {
        let e = fulls.entry(s.set.as_str()).or_default();
        e.0 += 1;
        if !removed.contains(id) {
            e.1 += 1;
        }
    }
    match fulls.iter().find(|(_, (had, left))| *had > 0 && *left == 0) {
        Some((set, (had, _))) => Err(Error::ForgetRefused {
            reason: format!(
                "set {set:?} would be left without a full (all {had} would be removed); \
                 keep one or pass --allow-empty-set"
            ),
        }),
        None => Ok(()),
    }
}
