//! Chain closure: SPEC.md § [Retention](../../../SPEC.md#retention), *Union and closure*.
//!
//! Whatever keeps a snapshot, its `parent` and `base` stay too, transitively, so no
//! remaining snapshot's lineage is ever removed by `forget`. Snapshots out of scope are
//! seeds as well: they always remain, so their ancestors in scope must too.

use super::{newest_first, Link, MissingLink, Snap};
use format_spec::id::SnapshotId;
use format_spec::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// What closing the kept set added.
#[derive(Debug, Default)]
pub(crate) struct Closure {
    /// Snapshots in scope pulled in, with their one reason (`parent of …`, `base of …`).
    pub pulled: BTreeMap<SnapshotId, String>,
    /// Links of remaining snapshots that name no existing snapshot.
    pub missing: Vec<MissingLink>,
}

/// Closes `kept` under `parent` and `base`. `candidates` are the snapshots that may be
/// removed; every snapshot outside it, and every one in `kept`, is a seed. The queue runs
/// newest first over the seeds, then in the order snapshots were pulled in, so each pulled
/// snapshot names the first one that needed it.
pub(crate) fn close(
    all: &[Snap],
    candidates: &BTreeSet<SnapshotId>,
    kept: &BTreeSet<SnapshotId>,
) -> Closure {
    let by_id: HashMap<SnapshotId, &Snapshot> = all.iter().map(|(i, s)| (*i, s)).collect();
    let mut seeds: Vec<&Snap> = all
        .iter()
        .filter(|(id, _)| !candidates.contains(id) || kept.contains(id))
        .collect();
    newest_first(&mut seeds);
    let mut queue: VecDeque<SnapshotId> = seeds.iter().map(|(id, _)| *id).collect();
    let mut out = Closure::default();
    while let Some(id) = queue.pop_front() {
        let Some(s) = by_id.get(&id) else { continue };
        for (link, target) in [(Link::Parent, s.parent), (Link::Base, s.base)] {
            let Some(t) = target else { continue };
            if !by_id.contains_key(&t) {
                out.missing.push(MissingLink {
                    snapshot: id,
                    link,
                    missing: t,
                });
                continue;
            }
            if candidates.contains(&t) && !kept.contains(&t) && !out.pulled.contains_key(&t) {
                out.pulled
                    .insert(t, format!("{} of {}", link.name(), id.short()));
                queue.push_back(t);
            }
        }
    }
    out
}
