//! `--stdin` and `--command` backups: the dump comes back byte for byte, and a failing or
//! killed command leaves no snapshot and exits 1.

mod support;

use std::io::Write;
use std::process::Stdio;
use support::*;

#[test]
fn stdin_backup_dumps_back_identically() {
    let r = TestRepo::new();
    let data = dumpish(50_000);
    let mut child = r
        .cmd(&["backup", "--stdin", "--stdin-name", "db.sql", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["paths"][0], "/db.sql");
    let out = r.run(&["dump", "latest", "db.sql"]);
    assert_ok(&out);
    assert!(out.stdout == data, "dumped bytes differ");
}

#[test]
fn command_backup_records_command_and_status() {
    let r = TestRepo::new();
    let src = r.path("data.sql");
    std::fs::write(&src, dumpish(20_000)).unwrap();
    let cmd = format!("cat {}", src.display());
    let v = r.json(&[
        "backup",
        "--command",
        &cmd,
        "--stdin-name",
        "data.sql",
        "--set",
        "pg:main",
        "--json",
    ]);
    assert_eq!(v["command"], cmd);
    assert_eq!(v["exit_status"], 0);
    assert_eq!(v["set"], "pg:main");
    let out = r.run(&["dump", &v["id"].as_str().unwrap()[..6], "/data.sql"]);
    assert_ok(&out);
    assert!(out.stdout == std::fs::read(&src).unwrap());
}

#[test]
fn failing_command_leaves_no_snapshot() {
    let r = TestRepo::new();
    // Output first, then failure: the data read so far must not become a snapshot.
    let out = r.run(&[
        "backup",
        "--command",
        "head -c 3000000 /dev/urandom; exit 7",
        "--stdin-name",
        "x.sql",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("exit status 7"), "{}", stderr(&out));
    assert!(r.list("snapshots").is_empty());
    assert!(
        r.list("index").is_empty(),
        "no index names the partial data"
    );
    assert!(r.list("locks").is_empty(), "lock released");
}

#[test]
fn killed_command_leaves_no_snapshot() {
    let r = TestRepo::new();
    let out = r.run(&[
        "backup",
        "--command",
        "echo partial; kill -9 $$",
        "--stdin-name",
        "x.sql",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("signal 9"), "{}", stderr(&out));
    assert!(r.list("snapshots").is_empty());
}

#[test]
fn stdin_name_must_be_one_component() {
    let r = TestRepo::new();
    let out = r.run(&["backup", "--stdin", "--stdin-name", "../escape"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(r.list("snapshots").is_empty());
}
