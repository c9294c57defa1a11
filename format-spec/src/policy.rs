//! Schedule policies: SPEC.md § [Policies](../../SPEC.md#policies).
//!
//! A policy gives a backup set's intervals for full, differential and incremental
//! snapshots. `--level auto` follows them and `report` checks them as the set's recovery
//! point objective. Policies are sealed MessagePack objects (kind `Policy`) in
//! `policies/`; for each set the one with the newest `time_ns` is in force.
//!
//! A policy may also carry the set's retention rules ([`Retention`], SPEC.md
//! § [Retention](../../SPEC.md#retention)), which `forget` applies when it is given no rule
//! flags. The field is omitted when absent, so policies written before it still decode.

use crate::decode::{check_limit, check_version};
use crate::error::DecodeError;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;
/// Longest set name, in bytes.
pub const MAX_SET_LEN: usize = 1024;
/// Most `keep-tag` entries in a stored retention.
pub const MAX_KEEP_TAGS: usize = 64;
/// Longest `keep-tag` entry, in bytes.
pub const MAX_KEEP_TAG_LEN: usize = 1024;

/// Intervals, in seconds, for one backup set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Structure version (1).
    pub v: u32,
    /// Backup set this policy governs.
    pub set: String,
    /// When it was set, ns since the epoch (the newest wins).
    pub time_ns: i64,
    /// A full at least this often.
    pub full_s: u64,
    /// A differential (or full) at least this often.
    pub diff_s: u64,
    /// Some snapshot at least this often.
    pub incr_s: u64,
    /// The set's retention rules, applied by `forget` without rule flags; *omitted when absent*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Retention>,
    /// The set's offsite (secondary) repository location, which `schedule` copies to after
    /// each backup and `report` checks against the RPO; *omitted when absent*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offsite: Option<String>,
}

/// Longest offsite location, in bytes.
pub const MAX_OFFSITE_LEN: usize = 1024;

/// Retention rules: SPEC.md § [Retention](../../SPEC.md#retention). Counts and durations
/// are `None` when the rule is not given; a given rule of 0 is kept apart from an absent
/// one because `diff: Some(0)` (keep no diff) differs from `diff: None` (keep every diff of
/// a kept full). Durations are in seconds. Every field is omitted when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// `--keep-last`: the N newest snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
    /// `--keep-hourly`: the newest snapshot of each of the N newest hours that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// `--keep-daily`: likewise per day (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// `--keep-weekly`: likewise per ISO 8601 week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    /// `--keep-monthly`: likewise per month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
    /// `--keep-yearly`: likewise per year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<u32>,
    /// `--keep-within`: every snapshot less than this many seconds older than the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_s: Option<u64>,
    /// `--keep-within-hourly`: the newest of each hour, within this window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_hourly_s: Option<u64>,
    /// `--keep-within-daily`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_daily_s: Option<u64>,
    /// `--keep-within-weekly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_weekly_s: Option<u64>,
    /// `--keep-within-monthly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_monthly_s: Option<u64>,
    /// `--keep-within-yearly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_yearly_s: Option<u64>,
    /// `--keep-tag`: each entry is a comma-separated tag list; a snapshot with every tag of
    /// one entry is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `--keep-full`: the N newest fulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<u32>,
    /// `--keep-diff`: the N newest diffs whose full is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<u32>,
    /// `--keep-incr`: the N newest incrs whose fulls and diffs are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incr: Option<u32>,
    /// `--keep-full-within`: fulls younger than this many seconds (measured from now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_within_s: Option<u64>,
    /// `--keep-diff-within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_within_s: Option<u64>,
    /// `--keep-incr-within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incr_within_s: Option<u64>,
}

fn positive_count(n: Option<u32>) -> bool {
    n.is_some_and(|n| n > 0)
}

fn positive_secs(s: Option<u64>) -> bool {
    s.is_some_and(|s| s > 0)
}

impl Retention {
    /// Whether any bucket rule (restic's rules) is given.
    pub fn has_bucket_rules(&self) -> bool {
        [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ]
        .iter()
        .any(Option::is_some)
            || [
                self.within_s,
                self.within_hourly_s,
                self.within_daily_s,
                self.within_weekly_s,
                self.within_monthly_s,
                self.within_yearly_s,
            ]
            .iter()
            .any(Option::is_some)
            || !self.tags.is_empty()
    }

    /// Whether any level rule (pgBackRest's rules) is given.
    pub fn has_level_rules(&self) -> bool {
        [self.full, self.diff, self.incr]
            .iter()
            .any(Option::is_some)
            || [self.full_within_s, self.diff_within_s, self.incr_within_s]
                .iter()
                .any(Option::is_some)
    }

    /// Whether any rule can keep a snapshot: a positive bucket count or window, a tag, or
    /// a positive full rule (diff and incr rules keep nothing without a kept full).
    pub fn keeps_something(&self) -> bool {
        [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
            self.full,
        ]
        .into_iter()
        .any(positive_count)
            || [
                self.within_s,
                self.within_hourly_s,
                self.within_daily_s,
                self.within_weekly_s,
                self.within_monthly_s,
                self.within_yearly_s,
                self.full_within_s,
            ]
            .into_iter()
            .any(positive_secs)
            || !self.tags.is_empty()
    }

