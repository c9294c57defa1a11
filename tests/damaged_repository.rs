//! A flipped, truncated or deleted repository file gives an error naming the object,
//! a non-zero exit and no panic.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::repository::Repository;
use support::*;

#[derive(Clone, Copy, Debug)]
enum Damage {
    Flip,
    Truncate,
    Delete,
}

fn damage(path: &Path, how: Damage) {
    match how {
        Damage::Flip => {
            let mut b = std::fs::read(path).unwrap();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            std::fs::write(path, b).unwrap();
        }
        Damage::Truncate => {
            let b = std::fs::read(path).unwrap();
            std::fs::write(path, &b[..b.len() / 3]).unwrap();
        }
        Damage::Delete => std::fs::remove_file(path).unwrap(),
    }
}

/// A repository with one backup, plus the paths of its data pack and its tree pack.
fn setup() -> (TestRepo, PathBuf, PathBuf) {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("dump.sql"), dumpish(30_000)).unwrap();
    r.backup(&[&src]);
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let index = repo.load_index().unwrap();
    let mut data = None;
    let mut tree = None;
    for (_, loc) in index.blobs() {
        let (pack, _) = index.pack(loc.pack);
        let hex = pack.to_hex();
        let p = r.repo.join("data").join(&hex[..2]).join(&hex);
        if loc.kind.is_metadata() {
            tree = Some(p)
        } else {
            data = Some(p)
        }
    }
    (r, data.unwrap(), tree.unwrap())
}

fn check(what: &str, pick: impl Fn(&TestRepo, &Path, &Path) -> PathBuf, expect_in_message: &str) {
    for how in [Damage::Flip, Damage::Truncate, Damage::Delete] {
        let (r, data, tree) = setup();
        let victim = pick(&r, &data, &tree);
        damage(&victim, how);
        let target = r.path("out");
        let out = r.run(&["restore", "latest", "--target", target.to_str().unwrap()]);
        let code = out.status.code();
        let err = stderr(&out);
        assert!(
            code.is_some() && code != Some(0) && code != Some(101),
            "{what} {how:?}: exit {code:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{what} {how:?}: {err}");
        assert!(
            err.contains(expect_in_message),
            "{what} {how:?}: message should name {expect_in_message:?}: {err}"
        );
    }
}

#[test]
fn damaged_data_pack_is_named() {
    check("data pack", |_, d, _| d.to_path_buf(), "pack ");
}

#[test]
fn damaged_tree_pack_is_named() {
    check("tree pack", |_, _, t| t.to_path_buf(), "pack ");
}

#[test]
fn damaged_index_is_named() {
    check("index", |r, _, _| r.list("index")[0].clone(), "index ");
}

#[test]
fn damaged_snapshot_is_named() {
    check(
        "snapshot",
        |r, _, _| r.list("snapshots")[0].clone(),
        "snapshot",
    );
}

#[test]
fn damaged_config_is_named() {
    // A missing config means "no repository" (exit 10); flipped or truncated: "config".
    for how in [Damage::Flip, Damage::Truncate] {
        let (r, _, _) = setup();
        damage(&r.repo.join("config"), how);
        let out = r.run(&["snapshots"]);
        assert_eq!(out.status.code(), Some(1), "{how:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("config"), "{}", stderr(&out));
    }
    let (r, _, _) = setup();
    damage(&r.repo.join("config"), Damage::Delete);
    assert_eq!(r.run(&["snapshots"]).status.code(), Some(10));
}

#[test]
fn damaged_key_file_is_reported_without_panic() {
    for how in [Damage::Flip, Damage::Truncate, Damage::Delete] {
        let (r, _, _) = setup();
        damage(&r.list("keys")[0], how);
        let out = r.run(&["snapshots"]);
        let code = out.status.code();
        // A flip inside the sealed master key is indistinguishable from a wrong passphrase
        // (AEAD); anything else is a damaged key file.
        assert!(
            matches!(code, Some(1) | Some(12)),
            "{how:?}: {code:?} {}",
            stderr(&out)
        );
        if !matches!(how, Damage::Flip) {
            assert!(stderr(&out).contains("key"), "{}", stderr(&out));
        }
    }
}

#[test]
fn garbage_trailer_length_does_not_allocate_or_panic() {
    let (r, data, _) = setup();
    let mut b = std::fs::read(&data).unwrap();
    let n = b.len();
    b[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&data, b).unwrap();
    // The index still points at the blob; reading it succeeds or fails cleanly, never panics.
    let out = r.run(&[
        "restore",
        "latest",
        "--target",
        r.path("o").to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(101));
}

#[test]
fn a_data_blob_posing_as_a_tree_is_refused() {
    use format_spec::crypto::ObjectKind;
    use format_spec::snapshot::Snapshot;
    use strata_repo::backend::FileType;
    let (r, _, _) = setup();
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let index = repo.load_index().unwrap();
    let data_blob = index
        .blobs()
        .find(|(_, l)| !l.kind.is_metadata())
        .map(|(id, _)| *id)
        .unwrap();
    let (_, snap) = repo.snapshots().unwrap().pop().unwrap();
    let forged = Snapshot {
        tree: data_blob,
        ..snap
    };
    let id = repo
        .save(FileType::Snapshot, ObjectKind::Snapshot, &forged)
        .unwrap();
    let out = r.run(&[
        "restore",
        &hex::encode(id),
        "--target",
        r.path("o").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("referenced as Tree"),
        "{}",
        stderr(&out)
    );
}
