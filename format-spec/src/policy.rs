//! Schedule policies: SPEC.md § [Policies](../../SPEC.md#policies).
//!
//! A policy gives a backup set's intervals for full, differential and incremental
//! snapshots. `--level auto` follows them and `report` checks them as the set's recovery
//! point objective. Policies are sealed MessagePack objects (kind `Policy`) in
//! `policies/`; for each set the one with the newest `time_ns` is in force.

use crate::decode::{check_limit, check_version};
use crate::error::DecodeError;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;
/// Longest set name, in bytes.
pub const MAX_SET_LEN: usize = 1024;

/// Intervals, in seconds, for one backup set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Structure version (1).
    pub v: u32,
    /// Backup set this policy governs.
    pub set: String,
    /// When it was set, ns since the epoch (the newest wins).
    pub time_ns: i64,
    /// A full at least this often.
    pub full_s: u64,
    /// A differential (or full) at least this often.
    pub diff_s: u64,
    /// Some snapshot at least this often.
    pub incr_s: u64,
}

impl Policy {
    /// The policy of a set that has none stored: full weekly, diff daily, incr hourly.
    pub fn default_for(set: &str) -> Self {
        Self {
            v: VERSION,
            set: set.into(),
            time_ns: 0,
            full_s: 7 * 86_400,
            diff_s: 86_400,
            incr_s: 3_600,
        }
    }

    /// Checks the version, the set name and `full_s ≥ diff_s ≥ incr_s > 0`.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_version("policy", self.v, VERSION)?;
        check_limit("policy set name", self.set.len() as u64, MAX_SET_LEN as u64)?;
        if self.set.is_empty() {
            return Err(DecodeError::Invalid {
                what: "policy set",
                reason: "empty".into(),
            });
        }
        if !(self.full_s >= self.diff_s && self.diff_s >= self.incr_s && self.incr_s > 0) {
            return Err(DecodeError::Invalid {
                what: "policy intervals",
                reason: format!(
                    "need full ≥ diff ≥ incr > 0, got {} / {} / {} s",
                    self.full_s, self.diff_s, self.incr_s
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_must_nest() {
        assert!(Policy::default_for("pg:main").validate().is_ok());
        let mut p = Policy::default_for("pg:main");
        p.incr_s = 2 * 86_400;
        assert!(matches!(p.validate(), Err(DecodeError::Invalid { .. })));
        p = Policy::default_for("");
        assert!(p.validate().is_err());
    }
}
