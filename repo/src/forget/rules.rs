//! restic's bucket rules: SPEC.md § [Retention](../../../SPEC.md#retention), *Bucket rules*.
//!
//! Same walk as restic 0.14's `ApplyPolicy`: newest first, each count rule keeps the first
//! snapshot it meets in every bucket until its count runs out; `keep-within` and the
//! `keep-within-<unit>` rules measure back from the newest snapshot of the group, not from
//! now. Buckets are UTC.

use super::{Retention, Snap};
use crate::duration::{format_duration, secs_to_ns};
use format_spec::snapshot::Snapshot;
use time::OffsetDateTime;

/// Calendar units of the bucket rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Unit {
    const ALL: [Unit; 5] = [
        Unit::Hourly,
        Unit::Daily,
        Unit::Weekly,
        Unit::Monthly,
        Unit::Yearly,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }

    fn count(self, r: &Retention) -> Option<u32> {
        match self {
            Self::Hourly => r.hourly,
            Self::Daily => r.daily,
            Self::Weekly => r.weekly,
            Self::Monthly => r.monthly,
            Self::Yearly => r.yearly,
        }
    }

    fn within(self, r: &Retention) -> Option<u64> {
        match self {
            Self::Hourly => r.within_hourly_s,
            Self::Daily => r.within_daily_s,
            Self::Weekly => r.within_weekly_s,
            Self::Monthly => r.within_monthly_s,
            Self::Yearly => r.within_yearly_s,
        }
    }
}

/// The bucket of a time for a unit: `2026-11-29T13`, `2026-11-29`, `2026-W48`, `2026-11`,
/// `2026`.
pub(crate) fn bucket(time_ns: i64, unit: Unit) -> String {
    // Every i64 of nanoseconds (years 1677..2262) is inside `time`'s range.
    let t = OffsetDateTime::from_unix_timestamp_nanos(time_ns.into())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (y, m, d, h) = (t.year(), u8::from(t.month()), t.day(), t.hour());
    match unit {
        Unit::Hourly => format!("{y:04}-{m:02}-{d:02}T{h:02}"),
        Unit::Daily => format!("{y:04}-{m:02}-{d:02}"),
        Unit::Weekly => {
            let (iy, w, _) = t.to_iso_week_date();
            format!("{iy:04}-W{w:02}")
        }
        Unit::Monthly => format!("{y:04}-{m:02}"),
        Unit::Yearly => format!("{y:04}"),
    }
}

/// Whether a snapshot carries every tag of a comma-separated `keep-tag` entry.
fn has_tags(s: &Snapshot, entry: &str) -> bool {
    entry.split(',').all(|t| s.tags.iter().any(|x| x == t))
}

/// The bucket-rule reasons of each snapshot of a group (newest first), in the same order;
/// an empty list means no bucket rule keeps it.
pub(crate) fn reasons(group: &[&Snap], r: &Retention) -> Vec<Vec<String>> {
    let latest = group.iter().map(|(_, s)| s.time_ns).max().unwrap_or(0);
    let after_window = |secs: u64, t: i64| t > latest.saturating_sub(secs_to_ns(secs));
    let last_n = r.last.unwrap_or(0);
    let mut last_left = last_n;
    // (unit, remaining count, last bucket)
    let mut counts: Vec<(Unit, u32, Option<String>)> = Unit::ALL
        .iter()
        .filter_map(|u| u.count(r).filter(|n| *n > 0).map(|n| (*u, n, None)))
        .collect();
    let mut windows: Vec<(Unit, u64, Option<String>)> = Unit::ALL
        .iter()
        .filter_map(|u| u.within(r).filter(|s| *s > 0).map(|s| (*u, s, None)))
        .collect();
    let mut out = Vec::with_capacity(group.len());
    for (_, s) in group {
        let mut why = Vec::new();
        for entry in &r.tags {
            if has_tags(s, entry) {
                why.push(format!("keep-tag {entry}"));
            }
        }
        if let Some(w) = r.within_s.filter(|w| *w > 0) {
            if after_window(w, s.time_ns) {
                why.push(format!("keep-within {}", format_duration(w)));
            }
        }
        // keep-last: every snapshot is a bucket of its own.
        if last_left > 0 {
            last_left -= 1;
            why.push(format!("keep-last {} of {last_n}", last_n - last_left));
        }
        for (unit, left, last) in counts.iter_mut().filter(|c| c.1 > 0) {
            let b = bucket(s.time_ns, *unit);
            if last.as_deref() != Some(b.as_str()) {
                *left -= 1;
                why.push(format!("keep-{} bucket {b}", unit.name()));
                *last = Some(b);
            }
        }
        for (unit, secs, last) in &mut windows {
            if !after_window(*secs, s.time_ns) {
                continue;
            }
            let b = bucket(s.time_ns, *unit);
            if last.as_deref() != Some(b.as_str()) {
                why.push(format!(
                    "keep-within-{} {} bucket {b}",
                    unit.name(),
                    format_duration(*secs)
                ));
                *last = Some(b);
            }
        }
        out.push(why);
    }
    out
}
