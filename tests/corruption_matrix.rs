//! Every kind of repository file × every kind of damage: `check --read-data` never panics,
//! names the damaged file, and a second snapshot stored in other packs still restores.
//! Also: every single-byte flip of a sealed snapshot file is detected.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::check::{check, CheckOptions};
use strata_repo::repository::Repository;
use support::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Damage {
    Flip,
    Truncate,
    Zero,
    Delete,
}

const ALL: [Damage; 4] = [Damage::Flip, Damage::Truncate, Damage::Zero, Damage::Delete];

fn damage(path: &Path, how: Damage) {
    let b = std::fs::read(path).unwrap();
    match how {
        Damage::Flip => {
            let mut b = b;
            let i = b.len() / 2;
            b[i] ^= 0x40;
            std::fs::write(path, b).unwrap();
        }
        Damage::Truncate => std::fs::write(path, &b[..b.len() / 3]).unwrap(),
        Damage::Zero => std::fs::write(path, vec![0u8; b.len()]).unwrap(),
        Damage::Delete => std::fs::remove_file(path).unwrap(),
    }
}

/// A repository with two backups of disjoint data (the second in fresh packs), and the
/// files that belong to the first.
struct Fixture {
    r: TestRepo,
    /// Snapshot A (damaged below) and B (must survive).
    snap_a: String,
    snap_b: String,
    b_src: PathBuf,
    index_a: PathBuf,
    data_pack_a: PathBuf,
    tree_pack_a: PathBuf,
    lock: PathBuf,
}

fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    walk(dir).into_iter().collect()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn setup() -> Fixture {
    let r = TestRepo::new();
    let a = r.path("a");
    std::fs::create_dir_all(a.join("db")).unwrap();
    std::fs::write(a.join("db/dump.sql"), dumpish(20_000)).unwrap();
    std::fs::write(a.join("blob.bin"), noise("a", 300_000)).unwrap();
    let snap_a = r.backup(&[&a]);
    let packs_a = files_under(&r.repo.join("data"));
    let index_a = r.list("index")[0].clone();

    let b = r.path("b");
    std::fs::create_dir_all(b.join("other")).unwrap();
    std::fs::write(b.join("other/data.bin"), noise("b", 400_000)).unwrap();
    let snap_b = r.backup(&[&b]);

    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let index = repo.load_index().unwrap();
    let (mut data, mut tree) = (None, None);
    for (_, loc) in index.blobs() {
        let hex = index.pack(loc.pack).0.to_hex();
        let p = r.repo.join("data").join(&hex[..2]).join(&hex);
        if !packs_a.contains(&p) {
            continue;
        }
        if loc.kind.is_metadata() {
            tree = Some(p);
        } else {
            data = Some(p);
        }
    }
    // A live shared lock held by this test process (as a concurrent backup would hold one).
    let rec = format_spec::lock::LockRecord {
        v: 1,
        host: strata_repo::util::hostname(),
        pid: std::process::id(),
        user: "test".into(),
        time_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64,
        exclusive: false,
        command: "backup".into(),
        started_ns: 0,
        prune: false,
    };
    let lock = repo
        .save(FileType::Lock, format_spec::crypto::ObjectKind::Lock, &rec)
        .unwrap();
    Fixture {
        lock: r.repo.join("locks").join(hex::encode(lock)),
        index_a,
        data_pack_a: data.unwrap(),
        tree_pack_a: tree.unwrap(),
        snap_a,
        snap_b,
        b_src: b,
        r,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A fresh copy of the fixture's repository, and the victim's path inside it.
fn copy(f: &Fixture, victim: &Path) -> (TestRepo, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy_dir(&f.r.repo, &repo);
    let rel = victim.strip_prefix(&f.r.repo).unwrap();
    let victim = repo.join(rel);
    (TestRepo { dir, repo }, victim)
}

fn no_panic(what: &str, out: &std::process::Output) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "{what}: {err}");
    assert!(out.status.code().is_some(), "{what}: killed by a signal");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

fn check_json(r: &TestRepo, what: &str) -> (i32, Value, String) {
    let out = r.run(&["check", "--read-data", "--json"]);
    no_panic(what, &out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, stderr(&out))
}

/// B restores and its file is intact.
fn b_restores(f: &Fixture, r: &TestRepo, what: &str) {
    let target = r.path("restore-b");
    let out = r.run(&["restore", &f.snap_b, "--target", target.to_str().unwrap()]);
    no_panic(what, &out);
    assert_ok(&out);
    let rel = f.b_src.join("other/data.bin");
    let rel = rel.strip_prefix("/").unwrap();
    assert_eq!(
        std::fs::read(target.join(rel)).unwrap(),
        noise("b", 400_000),
        "{what}"
    );
}

/// Damages `victim` every way; check must fail naming `id` (if given) and B must restore.
fn matrix(f: &Fixture, kind: &str, victim: &Path, id: &str) {
    for how in ALL {
        let what = format!("{kind} {how:?}");
        let (r, v) = copy(f, victim);
        damage(&v, how);
        let (code, doc, err) = check_json(&r, &what);
        if how == Damage::Delete && kind == "snapshot" {
            // A deleted snapshot is indistinguishable from a forgotten one.
            assert_eq!(code, 0, "{what}: {doc} {err}");
        } else {
            assert_eq!(code, 1, "{what}: {doc} {err}");
            assert_eq!(doc["ok"], false, "{what}: {doc}");
            let errors = doc["errors"].as_array().unwrap();
            let named = errors
                .iter()
                .any(|e| e["object"].as_str().unwrap().contains(id));
            if kind == "index" && how == Damage::Delete {
                // The deleted index cannot be named; the blobs it held are, with their users.
                assert!(
                    errors
                        .iter()
                        .any(|e| e["snapshots"].to_string().contains(&f.snap_a)),
                    "{what}: {doc}"
                );
            } else {
                assert!(named, "{what}: no error names {id}: {doc}");
            }
            // Damage to A's files never implicates B.
            assert!(
                !doc["errors"].to_string().contains(&f.snap_b),
                "{what}: {doc}"
            );
        }
        // A damaged index file is skipped (with a warning) when restoring, so the other
        // snapshot, whose blobs another index file names, still restores.
        b_restores(f, &r, &what);
    }
}

#[test]
fn damaged_repository_files_are_localized() {
    let f = setup();
    matrix(&f, "data pack", &f.data_pack_a, &name(&f.data_pack_a));
    matrix(&f, "tree pack", &f.tree_pack_a, &name(&f.tree_pack_a));
    let snap = f.r.repo.join("snapshots").join(&f.snap_a);
    matrix(&f, "snapshot", &snap, &f.snap_a);
    matrix(&f, "index", &f.index_a, &name(&f.index_a));
}

#[test]
fn damaged_data_pack_errors_name_snapshot_and_paths() {
    let f = setup();
    let (r, v) = copy(&f, &f.data_pack_a);
    damage(&v, Damage::Delete);
    let (code, doc, _) = check_json(&r, "data pack deleted");
    assert_eq!(code, 1);
    let e = &doc["errors"][0];
    assert_eq!(
        e["object"],
        format!("pack {}", name(&f.data_pack_a)),
        "{doc}"
    );
    assert_eq!(e["snapshots"], serde_json::json!([f.snap_a]), "{doc}");
    let paths = e["paths"].to_string();
    assert!(
        paths.contains("/a/db/dump.sql") && paths.contains("/a/blob.bin"),
        "{doc}"
    );
}

#[test]
fn damaged_lock_is_ignored_with_a_warning() {
    let f = setup();
    for how in ALL {
        let what = format!("lock {how:?}");
        let (r, v) = copy(&f, &f.lock);
        damage(&v, how);
        let (code, doc, err) = check_json(&r, &what);
        assert_eq!(code, 0, "{what}: {doc} {err}");
        assert_eq!(doc["ok"], true, "{what}: {doc}");
        if how != Damage::Delete {
            assert!(
                doc["warnings"].to_string().contains(&name(&f.lock)),
                "{what}: {doc}"
            );
        }
        b_restores(&f, &r, &what);
    }
}

#[test]
fn damaged_config_or_key_fails_cleanly() {
    let f = setup();
    for how in ALL {
        let what = format!("config {how:?}");
        let (r, v) = copy(&f, &f.r.repo.join("config"));
        damage(&v, how);
        let (code, _, err) = check_json(&r, &what);
        if how == Damage::Delete {
            assert_eq!(code, 10, "{what}: {err}");
        } else {
            assert_eq!(code, 1, "{what}: {err}");
            assert!(err.contains("config"), "{what}: {err}");
        }
    }
    for how in ALL {
        let what = format!("key {how:?}");
        let (r, v) = copy(&f, &f.r.list("keys")[0]);
        damage(&v, how);
        let (code, _, err) = check_json(&r, &what);
        // A flip inside the sealed master key reads as a wrong passphrase (AEAD).
        assert!(matches!(code, 1 | 12), "{what}: {code} {err}");
        if how != Damage::Flip {
            assert!(err.contains("key"), "{what}: {err}");
        }
    }
}

#[test]
fn every_byte_flip_of_a_snapshot_file_is_detected() {
    let f = setup();
    let repo =
        Repository::open(Arc::new(LocalBackend::new(&f.r.repo)), PASSWORD.as_bytes()).unwrap();
    let opts = CheckOptions::default();
    assert!(check(&repo, &opts).unwrap().ok);
    let path = f.r.repo.join("snapshots").join(&f.snap_a);
    let good = std::fs::read(&path).unwrap();
    let object = format!("snapshot {}", f.snap_a);
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x01;
        std::fs::write(&path, &b).unwrap();
        let report = check(&repo, &opts).unwrap();
        assert!(!report.ok, "flip at byte {i} went unnoticed");
        assert!(
            report.errors.iter().any(|e| e.object == object),
            "flip at byte {i}: {:?}",
            report.errors
        );
    }
    std::fs::write(&path, &good).unwrap();
    assert!(check(&repo, &opts).unwrap().ok);
}
