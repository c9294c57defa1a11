//! Listing snapshots and resolving references (`latest`, ID prefixes):
//! SPEC.md § [Snapshots](../../SPEC.md#snapshots).

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::crypto::ObjectKind;
use format_spec::id::SnapshotId;
use format_spec::limits;
use format_spec::snapshot::Snapshot;

/// Narrows `latest` and listings.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Backup set.
    pub set: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Every tag must be present.
    pub tags: Vec<String>,
    /// Level name.
    pub level: Option<String>,
}

impl Filter {
    /// Whether a snapshot passes.
    pub fn matches(&self, s: &Snapshot) -> bool {
        self.set.as_ref().is_none_or(|x| *x == s.set)
            && self.host.as_ref().is_none_or(|x| *x == s.host)
            && self.tags.iter().all(|t| s.tags.contains(t))
            && self.level.as_ref().is_none_or(|x| x == s.level.name())
    }
}

impl Repository {
    /// Loads one snapshot by ID, checking its structure.
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        let s: Snapshot = self.load(
            FileType::Snapshot,
            ObjectKind::Snapshot,
            &id.to_hex(),
            limits::MAX_SNAPSHOT_FILE,
        )?;
        s.validate()
            .map_err(|e| Error::damaged(format!("snapshot {id}"), e))?;
        Ok(s)
    }

    /// Every snapshot, oldest first. A damaged snapshot is an error naming it; one deleted
    /// between the listing and its read is left out.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let names = self.list(FileType::Snapshot)?;
        let mut out = Vec::with_capacity(names.len());
        for (name, _) in names {
            let id: SnapshotId = name
                .parse()
                .map_err(|e| Error::damaged(format!("snapshot file name {name}"), e))?;
            match self.load_snapshot(&id) {
                Ok(s) => out.push((id, s)),
                // Forgotten between the listing and the read (forget runs beside backups).
                Err(_)
                    if !self
                        .backend()
                        .exists(FileType::Snapshot, &name)
                        .unwrap_or(true) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by_key(|(id, s)| (s.time_ns, *id));
        Ok(out)
    }

    /// Resolves `latest` or a hex prefix (≥ 4 characters) to one snapshot.
    pub fn resolve_snapshot(
        &self,
        reference: &str,
        filter: &Filter,
    ) -> Result<(SnapshotId, Snapshot)> {
        let err = |reason: &str| Error::SnapshotRef {
            reference: reference.into(),
            reason: reason.into(),
        };
        if reference == "latest" {
            return self
                .snapshots()?
                .into_iter()
                .filter(|(_, s)| filter.matches(s))
                .max_by_key(|(id, s)| (s.time_ns, *id))
                .ok_or_else(|| err("no snapshot matches"));
        }
        let lower = reference.to_ascii_lowercase();
        if lower.len() < 4 || lower.len() > 64 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(
                "expected `latest` or at least 4 hex characters of a snapshot ID",
            ));
        }
        let names = self.list(FileType::Snapshot)?;
        let hits: Vec<&String> = names
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&lower))
            .collect();
        match hits.as_slice() {
            [one] => {
                let id: SnapshotId = one
                    .parse()
                    .map_err(|e| Error::damaged(format!("snapshot file name {one}"), e))?;
                Ok((id, self.load_snapshot(&id)?))
            }
            [] => Err(err("no snapshot has this ID prefix")),
            _ => Err(err("prefix is ambiguous; give more characters")),
        }
    }
}
