//! `stats` adds up what the snapshot files and the index say, and those figures agree with
//! the repository on disk (pack files under `data/`) and with `snapshots --json`;
//! `cat blob` shows an index entry and decodes the blob; an unknown blob ID fails.

mod support;

use format_spec::blob::{BlobKind, Encoding};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::index::MasterIndex;
use strata_repo::repository::Repository;
use support::*;

const NOTE: &[u8] = b"a note too small to be cut into chunks\n";

fn index(r: &TestRepo) -> MasterIndex {
    Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes())
        .unwrap()
        .load_index()
        .unwrap()
}

fn backup(r: &TestRepo, level: &str, src: &Path) -> String {
    let v = r.json(&[
        "backup",
        "--json",
        "--set",
        "files",
        "--level",
        level,
        src.to_str().unwrap(),
    ]);
    v["id"].as_str().unwrap().to_string()
}

fn dir_bytes(dir: &Path) -> u64 {
    walk(dir).iter().map(|p| p.metadata().unwrap().len()).sum()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn assert_close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

/// A directory backed up as a full, then again as an incr after one row of a dump-like
/// file changed; returns the repository and the logical size of each backup.
fn two_backups() -> (TestRepo, [u64; 2]) {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("noise.bin"), noise("stats noise", 2 << 20)).unwrap();
    std::fs::write(src.join("note.txt"), NOTE).unwrap();
    let mut dump = dumpish(40_000);
    std::fs::write(src.join("sub/dump.sql"), &dump).unwrap();
    let first = dir_bytes(&src);
    backup(&r, "full", &src);

    // One row in the middle changes: the rest deduplicates (or serves as a delta base).
    let at = dump.len() / 2;
    dump[at..at + 8].copy_from_slice(b"CHANGED!");
    std::fs::write(src.join("sub/dump.sql"), &dump).unwrap();
    let second = dir_bytes(&src);
    backup(&r, "incr", &src);
    (r, [first, second])
}

#[test]
fn stats_json_agrees_with_snapshots_index_and_packs_on_disk() {
    let (r, [first, second]) = two_backups();
    let v = r.json(&["stats", "--json"]);

    assert_eq!(v["snapshots"], 2);
    assert_eq!(v["whole_repository"], true);
    let logical = u(&v["logical_bytes"]);
    assert_eq!(logical, first + second);
    let snaps = r.json(&["snapshots", "--json"]);
    let snaps = snaps.as_array().unwrap();
    let sum = |field: &str| -> u64 { snaps.iter().map(|s| u(&s["summary"][field])).sum() };
    assert_eq!(logical, sum("total_bytes"));
    assert_eq!(u(&v["added_bytes"]), sum("bytes_stored"));

    let packs = r.list("data");
    assert_eq!(u(&v["packs"]), packs.len() as u64);
    let on_disk: u64 = packs.iter().map(|p| p.metadata().unwrap().len()).sum();
    assert_eq!(u(&v["stored_bytes"]), on_disk);

    // Blob totals are the index's, kind by kind.
    let idx = index(&r);
    let blobs = &v["blobs"];
    for (name, kind) in [
        ("data", BlobKind::Data),
        ("tree", BlobKind::Tree),
        ("list", BlobKind::List),
    ] {
        let of_kind: Vec<_> = idx.blobs().filter(|(_, l)| l.kind == kind).collect();
        let t = &blobs[name];
        assert_eq!(u(&t["count"]), of_kind.len() as u64, "{name}");
        let raw: u64 = of_kind.iter().map(|(_, l)| u64::from(l.raw_len)).sum();
        let stored: u64 = of_kind.iter().map(|(_, l)| u64::from(l.stored_len)).sum();
        assert_eq!(u(&t["raw_bytes"]), raw, "{name}");
        assert_eq!(u(&t["stored_bytes"]), stored, "{name}");
    }
    assert!(
        u(&blobs["tree"]["count"]) >= 2,
        "two snapshots, two root trees"
    );
    let total = &blobs["total"];
    assert_eq!(u(&total["count"]), idx.len() as u64);
    let data_raw = u(&blobs["data"]["raw_bytes"]);
    // The unique data holds the first backup's files and at most one changed region more.
    assert!(
        data_raw >= first && data_raw < first + (1 << 20),
        "unique data {data_raw}, first backup {first}"
    );

    // Nearly everything was stored once and backed up twice.
    let dedup = f(&v["dedup_ratio"]);
    assert_close(dedup, logical as f64 / data_raw as f64);
    assert!(dedup > 1.6, "dedup ratio {dedup}");
    assert_close(
        f(&v["compression_ratio"]),
        u(&total["raw_bytes"]) as f64 / u(&total["stored_bytes"]) as f64,
    );

    // Deltas: whatever the writer chose, the figures are the index's zstd-delta entries.
    let deltas: Vec<_> = idx
        .blobs()
        .filter(|(_, l)| l.encoding == Encoding::ZstdDelta)
        .collect();
    let d = &v["deltas"];
    assert_eq!(u(&d["count"]), deltas.len() as u64);
    assert_eq!(u(&d["count"]), idx.delta_count() as u64);
    let d_raw: u64 = deltas.iter().map(|(_, l)| u64::from(l.raw_len)).sum();
    let d_stored: u64 = deltas.iter().map(|(_, l)| u64::from(l.stored_len)).sum();
    assert_eq!(u(&d["raw_bytes"]), d_raw);
    assert_eq!(u(&d["stored_bytes"]), d_stored);
    assert_close(
        f(&d["share_of_data_stored"]),
        d_stored as f64 / u(&blobs["data"]["stored_bytes"]) as f64,
    );
    assert_eq!(d["broken"], 0);
    assert_eq!(u(&d["max_depth"]) > 0, !deltas.is_empty());

    // One set: a full and an incr.
    let sets = v["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{v}");
    let row = &sets[0];
    assert_eq!(row["set"], "files");
    assert_eq!(
        [&row["snapshots"], &row["full"], &row["diff"], &row["incr"]],
        [2, 1, 0, 1]
    );
    assert_eq!(u(&row["logical_bytes"]), logical);
    assert_eq!(u(&row["added_bytes"]), sum("bytes_stored"));

    // The table for people carries the same figures.
    let out = r.run(&["stats"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("{dedup:.2}x")), "{text}");
    for line in ["snapshots          2", "dedup ratio", "deltas", "files"] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
}

