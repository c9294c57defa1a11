//! Every command on an S3 repository, on two independent S3 servers (SeaweedFS and
//! s3s-fs), and what the user sees when the bucket, the credentials or the endpoint is
//! wrong.

mod support;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::s3::{Kind, S3Server};
use support::{assert_ok, dumpish, noise, stderr, PASSWORD};

/// A repository at `s3://bucket/prefix` on a test server, with its own cache directory.
pub struct S3Repo<'a> {
    pub server: &'a S3Server,
    pub loc: String,
    pub dir: tempfile::TempDir,
}

impl<'a> S3Repo<'a> {
    fn new(server: &'a S3Server, bucket: &str) -> Self {
        server.create_bucket(bucket);
        let r = Self {
            server,
            loc: format!("s3://{bucket}/repo"),
            dir: tempfile::tempdir().unwrap(),
        };
        assert_ok(&r.run(&[
            "init",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
            "--chunk-avg-kib",
            "64",
        ]));
        r
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
        c.args(args)
            .env("STRATA_REPOSITORY", &self.loc)
            .env("STRATA_PASSWORD", PASSWORD)
            .env("STRATA_CACHE_DIR", self.dir.path().join("cache"))
            .env_remove("STRATA_PASSWORD_FILE")
            .env_remove("STRATA_PASSWORD_COMMAND")
            .stdin(Stdio::null());
        self.server.env(&mut c);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    }

