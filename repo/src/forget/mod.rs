//! Retention (`strata forget`): SPEC.md § [Retention](../../../SPEC.md#retention).
//!
//! `forget` decides, for every snapshot in scope, keep or remove and why, then deletes the
//! removed snapshots' files and the drills of snapshots that no longer exist. Packs, blobs
//! and index files are never touched here: `prune` frees the data no remaining snapshot
//! needs.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | options, the plan and its decisions, [`make_plan`] (pure) |
//! | `rules.rs` | restic's bucket rules (`keep-last`, `-daily`, `-within`, `-tag`, …) |
//! | `levels.rs` | pgBackRest-style level rules (`keep-full`, `-diff`, `-incr`) |
//! | `closure.rs` | closing the kept set under `parent` and `base` |
//! | `explicit.rs` | explicit snapshot IDs, refusals, the safety floor |
//! | `apply.rs` | [`run`]: lock, plan, delete snapshots, then drills |
//!
//! The plan is a pure function of the snapshots, the stored policies, the options and
//! `now`, so every rule is tested with synthetic times and the CLI's `--dry-run` shows
//! exactly what a real run under the lock would do.

mod apply;
mod closure;
mod explicit;
mod levels;
mod rules;

pub use apply::{run, Applied};
pub use format_spec::policy::Retention;

use crate::error::{Error, Result};
use crate::snapshots::Filter;
use format_spec::id::SnapshotId;
use format_spec::policy::Policy;
use format_spec::snapshot::{Level, Snapshot};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What `forget` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    /// Which snapshots are decided; the rest are untouched (`--set`, `--host`, `--tag`).
    pub scope: Filter,
    /// Rules from the command line; `None` (with no `ids`) applies each set's stored rules.
    pub rules: Option<Retention>,
    /// Explicit snapshot references (ID prefixes or `latest`); exclusive with `rules`.
    pub ids: Vec<String>,
    /// Remove named snapshots even when a remaining snapshot needs them.
    pub force: bool,
    /// Allow a plan that leaves a set without a full.
    pub allow_empty_set: bool,
}

/// Where a set's rules came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// The command line's rules.
    Flags,
    /// The `keep` of the set's policy in force.
    Stored,
    /// No rules given and none stored: the set is left alone.
    NoneStored,
    /// Explicit snapshot IDs.
    Ids,
}

impl RuleSource {
    /// Lower-case name for output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flags => "flags",
            Self::Stored => "stored",
            Self::NoneStored => "none",
            Self::Ids => "ids",
        }
    }
}

/// Keep or remove one snapshot, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The snapshot.
    pub id: SnapshotId,
    /// Its time, ns since the epoch.
    pub time_ns: i64,
    /// Its level.
    pub level: Level,
    /// Whether it stays.
    pub keep: bool,
    /// Every reason, in SPEC.md's order (e.g. `keep-daily bucket 2026-11-29`,
    /// `parent of 1a2b3c4d`, `no rule keeps it`).
    pub reasons: Vec<String>,
}

/// The decisions of one backup set, newest first.
#[derive(Clone, Debug)]
pub struct SetPlan {
    /// The backup set.
    pub set: String,
    /// Where its rules came from.
    pub source: RuleSource,
    /// One per snapshot of the set in scope, newest first.
    pub decisions: Vec<Decision>,
}

/// Which link of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `parent`.
    Parent,
    /// `base`.
    Base,
}

impl Link {
    /// `parent` or `base`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::Base => "base",
        }
    }
}

/// A `parent` or `base` naming a snapshot that does not exist (reported, not fatal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingLink {
    /// The snapshot holding the link.
    pub snapshot: SnapshotId,
    /// Which link.
    pub link: Link,
    /// The snapshot it names.
    pub missing: SnapshotId,
}

/// A whole `forget` plan: what stays, what goes, and why.
#[derive(Clone, Debug)]
pub struct Plan {
    /// One entry per backup set with snapshots in scope, by set name.
    pub sets: Vec<SetPlan>,
    /// Links to snapshots that do not exist.
    pub missing: Vec<MissingLink>,
}

impl Plan {
    /// The snapshots the plan removes.
    pub fn removed(&self) -> Vec<SnapshotId> {
        self.decisions().filter(|d| !d.keep).map(|d| d.id).collect()
    }

    /// How many snapshots in scope stay.
    pub fn kept_count(&self) -> usize {
        self.decisions().filter(|d| d.keep).count()
    }

    fn decisions(&self) -> impl Iterator<Item = &Decision> {
        self.sets.iter().flat_map(|s| s.decisions.iter())
    }
}

/// One snapshot with its ID.
pub(crate) type Snap = (SnapshotId, Snapshot);

/// Newest first: `time_ns` descending, then ID descending (SPEC.md § Retention).
pub(crate) fn newest_first(snaps: &mut [&Snap]) {
    snaps.sort_by(|(ia, a), (ib, b)| b.time_ns.cmp(&a.time_ns).then(ib.cmp(ia)));
}

