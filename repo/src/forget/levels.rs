//! Level rules in the manner of pgBackRest: SPEC.md § [Retention](../../../SPEC.md#retention),
//! *Level rules*.
//!
//! Fulls are kept by a full rule; a diff only if its full remains; an incr only if every
//! diff and full on its parent chain remains. Expiring a full therefore expires the diffs
//! and incrs based on it, and expiring a diff the incrs that descend from it, as
//! pgBackRest's `expire` does. With no diff (incr) rule, every eligible diff (incr) stays.

use super::{Retention, Snap};
use crate::duration::{format_duration, secs_to_ns};
use format_spec::id::SnapshotId;
use format_spec::snapshot::{Level, Snapshot};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A count rule and a window rule for one level.
struct LevelRule {
    name: &'static str,
    count: Option<u32>,
    within_s: Option<u64>,
}

impl LevelRule {
    fn given(&self) -> bool {
        self.count.is_some() || self.within_s.is_some()
    }

    /// Why the rule keeps the snapshot at `rank` (1-based among the eligible) and time `t`.
    fn keeps(&self, rank: u32, t: i64, now_ns: i64) -> Vec<String> {
        let mut why = Vec::new();
        if let Some(n) = self.count.filter(|n| rank <= *n) {
            why.push(format!("keep-{} {rank} of {n}", self.name));
        }
        if let Some(w) = self.within_s.filter(|w| *w > 0) {
            if t > now_ns.saturating_sub(secs_to_ns(w)) {
                why.push(format!("keep-{}-within {}", self.name, format_duration(w)));
            }
        }
        why
    }
}

/// Walks `parent` links from an incr to its full: the full when the chain reaches one,
/// every link exists and every diff and full on it remains; else why not.
fn chain_full(
    incr: &Snapshot,
    by_id: &HashMap<SnapshotId, &Snapshot>,
    remains: &dyn Fn(&SnapshotId) -> bool,
) -> Result<SnapshotId, String> {
    let mut seen = HashSet::new();
    let mut cur = incr.parent.ok_or("it has no parent")?;
    // `seen` bounds the walk on a (damaged) cycle of parent links.
    while seen.insert(cur) {
        let s = by_id
            .get(&cur)
            .ok_or_else(|| format!("{} on its chain is missing", cur.short()))?;
        match s.level {
            Level::Diff | Level::Full if !remains(&cur) => {
                return Err(format!(
                    "{} {} on its chain is not kept",
                    s.level.name(),
                    cur.short()
                ))
            }
            Level::Full => return Ok(cur),
            Level::Diff | Level::Incr => {
                cur = s
                    .parent
                    .ok_or_else(|| format!("{} on its chain has no parent", cur.short()))?
            }
        }
    }
    Err("its chain loops".into())
}

/// The level-rule reasons of each snapshot of a group (newest first), in the same order,
/// and for a diff or incr that no level rule may keep because its chain expired, why.
/// `in_scope` tells which snapshots may be removed at all; the others always remain.
pub(crate) fn reasons(
    group: &[&Snap],
    r: &Retention,
    now_ns: i64,
    by_id: &HashMap<SnapshotId, &Snapshot>,
    in_scope: &BTreeSet<SnapshotId>,
) -> (Vec<Vec<String>>, Vec<Option<String>>) {
    let mut out = vec![Vec::new(); group.len()];
    let mut expired = vec![None; group.len()];
    if !r.has_level_rules() {
        return (out, expired);
    }
    let full = LevelRule {
        name: "full",
        count: r.full,
        within_s: r.full_within_s,
    };
    let diff = LevelRule {
        name: "diff",
        count: r.diff,
        within_s: r.diff_within_s,
    };
    let incr = LevelRule {
        name: "incr",
        count: r.incr,
        within_s: r.incr_within_s,
    };
    let mut kept: HashSet<SnapshotId> = HashSet::new();
    // Fulls first, then diffs (they need their full decided), then incrs (they need both).
    for level in [Level::Full, Level::Diff, Level::Incr] {
        let mut rank: u32 = 0;
        let mut decided = Vec::new();
        for (i, (id, s)) in group.iter().enumerate() {
            if s.level != level {
                continue;
            }
            let remains = |x: &SnapshotId| !in_scope.contains(x) || kept.contains(x);
            let (rule, default) = match level {
                Level::Full => (&full, None),
                Level::Diff => match s.base {
                    Some(b) if by_id.contains_key(&b) && remains(&b) => {
                        (&diff, Some(format!("full {} is kept", b.short())))
                    }
                    b => {
                        if let (Some(slot), Some(b)) = (expired.get_mut(i), b) {
                            *slot = Some(if by_id.contains_key(&b) {
                                format!("its full {} is not kept", b.short())
                            } else {
                                format!("its full {} is missing", b.short())
                            });
                        }
                        continue;
                    }
                },
                Level::Incr => match chain_full(s, by_id, &remains) {
                    Ok(f) => (&incr, Some(format!("chain to full {} is kept", f.short()))),
                    Err(why) => {
                        if let Some(slot) = expired.get_mut(i) {
                            *slot = Some(why);
                        }
                        continue;
                    }
                },
            };
            rank = rank.saturating_add(1);
            let why = match default {
                Some(d) if !rule.given() => vec![d],
                _ => rule.keeps(rank, s.time_ns, now_ns),
            };
            if !why.is_empty() {
                decided.push(*id);
                if let Some(slot) = out.get_mut(i) {
                    *slot = why;
                }
            }
        }
        kept.extend(decided);
    }
    (out, expired)
}
