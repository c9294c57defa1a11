//! `strata report`: per backup set, the newest snapshot of each level and whether the
//! set's recovery point objective is met (DESIGN.md § 5b; policies: SPEC.md
//! § [Policies](../../../SPEC.md#policies)).
//!
//! A fuller level satisfies a shorter interval: the diff RPO is met by a recent diff *or*
//! full, the incr RPO by a recent snapshot of any level. The exit status is 1 when any RPO
//! is missed, so a monitoring job can run `strata report --json` and alert on the status
//! while keeping the document for the message. A set whose policy names an offsite
//! repository also gets the newest copy there and whether it is within the RPO
//! (`report_offsite`); a missed or unreadable offsite copy also makes the status 1.

use super::policy::{format_duration, intervals_text, now_ns};
use super::report_offsite::{self as offsite, OffsiteArgs, OffsiteRow, Offsites};
use crate::{output, Global};
use anyhow::{bail, Result};
use format_spec::drill::Drill;
use format_spec::id::SnapshotId;
use format_spec::policy::Policy;
use format_spec::snapshot::{Level, Snapshot};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `report` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this backup set.
    #[arg(long)]
    set: Option<String>,
    #[command(flatten)]
    offsite: OffsiteArgs,
}

/// One level's row: the newest snapshot of that level, and the snapshot that decides its
/// RPO (the newest of that level or any fuller one).
struct LevelRow<'a> {
    level: Level,
    newest: Option<&'a (SnapshotId, Snapshot)>,
    covering: Option<&'a (SnapshotId, Snapshot)>,
    rpo_s: u64,
    met: bool,
}

fn newest<'a>(
    history: &[&'a (SnapshotId, Snapshot)],
    pred: impl Fn(Level) -> bool,
) -> Option<&'a (SnapshotId, Snapshot)> {
    history
        .iter()
        .copied()
        .filter(|(_, s)| pred(s.level))
        .max_by_key(|(id, s)| (s.time_ns, *id))
}

fn age_ns(now: i64, s: &Snapshot) -> i64 {
    now.saturating_sub(s.time_ns).max(0)
}

fn age_s(now: i64, s: &Snapshot) -> u64 {
    u64::try_from(age_ns(now, s) / 1_000_000_000).unwrap_or(0)
}

fn rows<'a>(p: &Policy, history: &[&'a (SnapshotId, Snapshot)], now: i64) -> [LevelRow<'a>; 3] {
    let row = |level: Level, rpo_s: u64, covers: fn(Level) -> bool| {
        let covering = newest(history, covers);
        let limit = i64::try_from(rpo_s)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        LevelRow {
            level,
            newest: newest(history, |l| l == level),
            covering,
            rpo_s,
            met: covering.is_some_and(|(_, s)| age_ns(now, s) < limit),
        }
    };
    [
        row(Level::Full, p.full_s, |l| l == Level::Full),
        row(Level::Diff, p.diff_s, |l| l != Level::Incr),
        row(Level::Incr, p.incr_s, |_| true),
    ]
}

