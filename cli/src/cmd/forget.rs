//! `strata forget`: retention. SPEC.md § [Retention](../../../SPEC.md#retention).
//!
//! Decides keep or remove for every snapshot in scope (rules from the flags, or each set's
//! stored retention, or explicit IDs), explains each decision, and unless `--dry-run`
//! deletes the removed snapshots and their drills. Data is freed by `prune`.

use super::policy::format_duration;
use crate::{output, Global};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::HashSet;
use strata_repo::duration::parse_duration;
use strata_repo::forget::{self, ForgetOptions, Plan, Retention};
use strata_repo::prune::PruneOptions;
use strata_repo::repository::Repository;
use strata_repo::snapshots::Filter;

/// The retention flags, shared by `forget` and `policy set`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RetentionArgs {
    /// Keep the N newest snapshots.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the N newest hours (UTC) that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Likewise per day (UTC).
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Likewise per ISO week.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Likewise per month.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Likewise per year.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep every snapshot within DURATION of the set's newest snapshot (e.g. `7d`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within: Option<u64>,
    /// Keep the newest snapshot of each hour within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within_hourly: Option<u64>,
    /// Likewise per day.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within_daily: Option<u64>,
    /// Likewise per week.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within_weekly: Option<u64>,
    /// Likewise per month.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within_monthly: Option<u64>,
    /// Likewise per year.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_within_yearly: Option<u64>,
    /// Keep snapshots with every tag of this comma-separated list (repeatable).
    #[arg(long = "keep-tag", value_name = "TAGS")]
    pub keep_tag: Vec<String>,
    /// Keep the N newest fulls (and, without other level rules, everything based on them).
    #[arg(long, value_name = "N")]
    pub keep_full: Option<u32>,
    /// Of the diffs whose full is kept, keep the N newest.
    #[arg(long, value_name = "N")]
    pub keep_diff: Option<u32>,
    /// Of the incrs whose fulls and diffs are kept, keep the N newest.
    #[arg(long, value_name = "N")]
    pub keep_incr: Option<u32>,
    /// Keep fulls younger than DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_full_within: Option<u64>,
    /// Keep diffs (of kept fulls) younger than DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_diff_within: Option<u64>,
    /// Keep incrs (of kept chains) younger than DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keep_incr_within: Option<u64>,
}

impl RetentionArgs {
    /// The rules, or `None` when no retention flag was given.
    pub fn rules(&self) -> Option<Retention> {
        let r = Retention {
            last: self.keep_last,
            hourly: self.keep_hourly,
            daily: self.keep_daily,
            weekly: self.keep_weekly,
            monthly: self.keep_monthly,
            yearly: self.keep_yearly,
            within_s: self.keep_within,
            within_hourly_s: self.keep_within_hourly,
            within_daily_s: self.keep_within_daily,
            within_weekly_s: self.keep_within_weekly,
            within_monthly_s: self.keep_within_monthly,
            within_yearly_s: self.keep_within_yearly,
            tags: self.keep_tag.clone(),
            full: self.keep_full,
            diff: self.keep_diff,
            incr: self.keep_incr,
            full_within_s: self.keep_full_within,
            diff_within_s: self.keep_diff_within,
            incr_within_s: self.keep_incr_within,
        };
        (r.has_bucket_rules() || r.has_level_rules()).then_some(r)
    }
}

/// The rules as the flags that give them: `keep-full 4, keep-diff 7, keep-within 2d`.
pub fn retention_text(r: &Retention) -> String {
    let counts = [
        ("last", r.last),
        ("hourly", r.hourly),
        ("daily", r.daily),
        ("weekly", r.weekly),
        ("monthly", r.monthly),
        ("yearly", r.yearly),
        ("full", r.full),
        ("diff", r.diff),
        ("incr", r.incr),
    ];
    let windows = [
        ("within", r.within_s),
        ("within-hourly", r.within_hourly_s),
        ("within-daily", r.within_daily_s),
        ("within-weekly", r.within_weekly_s),
        ("within-monthly", r.within_monthly_s),
        ("within-yearly", r.within_yearly_s),
        ("full-within", r.full_within_s),
        ("diff-within", r.diff_within_s),
        ("incr-within", r.incr_within_s),
    ];
    let mut parts: Vec<String> = counts
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("keep-{n} {v}")))
        .collect();
    parts.extend(
        windows
            .iter()
            .filter_map(|(n, v)| v.map(|v| format!("keep-{n} {}", format_duration(v)))),
    );
    parts.extend(r.tags.iter().map(|t| format!("keep-tag {t}")));
    parts.join(", ")
}

