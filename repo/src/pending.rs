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

impl Repository {
    /// Every pending notice, by file name. A notice that does not open is an error naming
    /// it: ignoring it could let a backup deduplicate against a pack about to be deleted.
    pub fn pending_notices(&self) -> Result<Vec<(String, PendingRecord)>> {
        let mut out = Vec::new();
        for (name, _) in self.list(FileType::Pending)? {
            let rec: PendingRecord = match self.load(
                FileType::Pending,
                ObjectKind::Pending,
                &name,
                limits::MAX_PENDING_FILE,
            ) {
                Ok(r) => r,
                // Deleted by its prune between the listing and the read: it is done.
                Err(_)
                    if !self
                        .backend()
                        .exists(FileType::Pending, &name)
                        .unwrap_or(true) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            rec.validate()
                .map_err(|e| Error::damaged(format!("pending notice {name}"), e))?;
            out.push((name, rec));
        }
        Ok(out)
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
