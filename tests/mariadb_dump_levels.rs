//! `mysqldump --single-transaction` of a MariaDB database through `--command`, at levels full,
//! diff, incr, incr with UPDATE/INSERT workloads between them: each snapshot's dump, piped from
//! `strata dump` into the `mariadb` client, recreates the database exactly as it was when that
//! snapshot was taken. A failing dump adds no snapshot, and a diff asked for on a set without a
//! full becomes a full.
//!
//! Needs the MariaDB server (`apt-get install mariadb-server`, see `support/mariadb.rs`).

#[path = "support/mariadb.rs"]
mod mariadb;
mod support;

use mariadb::{pipe, Maria};
use serde_json::Value;
use support::*;

const SET: &str = "mariadb:shop";

/// `strata backup --command "mysqldump … DB" --stdin-name shop.sql --set SET --level LEVEL`.
fn backup(r: &TestRepo, m: &Maria, db: &str, set: &str, level: &str) -> std::process::Output {
    let cmd = format!(
        "{} {} --single-transaction --skip-dump-date {db}",
        m.dump_tool(),
        m.conn()
    );
    r.run(&[
        "backup",
        "--command",
        &cmd,
        "--stdin-name",
        "shop.sql",
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

/// 5,000 accounts and an empty event log.
fn create_shop(m: &Maria) {
    m.sql(None, "CREATE DATABASE shop");
    m.sql(
        Some("shop"),
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, \
                                note VARCHAR(64) NOT NULL) ENGINE=InnoDB; \
         INSERT INTO accounts SELECT seq, seq * 37 % 1000, MD5(seq) FROM seq_1_to_5000; \
         CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, account INT NOT NULL, \
                              amount INT NOT NULL) ENGINE=InnoDB",
    );
}

/// Workload `k`: updates a seventh of the accounts, adds 100 accounts and 200 events.
fn workload(m: &Maria, k: u32) {
    m.sql(
        Some("shop"),
        &format!(
            "UPDATE accounts SET balance = balance + {} WHERE id % 7 = {k}; \
             INSERT INTO accounts SELECT 100000 * {k} + seq, {k}, MD5(seq + {k}) \
                 FROM seq_1_to_100; \
             INSERT INTO events (account, amount) SELECT seq, {k} * seq FROM seq_1_to_200",
            k * 11 + 3
        ),
    );
}

/// Row counts and sums of both tables.
fn figures(m: &Maria, db: &str) -> String {
    m.sql(
        Some(db),
        "SELECT (SELECT COUNT(*) FROM accounts), (SELECT SUM(balance) FROM accounts), \
                (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(amount), 0) FROM events)",
    )
}

#[test]
fn each_level_restores_the_database_as_it_was_at_that_backup() {
    let m = Maria::start();
    let r = TestRepo::new();
    create_shop(&m);

    // (snapshot, figures when it was taken), oldest first.
    let mut taken: Vec<(Value, String)> = Vec::new();
    for (k, level) in (0..).zip(["full", "diff", "incr", "incr"]) {
        if k > 0 {
            workload(&m, k);
        }
        let at = figures(&m, "shop");
        let snap = summary(backup(&r, &m, "shop", SET, level));
        assert_eq!(snap["level"], level, "{snap}");
        assert!(snap["note"].is_null(), "{snap}");
        assert_eq!(snap["exit_status"], 0);
        // Changed chunks after the full are deltas against the parent's dump; each snapshot
        // still restores its own moment below.
        let deltas = snap["delta_blobs"].as_u64().unwrap_or(0);
        assert_eq!(deltas > 0, k > 0, "{snap}");
        taken.push((snap, at));
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

    for (i, (_, a)) in taken.iter().enumerate() {
        for (_, b) in &taken[i + 1..] {
            assert_ne!(a, b, "a workload left the figures unchanged");
        }
    }

    for (i, (snap, at)) in taken.iter().enumerate() {
        let db = format!("restored_{i}");
        m.sql(None, &format!("CREATE DATABASE {db}"));
        let dump = r.cmd(&["dump", snap["id"].as_str().unwrap(), "shop.sql"]);
        pipe(dump, m.client_into(&db));
        let got = figures(&m, &db);
        let level = &snap["level"];
        assert_eq!(&got, at, "snapshot {i} ({level}) restored other data");
        for (j, (_, other)) in taken.iter().enumerate().filter(|(j, _)| *j != i) {
            assert_ne!(&got, other, "snapshot {i} ({level}) restored moment {j}");
        }
    }
}

#[test]
fn failed_dump_adds_no_snapshot_and_a_first_diff_is_a_full() {
    let m = Maria::start();
    let r = TestRepo::new();
    create_shop(&m);

    // mysqldump of an unknown database exits 2.
    let out = backup(&r, &m, "no_such_db", SET, "full");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Unknown database"),
        "mysqldump's message: {err}"
    );
    assert!(err.contains("exit status 2"), "{err}");
    assert!(r
        .json(&["snapshots", "--json"])
        .as_array()
        .unwrap()
        .is_empty());

    // A diff on a set with no full is written as a full, and the note says why.
    let v = summary(backup(&r, &m, "shop", SET, "diff"));
    assert_eq!(v["level"], "full", "{v}");
    assert!(v["parent"].is_null() && v["base"].is_null(), "{v}");
    let note = v["note"].as_str().unwrap_or_default();
    assert!(note.contains("no full snapshot"), "note: {note:?}");

    // A failure on a set that has snapshots leaves them as they were.
    let out = backup(&r, &m, "no_such_db", SET, "incr");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let listed = r.json(&["snapshots", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], v["id"]);
}
