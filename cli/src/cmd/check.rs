//! `strata check [--read-data | --read-data-subset n/t|P%]` (CLI.md, DESIGN.md § 5b).

use crate::{output, Global};
use anyhow::Result;
use strata_repo::check::{check, CheckOptions, Problem, Subset};
use strata_repo::lock::Lock;

/// `check` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also read every pack: authenticate, decompress and re-hash every blob.
    #[arg(long)]
    read_data: bool,
    /// Read only some packs: `n/t` (packs whose ID's first byte mod t is n−1, so t runs
    /// cover every pack) or `P%` (a random sample). Implies --read-data.
    #[arg(long, value_name = "n/t|P%", value_parser = parse_subset)]
    read_data_subset: Option<Subset>,
}

fn parse_subset(s: &str) -> Result<Subset, String> {
    s.parse().map_err(|e: strata_repo::Error| e.to_string())
}

fn line(kind: &str, p: &Problem) -> String {
    let mut s = format!("{kind}: {}: {}", p.object, p.message);
    if !p.snapshots.is_empty() {
        let short: Vec<&str> = p
            .snapshots
            .iter()
            .map(|x| x.get(..8).unwrap_or(x))
            .collect();
        s.push_str(&format!("; snapshots: {}", short.join(", ")));
    }
    if !p.paths.is_empty() {
        s.push_str(&format!("; paths: {}", p.paths.join(", ")));
        if p.paths_total > p.paths.len() {
            s.push_str(&format!(" and {} more", p.paths_total - p.paths.len()));
        }
    }
    s
}

/// Runs `check`; exit 1 if anything is damaged.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open_with(g, None)?;
    let _lock = Lock::acquire(repo.clone(), false, "check")?;
    let opts = CheckOptions {
        read_data: a.read_data_subset.or(a.read_data.then_some(Subset::All)),
    };
    let report = check(&repo, &opts)?;
    if g.json {
        output::print_json(&serde_json::to_value(&report)?);
    } else {
        for w in &report.warnings {
            if !g.quiet {
                println!("{}", line("warning", w));
            }
        }
        for e in &report.errors {
            println!("{}", line("error", e));
        }
        let s = &report.stats;
        println!(
            "{} snapshots, {} packs, {} blobs; read {} packs ({}); {} errors, {} warnings",
            s.snapshots,
            s.packs,
            s.blobs,
            s.packs_read,
            output::bytes(s.bytes_read),
            report.errors.len(),
            report.warnings.len()
        );
    }
    if report.ok {
        Ok(crate::exit_code::OK)
    } else {
        if !g.json {
            eprintln!(
                "strata: check found {} error(s); the repository is damaged",
                report.errors.len()
            );
        }
        Ok(crate::exit_code::ERROR)
    }
}
