//! `strata prune`: remove unneeded data while backups keep running (CLI.md; SPEC.md §
//! [Pruning](../../../SPEC.md#pruning)).

use super::policy::parse_duration;
use crate::{output, Global};
use anyhow::Result;
use std::time::Duration;
use strata_repo::prune::{PruneOptions, PruneReport};

/// `prune` options.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Repack packs whose unneeded share exceeds this percentage.
    #[arg(long, default_value_t = 5.0, value_parser = parse_percent)]
    pub max_unused: f64,
    /// Repack at most this much per run (e.g. `2G`, `500M`; units K, M, G, T of 1024).
    #[arg(long, value_parser = parse_size)]
    pub max_repack_size: Option<u64>,
    /// Packs no index names yet (a backup may still be writing them) are deleted only when
    /// older than this.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub grace: u64,
    /// Give up waiting for backups that started before prune's notice after this long
    /// (nothing is deleted then; the next prune finishes the job).
    #[arg(long, default_value = "6h", value_parser = parse_duration)]
    pub max_wait: u64,
    /// Show what would be deleted and repacked; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{s:?} is not between 0 and 100"));
    }
    Ok(v)
}

/// Parses `<n>[K|M|G|T]` (powers of 1024) into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size (e.g. 500M, 2G)"))
}

impl Args {
    /// The engine's options.
    pub fn options(&self) -> PruneOptions {
        PruneOptions {
            max_unused_percent: self.max_unused,
            max_repack_bytes: self.max_repack_size,
            grace: Duration::from_secs(self.grace),
            max_wait: Duration::from_secs(self.max_wait),
            dry_run: self.dry_run,
        }
    }
}

/// Runs `prune`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let r = strata_repo::prune::run(repo, &a.options())?;
    print(g, &r);
    Ok(0)
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// Prints a prune report (JSON: the report's fields).
pub fn print(g: &Global, r: &PruneReport) {
    if g.json {
        output::print_json(&serde_json::to_value(r).unwrap_or_default());
        return;
    }
    if g.quiet && !r.deferred {
        return;
    }
    let would = if r.dry_run { "would delete" } else { "deleted" };
    println!(
        "{} snapshots; {} packs ({}) before",
        r.snapshots,
        r.packs_before,
        mb(r.bytes_before)
    );
    println!(
        "{would} {} packs ({}): {} unused, {} repacked, {} unindexed past the grace period",
        r.packs_deleted,
        mb(r.bytes_deleted),
        r.packs_unused,
        r.packs_repacked,
        r.packs_unindexed
    );
    if r.packs_written > 0 || r.dry_run {
        println!(
            "{} {} of needed blobs into new packs",
            if r.dry_run { "would copy" } else { "copied" },
            mb(r.bytes_written)
        );
    }
    if r.packs_unindexed_young > 0 {
        println!(
            "left {} unindexed packs younger than the grace period (a backup may be writing them)",
            r.packs_unindexed_young
        );
    }
    if r.packs_kept_back > 0 {
        println!(
            "kept {} packs that a backup committed meanwhile needs",
            r.packs_kept_back
        );
    }
    if !r.waited_for.is_empty() {
        println!(
            "waited {:.1} s for {} older lock holder(s)",
            r.waited_ms as f64 / 1e3,
            r.waited_for.len()
        );
    }
    if r.deferred {
        eprintln!("older lock holders still running: nothing deleted; the next prune finishes");
    }
    println!(
        "{} packs ({}) after; unneeded data before: {}",
        r.packs_after,
        mb(r.bytes_after),
        mb(r.unreferenced_bytes)
    );
}
