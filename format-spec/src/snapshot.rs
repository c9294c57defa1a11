//! Snapshots: SPEC.md § [Snapshots](../../SPEC.md#snapshots).
//!
//! A snapshot names the root tree of one backup and its lineage. It is a sealed MessagePack
//! map (kind `Snapshot`) in `snapshots/<BLAKE3 of the file>`, written only after every pack
//! and index it needs, so a reader that finds a snapshot finds all of its data. A snapshot
//! written by `copy` names the snapshot it copies in `original`, which is how a rerun
//! recognises what the destination already holds.

use crate::decode::check_version;
use crate::error::DecodeError;
use crate::id::{BlobId, SnapshotId};
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;

/// Backup level: what was read and compared, never how many steps a restore takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Reads every byte, trusts no earlier metadata.
    Full,
    /// Compared with the newest full of the set.
    Diff,
    /// Compared with the newest snapshot of the set.
    Incr,
}

impl Level {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diff => "diff",
            Self::Incr => "incr",
        }
    }
}

/// What a backup did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Files not in the parent.
    pub files_new: u64,
    /// Files whose metadata changed since the parent.
    pub files_changed: u64,
    /// Files reused from the parent without being read.
    pub files_unchanged: u64,
    /// Directories.
    pub dirs: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Logical size of all files in the snapshot, read or reused.
    #[serde(default)]
    pub total_bytes: u64,
    /// Plaintext bytes of blobs not already in the repository.
    pub bytes_new: u64,
    /// Bytes written to packs (sealed, compressed, padded).
    pub bytes_stored: u64,
    /// Blobs added.
    pub blobs_new: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Source entries that could not be read (exit code 3).
    pub errors: u64,
}

/// One snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Structure version (1).
    pub v: u32,
    /// Start of the backup, ns since the Unix epoch (UTC).
    pub time_ns: i64,
    /// Host name.
    pub host: String,
    /// User name.
    pub user: String,
    /// Backup set.
    pub set: String,
    /// Paths backed up (or the stdin name).
    pub paths: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Root tree blob.
    pub tree: BlobId,
    /// Level.
    pub level: Level,
    /// The snapshot this one was compared with (none for a full).
    pub parent: Option<SnapshotId>,
    /// The full this one descends from (none for a full).
    pub base: Option<SnapshotId>,
    /// Program and version that wrote it.
    pub program: String,
    /// `--command` line, when the data came from a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Exit status of that command (always 0 in a stored snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// What the backup did.
    pub summary: Summary,
    /// The snapshot this one is a copy of (`strata copy`), as named in the repository it was
    /// first written to; a copy of a copy keeps the first one's. Absent for a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<SnapshotId>,
}

impl Snapshot {
    /// Checks the version and lineage rules.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("snapshot", self.v, VERSION)?;
        if self.level == Level::Full && (self.parent.is_some() || self.base.is_some()) {
            return Err(DecodeError::Invalid {
                what: "snapshot lineage",
                reason: "a full has no parent and no base".into(),
            });
        }
        if self.exit_status.is_some_and(|c| c != 0) {
            return Err(DecodeError::Invalid {
                what: "snapshot exit_status",
                reason: "a snapshot is only written after its command succeeded".into(),
            });
        }
        if self.level != Level::Full && (self.parent.is_none() || self.base.is_none()) {
            return Err(DecodeError::Invalid {
                what: "snapshot lineage",
                reason: format!("a {} needs a parent and a base", self.level.name()),
            });
        }
        Ok(())
    }
}
