//! `strata snapshots`: table or JSON array.

use crate::{output, Global};
use anyhow::Result;
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
    if g.json {
        output::print_json(&serde_json::Value::Array(
            list.iter()
                .map(|(id, s)| output::snapshot_json(id, s))
                .collect(),
        ));
        return Ok(0);
    }
    println!(
        "{:<10} {:<19} {:<16} {:<5} {:<24} {:>10}  paths",
        "ID", "time (UTC)", "host", "level", "set", "size"
    );
    for (id, s) in &list {
        println!(
            "{:<10} {:<19} {:<16} {:<5} {:<24} {:>10}  {}",
            id.short(),
            output::short_time(s.time_ns),
            s.host,
            s.level.name(),
            s.set,
            output::bytes(s.summary.total_bytes),
            s.paths.join(" ")
        );
    }
    println!("{} snapshot(s)", list.len());
    Ok(0)
}
