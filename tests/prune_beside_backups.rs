//! Prune runs beside backups: a backup is never refused or blocked by it, and whatever a
//! backup commits restores, even when it deduplicated against blobs prune was about to
//! delete (SPEC.md § Pruning). Three cases: a backup older than prune's notice (waited
//! for; the packs it reused are kept back), a backup newer than the notice (stores its own
//! copy, unblocked), and backups and prunes in loops for a bounded time.

mod support;

use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::history::{assert_check_clean, last_json, prune, version, History};
use support::{assert_ok, stderr, TestRepo};

const ROWS: usize = 30_000;

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `backup --json --command "sleep S; cat FILE"` and returns once it holds its lock
/// (and so has loaded the index): the command's sleep keeps it running past that point.
fn slow_backup(r: &TestRepo, secs: u32, file: &std::path::Path) -> std::process::Child {
    let cmd = format!("sleep {secs}; cat {}", file.display());
    let args = [
        "--json",
        "backup",
        "--command",
        &cmd,
        "--stdin-name",
        "db.sql",
        "--set",
        "db",
    ];
    let child = r
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the backup's lock", Duration::from_secs(20), || {
        !r.list("locks").is_empty()
    });
    child
}

#[test]
fn a_backup_older_than_the_notice_is_waited_for_and_the_packs_it_reused_are_kept() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    let x = support::noise("x", 2 << 20);
    let (a, _) = h.backup(&x, "full");
    h.backup(&version(ROWS, 1), "full");
    h.drop_snapshot(&a); // x's chunks are now needed by no snapshot
    let xfile = r.path("x.bin");
    std::fs::write(&xfile, &x).unwrap();
    // The backup takes its lock and loads the index, then its command sleeps: by the time
    // it deduplicates against x's chunks, prune has planned to delete them.
    let backup = slow_backup(&r, 3, &xfile);
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let rep = prune(&r, &[]);
    let out = backup.wait_with_output().unwrap();
    assert_ok(&out);
    let c = h.committed(&out, &x).unwrap();
    assert_eq!(rep["waited_for"].as_array().unwrap().len(), 1, "{rep}");
    assert!(
        rep["packs_kept_back"].as_u64().unwrap() >= 1,
        "the packs the backup reused are kept: {rep}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "prune waited");
    let v = last_json(&out);
    assert!(
        v["summary"]["bytes_new"].as_u64().unwrap() < x.len() as u64 / 2,
        "the backup deduplicated against the forgotten chunks: {v}"
    );
    h.assert_all_restore();
    assert_check_clean(&r);
    let _ = c;
}

#[test]
fn a_backup_newer_than_the_notice_runs_unblocked_and_stores_its_own_copy() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    let x = support::noise("x", 2 << 20);
    let (a, _) = h.backup(&x, "full");
    h.backup(&version(ROWS, 1), "full");
    h.drop_snapshot(&a);
    // A live holder older than the notice keeps prune waiting until it goes.
    let holder = support::locks::write_lock(&r, std::process::id(), false, false);
    let pruning = r
        .cmd(&["--json", "prune"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("prune's notice", Duration::from_secs(30), || {
        !r.list("pending").is_empty()
    });
    let started = Instant::now();
    let (_, v) = h.backup(&x, "full");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "the backup was not blocked by the waiting prune: {took:?}"
    );
    assert!(
        v["summary"]["bytes_new"].as_u64().unwrap() >= x.len() as u64,
        "announced chunks are stored again, not deduplicated: {v}"
    );
    std::fs::remove_file(r.repo.join("locks").join(&holder)).unwrap();
    let out = pruning.wait_with_output().unwrap();
    assert_ok(&out);
    let rep = last_json(&out);
    assert!(rep["packs_deleted"].as_u64().unwrap() >= 1, "{rep}");
    assert_eq!(rep["packs_kept_back"], 0, "{rep}");
    h.assert_all_restore();
    assert_check_clean(&r);
}

#[test]
fn backups_and_prunes_in_loops_lose_no_committed_snapshot() {
    let r = TestRepo::new();
    let writer_h = History::new(&r, "db");
    let kept = Mutex::new(History::new(&r, "db"));
    kept.lock().unwrap().backup(&version(ROWS, 0), "full");
    let deadline = Instant::now() + Duration::from_secs(25);
    let (n, slowest, prunes) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0usize;
            let mut slowest = Duration::ZERO;
            while Instant::now() < deadline {
                n += 1;
                let level = ["incr", "incr", "diff", "incr", "full"][n % 5];
                let data = version(ROWS, n);
                let started = Instant::now();
                let out = writer_h.try_backup(&data, level, &[]);
                slowest = slowest.max(started.elapsed());
                assert_ok(&out);
                kept.lock().unwrap().committed(&out, &data).unwrap();
            }
            (n, slowest)
        });
        let (mut prunes, mut forgets) = (0, 0);
        while Instant::now() < deadline {
            // forget (under its prune lock) beside the running backups, then prune.
            let done = last_json(&r.run(&["--json", "forget", "--keep-last", "3"]));
            {
                let mut g = kept.lock().unwrap();
                for set in done["sets"].as_array().unwrap() {
                    for snap in set["snapshots"].as_array().unwrap() {
                        if snap["keep"] == false {
                            let id = snap["id"].as_str().unwrap().to_string();
                            g.content.remove(&id);
                            g.dropped.insert(id);
                        }
                    }
                }
            }
            let out = r.run(&["--json", "prune", "--grace", "0s"]);
            assert_ok(&out);
            prunes += 1;
            forgets += 1;
        }
        let (n, slowest) = writer.join().unwrap();
        assert!(forgets >= 2, "{forgets} forgets");
        (n, slowest, prunes)
    });
    assert!(n >= 3 && prunes >= 2, "{n} backups, {prunes} prunes");
    assert!(
        slowest < Duration::from_secs(60),
        "slowest backup {slowest:?}"
    );
    kept.lock().unwrap().assert_all_restore();
    assert_check_clean(&r);
    let rep = prune(&r, &["--grace", "0s"]);
    assert_eq!(rep["packs_deleted"], 0, "converged: {rep}");
    assert!(
        r.list("pending").is_empty(),
        "{}",
        stderr(&r.run(&["check"]))
    );
}

#[test]
fn a_backup_whose_lock_was_removed_commits_no_snapshot() {
    let r = TestRepo::new();
    let mut h = History::new(&r, "db");
    h.backup(&version(ROWS, 0), "full");
    let before = h.listed();
    let xfile = r.path("x.bin");
    std::fs::write(&xfile, version(ROWS, 1)).unwrap();
    let backup = slow_backup(&r, 2, &xfile);
    // What `unlock` or another host does to a lock it judged stale: a prune may then
    // have deleted data this backup deduplicated against.
    for l in r.list("locks") {
        std::fs::remove_file(l).unwrap();
    }
    let out = backup.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lost the repository lock"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.listed(), before, "no snapshot was committed");
    h.assert_all_restore();
}
