//! `strata repair index`: rebuild the index from pack headers (CLI.md).

use crate::{output, Global};
use anyhow::Result;
use serde_json::json;

/// `repair` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RepairCommand {
    /// Rebuild the index from pack headers, leaving out damaged packs and blobs.
    ///
    /// Writes one new index file superseding every existing one, then deletes the old
    /// ones. Exit 1 if any pack or blob was damaged (the index is still rewritten).
    Index,
}

/// Runs `repair`.
pub fn run(g: &Global, c: &RepairCommand) -> Result<i32> {
    match c {
        RepairCommand::Index => index(g),
    }
}

fn index(g: &Global) -> Result<i32> {
    let repo = super::open_with(g, None)?;
    let r = strata_repo::repair::run(repo)?;
    let p = &r.plan;
    if g.json {
        output::print_json(&json!({
            "packs_read": p.packs_read,
            "packs_damaged": p.damaged_packs.iter().map(|d| json!({
                "pack": d.pack,
                "reason": d.reason,
            })).collect::<Vec<_>>(),
            "blobs_indexed": p.blobs_indexed,
            "blobs_damaged": p.damaged_blobs.iter().map(|d| json!({
                "blob": d.blob,
                "pack": d.pack,
                "reason": d.reason,
            })).collect::<Vec<_>>(),
            "index_written": r.written.to_hex(),
            "index_superseded": p.superseded.len(),
            "index_removed": r.removed,
        }));
    } else {
        for d in &p.damaged_packs {
            eprintln!("damaged pack {}: {} (left out)", d.pack, d.reason);
        }
        for d in &p.damaged_blobs {
            eprintln!(
                "damaged blob {} in pack {}: {} (left out)",
                d.blob, d.pack, d.reason
            );
        }
        if !g.quiet || p.found_damage() {
            println!(
                "read {} pack(s), {} damaged; indexed {} blob(s), {} damaged",
                p.packs_read,
                p.damaged_packs.len(),
                p.blobs_indexed,
                p.damaged_blobs.len()
            );
            println!(
                "wrote index {}; superseded {} index file(s), removed {}",
                r.written.short(),
                p.superseded.len(),
                r.removed
            );
        }
    }
    Ok(if p.found_damage() { 1 } else { 0 })
}
