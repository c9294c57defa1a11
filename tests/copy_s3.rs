//! `copy` to and from an S3 repository (SeaweedFS on loopback): a local chain copied into
//! an S3 repository made with `init --copy-chunker-params` (blobs as they are), then from
//! that S3 repository (`--from-repo s3://…`) into a local one with other chunker
//! parameters (re-chunked). Both copies dump bit-identically, the last passes
//! `check --read-data`, and a rerun from S3 copies nothing.

mod support;

use serde_json::Value;
use std::process::{Command, Output, Stdio};
use support::history::{assert_check_clean, last_json, version, History};
use support::s3::S3Server;
use support::{assert_ok, TestRepo, PASSWORD};

const ROWS: usize = 20_000;

/// A `strata` command on `repo` (a location) with the server's credentials and a cache.
fn cmd(server: &S3Server, cache: &std::path::Path, repo: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.args(args)
        .env("STRATA_REPOSITORY", repo)
        .env("STRATA_PASSWORD", PASSWORD)
        .env("STRATA_FROM_PASSWORD", PASSWORD)
        .env("STRATA_CACHE_DIR", cache)
        .env_remove("STRATA_PASSWORD_FILE")
        .env_remove("STRATA_PASSWORD_COMMAND")
        .stdin(Stdio::null());
    server.env(&mut c);
    c
}

fn ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert_ok(&out);
    out
}

fn ids(report: &Value, status: &str) -> Vec<(String, String)> {
    report["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == status)
        .map(|s| {
            (
                s["source"].as_str().unwrap().to_string(),
                s["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn copy_into_and_out_of_an_s3_repository() {
    let server = S3Server::seaweedfs();
    server.create_bucket("offsite");
    let cache = tempfile::tempdir().unwrap();
    let s3 = "s3://offsite/repo";

    let local = TestRepo::new();
    let mut h = History::new(&local, "db");
    for (hour, level) in ["full", "diff", "incr"].iter().enumerate() {
        h.backup(&version(ROWS, hour), level);
    }
    let src = local.repo.to_str().unwrap();
    ok(cmd(
        &server,
        cache.path(),
        s3,
        &[
            "init",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
            "--copy-chunker-params",
            "--from-repo",
            src,
        ],
    ));
    let out = ok(cmd(
        &server,
        cache.path(),
        s3,
        &["--json", "copy", "--from-repo", src],
    ));
    let into_s3 = last_json(&out);
    assert_eq!(into_s3["mode"], "blobs", "{into_s3}");
    assert_eq!(into_s3["copied"], 3);

    // Out of S3 into a local repository with other chunker parameters.
    let back = tempfile::tempdir().unwrap();
    let back_repo = back.path().join("repo");
    let back_loc = back_repo.to_str().unwrap();
    ok(cmd(
        &server,
        cache.path(),
        back_loc,
        &["init", "--kdf-memory-mib", "16", "--kdf-iterations", "2"],
    ));
    let out = ok(cmd(
        &server,
        cache.path(),
        back_loc,
        &["--json", "copy", "--from-repo", s3],
    ));
    let from_s3 = last_json(&out);
    assert_eq!(from_s3["mode"], "rechunk", "{from_s3}");
    assert_eq!(from_s3["copied"], 3);

    // local → S3 → local: each final copy holds its original's bytes.
    let s3_of_local: std::collections::BTreeMap<_, _> =
        ids(&into_s3, "copied").into_iter().collect();
    let local_of_s3: std::collections::BTreeMap<_, _> =
        ids(&from_s3, "copied").into_iter().collect();
    for (orig, data) in &h.content {
        let final_id = &local_of_s3[&s3_of_local[orig]];
        let out = ok(cmd(
            &server,
            cache.path(),
            back_loc,
            &["dump", final_id, "/db.sql"],
        ));
        assert!(
            out.stdout == *data,
            "{final_id} (copy of a copy of {orig}) differs"
        );
        let out = ok(cmd(
            &server,
            cache.path(),
            s3,
            &["dump", &s3_of_local[orig], "/db.sql"],
        ));
        assert!(out.stdout == *data, "the S3 copy of {orig} differs");
    }
    let back_handle = TestRepo {
        dir: tempfile::tempdir().unwrap(),
        repo: back_repo.clone(),
    };
    assert_check_clean(&back_handle);

    let out = ok(cmd(
        &server,
        cache.path(),
        back_loc,
        &["--json", "copy", "--from-repo", s3],
    ));
    let again = last_json(&out);
    assert_eq!(
        (again["copied"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3))
    );
}
