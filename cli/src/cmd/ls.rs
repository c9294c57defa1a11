//! `strata ls SNAPSHOT [PATH]`.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::Result;
use serde_json::json;
use strata_repo::restore::walk_tree;

/// `ls` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot ID prefix or `latest`.
    snapshot: String,
    /// Only entries at or under this path.
    path: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs `ls`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let (_, snap) = repo.resolve_snapshot(&a.snapshot, &a.filter.filter())?;
    let index = repo.load_index()?;
    let prefix: Vec<&str> = a
        .path
        .as_deref()
        .unwrap_or("")
        .split('/')
        .filter(|c| !c.is_empty())
        .collect();
    walk_tree(&repo, &index, &snap.tree, &mut |e| {
        let under = e.path.len() >= prefix.len()
            && prefix
                .iter()
                .zip(&e.path)
                .all(|(p, c)| p.as_bytes() == c.as_slice());
        if !under {
            return Ok(());
        }
        let kind = serde_json::to_value(e.node.kind).unwrap_or_default();
        if g.json {
            output::print_json(&json!({
                "path": e.display(),
                "type": kind,
                "size": e.node.size,
                "mode": e.node.mode & 0o7777,
                "mtime": output::rfc3339(e.node.mtime_ns),
                "uid": e.node.uid,
                "gid": e.node.gid,
            }));
        } else {
            println!(
                "{:<7} {:>5o} {:>12} {} {}",
                kind.as_str().unwrap_or("?"),
                e.node.mode & 0o7777,
                e.node.size,
                output::short_time(e.node.mtime_ns),
                e.display()
            );
        }
        Ok(())
    })?;
    Ok(0)
}
