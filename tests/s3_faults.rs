//! An S3 server that fails: 503s and dropped connections for a share of requests (a proxy
//! in front of a real SeaweedFS), and a server killed in the middle of a backup. A backup
//! retries or fails with no snapshot; the next one succeeds; nothing is lost.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::s3::{Proxy, S3Server};
use support::{assert_ok, dumpish, noise, stderr, PASSWORD};

fn strata(server: &S3Server, endpoint: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.args(args);
    server.env(&mut c);
    c.env("STRATA_REPOSITORY", "s3://faults/repo")
        .env("STRATA_PASSWORD", PASSWORD)
        .env("AWS_ENDPOINT_URL", endpoint)
        .arg("--no-cache")
        .stdin(Stdio::null());
    c
}

fn run(server: &S3Server, endpoint: &str, args: &[&str]) -> Output {
    strata(server, endpoint, args).output().unwrap()
}

fn init(server: &S3Server) {
    server.create_bucket("faults");
    assert_ok(&run(
        server,
        &server.endpoint,
        &[
            "init",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
            "--chunk-avg-kib",
            "64",
        ],
    ));
}

fn snapshot_count(server: &S3Server) -> usize {
    let out = run(server, &server.endpoint, &["snapshots", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().len()
}

fn source(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..6 {
        std::fs::write(src.join(format!("n{i}")), noise(&format!("f{i}"), 900_000)).unwrap();
    }
    std::fs::write(src.join("dump.sql"), dumpish(40_000)).unwrap();
    src
}

#[test]
fn a_backup_through_503s_retries_and_everything_reads_back() {
    let server = S3Server::seaweedfs();
    init(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let proxy = Proxy::start(&server, 0.2, 0.0);
    let out = run(&server, &proxy.endpoint, &["backup", src.to_str().unwrap()]);
    assert_ok(&out);
    let target = dir.path().join("restored");
    let out = run(
        &server,
        &proxy.endpoint,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert_ok(&out);
    let restored = target.join(src.strip_prefix("/").unwrap());
    for e in support::walk(&src) {
        let rel = e.strip_prefix(&src).unwrap();
        assert!(std::fs::read(&e).unwrap() == std::fs::read(restored.join(rel)).unwrap());
    }
    assert_ok(&run(&server, &proxy.endpoint, &["check", "--read-data"]));
    let reqs = proxy.requests();
    let injected = reqs.iter().filter(|r| r.1 == "503i").count();
    let puts = reqs.iter().filter(|r| r.0 == "PUT" && r.1 == "200").count();
    assert!(injected >= 10 && puts >= 5, "{injected} 503s, {puts} PUTs");
}

#[test]
fn dropped_connections_mean_a_retried_or_a_clean_failure_and_the_next_backup_works() {
    let server = S3Server::seaweedfs();
    init(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let proxy = Proxy::start(&server, 0.0, 0.1);
    let out = run(&server, &proxy.endpoint, &["backup", src.to_str().unwrap()]);
    let drops = proxy.requests().iter().filter(|r| r.1 == "DROP").count();
    assert!(drops > 0, "no connection was dropped");
    let expected = if out.status.success() {
        1
    } else {
        // A clean failure: an error naming the repository, and no snapshot.
        assert!(
            stderr(&out).contains("s3://faults/repo"),
            "{}",
            stderr(&out)
        );
        0
    };
    assert_eq!(snapshot_count(&server), expected);
    assert_ok(&run(
        &server,
        &server.endpoint,
        &["backup", src.to_str().unwrap()],
    ));
    assert_eq!(snapshot_count(&server), expected + 1);
    assert_ok(&run(&server, &server.endpoint, &["check", "--read-data"]));
}

/// `backup --stdin` of set `big` directly to the server, its stdin a pipe to write to.
fn stdin_backup(server: &S3Server) -> std::process::Child {
    strata(
        server,
        &server.endpoint,
        &[
            "backup",
            "--stdin",
            "--stdin-name",
            "big.bin",
            "--set",
            "big",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

#[test]
fn a_server_killed_mid_backup_leaves_no_snapshot_and_the_next_backup_succeeds() {
    let mut server = S3Server::seaweedfs();
    init(&server);
    // A stream written slowly, so that the server dies while packs are going up.
    let mut child = stdin_backup(&server);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            if stdin
                .write_all(&noise(&format!("big{i}"), 500_000))
                .is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(!out.status.success(), "the backup succeeded with no server");
    assert!(
        stderr(&out).contains("s3://faults/repo"),
        "{}",
        stderr(&out)
    );
    server.restart();
    assert_eq!(snapshot_count(&server), 0);
    let mut again = stdin_backup(&server);
    let data = noise("again", 6_000_000);
    again.stdin.take().unwrap().write_all(&data).unwrap();
    assert_ok(&again.wait_with_output().unwrap());
    assert_eq!(snapshot_count(&server), 1);
    let out = run(&server, &server.endpoint, &["dump", "latest", "big.bin"]);
    assert_ok(&out);
    assert!(out.stdout == data);
    assert_ok(&run(&server, &server.endpoint, &["check", "--read-data"]));
}
