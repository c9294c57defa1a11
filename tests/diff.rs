//! `diff` reports added, removed and modified paths; for a large file edited in place it
//! names the changed byte ranges (from the chunk lists), which cover the edit and not the
//! whole file; an unchanged directory is skipped without being read.

mod support;

use serde_json::Value;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use support::*;

const BIG: usize = 8 << 20;
const EDIT_AT: u64 = 5_000_000;

fn backup_full(r: &TestRepo, src: &Path) -> String {
    let v = r.json(&["backup", "--json", "--level", "full", src.to_str().unwrap()]);
    v["id"].as_str().unwrap().to_string()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Two snapshots: the second edits 16 bytes of an 8 MiB file, removes a file and a
/// directory, adds a file and a directory, rewrites a small file, and leaves `same/` alone.
fn two_snapshots() -> (TestRepo, String, String) {
    let r = TestRepo::new();
    let src = r.path("src");
    for d in ["same", "sub", "olddir"] {
        std::fs::create_dir_all(src.join(d)).unwrap();
    }
    std::fs::write(src.join("big.bin"), noise("diff big", BIG)).unwrap();
    std::fs::write(src.join("keep.txt"), b"kept").unwrap();
    std::fs::write(src.join("gone.txt"), b"going").unwrap();
    std::fs::write(src.join("same/a.txt"), b"unchanged").unwrap();
    std::fs::write(src.join("sub/inner.txt"), b"version 1").unwrap();
    std::fs::write(src.join("olddir/x"), b"x").unwrap();
    let a = backup_full(&r, &src);

    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(src.join("big.bin"))
        .unwrap();
    f.seek(SeekFrom::Start(EDIT_AT)).unwrap();
    f.write_all(b"EDITED IN PLACE!").unwrap();
    drop(f);
    std::fs::remove_file(src.join("gone.txt")).unwrap();
    std::fs::remove_dir_all(src.join("olddir")).unwrap();
    std::fs::write(src.join("new.txt"), b"new file").unwrap();
    std::fs::create_dir(src.join("newdir")).unwrap();
    std::fs::write(src.join("newdir/y"), b"y").unwrap();
    std::fs::write(src.join("sub/inner.txt"), b"version 2").unwrap();
    let b = backup_full(&r, &src);
    (r, a, b)
}

#[test]
fn diff_reports_paths_and_changed_ranges() {
    let (r, a, b) = two_snapshots();
    let v = r.json(&["diff", "--json", &a[..8], &b]);
    assert_eq!(v["old"], a.as_str());
    assert_eq!(v["new"], b.as_str());
    let src = r.path("src").display().to_string();
    let rel = |list: &Value| -> Vec<String> {
        strs(list)
            .into_iter()
            .map(|p| {
                p.strip_prefix(&src)
                    .unwrap_or_else(|| panic!("{p} is under {src}"))
                    .to_string()
            })
            .collect()
    };
    assert_eq!(rel(&v["added"]), ["/new.txt", "/newdir", "/newdir/y"]);
    assert_eq!(rel(&v["removed"]), ["/gone.txt", "/olddir", "/olddir/x"]);

    let modified = v["modified"].as_array().unwrap();
    let find = |suffix: &str| {
        modified
            .iter()
            .find(|m| m["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not modified: {v}"))
    };
    let big = find("/src/big.bin");
    assert!(strs(&big["changes"]).contains(&"content".to_string()));
    assert_eq!(big["old_size"], BIG);
    assert_eq!(big["new_size"], BIG);
    let ranges: Vec<(u64, u64)> = big["changed_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()))
        .collect();
    assert!(
        ranges
            .iter()
            .any(|&(s, e)| s <= EDIT_AT && EDIT_AT + 16 <= e),
        "no range covers the edit at {EDIT_AT}: {ranges:?}"
    );
    for w in ranges.windows(2) {
        assert!(
            w[0].1 < w[1].0,
            "ranges sorted, merged when adjacent: {ranges:?}"
        );
    }
    let changed: u64 = ranges.iter().map(|(s, e)| e - s).sum();
    // 64 KiB average chunks: the edit touches one or two chunks (a cut may move), far
    // from the whole 8 MiB.
    assert!(changed < 1 << 20, "{changed} bytes reported changed");
    let inner = find("/src/sub/inner.txt");
    assert!(strs(&inner["changes"]).contains(&"content".to_string()));
    assert_eq!(inner["changed_ranges"], serde_json::json!([[0, 9]]));
    assert_eq!(v["stats"]["changed_bytes"], changed + 9);

    let mentioned: Vec<String> = strs(&v["added"])
        .into_iter()
        .chain(strs(&v["removed"]))
        .chain(
            modified
                .iter()
                .map(|m| m["path"].as_str().unwrap().to_string()),
        )
        .collect();
    for untouched in ["/src/same", "/src/keep.txt"] {
        assert!(
            !mentioned.iter().any(|p| p.contains(untouched)),
            "{untouched} reported: {mentioned:?}"
        );
    }
    assert_eq!(v["stats"]["added"], 3);
    assert_eq!(v["stats"]["removed"], 3);
    assert!(
        v["stats"]["trees_skipped"].as_u64().unwrap() >= 1,
        "same/ has the same tree blob on both sides and is skipped: {}",
        v["stats"]
    );
}

#[test]
fn diff_text_marks_lines_like_restic() {
    let (r, a, b) = two_snapshots();
    let out = r.run(&["diff", &a, &b]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let src = r.path("src").display().to_string();
    for line in [
        format!("+ {src}/new.txt"),
        format!("+ {src}/newdir/"),
        format!("- {src}/gone.txt"),
        format!("- {src}/olddir/"),
        format!("M {src}/big.bin"),
        format!("M {src}/sub/inner.txt"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    assert!(!text.contains("same/"), "{text}");
}

#[test]
fn diff_of_a_snapshot_with_itself_reads_nothing() {
    let (r, a, _) = two_snapshots();
    let v = r.json(&["diff", "--json", &a, &a]);
    assert_eq!(v["added"], Value::Array(vec![]));
    assert_eq!(v["removed"], Value::Array(vec![]));
    assert_eq!(v["modified"], Value::Array(vec![]));
    assert_eq!(v["stats"]["trees_read"], 0);
    assert_eq!(v["stats"]["trees_skipped"], 1);
}

#[test]
fn diff_with_an_unknown_snapshot_fails() {
    let (r, a, _) = two_snapshots();
    let out = r.run(&["diff", &a, "ffffffff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ffffffff"), "{}", stderr(&out));
}
