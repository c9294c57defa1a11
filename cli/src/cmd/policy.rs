//! `strata policy set|show`: the stored RPO schedule of a backup set.
//! SPEC.md § [Policies](../../../SPEC.md#policies).
//!
//! `--level auto` follows a set's policy (a full when the newest full is older than the
//! full interval, and so on) and `strata report` checks snapshots against it. A set without
//! a stored policy follows the default: full weekly, diff daily, incr hourly.

use crate::{output, Global};
use anyhow::{bail, Context, Result};
use format_spec::policy::Policy;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use strata_repo::lock::Lock;

/// `policy` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Store a set's intervals (those not given keep their current value).
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
        .args(["full", "diff", "incr"])
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
}

/// `policy show` options.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Only this set (its stored policy, or the default if it has snapshots but none).
    #[arg(long)]
    set: Option<String>,
}

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

/// Parses `<n><unit>` groups such as `7d`, `1h30m` or `90s` into seconds. Units: `s`, `m`
/// (minutes), `h`, `d`, `w`. A number without a unit is refused rather than guessed.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let err = |why: &str| format!("duration {text:?}: {why} (expected e.g. 7d, 1h30m, 90s)");
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d)))
                .ok_or_else(|| err("too large"))?;
            number = Some(n);
            continue;
        }
        let (_, unit) = UNITS
            .iter()
            .find(|(u, _)| *u == c)
            .ok_or_else(|| err(&format!("unknown unit {c:?}")))?;
        let n = number
            .take()
            .ok_or_else(|| err("a unit without a number"))?;
        total = n
            .checked_mul(*unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| err("too large"))?;
    }
    match number {
        Some(_) => Err(err("a number without a unit")),
        None if text.trim().is_empty() => Err(err("empty")),
        None => Ok(total),
    }
}

/// Seconds as `1w2d3h4m5s` (largest units first, zero parts left out; `0s` for zero).
pub fn format_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (u, n) in UNITS {
        if secs >= n {
            out.push_str(&format!("{}{u}", secs / n));
            secs %= n;
        }
    }
    out
}

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
        "{:<24} {:>8} {:>8} {:>8}  since",
        "set", "full", "diff", "incr"
    );
    for (p, stored) in &list {
        println!(
            "{:<24} {:>8} {:>8} {:>8}  {}",
            p.set,
            format_duration(p.full_s),
            format_duration(p.diff_s),
            format_duration(p.incr_s),
            if *stored {
                output::short_time(p.time_ns)
            } else {
                "(default, not stored)".into()
            }
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("1w"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("0s"), Ok(0));
        for bad in [
            "",
            "5",
            "h",
            "5x",
            "1h30",
            "99999999999999999999s",
            "40000000000000w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(604_800), "1w");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(parse_duration(&format_duration(694_861)), Ok(694_861));
    }
}
