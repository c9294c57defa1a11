//! Repository locks: SPEC.md § [Locks](../../SPEC.md#locks).
//!
//! Shared locks (backup, restore, check) coexist; an exclusive lock (prune) excludes all.
//! A lock is refreshed every [`REFRESH`] by writing a new record and deleting the old; it
//! is stale when older than [`STALE_AFTER`] or when its holder is a dead process on this
//! host. A lock file that does not open is reported and treated as stale: a damaged lock
//! must not block the repository forever.

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
use std::time::Duration;

/// How often a held lock is rewritten.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);
/// Age after which a lock is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);

/// A held lock; dropping it removes the lock file and stops the refresher.
pub struct Lock {
    repo: Arc<Repository>,
    name: Arc<Mutex<String>>,
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
    format!(
        "{} lock by {}@{} pid {} ({})",
        if rec.exclusive { "exclusive" } else { "shared" },
        rec.user,
        rec.host,
        rec.pid,
        rec.command
    )
}

fn record(exclusive: bool, command: &str) -> LockRecord {
    LockRecord {
        v: 1,
        host: hostname(),
        pid: std::process::id(),
        user: username(),
        time_ns: now_ns(),
        exclusive,
        command: command.into(),
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

fn conflicts(repo: &Repository, exclusive: bool, own: Option<&str>) -> Result<Option<String>> {
    let now = now_ns();
    for (name, rec) in list_locks(repo)? {
        if Some(name.as_str()) == own {
            continue;
        }
        if let Some(rec) = rec {
            if (exclusive || rec.exclusive) && !is_stale(&rec, now) {
                return Ok(Some(describe(&rec)));
            }
        }
    }
    Ok(None)
}

impl Lock {
    /// Takes a lock, or fails with [`Error::Locked`].
    pub fn acquire(repo: Arc<Repository>, exclusive: bool, command: &str) -> Result<Self> {
        if let Some(holder) = conflicts(&repo, exclusive, None)? {
            return Err(Error::Locked { holder });
        }
        let name = hex::encode(repo.save(
            FileType::Lock,
            ObjectKind::Lock,
            &record(exclusive, command),
        )?);
        // Re-check after writing: two writers that both passed the first check see each other now.
        if let Some(holder) = conflicts(&repo, exclusive, Some(&name))? {
            let _ = repo.backend().remove(FileType::Lock, &name);
            return Err(Error::Locked { holder });
        }
        let name = Arc::new(Mutex::new(name));
        let (tx, rx) = mpsc::channel::<()>();
        let refresher = {
            let repo = repo.clone();
            let name = name.clone();
            let command = command.to_string();
            std::thread::spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(REFRESH) {
                    if let Ok(new) = repo.save(
                        FileType::Lock,
                        ObjectKind::Lock,
                        &record(exclusive, &command),
                    ) {
                        let mut cur = name.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = repo.backend().remove(FileType::Lock, &cur);
                        *cur = hex::encode(new);
                    }
                }
            })
        };
        Ok(Self {
            repo,
            name,
            stop: Some(tx),
            refresher: Some(refresher),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let name = self.name.lock().unwrap_or_else(|p| p.into_inner()).clone();
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
