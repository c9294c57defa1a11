//! `strata diff SNAP_A SNAP_B`: added (`+`), removed (`-`) and modified (`M`) paths, as
//! restic prints them; `--json` adds each modified file's changed byte ranges.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::Result;
use serde_json::{json, Value};
use strata_repo::diff::{diff, Change, ChangeKind};
use strata_repo::restore::walk::display_path;

/// `diff` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The old snapshot (ID prefix or `latest`).
    snap_a: String,
    /// The new snapshot (ID prefix or `latest`).
    snap_b: String,
    #[command(flatten)]
    filter: FilterArgs,
}

fn modified_json(c: &Change) -> Value {
    json!({
        "path": display_path(&c.path),
        "type": c.node.kind,
        "changes": c.fields.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "changed_ranges": c.changed_ranges.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
        "old_size": c.old.as_ref().map_or(0, |o| o.size),
        "new_size": c.node.size,
    })
}

/// Runs `diff`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let filter = a.filter.filter();
    let (id_a, snap_a) = repo.resolve_snapshot(&a.snap_a, &filter)?;
    let (id_b, snap_b) = repo.resolve_snapshot(&a.snap_b, &filter)?;
    let index = repo.load_index()?;
    let d = diff(&repo, &index, &snap_a.tree, &snap_b.tree)?;
    let paths = |k: ChangeKind| -> Vec<String> {
        d.changes
            .iter()
            .filter(|c| c.kind == k)
            .map(|c| display_path(&c.path))
            .collect()
    };
    if g.json {
        output::print_json(&json!({
            "old": id_a.to_hex(),
            "new": id_b.to_hex(),
            "added": paths(ChangeKind::Added),
            "removed": paths(ChangeKind::Removed),
            "modified": d.changes.iter().filter(|c| c.kind == ChangeKind::Modified).map(modified_json).collect::<Vec<_>>(),
            "stats": d.stats,
        }));
        return Ok(0);
    }
    if !g.quiet {
        println!("comparing snapshot {} to {}:\n", id_a.short(), id_b.short());
    }
    for c in &d.changes {
        let mark = match c.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Modified => 'M',
        };
        let slash = if c.node.kind == format_spec::tree::NodeKind::Dir {
            "/"
        } else {
            ""
        };
        println!("{mark} {}{slash}", display_path(&c.path));
    }
    let s = &d.stats;
    if !g.quiet {
        println!();
        println!(
            "added:    {} (files {})",
            s.added,
            output::bytes(s.added_bytes)
        );
        println!(
            "removed:  {} (files {})",
            s.removed,
            output::bytes(s.removed_bytes)
        );
        println!(
            "modified: {} (changed ranges {})",
            s.modified,
            output::bytes(s.changed_bytes)
        );
    }
    Ok(0)
}
