//! A stopped PostgreSQL cluster's data directory, backed up as files (full, then incr after
//! more writes), restores to a new place where a server starts on it and returns the data
//! recorded before each backup.
//!
//! Needs the PostgreSQL server binaries (`apt-get install postgresql`, see `support/pg.rs`).

#[path = "support/pg.rs"]
mod pg;
mod support;

use pg::{chown_postgres, postgres_dir, Pg};
use serde_json::Value;
use support::*;

const SET: &str = "pg:files";

fn backup_datadir(r: &TestRepo, pg: &Pg, level: &str) -> Value {
    let data = pg.data.display().to_string();
    let v = r.json(&["backup", &data, "--set", SET, "--level", level, "--json"]);
    assert_eq!(v["level"], level, "{v}");
    assert_eq!(v["summary"]["errors"], 0, "{v}");
    v
}

/// Restores `snap` into a new directory and starts a cluster on the restored data directory.
fn restore_and_start(r: &TestRepo, snap: &Value, original: &Pg) -> Pg {
    let scratch = postgres_dir();
    let target = scratch.path().join("restore");
    let out = r.run(&[
        "restore",
        snap["id"].as_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]);
    assert_ok(&out);
    // The restore recreates the absolute path under the target.
    let data = target.join(original.data.strip_prefix("/").unwrap());
    assert!(
        data.join("PG_VERSION").is_file(),
        "no data directory at {}",
        data.display()
    );
    chown_postgres(scratch.path());
    Pg::open(scratch, data)
}

#[test]
fn stopped_cluster_datadir_restores_and_starts() {
    let mut pg = Pg::start();
    let r = TestRepo::new();
    pg.createdb("bench");
    pg.pgbench("bench", &["-i", "-s", "1", "-q"]);
    pg.pgbench("bench", &["-n", "-t", "200", "-c", "2"]);
    let at_full = pg.pgbench_figures("bench");
    pg.stop();
    let full = backup_datadir(&r, &pg, "full");

    // More writes, a clean stop, and an incr of the same directory.
    pg.restart();
    pg.pgbench("bench", &["-n", "-t", "200", "-c", "2"]);
    pg.psql("bench", "CREATE TABLE after_full AS SELECT 42 AS answer");
    let at_incr = pg.pgbench_figures("bench");
    assert_ne!(at_full, at_incr);
    pg.stop();
    let incr = backup_datadir(&r, &pg, "incr");
    assert_eq!(incr["parent"], full["id"]);
    assert_eq!(incr["base"], full["id"]);
    assert!(
        incr["summary"]["files_unchanged"].as_u64().unwrap() > 0,
        "an incr of a datadir reuses untouched files: {incr}"
    );

    // Both restored clusters run at once, from their own directories.
    let from_full = restore_and_start(&r, &full, &pg);
    let from_incr = restore_and_start(&r, &incr, &pg);
    assert_eq!(from_full.pgbench_figures("bench"), at_full);
    assert_eq!(from_incr.pgbench_figures("bench"), at_incr);
    assert_eq!(
        from_incr.psql("bench", "SELECT answer FROM after_full"),
        "42"
    );
    let tables = "SELECT count(*) FROM pg_tables WHERE tablename = 'after_full'";
    assert_eq!(from_full.psql("bench", tables), "0");

    // The restored cluster is usable, not just readable.
    from_full.pgbench("bench", &["-n", "-t", "50"]);
    assert_ne!(from_full.pgbench_figures("bench"), at_full);
}
