//! Lock records: SPEC.md § [Locks](../../SPEC.md#locks).
//!
//! A running command leaves a sealed lock record (kind `Lock`) in `locks/`. Locking itself
//! (taking, refreshing, stale detection, prune's wait for older holders) lives in the
//! repository engine.

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
    /// Exclusive (excludes every other lock) or not.
    pub exclusive: bool,
    /// The command that holds it.
    pub command: String,
    /// When the holder first took the lock, ns since the epoch; the same in every refresh,
    /// so (host, pid, started_ns) names one holder across its refreshed files. Omitted
    /// when 0 (records written before the field existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub started_ns: i64,
    /// A prune lock: conflicts with other prune locks and with exclusive locks, not with
    /// shared ones, so backups run while prune does. Omitted when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prune: bool,
}

fn is_zero(x: &i64) -> bool {
    *x == 0
}

fn is_false(x: &bool) -> bool {
    !*x
}

impl LockRecord {
    /// Checks the version.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("lock", self.v, VERSION)
    }
}
