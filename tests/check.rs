//! `strata check`: a clean repository passes, subsets partition the packs, and damage is
//! reported naming the object, the snapshot and the file path it affects.

mod support;

use format_spec::crypto::ObjectKind;
use format_spec::index::{IndexBlob, IndexFile, IndexPack};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repository::Repository;
use support::*;

/// Runs `check` with `--json`; returns the exit code and the document.
fn check(r: &TestRepo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let out = r.run(&args);
    let code = out.status.code().unwrap();
    let err = stderr(&out);
    assert!(code != 101 && !err.contains("panicked"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(text.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {text} / {err}"));
    (code, v)
}

fn open(r: &TestRepo) -> Repository {
    Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap()
}

fn pack_path(r: &TestRepo, hex: &str) -> PathBuf {
    r.repo.join("data").join(&hex[..2]).join(hex)
}

/// A repository with two files in one backup; returns it and the snapshot ID.
fn setup() -> (TestRepo, String) {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("dump.sql"), dumpish(30_000)).unwrap();
    std::fs::write(src.join("sub/noise.bin"), noise("n", 3 << 20)).unwrap();
    let id = r.backup(&[&src]);
    (r, id)
}

fn errors_text(v: &Value) -> String {
    v["errors"].to_string()
}

#[test]
fn clean_repository_checks_ok_with_and_without_read_data() {
    let (r, _) = setup();
    let (code, v) = check(&r, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["stats"]["snapshots"], 1);
    assert_eq!(v["stats"]["packs_read"], 0);
    let packs = v["stats"]["packs"].as_u64().unwrap();
    assert!(packs >= 2, "a data pack and a tree pack: {v}");
    let (code, v) = check(&r, &["--read-data"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["stats"]["packs_read"].as_u64().unwrap(), packs);
    assert!(v["stats"]["bytes_read"].as_u64().unwrap() > 3 << 20);
    // Human output ends with a summary line.
    let out = r.run(&["check"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 errors"));
}

#[test]
fn subsets_cover_every_pack_exactly_once() {
    let (r, _) = setup();
    // More packs: several small backups of distinct data.
    for i in 0..6 {
        let d = r.path(&format!("more{i}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("f"), noise(&format!("m{i}"), 200_000)).unwrap();
        r.backup(&[&d]);
    }
    let (_, v) = check(&r, &[]);
    let total = v["stats"]["packs"].as_u64().unwrap();
    let mut sum = 0;
    for part in ["1/2", "2/2"] {
        let (code, v) = check(&r, &["--read-data-subset", part]);
        assert_eq!(code, 0, "{v}");
        sum += v["stats"]["packs_read"].as_u64().unwrap();
    }
    assert_eq!(sum, total);
    let (code, v) = check(&r, &["--read-data-subset", "50%"]);
    assert_eq!(code, 0, "{v}");
    let half = v["stats"]["packs_read"].as_u64().unwrap();
    assert_eq!(half, total.div_ceil(2), "{v}");
    for bad in ["0/2", "3/2", "1/257", "0%", "101%", "x"] {
        let out = r.run(&["check", "--read-data-subset", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

#[test]
fn flipped_blob_byte_is_found_by_read_data_with_path_and_snapshot() {
    let (r, snap) = setup();
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    // A large data blob: a chunk of one of the two files.
    let (blob, loc) = index
        .blobs()
        .find(|(_, l)| !l.kind.is_metadata() && l.raw_len > 100_000)
        .map(|(b, l)| (*b, *l))
        .unwrap();
    let (pack, _) = index.pack(loc.pack);
    let path = pack_path(&r, &pack.to_hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(loc.offset + loc.stored_len / 2) as usize] ^= 1;
    std::fs::write(&path, bytes).unwrap();

    let (code, v) = check(&r, &[]);
    assert_eq!(code, 0, "the structure is intact: {v}");
    let (code, v) = check(&r, &["--read-data"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["object"].as_str().unwrap().contains(&blob.to_hex()))
        .unwrap_or_else(|| panic!("no error for the blob: {v}"));
    assert!(
        e["object"].as_str().unwrap().contains(&pack.to_hex()),
        "{e}"
    );
    assert_eq!(e["snapshots"][0], snap.as_str(), "{e}");
    assert!(
        e["paths"].as_array().unwrap().iter().any(|p| {
            let p = p.as_str().unwrap();
            p.ends_with("/src/sub/noise.bin") || p.ends_with("/src/dump.sql")
        }),
        "{e}"
    );
    // The pack as a whole no longer hashes to its name.
    assert!(errors_text(&v).contains("does not hash to its name"), "{v}");
}

#[test]
fn deleted_pack_is_named() {
    let (r, snap) = setup();
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    let (pack, _) = index.packs()[0];
    std::fs::remove_file(pack_path(&r, &pack.to_hex())).unwrap();
    let (code, v) = check(&r, &[]);
    assert_eq!(code, 1, "{v}");
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["object"] == format!("pack {}", pack.to_hex()))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(e["message"].as_str().unwrap().contains("missing"), "{e}");
    assert_eq!(e["snapshots"][0], snap.as_str(), "{e}");
    assert!(!e["paths"].as_array().unwrap().is_empty(), "{e}");
    // Human output names it too, and the exit code is 1.
    let out = r.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&pack.to_hex()));
}

#[test]
fn index_entry_past_the_pack_end_is_reported() {
    let (r, _) = setup();
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    let (blob, loc) = index.blobs().next().map(|(b, l)| (*b, *l)).unwrap();
    let (pack, size) = index.pack(loc.pack);
    let forged = IndexFile {
        v: 1,
        supersedes: vec![],
        packs: vec![IndexPack {
            id: pack,
            size,
            blobs: vec![IndexBlob {
                id: blob,
                kind: loc.kind,
                enc: loc.encoding,
                off: (size - 10) as u32,
                len: loc.stored_len,
                raw: loc.raw_len,
                bases: vec![],
            }],
        }],
    };
    let name = hex::encode(
        repo.save(FileType::Index, ObjectKind::Index, &forged)
            .unwrap(),
    );
    let (code, v) = check(&r, &[]);
    assert_eq!(code, 1, "{v}");
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["object"] == format!("index {name}"))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        e["message"].as_str().unwrap().contains("past the end"),
        "{e}"
    );
}

#[test]
fn unreferenced_pack_is_a_warning_only() {
    let (r, _) = setup();
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    let (pack, _) = index.packs()[0];
    // A copy under its own content name is a valid pack no index names.
    let mut bytes = std::fs::read(pack_path(&r, &pack.to_hex())).unwrap();
    bytes.push(0);
    let name = blake3::hash(&bytes).to_hex().to_string();
    std::fs::create_dir_all(pack_path(&r, &name).parent().unwrap()).unwrap();
    std::fs::write(pack_path(&r, &name), bytes).unwrap();
    let (code, v) = check(&r, &[]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["warnings"].to_string().contains("unreferenced pack"),
        "{v}"
    );
    assert!(v["warnings"].to_string().contains(&name), "{v}");
}

/// A blob stored twice — as a delta in one pack and plain in another, as a backup does
/// after prune announced the delta's pack — is checked, copy by copy, against the bases
/// each copy's own entry names, not against those of the copy the index prefers.
#[test]
fn a_blob_stored_as_a_delta_and_again_plain_reads_clean() {
    let r = TestRepo::new();
    let mut h = support::history::History::new(&r, "db");
    h.backup(
        &support::history::version(support::history::ROWS, 0),
        "full",
    );
    let incr = support::history::version(support::history::ROWS, 1);
    let (_, v) = h.backup(&incr, "incr");
    assert!(v["delta_blobs"].as_u64().unwrap() > 0, "{v}");
    // Every pack announced: the same data is stored again, plain (no usable base).
    support::locks::write_pending_for_all_packs(&r);
    h.backup(&incr, "incr");
    let (code, doc) = check(&r, &["--read-data"]);
    assert_eq!(code, 0, "{doc}");
}
