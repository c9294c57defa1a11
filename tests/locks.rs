//! Locks: an exclusive lock held by a live process blocks a backup (exit 11); a stale one
//! (dead PID on this host) does not, and `unlock` removes only stale locks.

mod support;

use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repository::Repository;
use support::*;

fn write_lock(r: &TestRepo, pid: u32, exclusive: bool) {
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let rec = format_spec::lock::LockRecord {
        v: 1,
        host: gethostname(),
        pid,
        user: "test".into(),
        time_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64,
        exclusive,
        command: "prune".into(),
        started_ns: 0,
        prune: false,
    };
    repo.save(FileType::Lock, format_spec::crypto::ObjectKind::Lock, &rec)
        .unwrap();
}

fn gethostname() -> String {
    strata_repo::util::hostname()
}

#[test]
fn live_exclusive_lock_blocks_backup_with_exit_11() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    write_lock(&r, std::process::id(), true); // this test process is alive
    let out = r.run(&["backup", src.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("exclusive lock"));
    assert!(r.list("snapshots").is_empty());
    // unlock leaves a live lock alone.
    assert_ok(&r.run(&["unlock"]));
    assert_eq!(r.list("locks").len(), 1);
}

#[test]
fn stale_lock_of_dead_process_is_ignored_and_unlocked() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    write_lock(&r, dead, true);
    assert_ok(&r.run(&["backup", src.to_str().unwrap()]));
    assert_eq!(r.list("locks").len(), 1, "backup removed its own lock only");
    assert_ok(&r.run(&["unlock"]));
    assert!(r.list("locks").is_empty());
}

#[test]
fn shared_locks_coexist() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    write_lock(&r, std::process::id(), false);
    assert_ok(&r.run(&["backup", src.to_str().unwrap()]));
}
