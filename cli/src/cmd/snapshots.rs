//! `strata snapshots`: table or JSON array.

use crate::{output, Global};
use anyhow::Result;
use format_spec::drill::Drill;
use serde_json::{json, Value};
use strata_repo::drill::last_per_snapshot;
use strata_repo::snapshots::Filter;

/// Filters shared by `snapshots` and snapshot references.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only this backup set.
    #[arg(long)]
    pub set: Option<String>,
    /// Only this host.
    #[arg(long)]
    pub host: Option<String>,
}

impl FilterArgs {
    /// As an engine filter.
    pub fn filter(&self) -> Filter {
        Filter {
            set: self.set.clone(),
            host: self.host.clone(),
            ..Filter::default()
        }
    }
}

/// `snapshots` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    filter: FilterArgs,
    /// Only snapshots with this tag (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Only this level.
    #[arg(long, value_parser = ["full", "diff", "incr"])]
    level: Option<String>,
}

/// Runs `snapshots`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let mut f = a.filter.filter();
    f.tags = a.tags.clone();
    f.level = a.level.clone();
    let list: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| f.matches(s))
        .collect();
    // The last restore drill of each snapshot (`strata verify`), passed or failed.
    let drills = last_per_snapshot(&repo.drills()?);
    if g.json {
        output::print_json(&Value::Array(
            list.iter()
                .map(|(id, s)| {
                    let mut v = output::snapshot_json(id, s);
                    v["last_drill"] = drills.get(id).map_or(Value::Null, drill_json);
                    v
                })
                .collect(),
        ));
        return Ok(0);
    }
    let now = super::policy::now_ns();
    println!(
        "{:<10} {:<19} {:<16} {:<5} {:<24} {:>10}  {:<8}  paths",
        "ID", "time (UTC)", "host", "level", "set", "size", "drill"
    );
    for (id, s) in &list {
        let drill = match drills.get(id) {
            Some(d) if d.ok => format!("ok {}", ago(now, d.time_ns)),
            Some(_) => "FAILED".into(),
            None => "-".into(),
        };
        println!(
            "{:<10} {:<19} {:<16} {:<5} {:<24} {:>10}  {:<8}  {}",
            id.short(),
            output::short_time(s.time_ns),
            s.host,
            s.level.name(),
            s.set,
            output::bytes(s.summary.total_bytes),
            drill,
            s.paths.join(" ")
        );
    }
    println!("{} snapshot(s)", list.len());
    Ok(0)
}

/// `last_drill` of a snapshot in `snapshots --json`.
fn drill_json(d: &Drill) -> Value {
    json!({ "time": output::rfc3339(d.time_ns), "ok": d.ok, "error": d.error })
}

/// A coarse age for tables: the largest whole unit (`42s`, `5m`, `3h`, `2d`).
pub fn ago(now_ns: i64, time_ns: i64) -> String {
    let s = u64::try_from(now_ns.saturating_sub(time_ns).max(0) / 1_000_000_000).unwrap_or(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}
