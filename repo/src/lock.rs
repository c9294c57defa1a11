//! Repository locks: SPEC.md § [Locks](../../SPEC.md#locks).
//!
//! Three kinds: shared (backup, restore, check) coexist with each other and with a prune
//! lock; a prune lock (prune, forget) excludes other prune locks; an exclusive lock (repair
//! index) excludes all. A lock is refreshed every [`REFRESH`] by writing a new record and
//! deleting the old; it is stale when older than [`STALE_AFTER`] or when its holder is a
//! dead process on this host. A lock file that does not open is reported and treated as
//! stale: a damaged lock must not block the repository forever.
//!
//! A holder is (host, pid, started_ns), the same across refreshes: prune waits for every
//! holder older than its pending notice ([`live_holders`]). A writer calls
//! [`Lock::check_held`] before it commits an index or a snapshot, and stops if its lock may
//! have been given up by a prune (SPEC.md § Pruning).

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use crate::util::{hostname, now_ns, username};
use format_spec::crypto::ObjectKind;
use format_spec::limits;
use format_spec::lock::LockRecord;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a held lock is rewritten.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);
/// Age after which a lock is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// A holder whose last refresh is older than this no longer trusts its own lock.
pub const TRUST_FOR: Duration = Duration::from_secs(15 * 60);

/// What a lock excludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// Coexists with shared and prune locks.
    Shared,
    /// Excludes prune and exclusive locks (commands that delete).
    Prune,
    /// Excludes every other lock.
    Exclusive,
}

impl LockKind {
    fn of(rec: &LockRecord) -> Self {
        if rec.exclusive {
            Self::Exclusive
        } else if rec.prune {
            Self::Prune
        } else {
            Self::Shared
        }
    }

    /// Whether a lock of this kind and one of `other` cannot be held at once.
    pub fn conflicts_with(self, other: Self) -> bool {
        use LockKind::*;
        matches!(
            (self, other),
            (Exclusive, _) | (_, Exclusive) | (Prune, Prune)
        )
    }
}

/// Who holds a lock, the same across its refreshes: equal when host, pid and started_ns
/// are (the description changes with every refresh).
#[derive(Clone, Debug)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process ID.
    pub pid: u32,
    /// When the lock was first taken.
    pub started_ns: i64,
    /// For messages.
    pub description: String,
}

impl PartialEq for Holder {
    fn eq(&self, other: &Self) -> bool {
        (&self.host, self.pid, self.started_ns) == (&other.host, other.pid, other.started_ns)
    }
}

impl Eq for Holder {}

impl Holder {
    fn of(rec: &LockRecord) -> Self {
        Self {
            host: rec.host.clone(),
            pid: rec.pid,
            started_ns: rec.started_ns,
            description: describe(rec),
        }
    }
}

/// State shared with the refresher thread: the current file name and the last refresh.
struct Held {
    name: String,
    refreshed: Instant,
}

