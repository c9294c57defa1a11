//! Delta chunks (DESIGN.md §4b): changed chunks of a diff or incr are stored as zstd deltas
//! against the parent's version, every snapshot still restores in one step, and a missing,
//! damaged or hostile base is reported, never followed blindly.

mod support;

use format_spec::blob::{BlobKind, Encoding};
use format_spec::crypto::ObjectKind;
use format_spec::id::BlobId;
use format_spec::index::{IndexBlob, IndexFile, IndexPack};
use serde_json::Value;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repository::Repository;
use support::{assert_ok, stderr, TestRepo, PASSWORD};

/// A dump-like text of `rows` lines where the lines in `changed` carry a new balance.
fn dump(rows: usize, hour: usize, changed: &[usize]) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..rows {
        let h = blake3::hash(&(i as u64).to_le_bytes());
        let balance = if changed.contains(&i) {
            hour * 1000 + i
        } else {
            0
        };
        s.push_str(&format!(
            "{i}\t{}\t{balance}\t{}\n",
            i % 97,
            &h.to_hex()[..48]
        ));
    }
    s.into_bytes()
}

/// Rows changed by "hour" h: 40 rows spread over the whole dump.
fn changed_rows(rows: usize, h: usize) -> Vec<usize> {
    (0..40).map(|k| (k * 7919 + h * 104_729) % rows).collect()
}

fn backup_stdin(r: &TestRepo, data: &[u8], level: &str) -> Value {
    backup_stdin_with(r, data, level, &[])
}

/// `backup --stdin` of `data` at `level` with `extra` arguments; the summary JSON.
fn backup_stdin_with(r: &TestRepo, data: &[u8], level: &str, extra: &[&str]) -> Value {
    use std::io::Write;
    let mut args = vec![
        "--json",
        "backup",
        "--stdin",
        "--stdin-name",
        "db.sql",
        "--set",
        "db",
        "--level",
        level,
    ];
    args.extend_from_slice(extra);
    let mut c = r.cmd(&args);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn dump_of(r: &TestRepo, id: &str) -> Vec<u8> {
    let out = r.run(&["dump", id, "/db.sql"]);
    assert_ok(&out);
    out.stdout
}

fn open(r: &TestRepo) -> Repository {
    Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap()
}

const ROWS: usize = 120_000; // about 11 MB: ~170 chunks of 64 KiB

/// full, diff, incr × 3 (deeper than two deltas: bases get substituted), diff, full.
#[test]
fn every_level_restores_exactly_and_changed_chunks_are_small_deltas() {
    let r = TestRepo::new();
    let mut changed: Vec<usize> = Vec::new();
    let mut versions = Vec::new();
    for (h, level) in ["full", "diff", "incr", "incr", "incr", "diff", "full"]
        .into_iter()
        .enumerate()
    {
        changed.extend(changed_rows(ROWS, h));
        let data = dump(ROWS, h, &changed);
        let v = backup_stdin(&r, &data, level);
        assert_eq!(v["level"], level, "{v}");
        let deltas = v["delta_blobs"].as_u64().unwrap();
        let stored = v["summary"]["bytes_stored"].as_u64().unwrap();
        if level == "full" {
            assert_eq!(deltas, 0, "a full stores plain chunks only: {v}");
        } else {
            // ~40 changed rows per hour touch up to ~40 of ~170 chunks; each delta is tens
            // of bytes where the plain chunk would be ~35 KB.
            assert!(deltas >= 10, "{v}");
            assert!(
                stored < 200_000,
                "{level} stored {stored} bytes for {} changed rows: {v}",
                changed.len()
            );
        }
        versions.push((v["id"].as_str().unwrap().to_string(), data));
    }
    // Every snapshot restores to exactly its input, in one step (dump and restore).
    for (id, data) in &versions {
        assert!(dump_of(&r, id) == *data, "snapshot {id} differs");
    }
    let target = r.path("restored");
    let (last_incr, data) = &versions[4];
    assert_ok(&r.run(&["restore", last_incr, "--target", target.to_str().unwrap()]));
    assert!(std::fs::read(target.join("db.sql")).unwrap() == *data);

    // The index really holds deltas, none deeper than two, with their bases indexed.
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    let deltas: Vec<BlobId> = index
        .blobs()
        .filter(|(_, l)| l.encoding == Encoding::ZstdDelta)
        .map(|(b, _)| *b)
        .collect();
    assert!(deltas.len() > 40, "{} deltas", deltas.len());
    let mut deepest = 0;
    for d in &deltas {
        deepest = deepest.max(index.depth(d).unwrap());
    }
    assert_eq!(
        deepest, 2,
        "incr over diff over full is two deep, never more"
    );

    // check --read-data decodes every delta against its bases.
    let out = r.run(&["--json", "check", "--read-data"]);
    assert_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["stats"]["deltas"].as_u64().unwrap(), deltas.len() as u64);
}

