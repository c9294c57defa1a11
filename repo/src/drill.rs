//! Stored restore-drill records: SPEC.md § [Drills](../../SPEC.md#drills).
//!
//! Drills are never modified: each `verify` of a snapshot adds one. Readers order them by
//! `time_ns` (ties broken by file name, so every reader picks the same one).

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::crypto::ObjectKind;
use format_spec::drill::Drill;
use format_spec::id::SnapshotId;
use format_spec::limits;
use std::collections::BTreeMap;

/// The newest of two drills: greater `time_ns`, then the later of the list order.
fn newer(old: Option<&Drill>, new: &Drill) -> bool {
    old.is_none_or(|o| new.time_ns >= o.time_ns)
}

impl Repository {
    /// Stores a drill; returns its file name.
    pub fn save_drill(&self, d: &Drill) -> Result<String> {
        d.validate()
            .map_err(|e| Error::Usage(format!("drill: {e}")))?;
        let name = self.save(FileType::Drill, ObjectKind::Drill, d)?;
        Ok(hex::encode(name))
    }

    /// Every stored drill, oldest first. A damaged drill is an error naming its file.
    pub fn drills(&self) -> Result<Vec<Drill>> {
        let names = self.list(FileType::Drill)?;
        let mut out = Vec::with_capacity(names.len());
        for (name, _) in names {
            let d: Drill = self.load(
                FileType::Drill,
                ObjectKind::Drill,
                &name,
                limits::MAX_DRILL_FILE,
            )?;
            d.validate()
                .map_err(|e| Error::damaged(format!("drill {name}"), e))?;
            out.push(d);
        }
        // Stable: equal times keep the (sorted) name order of `list`.
        out.sort_by_key(|d| d.time_ns);
        Ok(out)
    }
}

/// The newest drill of each snapshot, passed or failed.
pub fn last_per_snapshot(drills: &[Drill]) -> BTreeMap<SnapshotId, Drill> {
    let mut out: BTreeMap<SnapshotId, Drill> = BTreeMap::new();
    for d in drills {
        if newer(out.get(&d.snapshot), d) {
            out.insert(d.snapshot, d.clone());
        }
    }
    out
}

/// The newest successful drill of each backup set.
pub fn last_ok_per_set(drills: &[Drill]) -> BTreeMap<String, Drill> {
    let mut out: BTreeMap<String, Drill> = BTreeMap::new();
    for d in drills.iter().filter(|d| d.ok) {
        if newer(out.get(&d.set), d) {
            out.insert(d.set.clone(), d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(snap: u8, set: &str, time_ns: i64, ok: bool) -> Drill {
        Drill {
            v: 1,
            snapshot: SnapshotId([snap; 32]),
            set: set.into(),
            time_ns,
            command: None,
            path: None,
            ok,
            error: (!ok).then(|| "damaged".to_string()),
            files: 0,
            bytes: 0,
            duration_ms: 0,
        }
    }

    #[test]
    fn newest_per_snapshot_and_newest_ok_per_set() {
        let all = vec![
            drill(1, "a", 10, true),
            drill(1, "a", 20, false),
            drill(2, "a", 15, true),
            drill(3, "b", 5, false),
        ];
        let per_snap = last_per_snapshot(&all);
        assert_eq!(per_snap.len(), 3);
        assert!(
            !per_snap[&SnapshotId([1; 32])].ok,
            "the later, failed drill wins"
        );
        let per_set = last_ok_per_set(&all);
        assert_eq!(per_set.len(), 1, "set b has no successful drill");
        assert_eq!(per_set["a"].time_ns, 15);
        assert_eq!(per_set["a"].snapshot, SnapshotId([2; 32]));
    }
}
