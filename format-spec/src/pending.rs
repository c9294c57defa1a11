//! Pending deletions: SPEC.md § [Pending deletions](../../SPEC.md#pending-deletions).
//!
//! Before prune deletes a pack it announces it in a sealed notice (kind `Pending`) in
//! `pending/`. A backup that starts after the notice is durable does not deduplicate
//! against, or take delta bases from, blobs stored only in announced packs; prune then
//! waits for every lock holder older than the notice before it deletes anything. Readers
//! prefer a copy of a blob outside announced packs.

use crate::decode::check_version;
use crate::error::DecodeError;
use crate::id::PackId;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;

/// Packs one prune run is about to delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRecord {
    /// Structure version (1).
    pub v: u32,
    /// When the notice was written, ns since the epoch.
    pub time_ns: i64,
    /// Host of the prune that wrote it.
    pub host: String,
    /// The packs announced for deletion.
    pub packs: Vec<PackId>,
}

impl PendingRecord {
    /// Checks the version.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("pending", self.v, VERSION)
    }
}
