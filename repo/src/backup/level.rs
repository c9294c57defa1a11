//! Choosing a snapshot's level, parent and base: SPEC.md § [Snapshots](../../SPEC.md#snapshots).
//!
//! * `full` compares with nothing; no parent, no base.
//! * `diff` compares with the newest full of the set (parent = base = that full).
//! * `incr` compares with the newest snapshot of the set (parent = it, base = its full).
//! * `auto` follows the set's policy: a full when the newest full is older than the full
//!   interval, else a diff when the newest diff-or-full is older than the diff interval,
//!   else an incr.
//!
//! A set without a full always gets a full, whatever was asked, and the plan says so.

use crate::error::Result;
use crate::repository::Repository;
use format_spec::id::SnapshotId;
use format_spec::policy::Policy;
use format_spec::snapshot::{Level, Snapshot};

/// The level asked for on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    /// `--level full`.
    Full,
    /// `--level diff`.
    Diff,
    /// `--level incr`.
    Incr,
    /// `--level auto` (the default).
    Auto,
}

impl std::str::FromStr for Requested {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Self::Full),
            "diff" => Ok(Self::Diff),
            "incr" => Ok(Self::Incr),
            "auto" => Ok(Self::Auto),
            _ => Err(format!(
                "unknown level {s:?}: expected full, diff, incr or auto"
            )),
        }
    }
}

/// What a backup will be.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The level written.
    pub level: Level,
    /// The snapshot compared with (none for a full).
    pub parent: Option<(SnapshotId, Snapshot)>,
    /// The full at the root of the chain (none for a full).
    pub base: Option<SnapshotId>,
    /// Why the level differs from the request, if it does.
    pub note: Option<String>,
}

/// The newest snapshot of `set` whose level passes `pred`.
fn newest(
    history: &[(SnapshotId, Snapshot)],
    pred: impl Fn(Level) -> bool,
) -> Option<&(SnapshotId, Snapshot)> {
    history
        .iter()
        .filter(|(_, s)| pred(s.level))
        .max_by_key(|(id, s)| (s.time_ns, *id))
}

/// Chooses level, parent and base for a backup of `set` at `now_ns`.
pub fn plan(repo: &Repository, set: &str, requested: Requested, now_ns: i64) -> Result<Plan> {
    let history: Vec<(SnapshotId, Snapshot)> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| s.set == set)
        .collect();
    let Some(full) = newest(&history, |l| l == Level::Full).cloned() else {
        let note = (requested != Requested::Full)
            .then(|| format!("set {set:?} has no full snapshot yet: this backup is a full"));
        return Ok(Plan {
            level: Level::Full,
            parent: None,
            base: None,
            note,
        });
    };
    let level = match requested {
        Requested::Full => Level::Full,
        Requested::Diff => Level::Diff,
        Requested::Incr => Level::Incr,
        Requested::Auto => auto_level(&repo.policy_for(set)?.0, &history, now_ns),
    };
    Ok(match level {
        Level::Full => Plan {
            level,
            parent: None,
            base: None,
            note: None,
        },
        Level::Diff => Plan {
            level,
            base: Some(full.0),
            parent: Some(full),
            note: None,
        },
        Level::Incr => {
            let parent = newest(&history, |_| true).cloned().unwrap_or(full);
            let base = parent.1.base.unwrap_or(parent.0);
            Plan {
                level,
                parent: Some(parent),
                base: Some(base),
                note: None,
            }
        }
    })
}

/// The level `auto` picks from a policy and a set's history.
pub fn auto_level(policy: &Policy, history: &[(SnapshotId, Snapshot)], now_ns: i64) -> Level {
    let age_s = |s: Option<&(SnapshotId, Snapshot)>| {
        s.map(|(_, s)| (now_ns.saturating_sub(s.time_ns) / 1_000_000_000).max(0) as u64)
    };
    let full_age = age_s(newest(history, |l| l == Level::Full));
    let diff_age = age_s(newest(history, |l| l != Level::Incr));
    if full_age.is_none_or(|a| a >= policy.full_s) {
        Level::Full
    } else if diff_age.is_none_or(|a| a >= policy.diff_s) {
        Level::Diff
    } else {
        Level::Incr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::id::BlobId;
    use format_spec::snapshot::Summary;

    fn snap(level: Level, hours_ago: i64, now: i64) -> (SnapshotId, Snapshot) {
        let s = Snapshot {
            v: 1,
            time_ns: now - hours_ago * 3_600_000_000_000,
            host: "h".into(),
            user: "u".into(),
            set: "s".into(),
            paths: vec![],
            tags: vec![],
            tree: BlobId::default(),
            level,
            parent: None,
            base: None,
            program: "t".into(),
            command: None,
            exit_status: None,
            original: None,
            summary: Summary::default(),
        };
        (SnapshotId([hours_ago as u8; 32]), s)
    }

    #[test]
    fn auto_follows_the_default_policy() {
        let now = 1_000_000 * 1_000_000_000;
        let p = Policy::default_for("s");
        assert_eq!(auto_level(&p, &[], now), Level::Full);
        assert_eq!(
            auto_level(&p, &[snap(Level::Full, 2, now)], now),
            Level::Incr
        );
        assert_eq!(
            auto_level(&p, &[snap(Level::Full, 25, now)], now),
            Level::Diff
        );
        assert_eq!(
            auto_level(
                &p,
                &[snap(Level::Full, 25, now), snap(Level::Diff, 3, now)],
                now
            ),
            Level::Incr
        );
        assert_eq!(
            auto_level(
                &p,
                &[snap(Level::Full, 24 * 8, now), snap(Level::Diff, 1, now)],
                now
            ),
            Level::Full
        );
    }
}
