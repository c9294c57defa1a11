//! `strata dump SNAPSHOT PATH`: one file's content to stdout.

use super::snapshots::FilterArgs;
use crate::Global;
use anyhow::{bail, Result};
use strata_repo::lock::Lock;
use strata_repo::restore::{dump_file, find_node};

/// `dump` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot ID prefix or `latest`.
    snapshot: String,
    /// Path of a file in the snapshot (for `--stdin` backups: the stdin name).
    path: String,
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs `dump`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let _lock = Lock::acquire(repo.clone(), false, "dump")?;
    let (_, snap) = repo.resolve_snapshot(&a.snapshot, &a.filter.filter())?;
    let index = repo.load_index()?;
    let node = find_node(&repo, &index, &snap.tree, &a.path)?;
    if node.kind != format_spec::tree::NodeKind::File {
        bail!("{} is a {:?}, not a file", a.path, node.kind);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    dump_file(&repo, &index, &node, &a.path, &mut out)?;
    Ok(0)
}