#[test]
fn no_delta_stores_changed_chunks_plain() {
    let r = TestRepo::new();
    backup_stdin(&r, &dump(ROWS, 0, &[]), "full");
    let data = dump(ROWS, 1, &changed_rows(ROWS, 1));
    let v = backup_stdin_with(&r, &data, "incr", &["--no-delta"]);
    assert_eq!(v["delta_blobs"], 0, "{v}");
    assert!(
        v["summary"]["bytes_stored"].as_u64().unwrap() > 500_000,
        "{v}"
    );
    assert!(dump_of(&r, v["id"].as_str().unwrap()) == data);
}

/// Backs up a full and an incr; returns the incr's ID and the index files of the full.
fn full_then_incr(r: &TestRepo) -> (String, Vec<u8>, Vec<String>) {
    backup_stdin(r, &dump(ROWS, 0, &[]), "full");
    let full_index: Vec<String> = support::walk(&r.repo.join("index"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let data = dump(ROWS, 1, &changed_rows(ROWS, 1));
    let v = backup_stdin(r, &data, "incr");
    assert!(v["delta_blobs"].as_u64().unwrap() > 0, "{v}");
    (v["id"].as_str().unwrap().to_string(), data, full_index)
}

/// The index, one delta blob of it and that delta's first base.
fn a_delta_and_its_base(r: &TestRepo) -> (strata_repo::index::MasterIndex, BlobId, BlobId) {
    let index = open(r).load_index().unwrap();
    let delta = *index
        .blobs()
        .find(|(_, l)| l.encoding == Encoding::ZstdDelta)
        .unwrap()
        .0;
    let base = index.bases(&delta)[0];
    (index, delta, base)
}

#[test]
fn a_missing_base_is_an_error_naming_both_blobs_and_check_reports_it() {
    let r = TestRepo::new();
    let (incr, _, full_index) = full_then_incr(&r);
    let (_, delta, base) = a_delta_and_its_base(&r);
    // Without the full's index file, the bases are in no index.
    for name in &full_index {
        std::fs::remove_file(r.repo.join("index").join(name)).unwrap();
    }
    // The restore fails (unchanged chunks went with the index too); reading the delta alone
    // names it and its missing base.
    let out = r.run(&["dump", &incr, "/db.sql"]);
    assert_eq!(out.status.code(), Some(1));
    let out = r.run(&["cat", "blob", &delta.to_hex(), "--data"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "delta blob {delta} needs base blob {base}, which is not in any index"
        )),
        "{err}"
    );

    let out = r.run(&["--json", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["errors"].to_string();
    assert!(
        text.contains(&format!(
            "delta blob {delta} needs base blob {base}, which is not in any index"
        )),
        "{text}"
    );
    assert!(
        text.contains(&incr),
        "the affected snapshot is named: {text}"
    );
}

#[test]
fn a_damaged_base_pack_fails_the_restore_and_check_read_data_names_the_delta() {
    let r = TestRepo::new();
    let (incr, _, _) = full_then_incr(&r);
    let (index, delta, base) = a_delta_and_its_base(&r);
    let loc = index.get(&base).unwrap();
    let pack = index.pack(loc.pack).0.to_hex();
    let path = r.repo.join("data").join(&pack[..2]).join(&pack);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[loc.offset as usize + 30] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();

    let out = r.run(&["dump", &incr, "/db.sql"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = r.run(&["--json", "check", "--read-data"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["errors"].to_string();
    assert!(text.contains(&format!("blob {base}")), "{text}");
    assert!(text.contains(&format!("blob {delta}")), "{text}");
}

#[test]
fn hostile_delta_chains_are_rejected_without_following_them() {
    let r = TestRepo::new();
    let (_, _, _) = full_then_incr(&r);
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    let (_, loc) = index
        .blobs()
        .find(|(_, l)| l.kind == BlobKind::Data)
        .map(|(b, l)| (*b, *l))
        .unwrap();
    let (pack, size) = index.pack(loc.pack);
    // Forged entries at a real blob's place: a self-base, a two-blob loop, a chain of three.
    let fake = |i: u8, bases: Vec<BlobId>| IndexBlob {
        id: BlobId([i; 32]),
        kind: BlobKind::Data,
        enc: Encoding::ZstdDelta,
        off: loc.offset,
        len: loc.stored_len,
        raw: loc.raw_len,
        bases,
    };
    let id = |i: u8| BlobId([i; 32]);
    let plain = *index
        .blobs()
        .find(|(_, l)| l.kind == BlobKind::Data && l.encoding != Encoding::ZstdDelta)
        .unwrap()
        .0;
    let forged = IndexFile {
        v: 1,
        supersedes: vec![],
        packs: vec![IndexPack {
            id: pack,
            size,
            blobs: vec![
                fake(2, vec![id(3)]),
                fake(3, vec![id(2)]),
                fake(4, vec![id(5)]),
                fake(5, vec![id(6)]),
                fake(6, vec![plain]),
            ],
        }],
    };
    repo.save(FileType::Index, ObjectKind::Index, &forged)
        .unwrap();
    let repo = open(&r);
    let index = repo.load_index().unwrap();
    // A self-base is refused with the whole index file that states it.
    let selfish = IndexFile {
        v: 1,
        supersedes: vec![],
        packs: vec![IndexPack {
            id: pack,
            size,
            blobs: vec![fake(1, vec![id(1)])],
        }],
    };
    let selfish = hex::encode(
        repo.save(FileType::Index, ObjectKind::Index, &selfish)
            .unwrap(),
    );
    for i in [2u8, 4] {
        let e = repo
            .read_blob(&index, &id(i), BlobKind::Data)
            .unwrap_err()
            .to_string();
        assert!(e.contains("damaged"), "{e}");
        let chain = format!("{:?}", repo.delta_history(&index, &id(i)).unwrap_err());
        assert!(chain.contains("deeper than 2 or loops"), "{chain}");
    }
    let out = r.run(&["--json", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["errors"].to_string();
    assert!(
        text.contains(&format!("index {selfish}")) && text.contains("not its own base"),
        "{text}"
    );
    for i in [2u8, 3, 4] {
        assert!(
            text.contains(&format!("delta blob {}: its chain of bases", id(i))),
            "blob {i}: {text}"
        );
    }
    // Blob 5 is two deep (5 → 6 → plain): legal as a chain, though its bytes are forged.
    assert!(
        !text.contains(&format!("delta blob {}: its chain", id(5))),
        "{text}"
    );
}

#[test]
fn a_full_stores_plain_copies_of_chunks_held_only_as_deltas() {
    let r = TestRepo::new();
    let (_, data, _) = full_then_incr(&r);
    let before = open(&r).load_index().unwrap();
    let only_deltas: Vec<BlobId> = before
        .blobs()
        .filter(|(_, l)| l.encoding == Encoding::ZstdDelta)
        .map(|(b, _)| *b)
        .collect();
    assert!(!only_deltas.is_empty());
    // The same bytes again, as a full: every chunk exists, but some only as deltas.
    let v = backup_stdin(&r, &data, "full");
    assert_eq!(v["delta_blobs"], 0, "{v}");
    assert_eq!(
        v["summary"]["blobs_new"].as_u64().unwrap(),
        only_deltas.len() as u64 + 1, // plus the root tree (new snapshot time)
        "{v}"
    );
    let after = open(&r).load_index().unwrap();
    for b in &only_deltas {
        assert!(after.contains_plain(b), "{b} still only a delta");
        assert_eq!(after.depth(b).unwrap(), 0, "readers take the plain copy");
    }
    assert!(dump_of(&r, v["id"].as_str().unwrap()) == data);
}
