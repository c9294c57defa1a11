//! `prune` removes what no snapshot needs and nothing a kept snapshot needs: every kept
//! snapshot (diff and incr deltas included) restores bit-identically afterwards, `check
//! --read-data` is clean, a second prune has nothing left to do, and a repository prune
//! cannot prove safe (damaged index, lost pack) loses nothing.

mod support;

use support::history::{assert_check_clean, prune, version, History, ROWS};
use support::{assert_ok, stderr, TestRepo};

/// full, incr, incr, diff, incr: five versions of one dump.
fn five(r: &TestRepo) -> (History<'_>, Vec<String>) {
    let mut h = History::new(r, "db");
    let mut ids = Vec::new();
    for (hour, level) in ["full", "incr", "incr", "diff", "incr"].iter().enumerate() {
        let (id, _) = h.backup(&version(ROWS, hour), level);
        ids.push(id);
    }
    (h, ids)
}

fn dir_bytes(r: &TestRepo) -> u64 {
    r.list("data")
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn prune_frees_forgotten_data_and_every_kept_snapshot_restores() {
    let r = TestRepo::new();
    let (mut h, ids) = five(&r);
    // A second, unrelated full whose data only it uses.
    let other = support::noise("other", 3 << 20);
    let (lonely, _) = h.backup(&other, "full");
    let before = dir_bytes(&r);
    h.drop_snapshot(&lonely);
    // Forget the middle incrs: the diff and last incr keep the full as their base.
    h.drop_snapshot(&ids[1]);
    h.drop_snapshot(&ids[2]);
    let dry = prune(&r, &["--dry-run"]);
    assert_eq!(dir_bytes(&r), before, "a dry run deletes nothing");
    assert!(dry["packs_deleted"].as_u64().unwrap() > 0);
    let rep = prune(&r, &[]);
    assert_eq!(rep["packs_deleted"], dry["packs_deleted"], "{rep}");
    let after = dir_bytes(&r);
    assert!(
        before - after >= 3 << 20,
        "the lonely full's 3 MiB of noise is freed: {before} → {after}"
    );
    assert_eq!(after, rep["bytes_after"].as_u64().unwrap(), "{rep}");
    h.assert_all_restore();
    assert_check_clean(&r);
    // Idempotent: nothing left to do.
    let again = prune(&r, &[]);
    assert_eq!(again["packs_deleted"], 0, "{again}");
    assert_eq!(again["packs_written"], 0, "{again}");
    assert!(r.list("pending").is_empty(), "no notice is left behind");
}

#[test]
fn delta_bases_of_a_kept_incr_survive_when_the_full_is_forgotten() {
    let r = TestRepo::new();
    let (mut h, ids) = five(&r);
    // Keep only the last incr: its deltas are against the diff, the diff's against the
    // full, so chunks of both forgotten snapshots are still needed as bases.
    for id in &ids[..4] {
        h.drop_snapshot(id);
    }
    let rep = prune(&r, &["--max-unused", "0"]);
    assert!(rep["packs_deleted"].as_u64().unwrap() > 0, "{rep}");
    h.assert_all_restore();
    assert_check_clean(&r);
}

#[test]
fn dropping_everything_leaves_an_empty_but_valid_repository() {
    let r = TestRepo::new();
    let (mut h, ids) = five(&r);
    for id in &ids {
        h.drop_snapshot(id);
    }
    let rep = prune(&r, &[]);
    assert_eq!(rep["packs_after"], 0, "{rep}");
    assert!(r.list("data").is_empty());
    assert_check_clean(&r);
    // And backups go on: the next one is a full and restores.
    h.backup(&version(ROWS, 9), "full");
    h.assert_all_restore();
}

#[test]
fn a_damaged_index_file_makes_prune_refuse_and_delete_nothing() {
    let r = TestRepo::new();
    let (mut h, ids) = five(&r);
    h.drop_snapshot(&ids[1]);
    let index = r.list("index");
    let victim = index.first().unwrap();
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[60] ^= 1;
    std::fs::write(victim, &bytes).unwrap();
    let files = r.files();
    let out = r.run(&["prune"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stderr(&out).contains(&name),
        "names the index: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("deleted nothing"), "{}", stderr(&out));
    assert_eq!(r.files(), files, "nothing was written or deleted");
}

#[test]
fn a_lost_pack_makes_prune_refuse_and_delete_nothing() {
    let r = TestRepo::new();
    let (mut h, ids) = five(&r);
    h.drop_snapshot(&ids[0]);
    let packs = r.list("data");
    let lost = packs.last().unwrap();
    let lost_name = lost.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(lost).unwrap();
    let files = r.files();
    let out = r.run(&["prune"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Either the plan misses it in the listing, or marking cannot read a tree from it.
    let err = stderr(&out);
    assert!(err.contains("deleted nothing"), "{err}");
    assert!(err.contains(&lost_name), "names the lost pack: {err}");
    assert_eq!(r.files(), files);
}

#[test]
fn unindexed_packs_wait_for_the_grace_period() {
    let r = TestRepo::new();
    let (h, _) = five(&r);
    // A pack no index names: what a backup still writing (or killed) leaves.
    let one = r.list("data").first().cloned().unwrap();
    let name = one.file_name().unwrap().to_string_lossy().into_owned();
    let stray = format!("{}{}", &name[..2], "0".repeat(62));
    let stray_path = one.parent().unwrap().join(&stray);
    std::fs::copy(&one, &stray_path).unwrap();
    let rep = prune(&r, &[]);
    assert_eq!(rep["packs_unindexed_young"], 1, "{rep}");
    assert!(stray_path.exists(), "younger than the grace period: kept");
    let rep = prune(&r, &["--grace", "0s"]);
    assert_eq!(rep["packs_unindexed"], 1, "{rep}");
    assert!(!stray_path.exists());
    h.assert_all_restore();
}

#[test]
fn a_live_prune_lock_makes_a_second_prune_exit_11_but_not_a_backup() {
    let r = TestRepo::new();
    let (mut h, _) = five(&r);
    support::locks::write_lock(&r, std::process::id(), false, true);
    let out = r.run(&["prune"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("prune lock"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("pid {}", std::process::id())));
    // Backups are not blocked by a prune.
    h.backup(&version(ROWS, 7), "incr");
    h.assert_all_restore();
}

#[test]
fn backups_do_not_deduplicate_against_packs_announced_for_deletion() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    let data = version(ROWS, 0);
    h.backup(&data, "full");
    // Announce every pack, as a prune between its notice and its deletions would.
    support::locks::write_pending_for_all_packs(&r);
    let (_, v) = h.backup(&data, "full");
    assert!(
        v["summary"]["bytes_new"].as_u64().unwrap() >= data.len() as u64,
        "every chunk is stored again: {v}"
    );
    h.assert_all_restore();
    // A prune removes the notice, keeps one copy and frees the other.
    let rep = prune(&r, &[]);
    assert!(rep["packs_deleted"].as_u64().unwrap() > 0, "{rep}");
    assert!(r.list("pending").is_empty());
    h.assert_all_restore();
    assert_check_clean(&r);
    assert_ok(&r.run(&["snapshots"]));
}

#[test]
fn forget_with_level_rules_and_prune_keeps_every_kept_chain_restorable() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    // Two weeks in miniature: full, incr, diff, incr, incr; full, incr, diff, incr.
    let levels = [
        "full", "incr", "diff", "incr", "incr", "full", "incr", "diff", "incr",
    ];
    for (hour, level) in levels.iter().enumerate() {
        h.backup(&version(ROWS, hour), level);
    }
    let dry = r.json(&[
        "forget",
        "--json",
        "--dry-run",
        "--keep-full",
        "1",
        "--keep-diff",
        "1",
        "--keep-incr",
        "1",
    ]);
    let frees = dry["frees_bytes"].as_u64().unwrap();
    assert!(frees > 0, "{dry}");
    let before = dir_bytes(&r);
    let done = r.json(&[
        "forget",
        "--json",
        "--keep-full",
        "1",
        "--keep-diff",
        "1",
        "--keep-incr",
        "1",
        "--prune",
    ]);
    // The newest incr, its diff and its full; the first week is gone.
    assert_eq!(done["kept"], 3, "{done}");
    let listed = h.listed();
    h.content.retain(|id, _| listed.contains(id));
    assert_eq!(h.content.len(), 3);
    h.assert_all_restore();
    assert_check_clean(&r);
    let freed = before - dir_bytes(&r);
    let p = &done["prune"];
    assert!(p["packs_deleted"].as_u64().unwrap() > 0, "{done}");
    // The estimate (from the index alone) and what prune freed agree within 20 %.
    let (lo, hi) = (frees as f64 * 0.8, frees as f64 * 1.2);
    assert!(
        (lo..=hi).contains(&(freed as f64)),
        "estimated {frees}, freed {freed}"
    );
}

#[test]
fn a_damaged_pending_notice_stops_backups_until_prune_removes_it() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    h.backup(&version(ROWS, 0), "full");
    support::locks::write_pending_for_all_packs(&r);
    let notice = r.list("pending").pop().unwrap();
    let mut bytes = std::fs::read(&notice).unwrap();
    bytes[30] ^= 1;
    std::fs::write(&notice, &bytes).unwrap();
    let name = notice.file_name().unwrap().to_string_lossy().into_owned();
    // A backup cannot tell which packs it announces: it refuses, naming the file.
    let out = h.try_backup(&version(ROWS, 1), "incr", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));
    let out = r.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&name) || stderr(&out).contains(&name));
    // Under the prune lock it can only be a dead prune's: prune removes it.
    prune(&r, &[]);
    assert!(r.list("pending").is_empty());
    h.backup(&version(ROWS, 1), "incr");
    h.assert_all_restore();
    assert_check_clean(&r);
}

#[test]
fn temporaries_of_killed_writes_are_removed_once_old() {
    let r = TestRepo::new();
    let (h, _) = five(&r);
    let old = r.repo.join("index").join(".tmp-0123456789abcdef");
    let young = r.repo.join("data").join("00").join(".tmp-fedcba9876543210");
    std::fs::write(&old, b"half a file").unwrap();
    std::fs::write(&young, b"a write in progress").unwrap();
    let ok = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&old)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let rep = prune(&r, &[]);
    assert_eq!(rep["temporaries_deleted"], 1, "{rep}");
    assert!(!old.exists(), "older than the grace period: removed");
    assert!(young.exists(), "may be a write in progress: kept");
    h.assert_all_restore();
}
