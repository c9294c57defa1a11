//! Restore drills: SPEC.md § [Drills](../../SPEC.md#drills).
//!
//! A drill records one run of `strata verify`: which snapshot was reassembled, whether every
//! blob, file size and content hash checked out (and, optionally, whether a restore command
//! accepted a dumped file), and how much was read. Drills are sealed MessagePack objects
//! (kind `Drill`) in `drills/`, so `snapshots` can show the last verification of each
//! snapshot and `report` the last successful drill of each backup set. A failed drill is
//! recorded too: "tried and failed" is different from "never tried".

use crate::decode::{check_limit, check_version};
use crate::error::DecodeError;
use crate::id::SnapshotId;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;
/// Longest set name, in bytes (as for policies).
pub const MAX_SET_LEN: usize = crate::policy::MAX_SET_LEN;

/// The outcome of one restore drill of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drill {
    /// Structure version (1).
    pub v: u32,
    /// The snapshot that was reassembled.
    pub snapshot: SnapshotId,
    /// That snapshot's backup set (so `report` needs no snapshot to find it).
    pub set: String,
    /// When the drill started, ns since the epoch.
    pub time_ns: i64,
    /// The `--restore-command` a dumped file was piped into, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The snapshot path piped into `command`, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether the drill passed.
    pub ok: bool,
    /// Why it failed; present exactly when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Files reassembled.
    pub files: u64,
    /// Content bytes reassembled.
    pub bytes: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

impl Drill {
    /// Checks the version, the set name's length, and that `error` is present iff `!ok`.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("drill", self.v, VERSION)?;
        check_limit("drill set name", self.set.len() as u64, MAX_SET_LEN as u64)?;
        match (self.ok, &self.error) {
            (true, Some(_)) => Err(DecodeError::Invalid {
                what: "drill error",
                reason: "a successful drill carries no error".into(),
            }),
            (false, None) => Err(DecodeError::Invalid {
                what: "drill error",
                reason: "a failed drill must say why".into(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Drill {
        Drill {
            v: VERSION,
            snapshot: SnapshotId([1; 32]),
            set: "pg:main".into(),
            time_ns: 1,
            command: None,
            path: None,
            ok: true,
            error: None,
            files: 1,
            bytes: 10,
            duration_ms: 3,
        }
    }

    #[test]
    fn error_present_iff_failed() {
        assert!(ok().validate().is_ok());
        let mut d = ok();
        d.error = Some("boom".into());
        assert!(matches!(d.validate(), Err(DecodeError::Invalid { .. })));
        d.ok = false;
        assert!(d.validate().is_ok());
        d.error = None;
        assert!(matches!(d.validate(), Err(DecodeError::Invalid { .. })));
    }

    #[test]
    fn version_and_set_length() {
        let mut d = ok();
        d.v = 2;
        assert!(matches!(d.validate(), Err(DecodeError::Version { .. })));
        let mut d = ok();
        d.set = "x".repeat(MAX_SET_LEN + 1);
        assert!(matches!(d.validate(), Err(DecodeError::TooLarge { .. })));
    }
}
