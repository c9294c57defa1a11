//! Crashes and I/O errors at every write, rename and delete of prune and backup (the
//! `failpoints` build of the binary; `STRATA_FAILPOINTS`): whatever step fails or is killed
//! with SIGKILL, every snapshot listed before (and every one reported committed) restores,
//! `check --read-data` passes (unreferenced data is only a warning), and a rerun converges:
//! after it a further prune has nothing to do and no notice is left.

mod support;

use std::collections::BTreeMap;
use support::history::{assert_check_clean, copy_repo, prune, version, History};
use support::{assert_ok, stderr, TestRepo};

const ROWS: usize = 30_000;

/// A repository with forgotten snapshots, so prune deletes, repacks and keeps bases.
fn template() -> (TestRepo, BTreeMap<String, Vec<u8>>) {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    let mut ids = Vec::new();
    for (hour, level) in ["full", "incr", "incr", "diff", "incr", "incr"]
        .iter()
        .enumerate()
    {
        ids.push(h.backup(&version(ROWS, hour), level).0);
    }
    let (other, _) = h.backup(&support::noise("other", 1 << 20), "full");
    h.drop_snapshot(&other);
    // A pack half needed: a and b stored together, then a alone (deduplicated), then the
    // first forgotten. Prune must copy a's chunks out (repack) before it deletes the pack.
    let a = support::noise("a", 1 << 20);
    let ab = [a.clone(), support::noise("b", 1 << 20)].concat();
    let (both, _) = h.backup(&ab, "full");
    h.backup(&a, "full");
    h.drop_snapshot(&both);
    h.drop_snapshot(&ids[1]);
    h.drop_snapshot(&ids[4]);
    let content = h.content.clone();
    (r, content)
}

/// The ID of the snapshot with the earliest time.
fn oldest_snapshot(r: &TestRepo) -> String {
    let v = r.json(&["snapshots", "--json"]);
    let oldest = v
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|s| s["time"].as_str().unwrap().to_string())
        .unwrap();
    oldest["id"].as_str().unwrap().to_string()
}

fn history<'a>(r: &'a TestRepo, content: &BTreeMap<String, Vec<u8>>) -> History<'a> {
    let mut h = History::new(r, "db");
    h.content = content.clone();
    h
}

