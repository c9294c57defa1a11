//! `strata stats`: logical and stored sizes, deduplication and compression ratios, delta
//! encoding, and one row per backup set. Reads the snapshot files and the index only.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::Result;
use serde_json::{json, Value};
use strata_repo::stats::{BlobTotals, SetStats, Stats};

/// The `--json` document, for `stats --help`. Field names are stable.
const JSON_HELP: &str = "\
--json prints one object (sizes in bytes; ratios are numbers, or null when undefined):
  snapshots           selected snapshots
  whole_repository    false when --set/--host left some snapshots out
  filter              {set, host} as given (null when not given)
  logical_bytes       sum of the selected snapshots' summary.total_bytes
  added_bytes         sum of their summary.bytes_stored (what their backups wrote)
  stored_bytes        sum of the pack sizes in the index (whole repository)
  packs               packs in the index
  blobs               {data, tree, list, total}: each {count, raw_bytes, stored_bytes}
                      over every indexed blob (referenced or not; whole repository)
  dedup_ratio         logical_bytes / blobs.data.raw_bytes; null unless whole_repository
  compression_ratio   blobs.total.raw_bytes / blobs.total.stored_bytes
  deltas              data blobs stored as zstd-delta: {count, raw_bytes, stored_bytes,
                      share_of_data_stored (0..1 of blobs.data.stored_bytes), max_depth,
                      broken (chains that cannot be followed; run `strata check`)}
  sets                per backup set, by name: {set, snapshots, full, diff, incr,
                      logical_bytes, added_bytes}";

/// `stats` options.
#[derive(clap::Args, Debug)]
#[command(after_long_help = JSON_HELP)]
pub struct Args {
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs `stats`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let st = repo.stats(&a.filter.filter())?;
    if g.json {
        output::print_json(&to_json(&st, &a.filter));
    } else {
        print_human(&st);
    }
    Ok(0)
}

fn totals_json(t: &BlobTotals) -> Value {
    json!({ "count": t.count, "raw_bytes": t.raw_bytes, "stored_bytes": t.stored_bytes })
}

fn set_json(s: &SetStats) -> Value {
    json!({
        "set": s.set,
        "snapshots": s.snapshots,
        "full": s.full,
        "diff": s.diff,
        "incr": s.incr,
        "logical_bytes": s.logical_bytes,
        "added_bytes": s.added_bytes,
    })
}

fn to_json(st: &Stats, f: &FilterArgs) -> Value {
    let d = &st.deltas;
    json!({
        "snapshots": st.selected.snapshots,
        "whole_repository": st.whole_repository,
        "filter": { "set": f.set, "host": f.host },
        "logical_bytes": st.selected.logical_bytes,
        "added_bytes": st.selected.added_bytes,
        "stored_bytes": st.stored_bytes,
        "packs": st.packs,
        "blobs": {
            "data": totals_json(&st.data),
            "tree": totals_json(&st.tree),
            "list": totals_json(&st.list),
            "total": totals_json(&st.blobs()),
        },
        "dedup_ratio": st.dedup_ratio(),
        "compression_ratio": st.compression_ratio(),
        "deltas": {
            "count": d.blobs.count,
            "raw_bytes": d.blobs.raw_bytes,
            "stored_bytes": d.blobs.stored_bytes,
            "share_of_data_stored": st.delta_share(),
            "max_depth": d.max_depth,
            "broken": d.broken,
        },
        "sets": st.sets.iter().map(set_json).collect::<Vec<_>>(),
    })
}

fn times(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

/// A share (0..=1) as a percentage; a tiny non-zero share does not print as `0.0%`.
fn percent(share: f64) -> String {
    if share > 0.0 && share < 0.001 {
        "<0.1%".into()
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

fn print_human(st: &Stats) {
    let scope = if st.whole_repository {
        ""
    } else {
        "  (whole repository)"
    };
    println!(
        "{:<18} {} in {} set(s)",
        "snapshots",
        st.selected.snapshots,
        st.sets.len()
    );
    println!(
        "{:<18} {}",
        "logical size",
        output::bytes(st.selected.logical_bytes)
    );
    println!(
        "{:<18} {}",
        "added by backups",
        output::bytes(st.selected.added_bytes)
    );
    println!(
        "{:<18} {} in {} pack(s){scope}",
        "stored size",
        output::bytes(st.stored_bytes),
        st.packs
    );
    let dedup_note = if st.whole_repository {
        "(logical size / unique data)"
    } else {
        "(needs every snapshot: drop --set/--host)"
    };
    println!(
        "{:<18} {:<7} {dedup_note}",
        "dedup ratio",
        times(st.dedup_ratio())
    );
    println!(
        "{:<18} {:<7} (raw / stored, all blobs)",
        "compression ratio",
        times(st.compression_ratio())
    );

    println!();
    println!(
        "{:<8} {:>10} {:>12} {:>12}{scope}",
        "blobs", "count", "raw", "stored"
    );
    let row = |name: &str, t: &BlobTotals, note: String| {
        println!(
            "{:<8} {:>10} {:>12} {:>12}{note}",
            name,
            t.count,
            output::bytes(t.raw_bytes),
            output::bytes(t.stored_bytes)
        );
    };
    row("data", &st.data, String::new());
    row("tree", &st.tree, String::new());
    row("list", &st.list, String::new());
    let d = &st.deltas;
    let mut note = match st.delta_share() {
        Some(share) if d.blobs.count > 0 => format!(
            "  {} of stored data, max depth {}",
            percent(share),
            d.max_depth
        ),
        _ => String::new(),
    };
    if d.broken > 0 {
        note.push_str(&format!(
            ", {} with a broken chain (run `strata check`)",
            d.broken
        ));
    }
    row("deltas", &d.blobs, note);

    if st.sets.is_empty() {
        return;
    }
    println!();
    let width = st
        .sets
        .iter()
        .map(|s| s.set.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    println!(
        "{:<width$} {:>9} {:>5} {:>5} {:>5} {:>12} {:>12}",
        "set", "snapshots", "full", "diff", "incr", "logical", "added"
    );
    for s in &st.sets {
        println!(
            "{:<width$} {:>9} {:>5} {:>5} {:>5} {:>12} {:>12}",
            s.set,
            s.snapshots,
            s.full,
            s.diff,
            s.incr,
            output::bytes(s.logical_bytes),
            output::bytes(s.added_bytes)
        );
    }
}