    /// Checks SPEC.md § [Retention](../../SPEC.md#retention): at most 64 tag entries of
    /// 1..=1024 bytes; a diff or incr rule only with a full rule; some rule keeps something.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_limit(
            "retention tag entries",
            self.tags.len() as u64,
            MAX_KEEP_TAGS as u64,
        )?;
        for t in &self.tags {
            check_limit("retention tag", t.len() as u64, MAX_KEEP_TAG_LEN as u64)?;
            if t.split(',').any(str::is_empty) {
                return Err(DecodeError::Invalid {
                    what: "retention tag",
                    reason: format!("{t:?} has an empty tag"),
                });
            }
        }
        let level_below_full = [self.diff, self.incr].iter().any(Option::is_some)
            || [self.diff_within_s, self.incr_within_s]
                .iter()
                .any(Option::is_some);
        if level_below_full && self.full.is_none() && self.full_within_s.is_none() {
            return Err(DecodeError::Invalid {
                what: "retention level rules",
                reason: "a diff or incr rule needs a full rule (keep-full or keep-full-within): \
                         diffs and incrs are kept only with their full"
                    .into(),
            });
        }
        if !self.keeps_something() {
            return Err(DecodeError::Invalid {
                what: "retention",
                reason: "these rules keep no snapshot".into(),
            });
        }
        Ok(())
    }
}

impl Policy {
    /// The policy of a set that has none stored: full weekly, diff daily, incr hourly.
    pub fn default_for(set: &str) -> Self {
        Self {
            v: VERSION,
            set: set.into(),
            time_ns: 0,
            full_s: 7 * 86_400,
            diff_s: 86_400,
            incr_s: 3_600,
            keep: None,
            offsite: None,
        }
    }

    /// Checks the version, the set name, `full_s ≥ diff_s ≥ incr_s > 0` and the retention
    /// rules when present.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("policy", self.v, VERSION)?;
        check_limit("policy set name", self.set.len() as u64, MAX_SET_LEN as u64)?;
        if self.set.is_empty() {
            return Err(DecodeError::Invalid {
                what: "policy set",
                reason: "empty".into(),
            });
        }
        if !(self.full_s >= self.diff_s && self.diff_s >= self.incr_s && self.incr_s > 0) {
            return Err(DecodeError::Invalid {
                what: "policy intervals",
                reason: format!(
                    "need full ≥ diff ≥ incr > 0, got {} / {} / {} s",
                    self.full_s, self.diff_s, self.incr_s
                ),
            });
        }
        if let Some(keep) = &self.keep {
            keep.validate()?;
        }
        if let Some(o) = &self.offsite {
            check_limit("offsite location", o.len() as u64, MAX_OFFSITE_LEN as u64)?;
            if o.is_empty() || o.chars().any(char::is_control) {
                return Err(DecodeError::Invalid {
                    what: "offsite location",
                    reason: format!("{o:?} is empty or has control characters"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_must_nest() {
        assert!(Policy::default_for("pg:main").validate().is_ok());
        let mut p = Policy::default_for("pg:main");
        p.incr_s = 2 * 86_400;
        assert!(matches!(p.validate(), Err(DecodeError::Invalid { .. })));
        p = Policy::default_for("");
        assert!(p.validate().is_err());
    }

    #[test]
    fn retention_must_keep_something_and_diff_needs_full() {
        let mut p = Policy::default_for("pg:main");
        p.keep = Some(Retention {
            full: Some(4),
            diff: Some(7),
            incr: Some(48),
            ..Retention::default()
        });
        assert!(p.validate().is_ok());
        let only_zero = Retention {
            last: Some(0),
            ..Retention::default()
        };
        assert!(matches!(
            only_zero.validate(),
            Err(DecodeError::Invalid {
                what: "retention",
                ..
            })
        ));
        let diff_alone = Retention {
            daily: Some(7),
            diff: Some(2),
            ..Retention::default()
        };
        assert!(matches!(
            diff_alone.validate(),
            Err(DecodeError::Invalid {
                what: "retention level rules",
                ..
            })
        ));
        let tags = Retention {
            tags: vec!["a,,b".into()],
            ..Retention::default()
        };
        assert!(tags.validate().is_err());
        let many = Retention {
            tags: vec!["x".into(); MAX_KEEP_TAGS + 1],
            ..Retention::default()
        };
        assert!(matches!(many.validate(), Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn a_policy_without_keep_decodes_and_encodes_as_before() {
        let p = Policy::default_for("pg:main");
        let bytes = rmp_serde::to_vec_named(&p).unwrap();
        // 6 fields: `keep` is omitted when absent.
        assert_eq!(bytes.first(), Some(&0x86));
        let back: Policy = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, p);
    }
}
