//! Rendering results: tables for people, one JSON document for scripts.

use format_spec::id::SnapshotId;
use format_spec::snapshot::Snapshot;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 (UTC) for a time in ns since the epoch.
pub fn rfc3339(ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ns.into())
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ns.to_string())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for tables.
pub fn short_time(ns: i64) -> String {
    let s = rfc3339(ns);
    s.get(..19).map(|x| x.replace('T', " ")).unwrap_or(s)
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS.get(u).copied().unwrap_or("B"))
    }
}

/// The JSON object CLI.md promises for a snapshot.
pub fn snapshot_json(id: &SnapshotId, s: &Snapshot) -> Value {
    json!({
        "id": id.to_hex(),
        "short_id": id.short(),
        "time": rfc3339(s.time_ns),
        "host": s.host,
        "user": s.user,
        "set": s.set,
        "level": s.level.name(),
        "parent": s.parent.map(|p| p.to_hex()),
        "base": s.base.map(|p| p.to_hex()),
        "paths": s.paths,
        "tags": s.tags,
        "tree": s.tree.to_hex(),
        "program": s.program,
        "command": s.command,
        "exit_status": s.exit_status,
        "summary": s.summary,
        "original": s.original.map(|o| o.to_hex()),
    })
}

/// Prints a JSON value as one line on stdout.
pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string(v).unwrap_or_else(|_| "null".into())
    );
}