/// `forget` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshots to remove (ID prefixes of at least 4 hex characters, or `latest`); not
    /// together with keep rules.
    snapshots: Vec<String>,
    #[command(flatten)]
    keep: RetentionArgs,
    /// Only snapshots of this backup set.
    #[arg(long)]
    set: Option<String>,
    /// Only snapshots of this host.
    #[arg(long)]
    host: Option<String>,
    /// Only snapshots with this tag (repeatable: every tag must be present).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Explain every decision and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Remove named snapshots even when a kept snapshot depends on them.
    #[arg(long)]
    force: bool,
    /// Allow a plan that leaves a backup set without a full.
    #[arg(long)]
    allow_empty_set: bool,
    /// Run `prune` afterwards (with its defaults) to free the data of removed snapshots.
    #[arg(long)]
    prune: bool,
}

/// Bytes prune would free if only the kept snapshots existed (packs deleted, less the
/// needed blobs repacking copies), estimated from the index and trees: no pack is read.
fn frees_bytes(repo: &Repository, plan: &Plan) -> Result<u64> {
    let removed: HashSet<_> = plan.removed().into_iter().collect();
    let p = strata_repo::prune::estimate(repo, &removed, &PruneOptions::default())?;
    Ok(p.delete_bytes().saturating_sub(p.repack_bytes()))
}

fn plan_json(plan: &Plan, dry_run: bool, applied: Option<&forget::Applied>) -> Value {
    let sets: Vec<Value> = plan
        .sets
        .iter()
        .map(|s| {
            json!({
                "set": s.set,
                "rules": s.source.name(),
                "snapshots": s.decisions.iter().map(|d| json!({
                    "id": d.id.to_hex(),
                    "time": output::rfc3339(d.time_ns),
                    "level": d.level.name(),
                    "keep": d.keep,
                    "reasons": d.reasons,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let missing: Vec<Value> = plan
        .missing
        .iter()
        .map(|m| json!({"snapshot": m.snapshot.to_hex(), "link": m.link.name(), "missing": m.missing.to_hex()}))
        .collect();
    let mut v = json!({
        "dry_run": dry_run,
        "sets": sets,
        "removed": plan.removed().len(),
        "kept": plan.kept_count(),
        "missing": missing,
    });
    if let (Some(a), Some(obj)) = (applied, v.as_object_mut()) {
        obj.insert("drills_removed".into(), json!(a.drills_removed));
    }
    v
}

fn print_table(plan: &Plan) {
    for s in &plan.sets {
        println!("set {} (rules: {})", s.set, s.source.name());
        println!(
            "  {:<8}  {:<19}  {:<5}  {:<6}  reasons",
            "id", "time", "level", "action"
        );
        for d in &s.decisions {
            println!(
                "  {:<8}  {:<19}  {:<5}  {:<6}  {}",
                d.id.short(),
                output::short_time(d.time_ns),
                d.level.name(),
                if d.keep { "keep" } else { "remove" },
                d.reasons.join("; ")
            );
        }
    }
}

/// Runs `forget`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let opts = ForgetOptions {
        scope: Filter {
            set: a.set.clone(),
            host: a.host.clone(),
            tags: a.tags.clone(),
            level: None,
        },
        rules: a.keep.rules(),
        ids: a.snapshots.clone(),
        force: a.force,
        allow_empty_set: a.allow_empty_set,
    };
    let repo = super::open(g)?;
    let (plan, applied) = match forget::run(&repo, &opts, strata_repo::util::now_ns(), a.dry_run) {
        Ok(x) => x,
        Err(strata_repo::Error::Usage(m)) => {
            eprintln!("strata: {m}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    for m in &plan.missing {
        eprintln!(
            "strata: warning: snapshot {} names {} {}, which does not exist",
            m.snapshot.short(),
            m.link.name(),
            m.missing.short()
        );
    }
    let frees = if a.dry_run {
        Some(frees_bytes(&repo, &plan)?)
    } else {
        None
    };
    let pruned = if a.prune && !a.dry_run {
        Some(strata_repo::prune::run(
            repo.clone(),
            &PruneOptions::default(),
        )?)
    } else {
        None
    };
    if g.json {
        let mut v = plan_json(&plan, a.dry_run, applied.as_ref());
        if let Some(obj) = v.as_object_mut() {
            if let Some(f) = frees {
                obj.insert("frees_bytes".into(), json!(f));
            }
            if let Some(p) = &pruned {
                obj.insert("prune".into(), serde_json::to_value(p)?);
            }
        }
        output::print_json(&v);
        return Ok(0);
    }
    if !g.quiet {
        print_table(&plan);
    }
    let removed = plan.removed().len();
    match applied {
        None => println!(
            "dry run: would remove {removed} snapshots, keep {}; prune would then free about {:.1} MB",
            plan.kept_count(),
            frees.unwrap_or(0) as f64 / 1e6
        ),
        Some(ap) => println!(
            "removed {removed} snapshots ({} drills), kept {}{}",
            ap.drills_removed,
            plan.kept_count(),
            if a.prune { "" } else { "; run `strata prune` to free their data" }
        ),
    }
    if let Some(p) = &pruned {
        super::prune::print(g, p);
    }
    Ok(0)
}