    fn stdin_backup(&self, data: &[u8], level: &str) -> Value {
        let mut c = self.cmd(&[
            "--json",
            "backup",
            "--stdin",
            "--stdin-name",
            "db.sql",
            "--set",
            "db",
            "--level",
            level,
        ]);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A dump where `changed` rows differ, so that incrementals store deltas.
fn dump(rows: usize, hour: usize) -> Vec<u8> {
    let changed: Vec<usize> = (0..30)
        .map(|k| (k * 7919 + hour * 104_729) % rows)
        .collect();
    let mut s = String::new();
    for i in 0..rows {
        let h = blake3::hash(&(i as u64).to_le_bytes());
        let v = if changed.contains(&i) {
            hour * 1000 + i
        } else {
            0
        };
        s.push_str(&format!("{i}\t{v}\t{}\n", &h.to_hex()[..48]));
    }
    s.into_bytes()
}

fn same_tree(a: &Path, b: &Path) {
    for e in support::walk(a) {
        let rel = e.strip_prefix(a).unwrap();
        assert_eq!(
            std::fs::read(&e).unwrap(),
            std::fs::read(b.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
}

fn every_command_on(kind: Kind) {
    let server = S3Server::start(kind);
    let r = S3Repo::new(&server, "every");

    // Files, standard input at every level (with deltas), and a command.
    let src = r.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), dumpish(3000)).unwrap();
    std::fs::write(src.join("sub/b.bin"), noise("s3", 700_000)).unwrap();
    let files = r.json(&["--json", "backup", src.to_str().unwrap()]);
    assert!(files["remote"]["requests"].as_u64().unwrap() > 0, "{files}");
    let files_id = files["id"].as_str().unwrap().to_string();
    let full = r.stdin_backup(&dump(20_000, 0), "full");
    let diff = r.stdin_backup(&dump(20_000, 1), "diff");
    let incr = r.stdin_backup(&dump(20_000, 2), "incr");
    assert_eq!(incr["level"], "incr", "{incr}");
    assert!(incr["delta_blobs"].as_u64().unwrap() > 0, "{incr}");
    // The bases were cached by the backups that wrote them: nothing to download.
    assert!(
        incr["remote"]["bytes_down"].as_u64().unwrap() < 64 << 10,
        "{incr}"
    );
    let mut cmd = r.cmd(&[
        "backup",
        "--command",
        &format!("cat {}", src.join("a.txt").display()),
        "--stdin-name",
        "a.sql",
        "--set",
        "cmd",
    ]);
    assert_ok(&cmd.output().unwrap());

    // Reading: snapshots, ls, diff, restore, dump.
    let snaps = r.json(&["snapshots", "--json"]);
    assert_eq!(snaps.as_array().unwrap().len(), 5);
    let ls = r.run(&["ls", &files_id]);
    assert_ok(&ls);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("b.bin"));
    let d = r.run(&[
        "diff",
        full["id"].as_str().unwrap(),
        incr["id"].as_str().unwrap(),
    ]);
    assert_ok(&d);
    let target = r.path("restored");
    assert_ok(&r.run(&[
        "restore",
        &files_id,
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]));
    same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
    for (snap, hour) in [(&full, 0), (&diff, 1), (&incr, 2)] {
        let out = r.run(&["dump", snap["id"].as_str().unwrap(), "db.sql"]);
        assert_ok(&out);
        assert!(out.stdout == dump(20_000, hour), "hour {hour}");
    }
    // Without the cache too (every byte from the server).
    let out = r.run(&["--no-cache", "dump", incr["id"].as_str().unwrap(), "db.sql"]);
    assert_ok(&out);
    assert!(out.stdout == dump(20_000, 2));

    // Checking, drills, reports, keys, index repair.
    let check = r.run(&["check", "--read-data"]);
    assert_ok(&check);
    let v = r.json(&["verify", &files_id[..8], "--json"]);
    assert!(
        v.to_string().contains("pass") || v.to_string().contains("ok"),
        "{v}"
    );
    assert_ok(&r.run(&["report"]));
    assert_ok(&r.run(&["stats"]));
    let mut add = r.cmd(&[
        "key",
        "add",
        "--kdf-memory-mib",
        "16",
        "--kdf-iterations",
        "2",
    ]);
    assert_ok(&add.env("STRATA_NEW_PASSWORD", "second").output().unwrap());
    assert_eq!(
        r.json(&["key", "list", "--json"]).as_array().unwrap().len(),
        2
    );
    assert_ok(&r.run(&["repair", "index"]));

    // Retention and garbage collection.
    let forget = r.run(&["forget", "--allow-empty-set", &files_id]);
    assert_ok(&forget);
    let prune = r.run(&["prune"]);
    assert_ok(&prune);
    assert_ok(&r.run(&["check", "--read-data"]));
    let out = r.run(&["dump", incr["id"].as_str().unwrap(), "db.sql"]);
    assert_ok(&out);
    assert!(out.stdout == dump(20_000, 2));
    assert_eq!(
        r.json(&["snapshots", "--json"]).as_array().unwrap().len(),
        4
    );
}

#[test]
fn every_command_works_on_seaweedfs() {
    every_command_on(Kind::SeaweedFs);
}

#[test]
fn every_command_works_on_s3s_fs() {
    every_command_on(Kind::S3sFs);
}

/// Runs `strata` against `loc` with the server's environment and `extra` variables.
fn strata(server: &S3Server, loc: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.args(args)
        .env("STRATA_REPOSITORY", loc)
        .env("STRATA_PASSWORD", PASSWORD)
        .arg("--no-cache")
        .stdin(Stdio::null());
    server.env(&mut c);
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn a_wrong_bucket_credentials_or_endpoint_is_a_clear_error_and_writes_nothing() {
    let server = S3Server::seaweedfs();
    server.create_bucket("exists");
    let init = ["init", "--kdf-memory-mib", "16", "--kdf-iterations", "2"];

    // A bucket that does not exist: init fails naming it; other commands say there is
    // no repository there (exit 10).
    let out = strata(&server, "s3://missing-bucket/r", &init, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("s3://missing-bucket/r"),
        "{}",
        stderr(&out)
    );
    let out = strata(&server, "s3://missing-bucket/r", &["snapshots"], &[]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));

    // Bad credentials.
    let out = strata(
        &server,
        "s3://exists/r",
        &init,
        &[("AWS_SECRET_ACCESS_KEY", "wrong-secret")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("s3://exists/r"), "{}", stderr(&out));

    // An endpoint nobody listens on.
    let port = support::process::free_port();
    let out = strata(
        &server,
        "s3://exists/r",
        &init,
        &[("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{port}"))],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("s3://exists/r"), "{}", stderr(&out));

    // Nothing was written: the bucket still holds no repository, and init works now.
    let out = strata(&server, "s3://exists/r", &["snapshots"], &[]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert_ok(&strata(&server, "s3://exists/r", &init, &[]));
}
