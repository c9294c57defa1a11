//! Which snapshots a copy writes, and in what order: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots), rules 1 and 2.
//!
//! A source snapshot is *already copied* when a destination snapshot has its identity
//! (`original`, else its own ID). The selected snapshots are closed under `parent` and
//! `base` (a copied incr needs its chain in the destination), stopping at snapshots the
//! destination already has, and ordered parents first, so that every copy can name the
//! destination's copies of its parent and base. A snapshot whose chain is broken in the
//! source (a parent forgotten with `forget --force`) is refused, and so is everything that
//! descends from it; the rest is still copied. Pure: no I/O.

use format_spec::id::SnapshotId;
use format_spec::snapshot::Snapshot;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What happens to one source snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Copy it.
    Copy,
    /// The destination already has it, as this snapshot.
    Present(SnapshotId),
    /// It cannot be copied, and why.
    Refuse(String),
}

/// One source snapshot of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The source snapshot.
    pub id: SnapshotId,
    /// The selected snapshot whose chain pulled it in (`None`: selected itself).
    pub needed_by: Option<SnapshotId>,
    /// What happens to it.
    pub action: Action,
}

/// The identity of a snapshot: what it is a copy of, else itself.
pub fn identity(id: &SnapshotId, s: &Snapshot) -> SnapshotId {
    s.original.unwrap_or(*id)
}

/// Plans a copy of `selected` (source IDs, each present in `source`). Steps come parents
/// first; the destination snapshot found for an identity is the oldest of that identity.
pub fn plan(
    source: &[(SnapshotId, Snapshot)],
    dest: &[(SnapshotId, Snapshot)],
    selected: &[SnapshotId],
) -> Vec<Step> {
    let by_id: HashMap<SnapshotId, &Snapshot> = source.iter().map(|(id, s)| (*id, s)).collect();
    let mut present: HashMap<SnapshotId, SnapshotId> = HashMap::new();
    let mut dest_sorted: Vec<&(SnapshotId, Snapshot)> = dest.iter().collect();
    dest_sorted.sort_by_key(|(id, s)| (s.time_ns, *id));
    for (id, s) in dest_sorted {
        present.entry(identity(id, s)).or_insert(*id);
    }
    let in_dest = |id: &SnapshotId| {
        by_id
            .get(id)
            .and_then(|s| present.get(&identity(id, s)).copied())
    };

    // Closure under parent and base, stopping at what the destination has.
    let mut needed: BTreeMap<SnapshotId, Option<SnapshotId>> = BTreeMap::new();
    let mut work: Vec<SnapshotId> = Vec::new();
    for id in selected {
        if by_id.contains_key(id) && needed.insert(*id, None).is_none() {
            work.push(*id);
        }
    }
    while let Some(id) = work.pop() {
        let Some(s) = by_id.get(&id) else { continue };
        if in_dest(&id).is_some() {
            continue;
        }
        let root = needed.get(&id).copied().flatten().unwrap_or(id);
        for link in [s.parent, s.base].into_iter().flatten() {
            if by_id.contains_key(&link) && !needed.contains_key(&link) {
                needed.insert(link, Some(root));
                work.push(link);
            }
        }
    }

    // Parents first: an explicit depth-first walk (chains of incrs can be long), visiting
    // the snapshots oldest first so that unrelated ones keep their time order.
    let mut order: Vec<SnapshotId> = needed.keys().copied().collect();
    order.sort_by_key(|id| (by_id.get(id).map(|s| s.time_ns), *id));
    let mut done: HashMap<SnapshotId, Action> = HashMap::new();
    // Snapshots whose links are being decided: a link back to one of them is a loop.
    let mut visiting: HashSet<SnapshotId> = HashSet::new();
    let mut steps = Vec::with_capacity(order.len());
    for start in order {
        // (snapshot, its links already pushed)
        let mut stack: Vec<(SnapshotId, bool)> = vec![(start, false)];
        while let Some((id, expanded)) = stack.pop() {
            if done.contains_key(&id) {
                continue;
            }
            let Some(s) = by_id.get(&id) else { continue };
            let links: Vec<SnapshotId> = [s.parent, s.base].into_iter().flatten().collect();
            let pending: Vec<SnapshotId> = links
                .iter()
                .filter(|l| by_id.contains_key(l) && !done.contains_key(l) && !visiting.contains(l))
                .copied()
                .collect();
            let action = if let Some(d) = in_dest(&id) {
                Action::Present(d)
            } else if !expanded && !pending.is_empty() {
                visiting.insert(id);
                stack.push((id, true));
                stack.extend(pending.into_iter().map(|l| (l, false)));
                continue;
            } else {
                decide(&id, s, &by_id, &done)
            };
            visiting.remove(&id);
            done.insert(id, action.clone());
            steps.push(Step {
                id,
                needed_by: needed.get(&id).copied().flatten(),
                action,
            });
        }
    }
    steps
}

