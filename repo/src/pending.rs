//! Pending notices: SPEC.md § [Pending deletions](../../SPEC.md#pending-deletions).
//!
//! Prune announces the packs it is about to delete before it waits for older lock holders
//! and deletes them. Every index load reads the notices, so readers choose copies outside
//! announced packs and backups do not add references to blobs only they hold.

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use crate::util::{hostname, now_ns};
use format_spec::crypto::ObjectKind;
use format_spec::id::PackId;
use format_spec::limits;
use format_spec::pending::{PendingRecord, VERSION};
use std::collections::HashSet;

/// Notices that opened (by file name), and the names and errors of those that did not.
pub type PendingNotices = (Vec<(String, PendingRecord)>, Vec<(String, Error)>);

impl Repository {
    /// Every pending notice, by file name. A notice that does not open is an error naming
    /// it: ignoring it could let a backup deduplicate against a pack about to be deleted.
    pub fn pending_notices(&self) -> Result<Vec<(String, PendingRecord)>> {
        let (good, damaged) = self.pending_notices_checked()?;
        match damaged.into_iter().next() {
            Some((name, e)) => Err(Error::PendingDamaged {
                name,
                cause: Box::new(e),
            }),
            None => Ok(good),
        }
    }

    /// The notices that open, and the names and errors of those that do not. Only a prune,
    /// holding the prune lock, may go on past a damaged one: every notice then present was
    /// written by a prune that is no longer running, and this prune supersedes it.
    pub fn pending_notices_checked(&self) -> Result<PendingNotices> {
        let (mut good, mut damaged) = (Vec::new(), Vec::new());
        for (name, _) in self.list(FileType::Pending)? {
            let loaded = self
                .load::<PendingRecord>(
                    FileType::Pending,
                    ObjectKind::Pending,
                    &name,
                    limits::MAX_PENDING_FILE,
                )
                .and_then(|rec| {
                    rec.validate()
                        .map(|()| rec)
                        .map_err(|e| Error::damaged(format!("pending notice {name}"), e))
                });
            match loaded {
                Ok(rec) => good.push((name, rec)),
                // Deleted by its prune between the listing and the read: it is done.
                Err(_)
                    if !self
                        .backend()
                        .exists(FileType::Pending, &name)
                        .unwrap_or(true) => {}
                Err(e @ Error::RepoRead { .. }) => return Err(e),
                Err(e) => damaged.push((name, e)),
            }
        }
        Ok((good, damaged))
    }

    /// The packs any pending notice names.
    pub fn pending_packs(&self) -> Result<HashSet<PackId>> {
        Ok(self
            .pending_notices()?
            .into_iter()
            .flat_map(|(_, r)| r.packs)
            .collect())
    }

    /// Writes a notice announcing `packs`; returns its file name.
    pub fn write_pending(&self, packs: Vec<PackId>) -> Result<String> {
        let rec = PendingRecord {
            v: VERSION,
            time_ns: now_ns(),
            host: hostname(),
            packs,
        };
        Ok(hex::encode(self.save(
            FileType::Pending,
            ObjectKind::Pending,
            &rec,
        )?))
    }
}
