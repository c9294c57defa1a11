//! `strata restore SNAPSHOT --target DIR`.

use super::snapshots::FilterArgs;
use crate::progress::Bar;
use crate::{output, Global};
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;
use strata_repo::lock::Lock;
use strata_repo::progress::Progress;
use strata_repo::restore::{restore, RestoreOptions};

/// `restore` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot ID prefix or `latest`.
    snapshot: String,
    /// Directory to restore into (created if missing).
    #[arg(long, short = 't')]
    target: PathBuf,
    /// Restore only this path and what is under it (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Check every file against the content hash recorded at backup, hashing the bytes as
    /// they are written (every chunk is checked against its ID in any case).
    #[arg(long)]
    verify: bool,
    /// Leave all-zero blocks (4 KiB, aligned) of files as holes, as sparse files.
    #[arg(long)]
    sparse: bool,
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs `restore`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let _lock = Lock::acquire(repo.clone(), false, "restore")?;
    let (id, snap) = repo.resolve_snapshot(&a.snapshot, &a.filter.filter())?;
    let index = repo.load_index()?;
    let opts = RestoreOptions {
        target: a.target.clone(),
        include: a.include.clone(),
        verify: a.verify,
        sparse: a.sparse,
    };
    let bar = Bar::new(!g.quiet && !g.json, "restore");
    if a.include.is_empty() {
        bar.total(snap.summary.total_bytes);
    }
    let stats = restore(&repo, &index, &snap.tree, &opts, &bar);
    bar.finish();
    let stats = stats?;
    for s in &stats.skipped {
        eprintln!("warning: {s}");
    }
    if g.json {
        output::print_json(&json!({ "snapshot": id.to_hex(), "target": a.target, "stats": stats }));
    } else if !g.quiet {
        println!(
            "restored snapshot {} ({}) to {}: {} files, {} dirs, {} others, {}",
            id.short(),
            snap.level.name(),
            a.target.display(),
            stats.files,
            stats.dirs,
            stats.others,
            output::bytes(stats.bytes)
        );
    }
    Ok(0)
}