/// The action for a snapshot the destination lacks, once its links are decided.
fn decide(
    id: &SnapshotId,
    s: &Snapshot,
    by_id: &HashMap<SnapshotId, &Snapshot>,
    done: &HashMap<SnapshotId, Action>,
) -> Action {
    for (what, link) in [("parent", s.parent), ("base", s.base)] {
        let Some(link) = link else { continue };
        if !by_id.contains_key(&link) {
            return Action::Refuse(format!(
                "its {what} {} is not in the source repository",
                link.short()
            ));
        }
        match done.get(&link) {
            Some(Action::Copy | Action::Present(_)) => {}
            Some(Action::Refuse(_)) => {
                return Action::Refuse(format!("its {what} {} cannot be copied", link.short()))
            }
            // A link still on the stack: the lineage loops back to this snapshot.
            None => {
                return Action::Refuse(format!(
                    "its lineage loops through {} ({what} of {})",
                    link.short(),
                    id.short()
                ))
            }
        }
    }
    Action::Copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::id::BlobId;
    use format_spec::snapshot::{Level, Summary};

    fn snap(t: i64, level: Level, parent: Option<u8>, base: Option<u8>) -> Snapshot {
        Snapshot {
            v: 1,
            time_ns: t,
            host: "h".into(),
            user: "u".into(),
            set: "s".into(),
            paths: vec![],
            tags: vec![],
            tree: BlobId::default(),
            level,
            parent: parent.map(id),
            base: base.map(id),
            program: "t".into(),
            command: None,
            exit_status: None,
            summary: Summary::default(),
            original: None,
        }
    }

    fn id(n: u8) -> SnapshotId {
        SnapshotId([n; 32])
    }

    /// full 1 ← diff 2 ← incr 3, and an unrelated full 9.
    fn chain() -> Vec<(SnapshotId, Snapshot)> {
        vec![
            (id(1), snap(10, Level::Full, None, None)),
            (id(2), snap(20, Level::Diff, Some(1), Some(1))),
            (id(3), snap(30, Level::Incr, Some(2), Some(1))),
            (id(9), snap(5, Level::Full, None, None)),
        ]
    }

    fn actions(steps: &[Step]) -> Vec<(u8, Action)> {
        steps
            .iter()
            .map(|s| (s.id.0[0], s.action.clone()))
            .collect()
    }

    #[test]
    fn an_incr_pulls_in_its_chain_parents_first() {
        let steps = plan(&chain(), &[], &[id(3)]);
        assert_eq!(
            actions(&steps),
            vec![(1, Action::Copy), (2, Action::Copy), (3, Action::Copy)]
        );
        assert_eq!(steps[0].needed_by, Some(id(3)));
        assert_eq!(steps[2].needed_by, None);
    }

    #[test]
    fn parents_come_first_even_when_their_clock_was_ahead() {
        let mut src = chain();
        src[0].1.time_ns = 100; // the full's host clock ran ahead
        let steps = plan(&src, &[], &[id(1), id(2), id(3), id(9)]);
        let order: Vec<u8> = steps.iter().map(|s| s.id.0[0]).collect();
        assert_eq!(order, vec![9, 1, 2, 3]);
    }

    #[test]
    fn copies_are_recognised_by_their_original_and_stop_the_closure() {
        let src = chain();
        let mut copy_of_2 = snap(20, Level::Diff, Some(7), Some(7));
        copy_of_2.original = Some(id(2));
        let mut copy_of_1 = snap(10, Level::Full, None, None);
        copy_of_1.original = Some(id(1));
        let dest = vec![(id(7), copy_of_1), (id(8), copy_of_2)];
        let steps = plan(&src, &dest, &[id(3)]);
        assert_eq!(
            actions(&steps),
            vec![
                (1, Action::Present(id(7))),
                (2, Action::Present(id(8))),
                (3, Action::Copy)
            ],
        );
        // With the diff there, copying it does not look past it.
        let only_diff = plan(&src, &dest[1..], &[id(2)]);
        assert_eq!(actions(&only_diff), vec![(2, Action::Present(id(8)))]);
        // A source snapshot that is itself a copy matches the destination's original.
        let mut back = src.clone();
        back[3].1.original = Some(id(42));
        let dest = vec![(id(42), snap(5, Level::Full, None, None))];
        assert_eq!(
            actions(&plan(&back, &dest, &[id(9)])),
            vec![(9, Action::Present(id(42)))]
        );
    }

    #[test]
    fn a_broken_chain_is_refused_with_its_descendants_only() {
        let mut src = chain();
        src.remove(1); // the diff was forgotten with --force
        src.push((id(4), snap(40, Level::Incr, Some(3), Some(1))));
        let steps = plan(&src, &[], &[id(4), id(9)]);
        let got = actions(&steps);
        assert!(got.contains(&(9, Action::Copy)));
        assert!(
            got.contains(&(1, Action::Copy)),
            "the full is still needed as base"
        );
        assert!(matches!(&got.iter().find(|(n, _)| *n == 3).unwrap().1,
            Action::Refuse(r) if r.contains("parent 02020202 is not in the source")));
        assert!(matches!(&got.iter().find(|(n, _)| *n == 4).unwrap().1,
            Action::Refuse(r) if r.contains("parent 03030303 cannot be copied")));
    }

    #[test]
    fn a_lineage_loop_is_refused_not_followed_forever() {
        let src = vec![
            (id(1), snap(10, Level::Incr, Some(2), Some(2))),
            (id(2), snap(20, Level::Incr, Some(1), Some(1))),
        ];
        let steps = plan(&src, &[], &[id(1)]);
        assert_eq!(steps.len(), 2);
        assert!(steps
            .iter()
            .all(|s| matches!(&s.action, Action::Refuse(r) if r.contains("loops") || r.contains("cannot"))));
    }
}
