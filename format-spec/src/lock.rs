//! Lock records: SPEC.md § [Locks](../../SPEC.md#locks).
//!
//! A running command leaves a sealed lock record (kind `Lock`) in `locks/`. Locking itself
//! (taking, refreshing, stale detection) lives in the repository engine.

use crate::decode::check_version;
use crate::error::DecodeError;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;

/// Who holds a lock, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Structure version (1).
    pub v: u32,
    /// Host name of the holder.
    pub host: String,
    /// Process ID of the holder.
    pub pid: u32,
    /// User of the holder.
    pub user: String,
    /// Last refresh, ns since the epoch.
    pub time_ns: i64,
    /// Exclusive (prune) or shared (everything else that writes).
    pub exclusive: bool,
    /// The command that holds it.
    pub command: String,
}

impl LockRecord {
    /// Checks the version.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("lock", self.v, VERSION)
    }
}
