//! `strata verify` is a restore drill: it reassembles a snapshot, optionally pipes a file
//! into a restore command, and records the outcome (passed or failed) in `drills/`, where
//! `snapshots` and `report` find it.

mod support;

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::repository::Repository;
use support::*;

/// A repository with one directory backup of two files; returns it, the source and the
/// snapshot ID.
fn dir_backup() -> (TestRepo, PathBuf, String) {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("dump.sql"), dumpish(30_000)).unwrap();
    std::fs::write(src.join("noise.bin"), noise("verify", 300_000)).unwrap();
    let id = r.backup(&[&src]);
    (r, src, id)
}

/// A `--stdin` backup of a dump named `db.sql`; returns the snapshot ID.
fn stdin_backup(r: &TestRepo) -> String {
    let mut child = r
        .cmd(&["backup", "--stdin", "--stdin-name", "db.sql", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&rows(5_000)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let v: Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// `row 0` … `row n-1`, one per line.
fn rows(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("row {i}\tpayload {}\n", i * 7))
        .collect::<String>()
        .into_bytes()
}

fn last_drill_of(r: &TestRepo, id: &str) -> Value {
    let list = r.json(&["snapshots", "--json"]);
    let s = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("snapshot {id} listed"));
    s["last_drill"].clone()
}

#[test]
fn good_snapshot_passes_and_is_recorded_for_snapshots_and_report() {
    let (r, _src, id) = dir_backup();
    assert!(r.list("drills").is_empty());
    assert_eq!(last_drill_of(&r, &id), Value::Null);

    let v = r.json(&["verify", &id[..8], "--json"]);
    let d = &v.as_array().unwrap()[0];
    assert_eq!(d["snapshot"], id.as_str());
    assert_eq!(d["ok"], true);
    assert_eq!(d["error"], Value::Null);
    assert_eq!(d["files"], 2);
    assert_eq!(d["bytes"], (dumpish(30_000).len() + 300_000) as u64);
    assert_eq!(r.list("drills").len(), 1, "one drill file recorded");

    let last = last_drill_of(&r, &id);
    assert_eq!(last["ok"], true);
    assert_eq!(last["error"], Value::Null);
    assert!(last["time"].as_str().unwrap().ends_with('Z'));

    let table = r.run(&["snapshots"]);
    assert_ok(&table);
    assert!(String::from_utf8_lossy(&table.stdout).contains(" ok "));

    let out = r.run(&["report", "--json"]);
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    let set = &rep["sets"].as_array().unwrap()[0];
    assert_eq!(set["last_drill"]["snapshot"], id.as_str());
    assert!(set["last_drill"]["age_s"].as_u64().unwrap() < 600);
}

#[test]
fn restore_command_is_fed_the_dump_and_its_failure_is_recorded() {
    let r = TestRepo::new();
    let id = stdin_backup(&r);

    let v = r.json(&[
        "verify",
        "latest",
        "--restore-command",
        "grep -q 'row 123'",
        "--json",
    ]);
    let d = &v.as_array().unwrap()[0];
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(d["path"], "/db.sql");
    assert_eq!(last_drill_of(&r, &id)["ok"], true);

    let out = r.run(&[
        "verify",
        "latest",
        "--restore-command",
        "echo 'relation does not exist' >&2; false",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v.as_array().unwrap()[0];
    assert_eq!(d["ok"], false);
    let err = d["error"].as_str().unwrap();
    assert!(err.contains("relation does not exist"), "{err}");
    assert_eq!(
        r.list("drills").len(),
        2,
        "the failed drill is recorded too"
    );
    let last = last_drill_of(&r, &id);
    assert_eq!(last["ok"], false);
    assert!(last["error"].as_str().unwrap().contains("exit status: 1"));

    // The report still names the last *successful* drill.
    let out = r.run(&["report", "--json"]);
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["sets"][0]["last_drill"]["snapshot"], id.as_str());
}

#[test]
fn restore_command_with_false_fails_with_exit_1() {
    let r = TestRepo::new();
    let id = stdin_backup(&r);
    let out = r.run(&["verify", &id, "--restore-command", "false"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
    assert_eq!(last_drill_of(&r, &id)["ok"], false);
}

#[test]
fn flipped_byte_in_a_data_pack_fails_the_drill_naming_the_pack() {
    let (r, _src, id) = dir_backup();
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let index = repo.load_index().unwrap();
    let (_, loc) = index
        .blobs()
        .find(|(_, l)| !l.kind.is_metadata())
        .expect("a data blob");
    let (pack, _) = index.pack(loc.pack);
    let hex = pack.to_hex();
    let path = r.repo.join("data").join(&hex[..2]).join(&hex);
    let mut b = std::fs::read(&path).unwrap();
    // Inside the first blob's ciphertext, past its nonce.
    let i = loc.offset as usize + 30;
    b[i] ^= 0x01;
    std::fs::write(&path, b).unwrap();

    let out = r.run(&["verify", "latest", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v.as_array().unwrap()[0];
    assert_eq!(d["ok"], false);
    let err = d["error"].as_str().unwrap();
    assert!(err.contains(&hex), "names the pack: {err}");
    assert_eq!(r.list("drills").len(), 1);
    assert_eq!(last_drill_of(&r, &id)["ok"], false);
    let out = r.run(&["report", "--json"]);
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rep["sets"][0]["last_drill"],
        Value::Null,
        "no successful drill"
    );
}

#[test]
fn target_restores_the_files_for_real() {
    let (r, src, id) = dir_backup();
    let target = r.path("drill");
    let v = r.json(&[
        "verify",
        &id,
        "--target",
        target.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["files"], 2);
    // Paths are restored in full, as `restore` does.
    let restored = target.join(src.strip_prefix("/").unwrap());
    for name in ["dump.sql", "noise.bin"] {
        assert_eq!(
            std::fs::read(restored.join(name)).unwrap(),
            std::fs::read(src.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn restore_command_needs_a_path_for_a_multi_file_snapshot() {
    let (r, src, id) = dir_backup();
    let out = r.run(&["verify", &id, "--restore-command", "cat >/dev/null"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--path"), "{}", stderr(&out));
    assert!(
        r.list("drills").is_empty(),
        "a usage error records no drill"
    );

    let p = src.join("dump.sql");
    let out = r.run(&[
        "verify",
        &id,
        "--restore-command",
        "grep -q '^29999\t'",
        "--path",
        p.to_str().unwrap(),
    ]);
    assert_ok(&out);
    assert_eq!(r.list("drills").len(), 1);
}