#[test]
fn stats_filters_narrow_snapshots_and_rows_but_not_the_index() {
    let (r, _) = two_backups();
    let dump = r.path("db.sql");
    std::fs::write(&dump, dumpish(5_000)).unwrap();
    let out = r.run(&[
        "backup",
        "--command",
        &format!("cat {}", dump.display()),
        "--stdin-name",
        "db.sql",
        "--set",
        "db",
    ]);
    assert_ok(&out);

    let all = r.json(&["stats", "--json"]);
    assert_eq!(all["snapshots"], 3);
    let names: Vec<&str> = all["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["set"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["db", "files"]);
    let db_row = all["sets"][0].clone();
    assert_eq!(u(&db_row["logical_bytes"]), dumpish(5_000).len() as u64);

    let db = r.json(&["stats", "--json", "--set", "db"]);
    assert_eq!(db["snapshots"], 1);
    assert_eq!(db["whole_repository"], false);
    assert_eq!(db["filter"]["set"], "db");
    assert_eq!(db["dedup_ratio"], Value::Null);
    assert_eq!(db["sets"], serde_json::json!([db_row]));
    assert_eq!(db["logical_bytes"], db_row["logical_bytes"]);
    // Pack and blob figures stay repository-wide.
    assert_eq!(db["stored_bytes"], all["stored_bytes"]);
    assert_eq!(db["blobs"], all["blobs"]);

    let none = r.json(&["stats", "--json", "--host", "no-such-host"]);
    assert_eq!(none["snapshots"], 0);
    assert_eq!(none["logical_bytes"], 0);
    assert_eq!(none["sets"], serde_json::json!([]));
}

#[test]
fn cat_blob_shows_the_index_entry_and_decodes_the_blob() {
    let (r, _) = two_backups();
    let idx = index(&r);
    // The note is smaller than the minimum chunk: one data blob holding exactly its bytes.
    let (id, loc) = idx
        .blobs()
        .find(|(_, l)| l.kind == BlobKind::Data && l.raw_len as usize == NOTE.len())
        .map(|(id, l)| (*id, *l))
        .expect("the note's data blob is indexed");
    let hex = id.to_hex();

    let v = r.json(&["cat", "blob", &hex, "--json"]);
    assert_eq!(v["id"], hex.as_str());
    assert_eq!(v["kind"], "data");
    assert_eq!(v["encoding"], loc.encoding.name());
    assert_eq!(v["raw_length"], NOTE.len());
    assert_eq!(v["stored_length"], loc.stored_len);
    assert_eq!(v["offset"], loc.offset);
    assert_eq!(v["pack"], idx.pack(loc.pack).0.to_hex().as_str());
    assert_eq!(v["bases"], serde_json::json!([]));
    assert_eq!(v["depth"], 0);

    // A unique prefix finds the same entry.
    assert_eq!(r.json(&["cat", "blob", &hex[..16], "--json"]), v);

    let out = r.run(&["cat", "blob", &hex, "--data"]);
    assert_ok(&out);
    assert_eq!(out.stdout, NOTE);

    let out = r.run(&["cat", "blob", &hex]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&hex) && text.contains(loc.encoding.name()),
        "{text}"
    );

    // Every delta the writer made names its bases and a depth of at least 1.
    for (id, _) in idx
        .blobs()
        .filter(|(_, l)| l.encoding == Encoding::ZstdDelta)
        .take(3)
    {
        let v = r.json(&["cat", "blob", &id.to_hex(), "--json"]);
        assert_eq!(v["encoding"], "zstd-delta");
        let bases: Vec<String> = idx.bases(id).iter().map(|b| b.to_hex()).collect();
        assert!(!bases.is_empty());
        assert_eq!(v["bases"], serde_json::json!(bases));
        assert!(u(&v["depth"]) >= 1, "{v}");
        let out = r.run(&["cat", "blob", &id.to_hex(), "--data"]);
        assert_ok(&out);
        assert_eq!(out.stdout.len() as u64, u(&v["raw_length"]));
    }
}

#[test]
fn cat_blob_with_an_unknown_or_malformed_id_fails() {
    let r = TestRepo::new();
    let unknown = "0".repeat(64);
    let out = r.run(&["cat", "blob", &unknown, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("not in the index"),
        "{}",
        stderr(&out)
    );

    let out = r.run(&["cat", "blob", "0000abcd"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no indexed blob"), "{}", stderr(&out));

    // Not hex at all: a usage error.
    let out = r.run(&["cat", "blob", "not-a-blob-id"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
