//! `strata copy --from-repo LOC [SNAPSHOT...]`: snapshots from another repository (CLI.md),
//! SPEC.md § Copying snapshots. One line per snapshot on stdout as it is handled (copied,
//! skipped because the destination has it, or refused), or one JSON document.

use super::{open_from, open_with, FromRepoArgs};
use crate::progress::Bar;
use crate::{exit_code, output, Global};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use strata_repo::backend::cache::CachePolicy;
use strata_repo::copy::{copy, CopyOptions, CopyReport, CopyStats, Outcome, SnapshotCopy};
use strata_repo::lock::Lock;
use strata_repo::snapshots::Filter;

/// `copy` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Source snapshots (ID prefixes or `latest`); default: every snapshot that passes the
    /// filters. A snapshot's parent and base are copied with it when the destination lacks them.
    snapshots: Vec<String>,
    #[command(flatten)]
    from: FromRepoArgs,
    /// Only snapshots of this backup set.
    #[arg(long)]
    set: Option<String>,
    /// Only snapshots of this host.
    #[arg(long)]
    host: Option<String>,
    /// Only snapshots carrying this tag (repeatable: all of them).
    #[arg(long = "tag")]
    tags: Vec<String>,
}

/// Runs `copy`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    // Packs cached as a backup caches them: a re-chunked copy decodes delta bases from the
    // packs of the parent's copy, local after the copy that wrote them.
    let dst = open_with(g, Some(CachePolicy::Packs))?;
    let src = open_from(g, &a.from)?;
    // Shared locks on both sides: a prune of the source must not delete what is read, and a
    // prune of the destination waits for this copy as for a backup.
    let _src_lock =
        Lock::acquire(src.clone(), false, "copy (source)").context("the source repository")?;
    let lock = Lock::acquire(dst.clone(), false, "copy")?;
    let opts = CopyOptions {
        snapshots: a.snapshots.clone(),
        filter: Filter {
            set: a.set.clone(),
            host: a.host.clone(),
            tags: a.tags.clone(),
            level: None,
        },
    };
    let bar = Bar::new(!g.quiet && !g.json, "copy");
    let report = copy(&src, &dst, &opts, &bar, Some(&lock), &mut |c| {
        if !g.json {
            bar.suspend(|| println!("{}", line(c)));
        }
    });
    bar.finish();
    let report = report?;
    let refused = count(&report, |o| matches!(o, Outcome::Refused(_)));
    if g.json {
        output::print_json(&report_json(&report));
    } else if !g.quiet {
        let total = totals(&report);
        eprintln!(
            "{} copied, {} already in the destination, {refused} refused; {} blobs, {} stored; {} drills ({})",
            count(&report, |o| matches!(o, Outcome::Copied { .. })),
            count(&report, |o| matches!(o, Outcome::Present(_))),
            total.blobs,
            output::bytes(total.bytes_stored),
            report.drills,
            match report.mode {
                strata_repo::copy::Mode::Blobs => "blobs moved as they are: same chunker parameters",
                strata_repo::copy::Mode::Rechunk => "files re-chunked: other chunker parameters",
            }
        );
    }
    if refused > 0 {
        eprintln!("strata: {refused} snapshots were not copied (their chain is broken in the source); the others were");
        return Ok(exit_code::ERROR);
    }
    Ok(exit_code::OK)
}

fn count(r: &CopyReport, pred: impl Fn(&Outcome) -> bool) -> usize {
    r.snapshots.iter().filter(|c| pred(&c.outcome)).count()
}

fn totals(r: &CopyReport) -> CopyStats {
    let mut t = CopyStats::default();
    for c in &r.snapshots {
        if let Outcome::Copied { stats: s, .. } = &c.outcome {
            t.blobs += s.blobs;
            t.bytes_new += s.bytes_new;
            t.bytes_stored += s.bytes_stored;
            t.packs += s.packs;
            t.deltas += s.deltas;
            t.bytes_read += s.bytes_read;
            t.files_reused += s.files_reused;
            t.duration_ms += s.duration_ms;
        }
    }
    t
}

/// The human line for one snapshot.
fn line(c: &SnapshotCopy) -> String {
    let s = &c.snapshot;
    let what = format!(
        "{} {} {}",
        s.level.name(),
        s.set,
        output::short_time(s.time_ns)
    );
    let needed = c
        .needed_by
        .map(|n| format!(" (chain of {})", n.short()))
        .unwrap_or_default();
    match &c.outcome {
        Outcome::Copied { id, stats } => format!(
            "copied   {} -> {}  {what}{needed}: {} blobs, {} stored",
            c.source.short(),
            id.short(),
            stats.blobs,
            output::bytes(stats.bytes_stored)
        ),
        Outcome::Present(id) => format!(
            "skipped  {}  {what}: already in the destination as {}",
            c.source.short(),
            id.short()
        ),
        Outcome::Refused(why) => format!("refused  {}  {what}{needed}: {why}", c.source.short()),
    }
}

fn stats_json(s: &CopyStats) -> Value {
    json!({
        "blobs": s.blobs,
        "bytes_new": s.bytes_new,
        "bytes_stored": s.bytes_stored,
        "packs": s.packs,
        "deltas": s.deltas,
        "bytes_read": s.bytes_read,
        "files_reused": s.files_reused,
        "duration_ms": s.duration_ms,
    })
}

fn report_json(r: &CopyReport) -> Value {
    let snapshots: Vec<Value> = r
        .snapshots
        .iter()
        .map(|c| {
            let s = &c.snapshot;
            let (status, id, reason, stats) = match &c.outcome {
                Outcome::Copied { id, stats } => ("copied", Some(id.to_hex()), None, *stats),
                Outcome::Present(id) => ("skipped", Some(id.to_hex()), None, CopyStats::default()),
                Outcome::Refused(why) => ("refused", None, Some(why.clone()), CopyStats::default()),
            };
            json!({
                "source": c.source.to_hex(),
                "status": status,
                "id": id,
                "reason": reason,
                "needed_by": c.needed_by.map(|n| n.to_hex()),
                "time": output::rfc3339(s.time_ns),
                "host": s.host,
                "set": s.set,
                "level": s.level.name(),
                "tags": s.tags,
                "stats": stats_json(&stats),
            })
        })
        .collect();
    json!({
        "mode": r.mode.name(),
        "snapshots": snapshots,
        "copied": count(r, |o| matches!(o, Outcome::Copied { .. })),
        "skipped": count(r, |o| matches!(o, Outcome::Present(_))),
        "refused": count(r, |o| matches!(o, Outcome::Refused(_))),
        "drills": r.drills,
        "total": stats_json(&totals(r)),
    })
}
