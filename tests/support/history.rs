//! A backup history for the retention and prune tests: a dump-like file backed up at
//! chosen levels into one set, with every version kept in memory so that each snapshot can
//! be proven to restore bit-identically after forget, prune or a crash.

use super::{assert_ok, stderr, TestRepo};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Output, Stdio};

/// Rows of a version: ~8 MB, ~120 chunks of 64 KiB.
pub const ROWS: usize = 90_000;

/// Version `hour` of a dump-like text of `rows` lines: 40 rows spread over the file change
/// every hour, so every diff and incr stores deltas.
pub fn version(rows: usize, hour: usize) -> Vec<u8> {
    let mut s = String::with_capacity(rows * 72);
    for i in 0..rows {
        let h = blake3::hash(&(i as u64).to_le_bytes());
        let changed = (0..40).any(|k| (k * 7919 + hour * 104_729) % rows == i);
        let balance = if changed { hour * 1000 + i } else { i % 13 };
        s.push_str(&format!(
            "{i}\t{}\t{balance}\t{}\n",
            i % 97,
            &h.to_hex()[..48]
        ));
    }
    s.into_bytes()
}

/// Snapshots written so far and the content each must restore to.
pub struct History<'a> {
    pub r: &'a TestRepo,
    pub set: String,
    pub content: BTreeMap<String, Vec<u8>>,
    /// Snapshots dropped (a commit recorded after its drop is not expected back).
    pub dropped: std::collections::BTreeSet<String>,
}

impl<'a> History<'a> {
    pub fn new(r: &'a TestRepo, set: &str) -> Self {
        Self {
            r,
            set: set.into(),
            content: BTreeMap::new(),
            dropped: Default::default(),
        }
    }

    /// Runs `backup --stdin` of `data` at `level` with extra environment; the raw output.
    pub fn try_backup(&self, data: &[u8], level: &str, env: &[(&str, &str)]) -> Output {
        let mut c = self.r.cmd(&[
            "--json",
            "backup",
            "--stdin",
            "--stdin-name",
            "db.sql",
            "--set",
            &self.set,
            "--level",
            level,
        ]);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        // A killed backup may close its end early.
        let _ = child.stdin.take().unwrap().write_all(data);
        child.wait_with_output().unwrap()
    }

    /// Backs up `data` at `level`; returns the snapshot ID and the summary JSON.
    pub fn backup(&mut self, data: &[u8], level: &str) -> (String, serde_json::Value) {
        let out = self.try_backup(data, level, &[]);
        assert_ok(&out);
        let v = last_json(&out);
        let id = v["id"].as_str().unwrap().to_string();
        self.content.insert(id.clone(), data.to_vec());
        (id, v)
    }

    /// Records a snapshot that a command reported committed (its summary JSON).
    pub fn committed(&mut self, out: &Output, data: &[u8]) -> Option<String> {
        if !out.status.success() {
            return None;
        }
        let id = last_json(out)["id"].as_str()?.to_string();
        if !self.dropped.contains(&id) {
            self.content.insert(id.clone(), data.to_vec());
        }
        Some(id)
    }

    /// Removes a snapshot file, as `forget` does, and forgets its content.
    pub fn drop_snapshot(&mut self, id: &str) {
        std::fs::remove_file(self.r.repo.join("snapshots").join(id)).unwrap();
        self.content.remove(id);
        self.dropped.insert(id.to_string());
    }

    /// Snapshot IDs present in the repository.
    pub fn listed(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .r
            .list("snapshots")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        v.sort();
        v
    }

    /// Every snapshot this history knows must still be listed and dump bit-identically.
    pub fn assert_all_restore(&self) {
        let listed = self.listed();
        for (id, data) in &self.content {
            assert!(listed.contains(id), "snapshot {id} is gone");
            let out = self.r.run(&["dump", id, "/db.sql"]);
            assert!(
                out.status.success(),
                "snapshot {id} does not restore: {}",
                stderr(&out)
            );
            assert!(
                out.stdout == *data,
                "snapshot {id} restores different bytes"
            );
        }
    }
}

/// The last stdout line as JSON.
pub fn last_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or_default()
}

/// `check --read-data --json` exits 0 (warnings, such as unreferenced packs, are allowed).
pub fn assert_check_clean(r: &TestRepo) {
    let out = r.run(&["check", "--read-data"]);
    assert!(
        out.status.success(),
        "check --read-data failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// `prune --json` with extra arguments; asserts success and returns the report.
pub fn prune(r: &TestRepo, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json", "prune"];
    args.extend_from_slice(extra);
    let out = r.run(&args);
    assert_ok(&out);
    last_json(&out)
}

/// A copy of a test repository (to run many cases from one history).
pub fn copy_repo(src: &TestRepo) -> TestRepo {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src.repo)
        .arg(&repo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a of the template repository");
    TestRepo { dir, repo }
}
