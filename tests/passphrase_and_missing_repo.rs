//! Wrong passphrase: exit 12, nothing written. Missing repository: exit 10. Every
//! passphrase source works; with none and no terminal, a clear error.

mod support;

use support::*;

#[test]
fn wrong_passphrase_exits_12_and_writes_nothing() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("f"), b"data").unwrap();
    r.backup(&[&src]);
    let before = r.files();
    for args in [
        vec!["snapshots"],
        vec!["backup", src.to_str().unwrap()],
        vec!["restore", "latest", "--target", "/tmp/never"],
        vec!["key", "add"],
    ] {
        let out = r
            .cmd(&args)
            .env("STRATA_PASSWORD", "wrong")
            .env("STRATA_NEW_PASSWORD", "x")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(12), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("passphrase"));
    }
    assert_eq!(before, r.files(), "repository changed");
}

#[test]
fn missing_repository_exits_10() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["snapshots", "-r", dir.path().join("nope").to_str().unwrap()])
        .env("STRATA_PASSWORD", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(stderr(&out).contains("no repository"));
}

#[test]
fn password_file_and_command_sources_work() {
    let r = TestRepo::new();
    let f = r.path("pw");
    std::fs::write(&f, format!("{PASSWORD}\n")).unwrap();
    let out = r
        .cmd(&["snapshots", "--password-file", f.to_str().unwrap()])
        .env_remove("STRATA_PASSWORD")
        .output()
        .unwrap();
    assert_ok(&out);
    let out = r
        .cmd(&["snapshots"])
        .env_remove("STRATA_PASSWORD")
        .env("STRATA_PASSWORD_COMMAND", format!("echo '{PASSWORD}'"))
        .output()
        .unwrap();
    assert_ok(&out);
    let out = r
        .cmd(&["snapshots"])
        .env_remove("STRATA_PASSWORD")
        .env("STRATA_PASSWORD_FILE", &f)
        .output()
        .unwrap();
    assert_ok(&out);
}

#[test]
fn no_passphrase_source_and_no_terminal_is_a_clear_error() {
    let r = TestRepo::new();
    let out = r
        .cmd(&["snapshots"])
        .env_remove("STRATA_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("STRATA_PASSWORD"), "{}", stderr(&out));
}

#[test]
fn init_refuses_an_existing_repository() {
    let r = TestRepo::new();
    let before = r.files();
    let out = r.run(&["init", "--kdf-memory-mib", "16", "--kdf-iterations", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(before, r.files());
}

#[test]
fn init_copy_chunker_params_takes_the_sources_and_needs_its_passphrase() {
    let src = TestRepo::new();
    let dir = tempfile::tempdir().unwrap();
    let dst = TestRepo {
        repo: dir.path().join("dst"),
        dir,
    };
    let init = |pw: &str| {
        dst.cmd(&[
            "init",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
            "--copy-chunker-params",
            "--from-repo",
            src.repo.to_str().unwrap(),
        ])
        .env("STRATA_FROM_PASSWORD", pw)
        .output()
        .unwrap()
    };
    let out = init("wrong");
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("source repository"),
        "{}",
        stderr(&out)
    );
    assert!(!dst.repo.exists(), "nothing was created");
    assert_ok(&init(PASSWORD));
    let out = dst.run(&["cat", "config"]);
    assert_ok(&out);
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cfg["dedup_keys_shared"], true);
    assert_eq!(cfg["chunker"]["avg"], 64 << 10, "the source's chunk sizes");
    let out = src.run(&["cat", "config"]);
    let src_cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(src_cfg["dedup_keys_shared"], false);
    assert_ne!(src_cfg["id"], cfg["id"]);
}
