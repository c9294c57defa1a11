//! `pg_dump` of a pgbench database through `--command`, at levels full, diff, incr, incr with
//! a pgbench workload between them: each snapshot's dump, piped from `strata dump` into `psql`,
//! recreates the database exactly as it was when that snapshot was taken. A failing `pg_dump`
//! adds no snapshot, and a diff asked for on a set without a full becomes a full.
//!
//! Needs the PostgreSQL server binaries (`apt-get install postgresql`, see `support/pg.rs`).

#[path = "support/pg.rs"]
mod pg;
mod support;

use pg::{pipe, Pg};
use serde_json::Value;
use support::*;

const SET: &str = "pg:main";

/// `strata backup --command "pg_dump … DB" --stdin-name bench.sql --set SET --level LEVEL`.
fn backup(r: &TestRepo, pg: &Pg, db: &str, set: &str, level: &str) -> std::process::Output {
    let cmd = format!("{} {} {db}", pg.tool("pg_dump"), pg.conn());
    r.run(&[
        "backup",
        "--command",
        &cmd,
        "--stdin-name",
        "bench.sql",
        "--set",
        set,
        "--level",
        level,
        "--json",
    ])
}

/// The summary line of a successful backup.
fn summary(out: std::process::Output) -> Value {
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn snapshot_count(r: &TestRepo) -> usize {
    r.json(&["snapshots", "--json"]).as_array().unwrap().len()
}

#[test]
fn each_level_restores_the_database_as_it_was_at_that_backup() {
    let pg = Pg::start();
    let r = TestRepo::new();
    pg.createdb("bench");
    pg.pgbench("bench", &["-i", "-s", "2", "-q"]);

    // (snapshot, figures when it was taken), oldest first. `-n` skips pgbench's vacuum, which
    // would also truncate pgbench_history: the history then grows by 600 rows per workload.
    let mut taken: Vec<(Value, String)> = Vec::new();
    for (i, level) in ["full", "diff", "incr", "incr"].into_iter().enumerate() {
        if i > 0 {
            pg.pgbench("bench", &["-n", "-t", "300", "-c", "2"]);
        }
        let figures = pg.pgbench_figures("bench");
        let snap = summary(backup(&r, &pg, "bench", SET, level));
        assert_eq!(snap["level"], level, "{snap}");
        assert!(snap["note"].is_null(), "{snap}");
        assert_eq!(snap["exit_status"], 0);
        // A stream has no metadata to compare: it is new in the full, changed after.
        let (new, changed) = if i == 0 { (1, 0) } else { (0, 1) };
        assert_eq!(snap["summary"]["files_new"], new, "{snap}");
        assert_eq!(snap["summary"]["files_changed"], changed, "{snap}");
        // The full stores plain chunks; later levels store the changed ones as deltas
        // against the parent's version, far below the plain size of the new chunks.
        let deltas = snap["delta_blobs"].as_u64().unwrap_or(0);
        if i == 0 {
            assert_eq!(deltas, 0, "{snap}");
        } else {
            assert!(deltas > 0, "{snap}");
            let stored = snap["summary"]["bytes_stored"].as_u64().unwrap_or(u64::MAX);
            let new_raw = snap["summary"]["bytes_new"].as_u64().unwrap_or(0);
            assert!(stored * 10 < new_raw, "{snap}");
        }
        taken.push((snap, figures));
    }

    // The chain: diff → full; each incr → the snapshot before it; every base is the full.
    let id = |i: usize| taken[i].0["id"].clone();
    let full = id(0);
    assert!(taken[0].0["parent"].is_null() && taken[0].0["base"].is_null());
    assert_eq!((&taken[1].0["parent"], &taken[1].0["base"]), (&full, &full));
    assert_eq!(
        (&taken[2].0["parent"], &taken[2].0["base"]),
        (&id(1), &full)
    );
    assert_eq!(
        (&taken[3].0["parent"], &taken[3].0["base"]),
        (&id(2), &full)
    );

    // `snapshots --json` reports the same levels and links.
    let listed = r.json(&["snapshots", "--json", "--set", SET]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4);
    for (snap, _) in &taken {
        let l = listed.iter().find(|l| l["id"] == snap["id"]).unwrap();
        for k in ["level", "parent", "base", "set"] {
            assert_eq!(l[k], snap[k], "{k} of {}", snap["id"]);
        }
    }

    // Every workload changed the figures, so matching them identifies the moment.
    for (i, (_, a)) in taken.iter().enumerate() {
        for (_, b) in &taken[i + 1..] {
            assert_ne!(a, b, "a workload left the figures unchanged");
        }
    }

    for (i, (snap, figures)) in taken.iter().enumerate() {
        let db = format!("restored_{i}");
        pg.createdb(&db);
        let dump = r.cmd(&["dump", snap["id"].as_str().unwrap(), "bench.sql"]);
        pipe(dump, pg.psql_stdin(&db));
        let got = pg.pgbench_figures(&db);
        let level = &snap["level"];
        assert_eq!(&got, figures, "snapshot {i} ({level}) restored other data");
        for (j, (_, other)) in taken.iter().enumerate().filter(|(j, _)| *j != i) {
            assert_ne!(&got, other, "snapshot {i} ({level}) restored moment {j}");
        }
    }
}

#[test]
fn failed_pg_dump_adds_no_snapshot_and_a_first_diff_is_a_full() {
    let pg = Pg::start();
    let r = TestRepo::new();
    pg.createdb("small");
    pg.psql(
        "small",
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g",
    );

    // pg_dump of a database that does not exist exits 1 after connecting.
    let out = backup(&r, &pg, "no_such_db", SET, "full");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("does not exist"), "pg_dump's message: {err}");
    assert!(err.contains("exit status 1"), "{err}");
    assert_eq!(snapshot_count(&r), 0);

    // A diff on a set with no full is written as a full, and the note says why.
    let v = summary(backup(&r, &pg, "small", "pg:new", "diff"));
    assert_eq!(v["level"], "full", "{v}");
    assert!(v["parent"].is_null() && v["base"].is_null(), "{v}");
    let note = v["note"].as_str().unwrap_or_default();
    assert!(note.contains("no full snapshot"), "note: {note:?}");

    // A failure on a set that has snapshots leaves them as they were.
    let out = backup(&r, &pg, "no_such_db", "pg:new", "incr");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let listed = r.json(&["snapshots", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], v["id"]);
}