/// Content-named files of a directory: a temporary file a killed write leaves is not a
/// file of the repository (every reader ignores it).
fn files(r: &TestRepo, dir: &str) -> Vec<std::path::PathBuf> {
    r.list(dir)
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// After a failed or killed step: nothing kept is lost, a rerun finishes the job.
fn assert_recovers(r: &TestRepo, h: &History<'_>, case: &str) {
    assert_check_clean(r);
    let rep = prune(r, &["--grace", "0s", "--max-unused", "0"]);
    assert_eq!(rep["deferred"], false, "{case}: {rep}");
    h.assert_all_restore();
    assert_check_clean(r);
    let again = prune(r, &["--grace", "0s", "--max-unused", "0"]);
    assert_eq!(again["packs_deleted"], 0, "{case}: converged: {again}");
    assert!(files(r, "pending").is_empty(), "{case}: a notice is left");
    // Content-named files only: a temporary file left by a killed write is not a file of
    // the repository (readers ignore it).
    let index = files(r, "index");
    assert_eq!(index.len(), 1, "{case}: one index file is left: {index:?}");
}

const PRUNE_POINTS: &[&str] = &[
    "write:data",
    "rename:data",
    "write:index",
    "rename:index",
    "prune:after-repack",
    "write:pending",
    "rename:pending",
    "prune:after-notice",
    "write:index@2",
    "rename:index@2",
    "prune:after-index",
    "remove:data",
    "remove:data@3",
    "prune:after-pack-delete",
    "remove:index",
    "prune:after-index-delete",
    "remove:pending",
];

fn prune_matrix(action: &str) {
    let (template, content) = template();
    let mut missed = Vec::new();
    for point in PRUNE_POINTS {
        let case = format!("prune {point}={action}");
        let r = copy_repo(&template);
        let h = history(&r, &content);
        let out = r
            .cmd(&["prune", "--grace", "0s", "--max-unused", "0"])
            .env("STRATA_FAILPOINTS", format!("{point}={action}"))
            .output()
            .unwrap();
        if out.status.success() {
            missed.push(*point);
        } else {
            let err = stderr(&out);
            match action {
                "kill" => assert_eq!(out.status.code(), None, "{case}: killed: {err}"),
                _ => assert!(err.contains("injected error"), "{case}: {err}"),
            }
        }
        h.assert_all_restore();
        assert_recovers(&r, &h, &case);
    }
    assert!(missed.is_empty(), "points never reached: {missed:?}");
}

#[test]
fn prune_killed_at_any_step_loses_nothing_and_a_rerun_finishes() {
    prune_matrix("kill");
}

#[test]
fn prune_failing_at_any_step_loses_nothing_and_a_rerun_finishes() {
    prune_matrix("error");
}

const BACKUP_POINTS: &[&str] = &[
    "write:data",
    "rename:data",
    "write:index",
    "rename:index",
    "write:snapshots",
    "rename:snapshots",
];

#[test]
fn backup_killed_or_failing_at_any_step_commits_nothing_partial() {
    let (template, content) = template();
    for action in ["kill", "error"] {
        for point in BACKUP_POINTS {
            let case = format!("backup {point}={action}");
            let r = copy_repo(&template);
            let mut h = history(&r, &content);
            let before = h.listed();
            let data = version(ROWS, 40);
            let out = h.try_backup(
                &data,
                "incr",
                &[("STRATA_FAILPOINTS", &format!("{point}={action}"))],
            );
            assert!(!out.status.success(), "{case}: the point was reached");
            assert_eq!(h.listed(), before, "{case}: no snapshot was committed");
            h.assert_all_restore();
            assert_recovers(&r, &h, &case);
            // The next backup works and restores.
            let (id, _) = h.backup(&data, "incr");
            assert!(h.listed().contains(&id));
            h.assert_all_restore();
        }
    }
    let _ = assert_ok;
}

const FORGET_POINTS: &[&str] = &["remove:snapshots", "remove:snapshots@2", "remove:drills"];

#[test]
fn forget_killed_or_failing_at_any_step_leaves_restorable_snapshots() {
    let (template, content) = template();
    for action in ["kill", "error"] {
        for point in FORGET_POINTS {
            let case = format!("forget {point}={action}");
            let r = copy_repo(&template);
            // A drill of the oldest snapshot (by time: `content` is keyed by ID), which
            // `--keep-last 1` removes, so forget has a drill to remove.
            let oldest = oldest_snapshot(&r);
            assert_ok(&r.run(&["verify", &oldest]));
            let out = r
                .cmd(&["forget", "--keep-last", "1"])
                .env("STRATA_FAILPOINTS", format!("{point}={action}"))
                .output()
                .unwrap();
            assert!(!out.status.success(), "{case}: the point was reached");
            // Whatever is still listed restores; nothing listed was lost.
            let mut h = history(&r, &content);
            let listed = h.listed();
            h.content.retain(|id, _| listed.contains(id));
            h.assert_all_restore();
            assert_check_clean(&r);
            // A rerun finishes the forget; prune then converges.
            assert_ok(&r.run(&["forget", "--keep-last", "1", "--prune"]));
            let listed = h.listed();
            h.content.retain(|id, _| listed.contains(id));
            assert!(!h.content.is_empty(), "{case}: the kept snapshot is there");
            h.assert_all_restore();
            assert_recovers(&r, &h, &case);
            assert!(
                files(&r, "drills").is_empty(),
                "{case}: the drill went with its snapshot"
            );
        }
    }
}

/// A listing that fails, at planning or at the second look after the wait, stops prune
/// before it deletes anything.
#[test]
fn a_failed_listing_stops_prune_before_any_delete() {
    let (template, content) = template();
    for point in [
        "list:data",
        "list:snapshots",
        "list:snapshots@2",
        "list:index@2",
        "list:locks@3",
    ] {
        let case = format!("prune {point}=error");
        let r = copy_repo(&template);
        let h = history(&r, &content);
        let packs = files(&r, "data");
        let out = r
            .cmd(&["prune", "--grace", "0s"])
            .env("STRATA_FAILPOINTS", format!("{point}=error"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("injected error"),
            "{case}: {}",
            stderr(&out)
        );
        for p in &packs {
            assert!(p.exists(), "{case}: pack {p:?} was deleted");
        }
        h.assert_all_restore();
        assert_recovers(&r, &h, &case);
    }
}
