//! `strata copy --from-repo`: snapshots move between repositories with different master
//! keys, with their chains (parent and base remapped to the destination's copies), tags and
//! drills. With shared chunker parameters (`init --copy-chunker-params`) blobs move as they
//! are and only what the destination lacks is sent; otherwise files are re-chunked and
//! deltas recomputed against the copied parent. Every copy restores bit for bit and passes
//! `check --read-data`; a rerun copies nothing; a killed copy resumes; a wrong source
//! passphrase exits 12 and a missing source 10, writing nothing.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use support::history::{assert_check_clean, last_json, version, History};
use support::{assert_ok, noise, stderr, TestRepo, PASSWORD};

const ROWS: usize = 30_000;

/// A repository initialised with extra `init` arguments (cheapest KDF).
fn init_repo(extra: &[&str]) -> TestRepo {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let t = TestRepo { dir, repo };
    let mut args = vec!["init", "--kdf-memory-mib", "16", "--kdf-iterations", "2"];
    args.extend_from_slice(extra);
    let out = t
        .cmd(&args)
        .env("STRATA_FROM_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_ok(&out);
    t
}

/// A destination that cuts and names chunks as `src` does.
fn same_params(src: &TestRepo) -> TestRepo {
    let d = init_repo(&[
        "--copy-chunker-params",
        "--from-repo",
        src.repo.to_str().unwrap(),
    ]);
    let out = d.run(&["cat", "config"]);
    assert_ok(&out);
    let cfg: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cfg["dedup_keys_shared"], true, "{cfg}");
    assert_eq!(cfg["chunker"]["avg"], 64 << 10, "chunk sizes copied");
    d
}

