//! `repair index` rebuilds the index from pack headers: a repository whose index files are
//! gone restores again; damaged blobs and packs are reported and left out while everything
//! intact stays indexed; a crash between writing the new index and deleting the old ones
//! leaves a readable repository that a rerun finishes; a live exclusive lock blocks it.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repair;
use strata_repo::repository::Repository;
use support::*;

/// One file spanning many chunks and one single-chunk file (below the 16 KiB minimum chunk).
struct Fixture {
    r: TestRepo,
    src: PathBuf,
    big: Vec<u8>,
    small: Vec<u8>,
}

fn setup() -> Fixture {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    let big = dumpish(30_000);
    let small = noise("small", 10_000);
    std::fs::write(src.join("big.sql"), &big).unwrap();
    std::fs::write(src.join("small.bin"), &small).unwrap();
    r.backup(&[&src]);
    Fixture { r, src, big, small }
}

fn open(r: &TestRepo) -> Repository {
    Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap()
}

fn pack_path(r: &TestRepo, hex: &str) -> PathBuf {
    r.repo.join("data").join(&hex[..2]).join(hex)
}

/// Restores `latest` (optionally one path) into a fresh directory; returns the output and
/// where the source directory lands.
fn restore(f: &Fixture, name: &str, include: Option<&Path>) -> (std::process::Output, PathBuf) {
    let target = f.r.path(name);
    let mut args = vec![
        "restore".to_string(),
        "latest".into(),
        "--target".into(),
        target.display().to_string(),
    ];
    if let Some(p) = include {
        args.push("--include".into());
        args.push(p.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = f.r.run(&refs);
    (out, target.join(f.src.strip_prefix("/").unwrap()))
}

fn assert_restores(f: &Fixture, name: &str) {
    let (out, base) = restore(f, name, None);
    assert_ok(&out);
    assert_eq!(std::fs::read(base.join("big.sql")).unwrap(), f.big);
    assert_eq!(std::fs::read(base.join("small.bin")).unwrap(), f.small);
}

fn repair_json(r: &TestRepo) -> (Option<i32>, serde_json::Value, String) {
    let out = r.run(&["repair", "index", "--json"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let v = serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap();
    (out.status.code(), v, stderr(&out))
}

#[test]
fn deleted_index_files_are_rebuilt_and_restore_is_bit_identical() {
    let f = setup();
    for p in f.r.list("index") {
        std::fs::remove_file(p).unwrap();
    }
    let (out, _) = restore(&f, "before", None);
    assert_ne!(out.status.code(), Some(0), "restore without an index fails");

    let (code, v, err) = repair_json(&f.r);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["packs_damaged"].as_array().unwrap().len(), 0);
    assert_eq!(v["blobs_damaged"].as_array().unwrap().len(), 0);
    assert_eq!(v["packs_read"], f.r.list("data").len());
    assert!(v["blobs_indexed"].as_u64().unwrap() > 2);
    assert_eq!(v["index_superseded"], 0);
    assert_eq!(f.r.list("index").len(), 1);
    assert_restores(&f, "after");
}

#[test]
fn damaged_blob_is_reported_and_the_rest_of_its_pack_stays_indexed() {
    let f = setup();
    let repo = open(&f.r);
    let victim = repo.keys().blob_id(&f.small);
    let index = repo.load_index().unwrap();
    let loc = index.get(&victim).expect("the small file is one blob");
    let (pack, size) = index.pack(loc.pack);
    let header = repo.read_pack_header(&pack, size).unwrap();
    assert!(header.entries.len() > 1, "the pack holds other blobs too");
    let path = pack_path(&f.r, &pack.to_hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(loc.offset + loc.stored_len / 2) as usize] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();

    let (code, v, err) = repair_json(&f.r);
    assert_eq!(code, Some(1), "damage means exit 1: {err}");
    let damaged = v["blobs_damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{v}");
    assert_eq!(damaged[0]["blob"], victim.to_hex());
    assert_eq!(damaged[0]["pack"], pack.to_hex());
    assert_eq!(v["packs_damaged"].as_array().unwrap().len(), 0);
    assert_eq!(f.r.list("index").len(), 1, "the index is rewritten anyway");

    // Every other blob of the damaged pack is still indexed; the damaged one is not.
    let index = open(&f.r).load_index().unwrap();
    assert!(!index.contains(&victim));
    for e in header.entries.iter().filter(|e| e.id != victim) {
        assert!(index.contains(&e.id), "blob {} was dropped", e.id.to_hex());
    }
    // The file that does not use the damaged blob still restores; the other does not.
    let (out, base) = restore(&f, "big", Some(&f.src.join("big.sql")));
    assert_ok(&out);
    assert_eq!(std::fs::read(base.join("big.sql")).unwrap(), f.big);
    let (out, _) = restore(&f, "small", Some(&f.src.join("small.bin")));
    assert_ne!(out.status.code(), Some(0));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn pack_with_destroyed_header_is_reported_and_left_out() {
    let f = setup();
    let repo = open(&f.r);
    let index = repo.load_index().unwrap();
    let loc = index.get(&repo.keys().blob_id(&f.small)).unwrap();
    let (pack, size) = index.pack(loc.pack);
    let path = pack_path(&f.r, &pack.to_hex());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(size > 4);

    let (code, v, err) = repair_json(&f.r);
    assert_eq!(code, Some(1), "{err}");
    let damaged = v["packs_damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{v}");
    assert_eq!(damaged[0]["pack"], pack.to_hex());
    assert_eq!(v["packs_read"], f.r.list("data").len() - 1);

    let index = open(&f.r).load_index().unwrap();
    assert!(index.packs().iter().all(|(p, _)| *p != pack));
    assert!(!index.is_empty(), "the tree pack is still indexed");
    // The snapshot's trees are intact, so it can still be listed.
    assert_ok(&f.r.run(&["ls", "latest"]));
    assert_eq!(f.r.list("index").len(), 1);
}

#[test]
fn crash_after_writing_the_new_index_leaves_a_readable_repository() {
    let f = setup();
    // A second backup so there are several index files to supersede.
    std::fs::write(f.src.join("more.bin"), noise("more", 50_000)).unwrap();
    f.r.backup(&[&f.src]);
    std::fs::remove_file(f.src.join("more.bin")).unwrap();
    let old = f.r.list("index");
    assert!(old.len() >= 2);

    let repo = open(&f.r);
    // A crash during planning changes nothing.
    let before = f.r.files();
    let plan = repair::plan(&repo).unwrap();
    assert_eq!(f.r.files(), before);
    assert_eq!(plan.superseded.len(), old.len());
    assert!(!plan.found_damage());

    // Crash after the new index is durable, before the old ones are deleted.
    let written = repair::write_index(&repo, &plan).unwrap();
    drop(repo);
    let now = f.r.list("index");
    assert_eq!(now.len(), old.len() + 1);
    let index = open(&f.r).load_index().unwrap();
    assert_eq!(index.files, vec![written], "superseded files are ignored");
    // `latest` is the second snapshot; more.bin was removed from src only after it.
    let (out, base) = restore(&f, "mid", None);
    assert_ok(&out);
    assert_eq!(std::fs::read(base.join("big.sql")).unwrap(), f.big);
    assert_eq!(
        std::fs::read(base.join("more.bin")).unwrap(),
        noise("more", 50_000)
    );

    // A rerun finishes the job.
    let (code, v, err) = repair_json(&f.r);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["index_superseded"], old.len() + 1);
    assert_eq!(v["index_removed"], old.len() + 1);
    let left = f.r.list("index");
    assert_eq!(left.len(), 1);
    assert!(old.iter().all(|p| !left.contains(p)));
    assert_restores(&f, "end");
}

#[test]
fn healthy_repository_keeps_restoring_with_exactly_one_index_file() {
    let f = setup();
    std::fs::write(f.src.join("more.bin"), noise("more2", 40_000)).unwrap();
    f.r.backup(&[&f.src]);
    std::fs::remove_file(f.src.join("more.bin")).unwrap();
    f.r.backup(&[&f.src]);
    assert!(f.r.list("index").len() >= 2);
    let blobs_before = open(&f.r).load_index().unwrap().len();

    let (code, v, err) = repair_json(&f.r);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(f.r.list("index").len(), 1);
    assert_eq!(v["blobs_indexed"], blobs_before);
    assert_eq!(open(&f.r).load_index().unwrap().len(), blobs_before);
    assert!(f.r.list("locks").is_empty(), "the lock is released");
    assert_restores(&f, "out");

    // Text output, twice in a row, stays healthy.
    let out = f.r.run(&["repair", "index"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 damaged"));
    assert_eq!(f.r.list("index").len(), 1);
}

#[test]
fn live_exclusive_lock_blocks_repair_with_exit_11() {
    let f = setup();
    let repo = open(&f.r);
    let rec = format_spec::lock::LockRecord {
        v: 1,
        host: strata_repo::util::hostname(),
        pid: std::process::id(), // this test process is alive
        user: "test".into(),
        time_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64,
        exclusive: true,
        command: "prune".into(),
        started_ns: 0,
        prune: false,
    };
    repo.save(FileType::Lock, format_spec::crypto::ObjectKind::Lock, &rec)
        .unwrap();
    let before = f.r.list("index");
    let out = f.r.run(&["repair", "index"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("exclusive lock"));
    assert_eq!(f.r.list("index"), before, "nothing was written or removed");
}
