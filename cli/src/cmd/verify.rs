//! `strata verify SNAPSHOT...`: a restore drill per snapshot (DESIGN.md § 5b; SPEC.md
//! § [Drills](../../../SPEC.md#drills)).
//!
//! Each snapshot is reassembled as a restore would (every blob re-hashed, every file's size
//! and content hash checked), optionally restored for real into `--target`, and optionally
//! one file is piped into `--restore-command`. The outcome, passed or failed, is recorded in
//! `drills/`; the exit status is 1 when any drill failed.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::Result;
use format_spec::id::SnapshotId;
use format_spec::snapshot::Snapshot;
use serde_json::{json, Value};
use std::path::PathBuf;
use strata_repo::lock::Lock;
use strata_repo::verify::{command_path, verify, VerifyOptions};

/// `verify` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot ID prefixes or `latest` (one drill each).
    #[arg(required = true)]
    snapshots: Vec<String>,
    /// Restore for real into this directory (every file hashed as it is written) instead
    /// of only reassembling in memory. With several snapshots, each goes into a subdirectory
    /// named by its short ID.
    #[arg(long, short = 't')]
    target: Option<PathBuf>,
    /// Pipe one file of the snapshot into `sh -c CMD`; the drill passes only if CMD exits 0.
    #[arg(long)]
    restore_command: Option<String>,
    /// The snapshot file to pipe into --restore-command (default: the only file of a
    /// stdin/command backup or of a single-file backup).
    #[arg(long, requires = "restore_command")]
    path: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs `verify`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open_with(g, None)?;
    let _lock = Lock::acquire(repo.clone(), false, "verify")?;
    let mut snaps: Vec<(SnapshotId, Snapshot)> = Vec::new();
    for r in &a.snapshots {
        let (id, s) = repo.resolve_snapshot(r, &a.filter.filter())?;
        if !snaps.iter().any(|(x, _)| *x == id) {
            snaps.push((id, s));
        }
    }
    let index = repo.load_index()?;
    // Resolve every piped path first, so a usage mistake records no drill at all.
    let mut plans = Vec::with_capacity(snaps.len());
    for (id, s) in &snaps {
        let path = match &a.restore_command {
            Some(_) => match command_path(&repo, &index, id, s, a.path.as_deref()) {
                Ok(p) => Some(p),
                Err(strata_repo::Error::Usage(m)) => {
                    eprintln!("strata: {m}");
                    return Ok(2);
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let target = a.target.as_ref().map(|t| {
            if snaps.len() > 1 {
                t.join(id.short())
            } else {
                t.clone()
            }
        });
        plans.push(VerifyOptions {
            target,
            restore_command: a.restore_command.clone(),
            path,
        });
    }
    let mut results = Vec::with_capacity(snaps.len());
    let mut failed = 0usize;
    for ((id, s), opts) in snaps.iter().zip(&plans) {
        let out = verify(&repo, &index, id, s, opts)?;
        let d = &out.drill;
        if !d.ok {
            failed += 1;
        }
        if g.json {
            results.push(json!({
                "snapshot": id.to_hex(),
                "set": d.set,
                "time": output::rfc3339(d.time_ns),
                "ok": d.ok,
                "error": d.error,
                "files": d.files,
                "bytes": d.bytes,
                "duration_ms": d.duration_ms,
                "command": d.command,
                "path": d.path,
                "drill": out.name,
            }));
        } else if d.ok {
            if !g.quiet {
                println!(
                    "snapshot {} ({}): drill ok: {} files, {} reassembled{} in {} ms",
                    id.short(),
                    s.set,
                    d.files,
                    output::bytes(d.bytes),
                    match (&d.command, &d.path) {
                        (Some(c), Some(p)) => format!(", {p} accepted by {c:?}"),
                        _ => String::new(),
                    },
                    d.duration_ms
                );
            }
        } else {
            println!(
                "snapshot {} ({}): drill FAILED: {}",
                id.short(),
                s.set,
                d.error.as_deref().unwrap_or("")
            );
        }
    }
    if g.json {
        output::print_json(&Value::Array(results));
    }
    if failed > 0 {
        eprintln!(
            "strata: {failed} of {} drill(s) failed (recorded in the repository)",
            snaps.len()
        );
        return Ok(1);
    }
    Ok(0)
}