fn snap_json(now: i64, s: Option<&(SnapshotId, Snapshot)>) -> (Value, Value, Value) {
    match s {
        Some((id, s)) => (
            json!(id.to_hex()),
            json!(output::rfc3339(s.time_ns)),
            json!(age_s(now, s)),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    }
}

fn row_json(now: i64, r: &LevelRow<'_>) -> Value {
    let (id, time, age) = snap_json(now, r.newest);
    let covered_by = r.covering.map(|(cid, cs)| {
        json!({ "id": cid.to_hex(), "level": cs.level.name(), "age_s": age_s(now, cs) })
    });
    json!({ "id": id, "time": time, "age_s": age, "rpo_s": r.rpo_s, "met": r.met, "covered_by": covered_by })
}

/// Runs `report`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let snapshots = repo.snapshots()?;
    let mut policies = repo.policies()?;
    // The newest successful drill of any snapshot of each set (`strata verify`).
    let drills = strata_repo::drill::last_ok_per_set(&repo.drills()?);
    let mut by_set: BTreeMap<&str, Vec<&(SnapshotId, Snapshot)>> = BTreeMap::new();
    for s in &snapshots {
        by_set.entry(s.1.set.as_str()).or_default().push(s);
    }
    let mut sets: BTreeSet<String> = by_set.keys().map(|s| s.to_string()).collect();
    sets.extend(policies.keys().cloned());
    if let Some(only) = &a.set {
        if !sets.contains(only) {
            bail!("set {only:?} has no snapshot and no stored policy");
        }
        sets.retain(|s| s == only);
    }
    let now = now_ns();
    let mut out = Vec::new();
    let mut missed: Vec<String> = Vec::new();
    let mut offsites = Offsites::new(g, &a.offsite);
    for set in &sets {
        let (policy, stored) = match policies.remove(set) {
            Some(p) => (p, true),
            None => (Policy::default_for(set), false),
        };
        let history = by_set.get(set.as_str()).cloned().unwrap_or_default();
        let rows = rows(&policy, &history, now);
        let set_met = rows.iter().all(|r| r.met);
        if !set_met {
            let levels: Vec<&str> = rows
                .iter()
                .filter(|r| !r.met)
                .map(|r| r.level.name())
                .collect();
            missed.push(format!("{set} ({})", levels.join(", ")));
        }
        let off = offsites.row(set, &policy, now);
        if let Some(o) = off.as_ref().filter(|o| !o.met) {
            missed.push(format!("{set} (offsite {})", o.location));
        }
        out.push((
            set,
            policy,
            stored,
            rows,
            set_met,
            drills.get(set.as_str()),
            off,
        ));
    }
    let all_met = missed.is_empty();
    if g.json {
        let sets: Vec<Value> = out
            .iter()
            .map(|(set, p, stored, rows, met, drill, off)| {
                let levels: serde_json::Map<String, Value> = rows
                    .iter()
                    .map(|r| (r.level.name().to_string(), row_json(now, r)))
                    .collect();
                json!({
                    "set": set,
                    "policy": { "full_s": p.full_s, "diff_s": p.diff_s, "incr_s": p.incr_s, "stored": stored },
                    "levels": levels,
                    "rpo_met": met,
                    "last_drill": drill.map_or(Value::Null, |d| drill_json(now, d)),
                    "offsite": off.as_ref().map_or(Value::Null, |o| offsite::row_json(now, o)),
                })
            })
            .collect();
        output::print_json(&json!({ "sets": sets, "rpo_met": all_met }));
    } else {
        print_text(now, &out);
    }
    if all_met {
        Ok(0)
    } else {
        eprintln!("strata: RPO missed: {}", missed.join("; "));
        Ok(1)
    }
}

type SetReport<'a> = (
    &'a String,
    Policy,
    bool,
    [LevelRow<'a>; 3],
    bool,
    Option<&'a Drill>,
    Option<OffsiteRow>,
);

/// `last_drill` of a set: the newest successful drill of any of its snapshots.
fn drill_json(now: i64, d: &Drill) -> Value {
    let age = u64::try_from(now.saturating_sub(d.time_ns).max(0) / 1_000_000_000).unwrap_or(0);
    json!({ "snapshot": d.snapshot.to_hex(), "time": output::rfc3339(d.time_ns), "age_s": age })
}

fn print_text(now: i64, out: &[SetReport<'_>]) {
    if out.is_empty() {
        println!("no backup sets");
    }
    for (set, p, stored, rows, met, drill, off) in out {
        println!(
            "set {set}: RPO {}  (policy {}{})",
            if *met { "met" } else { "MISSED" },
            intervals_text(p),
            if *stored { "" } else { ", default" }
        );
        for r in rows {
            let newest = match r.newest {
                Some((id, s)) => format!(
                    "{}  {}  age {}",
                    id.short(),
                    output::short_time(s.time_ns),
                    format_duration(age_s(now, s))
                ),
                None => "-".into(),
            };
            let verdict = match (r.met, r.covering) {
                (true, Some((id, s))) if s.level != r.level => {
                    format!("met (by {} {})", s.level.name(), id.short())
                }
                (true, _) => "met".into(),
                (false, _) => "MISSED".into(),
            };
            println!(
                "  {:<5} {:<48} RPO {:>8}  {verdict}",
                r.level.name(),
                newest,
                format_duration(r.rpo_s)
            );
        }
        match drill {
            Some(d) => println!(
                "  last drill: ok  {}  {}  age {}",
                d.snapshot.short(),
                output::short_time(d.time_ns),
                format_duration(
                    u64::try_from(now.saturating_sub(d.time_ns).max(0) / 1_000_000_000)
                        .unwrap_or(0)
                )
            ),
            None => println!("  last drill: none recorded"),
        }
        if let Some(o) = off {
            println!("{}", offsite::row_text(now, o));
        }
    }
}
