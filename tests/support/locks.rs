//! Writing lock records and pending notices directly, as another process would.

use super::{TestRepo, PASSWORD};
use format_spec::crypto::ObjectKind;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::repository::Repository;

fn open(r: &TestRepo) -> Repository {
    Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap()
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Writes a lock record held by `pid` on this host; returns its file name.
pub fn write_lock(r: &TestRepo, pid: u32, exclusive: bool, prune: bool) -> String {
    let repo = open(r);
    let rec = format_spec::lock::LockRecord {
        v: 1,
        host: strata_repo::util::hostname(),
        pid,
        user: "test".into(),
        time_ns: now_ns(),
        exclusive,
        command: if prune { "prune" } else { "backup" }.into(),
        started_ns: now_ns(),
        prune,
    };
    hex::encode(repo.save(FileType::Lock, ObjectKind::Lock, &rec).unwrap())
}

/// Writes a pending notice naming every pack present.
pub fn write_pending_for_all_packs(r: &TestRepo) {
    let repo = open(r);
    let packs = repo
        .list(FileType::Pack)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n.parse().unwrap())
        .collect();
    repo.write_pending(packs).unwrap();
}