/// `copy` from `src` into `dst` with extra arguments; the raw output.
fn try_copy(dst: &TestRepo, src: &TestRepo, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["--json", "copy", "--from-repo", src.repo.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut c = dst.cmd(&args);
    c.env("STRATA_FROM_PASSWORD", PASSWORD);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// A successful `copy`'s JSON report.
fn copy(dst: &TestRepo, src: &TestRepo, extra: &[&str]) -> Value {
    let out = try_copy(dst, src, extra, &[]);
    assert_ok(&out);
    last_json(&out)
}

/// `snapshots --json` keyed by ID.
fn snapshots(r: &TestRepo) -> BTreeMap<String, Value> {
    let v = r.json(&["snapshots", "--json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

/// Source ID → destination ID of every snapshot a report copied or found.
fn mapping(report: &Value) -> BTreeMap<String, String> {
    report["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != "refused")
        .map(|s| {
            (
                s["source"].as_str().unwrap().to_string(),
                s["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn entry<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == source)
        .unwrap_or_else(|| panic!("{source} not in {report}"))
}

/// Source snapshot ID → the dump it holds.
type Contents = BTreeMap<String, Vec<u8>>;

/// Every copied snapshot dumps the bytes its source snapshot held.
fn assert_copies_restore(dst: &TestRepo, map: &BTreeMap<String, String>, content: &Contents) {
    for (src_id, data) in content {
        let dst_id = &map[src_id];
        let out = dst.run(&["dump", dst_id, "/db.sql"]);
        assert_ok(&out);
        assert!(out.stdout == *data, "copy {dst_id} of {src_id} differs");
    }
}

/// A source with a full ← diff ← incr chain of one dump, the full drilled.
fn chain_source() -> (TestRepo, Contents, [String; 3]) {
    let src = TestRepo::new();
    let mut h = History::new(&src, "db");
    let full = h.backup(&version(ROWS, 0), "full").0;
    let diff = h.backup(&version(ROWS, 1), "diff").0;
    let incr = h.backup(&version(ROWS, 2), "incr").0;
    let content = h.content.clone();
    assert_ok(&src.run(&["verify", &full]));
    (src, content, [full, diff, incr])
}

#[test]
fn same_chunker_params_move_blobs_and_send_only_what_the_destination_lacks() {
    let src = TestRepo::new();
    let dir = src.path("src");
    std::fs::create_dir(&dir).unwrap();
    let big = noise("big", 3 << 20);
    std::fs::write(dir.join("big"), &big).unwrap();
    std::fs::write(dir.join("small"), noise("small", 200 << 10)).unwrap();
    let first = src.backup(&[&dir]);
    std::fs::write(dir.join("new"), noise("new", 300 << 10)).unwrap();
    let second_out = src.json(&["backup", "--json", "--level", "incr", dir.to_str().unwrap()]);
    let second = second_out["id"].as_str().unwrap().to_string();

    let dst = same_params(&src);
    // The destination already holds `big` from a backup of its own: same chunk IDs.
    let own = dst.path("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::write(own.join("big"), &big).unwrap();
    dst.backup(&[&own]);

    let report = copy(&dst, &src, &[&first[..8]]);
    assert_eq!(report["mode"], "blobs", "{report}");
    assert_eq!(report["copied"], 1);
    let stats = &entry(&report, &first)["stats"];
    let sent = stats["bytes_new"].as_u64().unwrap();
    assert!(
        ((200 << 10)..(1 << 20)).contains(&sent),
        "only `small` and the trees are sent, not the 3 MiB of `big`: {stats}"
    );
    assert_eq!(stats["bytes_read"], 0, "nothing is re-chunked");

    // The incr needs only what it added: exactly what its own backup stored.
    let report = copy(&dst, &src, &[]);
    assert_eq!(report["copied"], 1, "{report}");
    assert_eq!(entry(&report, &first)["status"], "skipped");
    let stats = &entry(&report, &second)["stats"];
    let summary = &second_out["summary"];
    assert_eq!(stats["blobs"], summary["blobs_new"], "{stats} vs {summary}");
    assert_eq!(stats["bytes_new"], summary["bytes_new"]);

    let map = mapping(&report);
    let copies = snapshots(&dst);
    let copy2 = &copies[&map[&second]];
    assert_eq!(copy2["original"], second.as_str());
    assert_eq!(copy2["parent"], map[&first].as_str(), "parent remapped");
    assert_eq!(
        copy2["tree"],
        snapshots(&src)[&second]["tree"],
        "same keys: same tree"
    );
    let target = dst.path("restored");
    assert_ok(&dst.run(&[
        "restore",
        &map[&second],
        "--target",
        target.to_str().unwrap(),
    ]));
    let restored = target.join(dir.strip_prefix("/").unwrap());
    for name in ["big", "small", "new"] {
        assert_eq!(
            std::fs::read(restored.join(name)).unwrap(),
            std::fs::read(dir.join(name)).unwrap(),
            "{name}"
        );
    }
    assert_check_clean(&dst);
}

#[test]
fn a_chain_is_copied_parents_first_with_lineage_tags_and_drills() {
    let (src, mut content, [full, diff, incr]) = chain_source();
    // A tagged snapshot of another set, left out by --set.
    let other = src.path("other");
    std::fs::write(&other, b"another set").unwrap();
    assert_ok(&src.run(&[
        "backup",
        "--set",
        "other",
        "--tag",
        "keep",
        other.to_str().unwrap(),
    ]));
    let dst = same_params(&src);

    // Asking for the incr alone brings its diff and full, parents first.
    let report = copy(&dst, &src, &["--set", "db", &incr[..10]]);
    let order: Vec<&str> = report["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![full.as_str(), diff.as_str(), incr.as_str()]);
    assert_eq!(entry(&report, &full)["needed_by"], incr.as_str());
    assert_eq!(report["copied"], 3);
    assert_eq!(report["drills"], 1, "the full's drill comes along");
    let map = mapping(&report);
    let copies = snapshots(&dst);
    assert_eq!(copies.len(), 3, "the other set is not copied");
    let (cf, cd, ci) = (
        &copies[&map[&full]],
        &copies[&map[&diff]],
        &copies[&map[&incr]],
    );
    assert_eq!(
        (
            cf["level"].as_str(),
            cd["level"].as_str(),
            ci["level"].as_str()
        ),
        (Some("full"), Some("diff"), Some("incr"))
    );
    assert_eq!(cd["parent"], map[&full].as_str());
    assert_eq!(cd["base"], map[&full].as_str());
    assert_eq!(ci["parent"], map[&diff].as_str());
    assert_eq!(ci["base"], map[&full].as_str());
    assert_eq!(cf["last_drill"]["ok"], true, "{cf}");
    let src_snaps = snapshots(&src);
    for (s, d) in &map {
        for field in [
            "time", "host", "user", "set", "paths", "tags", "summary", "program",
        ] {
            assert_eq!(src_snaps[s][field], copies[d][field], "{field} of {s}");
        }
        assert_eq!(copies[d]["original"], s.as_str());
    }
    assert!(
        entry(&report, &incr)["stats"]["deltas"].as_u64().unwrap() > 0,
        "the incr's deltas stay deltas: {report}"
    );
    assert_copies_restore(&dst, &map, &content);
    assert_check_clean(&dst);

    // A rerun copies nothing and writes nothing.
    let again = copy(&dst, &src, &[]);
    assert_eq!(again["copied"], 1, "only the other set's snapshot: {again}");
    let again = copy(&dst, &src, &[]);
    assert_eq!(
        (again["copied"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(again["drills"], 0);
    assert_eq!(again["total"]["blobs"], 0);
    let files = dst.files();
    let again = copy(&dst, &src, &["--tag", "keep"]);
    assert_eq!(
        again["skipped"], 1,
        "--tag selects the tagged snapshot: {again}"
    );
    assert_eq!(files, dst.files(), "a rerun writes nothing");

    // A drill run on the source after the copy arrives with the next copy.
    assert_ok(&src.run(&["verify", &incr]));
    let again = copy(&dst, &src, &[]);
    assert_eq!(again["drills"], 1);
    assert_eq!(snapshots(&dst)[&map[&incr]]["last_drill"]["ok"], true);

    // A chain broken in the source (the diff forgotten with --force): the incr after it is
    // refused and said so, exit 1, while the rest is copied.
    let fresh = same_params(&src);
    std::fs::remove_file(src.repo.join("snapshots").join(&diff)).unwrap();
    content.remove(&diff);
    let out = try_copy(&fresh, &src, &["--set", "db"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = last_json(&out);
    assert_eq!(entry(&report, &incr)["status"], "refused");
    assert!(
        entry(&report, &incr)["reason"]
            .as_str()
            .unwrap()
            .contains("not in the source repository"),
        "{report}"
    );
    assert_eq!(entry(&report, &full)["status"], "copied");
    assert!(stderr(&out).contains("not copied"), "{}", stderr(&out));
}

#[test]
fn other_chunker_params_rechunk_recompute_deltas_and_restore_identical_bytes() {
    let (src, content, [full, diff, incr]) = chain_source();
    // Bigger chunks, another master key: nothing in common but the plaintext.
    let dst = init_repo(&["--chunk-avg-kib", "128"]);
    let report = copy(&dst, &src, &[]);
    assert_eq!(report["mode"], "rechunk", "{report}");
    assert_eq!(report["copied"], 3);
    let map = mapping(&report);
    let (sf, sd, si) = (
        &entry(&report, &full)["stats"],
        &entry(&report, &diff)["stats"],
        &entry(&report, &incr)["stats"],
    );
    let size = version(ROWS, 0).len() as u64;
    assert_eq!(sf["bytes_read"], size, "the full is read whole: {sf}");
    assert_eq!(sf["deltas"], 0, "a full stores plain chunks");
    for s in [sd, si] {
        assert!(
            s["deltas"].as_u64().unwrap() > 0,
            "deltas against the copied parent: {s}"
        );
        assert!(
            s["bytes_stored"].as_u64().unwrap() < size / 10,
            "a few changed rows cost little: {s}"
        );
    }
    let copies = snapshots(&dst);
    let src_snaps = snapshots(&src);
    assert_ne!(
        copies[&map[&full]]["tree"], src_snaps[&full]["tree"],
        "new tree IDs"
    );
    assert_eq!(copies[&map[&incr]]["parent"], map[&diff].as_str());
    assert_eq!(copies[&map[&incr]]["base"], map[&full].as_str());
    assert_copies_restore(&dst, &map, &content);
    assert_check_clean(&dst);

    // Already there: skipped and said so, nothing written.
    let files = dst.files();
    let out = dst
        .cmd(&["copy", "--from-repo", src.repo.to_str().unwrap()])
        .env("STRATA_FROM_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("skipped")).count(),
        3,
        "{text}"
    );
    assert!(text.contains("already in the destination as"), "{text}");
    assert_eq!(files, dst.files());
}

#[test]
fn rechunking_reads_only_files_changed_since_the_parent() {
    let src = TestRepo::new();
    let dir = src.path("src");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let kept = noise("kept", 700 << 10);
    std::fs::write(dir.join("sub/kept"), &kept).unwrap();
    std::fs::write(dir.join("changed"), noise("v1", 500 << 10)).unwrap();
    std::os::unix::fs::symlink("sub/kept", dir.join("link")).unwrap();
    let full = src.backup(&[&dir]);
    let mut v2 = noise("v1", 500 << 10);
    v2[1000..1100].fill(7);
    std::fs::write(dir.join("changed"), &v2).unwrap();
    let incr = src.json(&["backup", "--json", "--level", "incr", dir.to_str().unwrap()]);
    let incr = incr["id"].as_str().unwrap().to_string();

    let dst = init_repo(&["--chunk-avg-kib", "128"]);
    let report = copy(&dst, &src, &[]);
    assert_eq!(report["mode"], "rechunk");
    let stats = &entry(&report, &incr)["stats"];
    assert_eq!(
        stats["files_reused"], 1,
        "sub/kept is not read again: {stats}"
    );
    assert_eq!(
        stats["bytes_read"],
        v2.len() as u64,
        "only `changed` is read: {stats}"
    );
    assert!(stats["deltas"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(entry(&report, &full)["stats"]["files_reused"], 0);

    let map = mapping(&report);
    let target = dst.path("restored");
    assert_ok(&dst.run(&[
        "restore",
        &map[&incr],
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]));
    let restored = target.join(dir.strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(restored.join("sub/kept")).unwrap(), kept);
    assert_eq!(std::fs::read(restored.join("changed")).unwrap(), v2);
    assert_eq!(
        std::fs::read_link(restored.join("link")).unwrap(),
        Path::new("sub/kept")
    );
    let (a, b) = (
        std::fs::metadata(dir.join("sub/kept")).unwrap(),
        std::fs::metadata(restored.join("sub/kept")).unwrap(),
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (a.mode(), a.mtime()),
        (b.mode(), b.mtime()),
        "metadata kept"
    );
    assert_check_clean(&dst);
}

#[test]
fn a_killed_copy_resumes_and_sends_only_what_is_missing() {
    let (src, content, [full, _diff, incr]) = chain_source();
    for (mode, point) in [
        ("blobs", "write:snapshots"),
        ("blobs", "rename:index"),
        ("rechunk", "write:snapshots@2"),
    ] {
        let case = format!("{mode} {point}");
        let dst = if mode == "blobs" {
            same_params(&src)
        } else {
            init_repo(&["--chunk-avg-kib", "128"])
        };
        let out = try_copy(
            &dst,
            &src,
            &[],
            &[("STRATA_FAILPOINTS", &format!("{point}=kill"))],
        );
        assert_eq!(out.status.code(), None, "{case}: killed: {}", stderr(&out));
        let report = copy(&dst, &src, &[]);
        assert_eq!(report["mode"], mode);
        let map = mapping(&report);
        let first = entry(&report, &full);
        match point {
            // Packs and index of the full were durable: nothing of it is sent again.
            "write:snapshots" => {
                assert_eq!(first["status"], "copied", "{case}");
                assert_eq!(first["stats"]["blobs"], 0, "{case}: {report}");
            }
            // Packs written, no index: they are sent again (the orphans are prune's).
            "rename:index" => assert!(first["stats"]["blobs"].as_u64().unwrap() > 0),
            // The full's snapshot was written before the kill.
            _ => {
                assert_eq!(first["status"], "skipped", "{case}: {report}");
                assert_eq!(entry(&report, &incr)["status"], "copied");
            }
        }
        assert_eq!(snapshots(&dst).len(), 3, "{case}");
        assert_copies_restore(&dst, &map, &content);
        assert_check_clean(&dst);
    }
}

#[test]
fn wrong_source_passphrase_exits_12_and_missing_source_exits_10() {
    let src = TestRepo::new();
    let f = src.path("f");
    std::fs::write(&f, b"data").unwrap();
    src.backup(&[&f]);
    let dst = TestRepo::new();
    let before = dst.files();

    let out = try_copy(&dst, &src, &[], &[("STRATA_FROM_PASSWORD", "wrong")]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("source repository") && err.contains("passphrase"),
        "{err}"
    );

    let gone = dst.path("nope");
    let out = dst
        .cmd(&["copy", "--from-repo", gone.to_str().unwrap()])
        .env("STRATA_FROM_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("source repository"),
        "{}",
        stderr(&out)
    );

    // No source passphrase at all and no terminal: a clear error naming the variables.
    let out = dst
        .cmd(&["copy", "--from-repo", src.repo.to_str().unwrap()])
        .env_remove("STRATA_FROM_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("STRATA_FROM_PASSWORD"),
        "{}",
        stderr(&out)
    );

    assert_eq!(before, dst.files(), "the failed copies wrote nothing");

    // The passphrase from a file or a command works as for --repo.
    let pw = dst.path("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let out = dst
        .cmd(&["copy", "--from-repo", src.repo.to_str().unwrap()])
        .arg("--from-password-file")
        .arg(&pw)
        .env_remove("STRATA_FROM_PASSWORD")
        .output()
        .unwrap();
    assert_ok(&out);
    let out = dst
        .cmd(&["copy", "--from-repo", src.repo.to_str().unwrap()])
        .env_remove("STRATA_FROM_PASSWORD")
        .env("STRATA_FROM_PASSWORD_COMMAND", format!("echo '{PASSWORD}'"))
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped"));
    assert_ne!(before, dst.files(), "the successful copies wrote");
}