/// Makes the plan: SPEC.md § [Retention](../../../SPEC.md#retention). `ids` are the
/// resolved explicit references of `opts.ids`; `policies` the policies in force.
///
/// # Errors
/// [`Error::Usage`] for rules that are contradictory or keep nothing, and when no rules are
/// given and none stored; [`Error::ForgetRefused`] when the plan would remove a snapshot a
/// remaining one needs (without `force`) or a set's last full (without `allow_empty_set`).
pub fn make_plan(
    snapshots: &[(SnapshotId, Snapshot)],
    policies: &BTreeMap<String, Policy>,
    opts: &ForgetOptions,
    ids: &[SnapshotId],
    now_ns: i64,
) -> Result<Plan> {
    let by_id: HashMap<SnapshotId, &Snapshot> = snapshots.iter().map(|(i, s)| (*i, s)).collect();
    let mut groups: BTreeMap<&str, Vec<&Snap>> = BTreeMap::new();
    for snap in snapshots.iter().filter(|(_, s)| opts.scope.matches(s)) {
        groups.entry(snap.1.set.as_str()).or_default().push(snap);
    }
    for g in groups.values_mut() {
        newest_first(g);
    }
    if !opts.ids.is_empty() || !ids.is_empty() {
        if opts.rules.is_some() {
            return Err(Error::Usage(
                "give either snapshot IDs or keep rules, not both".into(),
            ));
        }
        return explicit::plan(snapshots, ids, opts);
    }
    let stored = |set: &str| policies.get(set).and_then(|p| p.keep.as_ref());
    match &opts.rules {
        Some(r) => r
            .validate()
            .map_err(|e| Error::Usage(format!("retention rules: {e}")))?,
        None => {
            let any = groups.keys().any(|s| stored(s).is_some())
                || opts
                    .scope
                    .set
                    .as_deref()
                    .is_some_and(|s| stored(s).is_some());
            if !any {
                return Err(Error::Usage(
                    "no retention rules given and none stored (see `strata policy set --keep-…`)"
                        .into(),
                ));
            }
        }
    }
    let in_scope: BTreeSet<SnapshotId> = groups.values().flatten().map(|(i, _)| *i).collect();
    let mut reasons: HashMap<SnapshotId, Vec<String>> = HashMap::new();
    let mut sources: Vec<(&str, RuleSource)> = Vec::new();
    let mut expired: HashMap<SnapshotId, String> = HashMap::new();
    for (set, group) in &groups {
        let (rules, source) = match &opts.rules {
            Some(r) => (Some(r), RuleSource::Flags),
            None => match stored(set) {
                Some(r) => (Some(r), RuleSource::Stored),
                None => (None, RuleSource::NoneStored),
            },
        };
        sources.push((set, source));
        let Some(rules) = rules else {
            for (id, _) in group {
                reasons.insert(*id, vec!["set has no stored retention".into()]);
            }
            continue;
        };
        let bucket = rules::reasons(group, rules);
        let (level, level_expired) = levels::reasons(group, rules, now_ns, &by_id, &in_scope);
        for ((((id, _), mut b), l), e) in group.iter().zip(bucket).zip(level).zip(level_expired) {
            if let Some(e) = e {
                expired.insert(*id, e);
            }
            b.extend(l);
            if !b.is_empty() {
                reasons.insert(*id, b);
            }
        }
    }
    let kept: BTreeSet<SnapshotId> = reasons.keys().copied().collect();
    let closed = closure::close(snapshots, &in_scope, &kept);
    for (id, why) in closed.pulled {
        reasons.insert(id, vec![why]);
    }
    let mut missing_reasons: HashMap<SnapshotId, Vec<String>> = HashMap::new();
    for m in &closed.missing {
        missing_reasons.entry(m.snapshot).or_default().push(format!(
            "{} {} is missing",
            m.link.name(),
            m.missing.short()
        ));
    }
    let mut sets = Vec::with_capacity(groups.len());
    for ((set, group), (_, source)) in groups.iter().zip(sources) {
        let decisions = group
            .iter()
            .map(|(id, s)| {
                let (keep, mut why) = match reasons.remove(id) {
                    Some(r) => (true, r),
                    None => {
                        let mut why = vec!["no rule keeps it".to_string()];
                        why.extend(expired.remove(id));
                        (false, why)
                    }
                };
                why.extend(missing_reasons.remove(id).unwrap_or_default());
                Decision {
                    id: *id,
                    time_ns: s.time_ns,
                    level: s.level,
                    keep,
                    reasons: why,
                }
            })
            .collect();
        sets.push(SetPlan {
            set: (*set).to_string(),
            source,
            decisions,
        });
    }
    let plan = Plan {
        sets,
        missing: closed.missing,
    };
    explicit::check_floor(snapshots, &plan, opts.allow_empty_set)?;
    Ok(plan)
}

#[cfg(test)]
mod tests;