/// A held lock; dropping it removes the lock file and stops the refresher.
pub struct Lock {
    repo: Arc<Repository>,
    held: Arc<Mutex<Held>>,
    started_ns: i64,
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

/// Whether a lock record is stale.
pub fn is_stale(rec: &LockRecord, now: i64) -> bool {
    let age = now.saturating_sub(rec.time_ns);
    if age > STALE_AFTER.as_nanos() as i64 {
        return true;
    }
    if rec.host == hostname() {
        let pid = nix::unistd::Pid::from_raw(rec.pid as i32);
        return matches!(
            nix::sys::signal::kill(pid, None),
            Err(nix::errno::Errno::ESRCH)
        );
    }
    false
}

fn describe(rec: &LockRecord) -> String {
    let kind = match LockKind::of(rec) {
        LockKind::Exclusive => "exclusive",
        LockKind::Prune => "prune",
        LockKind::Shared => "shared",
    };
    let age = now_ns().saturating_sub(rec.time_ns) / 1_000_000_000;
    format!(
        "{kind} lock by {}@{} pid {} ({}), refreshed {age} s ago",
        rec.user, rec.host, rec.pid, rec.command
    )
}

fn record(kind: LockKind, command: &str, started_ns: i64) -> LockRecord {
    LockRecord {
        v: 1,
        host: hostname(),
        pid: std::process::id(),
        user: username(),
        time_ns: now_ns(),
        exclusive: kind == LockKind::Exclusive,
        command: command.into(),
        started_ns,
        prune: kind == LockKind::Prune,
    }
}

/// Reads every lock record; damaged ones are logged and returned as `None`.
pub fn list_locks(repo: &Repository) -> Result<Vec<(String, Option<LockRecord>)>> {
    let names = repo.list(FileType::Lock)?;
    let mut out = Vec::new();
    for (name, _) in names {
        match repo.load::<LockRecord>(
            FileType::Lock,
            ObjectKind::Lock,
            &name,
            limits::MAX_LOCK_FILE,
        ) {
            Ok(rec) if rec.validate().is_ok() => out.push((name, Some(rec))),
            // Released (or refreshed) between the listing and the read.
            Err(Error::Damaged { .. })
                if !repo.backend().exists(FileType::Lock, &name).unwrap_or(true) => {}
            Ok(_) | Err(Error::Damaged { .. }) => {
                tracing::warn!(lock = %name, "lock file does not open; treating it as stale");
                out.push((name, None));
            }
            Err(Error::RepoRead { cause, .. }) if cause.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Holders of locks that are not stale, other than the holder that started at `own`
/// (this process's lock, if any).
pub fn live_holders(repo: &Repository, own: Option<i64>) -> Result<Vec<Holder>> {
    let now = now_ns();
    let me = std::process::id();
    let host = hostname();
    let mut out: Vec<Holder> = Vec::new();
    for (_, rec) in list_locks(repo)? {
        let Some(rec) = rec else { continue };
        if is_stale(&rec, now) || (Some(rec.started_ns) == own && rec.pid == me && rec.host == host)
        {
            continue;
        }
        let h = Holder::of(&rec);
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

fn conflicts(repo: &Repository, kind: LockKind, own: Option<&str>) -> Result<Option<String>> {
    let now = now_ns();
    for (name, rec) in list_locks(repo)? {
        if Some(name.as_str()) == own {
            continue;
        }
        if let Some(rec) = rec {
            if kind.conflicts_with(LockKind::of(&rec)) && !is_stale(&rec, now) {
                return Ok(Some(describe(&rec)));
            }
        }
    }
    Ok(None)
}

impl Lock {
    /// Takes a shared or exclusive lock, or fails with [`Error::Locked`].
    pub fn acquire(repo: Arc<Repository>, exclusive: bool, command: &str) -> Result<Self> {
        let kind = if exclusive {
            LockKind::Exclusive
        } else {
            LockKind::Shared
        };
        Self::acquire_kind(repo, kind, command)
    }

    /// Takes a lock of any kind, or fails with [`Error::Locked`] naming the holder.
    pub fn acquire_kind(repo: Arc<Repository>, kind: LockKind, command: &str) -> Result<Self> {
        if let Some(holder) = conflicts(&repo, kind, None)? {
            return Err(Error::Locked { holder });
        }
        let started_ns = now_ns();
        let name = hex::encode(repo.save(
            FileType::Lock,
            ObjectKind::Lock,
            &record(kind, command, started_ns),
        )?);
        // Re-check after writing: two writers that both passed the first check see each other now.
        if let Some(holder) = conflicts(&repo, kind, Some(&name))? {
            let _ = repo.backend().remove(FileType::Lock, &name);
            return Err(Error::Locked { holder });
        }
        let held = Arc::new(Mutex::new(Held {
            name,
            refreshed: Instant::now(),
        }));
        let (tx, rx) = mpsc::channel::<()>();
        let refresher = {
            let repo = repo.clone();
            let held = held.clone();
            let command = command.to_string();
            std::thread::spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(REFRESH) {
                    let rec = record(kind, &command, started_ns);
                    match repo.save(FileType::Lock, ObjectKind::Lock, &rec) {
                        Ok(new) => {
                            let mut cur = held.lock().unwrap_or_else(|p| p.into_inner());
                            let _ = repo.backend().remove(FileType::Lock, &cur.name);
                            cur.name = hex::encode(new);
                            cur.refreshed = Instant::now();
                        }
                        Err(e) => tracing::warn!(error = %e, "could not refresh the lock"),
                    }
                }
            })
        };
        Ok(Self {
            repo,
            held,
            started_ns,
            stop: Some(tx),
            refresher: Some(refresher),
        })
    }

    /// When this lock was taken (its holder's `started_ns`).
    pub fn started_ns(&self) -> i64 {
        self.started_ns
    }

    /// Fails with [`Error::LockLost`] unless this lock's file still exists and was
    /// refreshed within [`TRUST_FOR`]: a holder suspended past that, or whose file was
    /// removed as stale, may have been given up by a prune (SPEC.md § Locks).
    pub fn check_held(&self) -> Result<()> {
        let (name, age) = {
            let cur = self.held.lock().unwrap_or_else(|p| p.into_inner());
            (cur.name.clone(), cur.refreshed.elapsed())
        };
        if age > TRUST_FOR {
            return Err(Error::LockLost {
                reason: format!(
                    "last refreshed {} s ago, more than {} s",
                    age.as_secs(),
                    TRUST_FOR.as_secs()
                ),
            });
        }
        let exists = self
            .repo
            .backend()
            .exists(FileType::Lock, &name)
            .map_err(|cause| Error::RepoRead {
                what: format!("lock {name}"),
                cause,
            })?;
        if !exists {
            return Err(Error::LockLost {
                reason: format!("lock file {} was removed", &name[..8.min(name.len())]),
            });
        }
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let name = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name
            .clone();
        if let Err(e) = self.repo.backend().remove(FileType::Lock, &name) {
            tracing::warn!(lock = %name, error = %e, "could not remove lock file");
        }
    }
}

/// Removes stale locks (those `is_stale` or damaged); returns how many.
pub fn remove_stale(repo: &Repository) -> Result<usize> {
    let now = now_ns();
    let mut n = 0;
    for (name, rec) in list_locks(repo)? {
        if rec.as_ref().is_none_or(|r| is_stale(r, now)) {
            repo.backend()
                .remove(FileType::Lock, &name)
                .map_err(|cause| Error::RepoWrite {
                    what: format!("lock {name}"),
                    cause,
                })?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(dir: &std::path::Path) -> Arc<Repository> {
        Arc::new(crate::repository::test_repository(dir))
    }

    #[test]
    fn prune_locks_exclude_each_other_and_exclusive_locks_but_not_shared_ones() {
        use LockKind::*;
        assert!(!Shared.conflicts_with(Shared));
        assert!(!Shared.conflicts_with(Prune) && !Prune.conflicts_with(Shared));
        assert!(Prune.conflicts_with(Prune));
        assert!(Exclusive.conflicts_with(Shared) && Prune.conflicts_with(Exclusive));
        let dir = tempfile::tempdir().unwrap();
        let repo = repo(dir.path());
        let prune = Lock::acquire_kind(repo.clone(), Prune, "prune").unwrap();
        let backup = Lock::acquire_kind(repo.clone(), Shared, "backup").unwrap();
        let second = Lock::acquire_kind(repo.clone(), Prune, "prune");
        assert!(matches!(second, Err(Error::Locked { holder }) if holder.contains("prune lock")));
        // The prune sees the backup as an older holder; the backup is one holder however
        // its description ages.
        let older = live_holders(&repo, Some(prune.started_ns())).unwrap();
        assert_eq!(older.len(), 1);
        assert!(older[0].description.contains("backup"));
        drop(backup);
        assert!(live_holders(&repo, Some(prune.started_ns()))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_lock_whose_file_was_removed_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo(dir.path());
        let lock = Lock::acquire(repo.clone(), false, "backup").unwrap();
        lock.check_held().unwrap();
        remove_all_locks(&repo);
        assert!(matches!(lock.check_held(), Err(Error::LockLost { .. })));
    }

    fn remove_all_locks(repo: &Repository) {
        for (name, _) in repo.list(FileType::Lock).unwrap() {
            repo.backend().remove(FileType::Lock, &name).unwrap();
        }
    }
}
