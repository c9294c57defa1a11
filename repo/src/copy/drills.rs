//! Copying restore-drill records: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots), rule 6, and § [Drills](../../../SPEC.md#drills).
//!
//! A drill of a source snapshot is written again naming the destination's snapshot of the
//! same identity, unless the destination already has a drill of that snapshot with the
//! same `time_ns`: reruns copy nothing, and a drill run on the source after an earlier copy
//! still arrives. A drill records that the source snapshot restored at its time; the copy
//! itself decodes and re-hashes every blob or file it moves.

use crate::error::Result;
use crate::repository::Repository;
use format_spec::id::SnapshotId;
use std::collections::{HashMap, HashSet};

/// Copies the drills of the source snapshots in `mapping` (source ID → destination ID);
/// returns how many were written.
pub fn copy_drills(
    src: &Repository,
    dst: &Repository,
    mapping: &HashMap<SnapshotId, SnapshotId>,
) -> Result<u64> {
    if mapping.is_empty() {
        return Ok(0);
    }
    let mut have: HashSet<(SnapshotId, i64)> = dst
        .drills()?
        .into_iter()
        .map(|d| (d.snapshot, d.time_ns))
        .collect();
    let mut written = 0;
    for mut d in src.drills()? {
        let Some(&to) = mapping.get(&d.snapshot) else {
            continue;
        };
        if !have.insert((to, d.time_ns)) {
            continue;
        }
        d.snapshot = to;
        dst.save_drill(&d)?;
        written += 1;
    }
    Ok(written)
}
