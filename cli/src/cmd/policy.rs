//! `strata policy set|show`: the stored RPO schedule and retention of a backup set.
//! SPEC.md § [Policies](../../../SPEC.md#policies), § [Retention](../../../SPEC.md#retention).
//!
//! `--level auto` follows a set's policy (a full when the newest full is older than the
//! full interval, and so on) and `strata report` checks snapshots against it. A set without
//! a stored policy follows the default: full weekly, diff daily, incr hourly.

use super::forget::{retention_text, RetentionArgs};
use crate::{output, Global};
use anyhow::{bail, Context, Result};
use format_spec::policy::Policy;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use strata_repo::lock::Lock;

/// `policy` subcommands.
#[derive(clap::Subcommand, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; the retention flags make `set` large"
)]
pub enum PolicyCommand {
    /// Store a set's intervals and retention (what is not given keeps its current value).
    Set(SetArgs),
    /// Show the stored policies, or the one a set follows.
    Show(ShowArgs),
}

/// `policy set` options.
#[derive(clap::Args, Debug)]
#[command(group(
    clap::ArgGroup::new("intervals")
        .required(true)
        .multiple(true)
        .args([
            "full", "diff", "incr", "clear_retention",
            "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
            "keep_yearly", "keep_within", "keep_within_hourly", "keep_within_daily",
            "keep_within_weekly", "keep_within_monthly", "keep_within_yearly", "keep_tag",
            "keep_full", "keep_diff", "keep_incr", "keep_full_within", "keep_diff_within",
            "keep_incr_within", "offsite", "clear_offsite",
        ])
))]
pub struct SetArgs {
    /// Backup set the policy governs.
    #[arg(long)]
    set: String,
    /// A full at least this often (e.g. `7d`, `1w`, `36h`).
    #[arg(long, value_parser = parse_duration)]
    full: Option<u64>,
    /// A differential (or full) at least this often (e.g. `1d`).
    #[arg(long, value_parser = parse_duration)]
    diff: Option<u64>,
    /// Some snapshot at least this often (e.g. `1h`, `1h30m`).
    #[arg(long, value_parser = parse_duration)]
    incr: Option<u64>,
    /// Retention that `forget` applies to the set when given no rules (replaces the stored
    /// retention as a whole).
    #[command(flatten)]
    keep: RetentionArgs,
    /// Remove the set's stored retention.
    #[arg(long, conflicts_with_all = [
        "keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
        "keep_yearly", "keep_within", "keep_within_hourly", "keep_within_daily",
        "keep_within_weekly", "keep_within_monthly", "keep_within_yearly", "keep_tag",
        "keep_full", "keep_diff", "keep_incr", "keep_full_within", "keep_diff_within",
        "keep_incr_within",
    ])]
    clear_retention: bool,
    /// The set's offsite repository (a path or `s3://bucket/prefix`): `schedule` copies
    /// each backup there and `report` checks that its newest copy is within the RPO.
    #[arg(long, value_name = "LOCATION")]
    offsite: Option<String>,
    /// Remove the set's offsite repository.
    #[arg(long, conflicts_with = "offsite")]
    clear_offsite: bool,
}

/// `policy show` options.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Only this set (its stored policy, or the default if it has snapshots but none).
    #[arg(long)]
    set: Option<String>,
}

pub use strata_repo::duration::{format_duration, parse_duration};

/// Now, in ns since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The JSON object of a policy in force.
pub fn policy_json(p: &Policy, stored: bool) -> Value {
    json!({
        "set": p.set,
        "full_s": p.full_s,
        "diff_s": p.diff_s,
        "incr_s": p.incr_s,
        "stored": stored,
        "time": stored.then(|| output::rfc3339(p.time_ns)),
        "keep": p.keep,
        "offsite": p.offsite,
    })
}

/// `full 7d, diff 1d, incr 1h`.
pub fn intervals_text(p: &Policy) -> String {
    format!(
        "full {}, diff {}, incr {}",
        format_duration(p.full_s),
        format_duration(p.diff_s),
        format_duration(p.incr_s)
    )
}

/// Runs `policy`.
pub fn run(g: &Global, c: &PolicyCommand) -> Result<i32> {
    match c {
        PolicyCommand::Set(a) => set(g, a),
        PolicyCommand::Show(a) => show(g, a),
    }
}

fn set(g: &Global, a: &SetArgs) -> Result<i32> {
    let repo = super::open(g)?;
    let _lock = Lock::acquire(repo.clone(), false, "policy")?;
    let (current, stored) = repo.policy_for(&a.set)?;
    // The newest `time_ns` of a set wins; stay ahead of the current one even if this
    // host's clock is behind the one that stored it.
    let time_ns = if stored {
        now_ns().max(current.time_ns.saturating_add(1))
    } else {
        now_ns()
    };
    let p = Policy {
        v: format_spec::policy::VERSION,
        set: a.set.clone(),
        time_ns,
        full_s: a.full.unwrap_or(current.full_s),
        diff_s: a.diff.unwrap_or(current.diff_s),
        incr_s: a.incr.unwrap_or(current.incr_s),
        keep: match (a.clear_retention, a.keep.rules()) {
            (true, _) => None,
            (false, Some(r)) => Some(r),
            (false, None) => current.keep.clone(),
        },
        offsite: match (a.clear_offsite, &a.offsite) {
            (true, _) => None,
            (false, Some(o)) => Some(o.clone()),
            (false, None) => current.offsite.clone(),
        },
    };
    p.validate().with_context(|| {
        format!(
            "policy for set {:?} not stored ({})",
            a.set,
            intervals_text(&p)
        )
    })?;
    repo.set_policy(&p)?;
    if g.json {
        output::print_json(&policy_json(&p, true));
    } else {
        println!("policy for set {}: {}", p.set, intervals_text(&p));
        if let Some(k) = &p.keep {
            println!("retention: {}", retention_text(k));
        }
        if let Some(o) = &p.offsite {
            println!("offsite: {o}");
        }
    }
    Ok(0)
}

fn show(g: &Global, a: &ShowArgs) -> Result<i32> {
    let repo = super::open(g)?;
    let stored = repo.policies()?;
    let list: Vec<(Policy, bool)> = match &a.set {
        Some(set) => match stored.get(set) {
            Some(p) => vec![(p.clone(), true)],
            None if repo.snapshots()?.iter().any(|(_, s)| s.set == *set) => {
                vec![(Policy::default_for(set), false)]
            }
            None => bail!("set {set:?} has no stored policy and no snapshot"),
        },
        None => stored.into_values().map(|p| (p, true)).collect(),
    };
    let default = Policy::default_for("");
    if g.json {
        output::print_json(&json!({
            "policies": list.iter().map(|(p, s)| policy_json(p, *s)).collect::<Vec<_>>(),
            "default": { "full_s": default.full_s, "diff_s": default.diff_s, "incr_s": default.incr_s },
        }));
        return Ok(0);
    }
    if list.is_empty() {
        println!(
            "no stored policies; every set follows the default: {}",
            intervals_text(&default)
        );
        return Ok(0);
    }
    println!(
        "{:<24} {:>8} {:>8} {:>8}  {:<21}  retention",
        "set", "full", "diff", "incr", "since"
    );
    for (p, stored) in &list {
        println!(
            "{:<24} {:>8} {:>8} {:>8}  {:<21}  {}",
            p.set,
            format_duration(p.full_s),
            format_duration(p.diff_s),
            format_duration(p.incr_s),
            if *stored {
                output::short_time(p.time_ns)
            } else {
                "(default, not stored)".into()
            },
            p.keep
                .as_ref()
                .map(retention_text)
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(0)
}
