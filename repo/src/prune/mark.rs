//! Marking the needed blobs: SPEC.md § [Pruning](../../../SPEC.md#pruning), step 3.
//!
//! A blob is needed when a snapshot reaches it (root tree, subtrees, list blobs, data
//! blobs) or it is a base of a needed delta, transitively, through the copy the index
//! chooses. Each tree and list blob is read once however many snapshots share it, and the
//! marks carry over to the second mark (step 8), which then reads only what new snapshots
//! add. Anything that cannot be proven (a blob no index holds, a tree that does not read)
//! is an error: prune must not delete what it could not see.

use crate::check::walk::read_list;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::walk::load_tree;
use format_spec::blob::BlobKind;
use format_spec::id::{BlobId, SnapshotId};
use format_spec::limits;
use format_spec::list::ListEntry;
use format_spec::tree::NodeKind;
use std::collections::HashSet;

/// Blobs found needed so far, and the tree and list blobs already walked.
#[derive(Default)]
pub struct Marks {
    /// Every needed blob (trees, lists, data, delta bases).
    pub needed: HashSet<BlobId>,
    walked: HashSet<BlobId>,
}

fn refuse(object: String, reason: impl Into<String>) -> Error {
    Error::PruneRefused {
        object,
        reason: reason.into(),
    }
}

/// A damaged read becomes a refusal naming the blob and the snapshot.
fn refused(snapshot: &SnapshotId, id: &BlobId, e: Error) -> Error {
    refuse(
        format!("blob {} (snapshot {})", id.short(), snapshot.short()),
        format!("{e:#}"),
    )
}

impl Marks {
    /// Whether a blob is needed.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.needed.contains(id)
    }

    fn need(
        &mut self,
        index: &MasterIndex,
        snapshot: &SnapshotId,
        id: &BlobId,
        kind: BlobKind,
    ) -> Result<()> {
        match index.get(id) {
            None => Err(refuse(
                format!("blob {} (snapshot {})", id, snapshot.short()),
                "needed but not in any index; run `strata check`",
            )),
            Some(loc) if loc.kind != kind => Err(refuse(
                format!("blob {} (snapshot {})", id, snapshot.short()),
                format!("indexed as {:?}, referenced as {kind:?}", loc.kind),
            )),
            Some(_) => {
                self.needed.insert(*id);
                Ok(())
            }
        }
    }

    /// Marks everything snapshot `snapshot` (root tree `root`) reaches.
    pub fn snapshot(
        &mut self,
        repo: &Repository,
        index: &MasterIndex,
        snapshot: &SnapshotId,
        root: &BlobId,
    ) -> Result<()> {
        // An explicit stack: trees nest up to MAX_TREE_DEPTH, lists up to MAX_LIST_LEVEL.
        let mut trees: Vec<(BlobId, usize)> = vec![(*root, 0)];
        while let Some((id, depth)) = trees.pop() {
            if !self.walked.insert(id) {
                continue;
            }
            self.need(index, snapshot, &id, BlobKind::Tree)?;
            if depth >= limits::MAX_TREE_DEPTH {
                return Err(refuse(
                    format!("tree blob {}", id.short()),
                    "directories nest deeper than MAX_TREE_DEPTH",
                ));
            }
            let tree = load_tree(repo, index, &id).map_err(|e| refused(snapshot, &id, e))?;
            for node in &tree.nodes {
                if let Some(c) = &node.content {
                    self.entries(repo, index, snapshot, c.level, &c.entries)?;
                }
                if node.kind == NodeKind::Dir {
                    if let Some(sub) = &node.subtree {
                        trees.push((*sub, depth + 1));
                    }
                }
            }
        }
        Ok(())
    }

    fn entries(
        &mut self,
        repo: &Repository,
        index: &MasterIndex,
        snapshot: &SnapshotId,
        level: u8,
        entries: &[ListEntry],
    ) -> Result<()> {
        let mut stack: Vec<(u8, Vec<ListEntry>)> = Vec::new();
        let visit = |this: &mut Self, level: u8, entries: &[ListEntry], stack: &mut Vec<_>| {
            for e in entries {
                if level == 0 {
                    this.need(index, snapshot, &e.id, BlobKind::Data)?;
                } else if this.walked.insert(e.id) {
                    this.need(index, snapshot, &e.id, BlobKind::List)?;
                    let lb = read_list(repo, index, &e.id, level, e.size)
                        .map_err(|err| refused(snapshot, &e.id, err))?;
                    stack.push((lb.level, lb.entries));
                }
            }
            Ok::<(), Error>(())
        };
        visit(self, level, entries, &mut stack)?;
        while let Some((level, entries)) = stack.pop() {
            visit(self, level, &entries, &mut stack)?;
        }
        Ok(())
    }

    /// Adds the bases of every needed delta (as the index chooses its copy), transitively.
    /// A base no index holds is an error naming the delta.
    pub fn close_bases(&mut self, index: &MasterIndex) -> Result<()> {
        let mut work: Vec<BlobId> = self
            .needed
            .iter()
            .filter(|id| !index.bases(id).is_empty())
            .copied()
            .collect();
        while let Some(id) = work.pop() {
            for base in index.bases(&id) {
                if !index.contains(base) {
                    return Err(refuse(
                        format!("delta blob {id}"),
                        format!("its base {base} is not in any index"),
                    ));
                }
                if self.needed.insert(*base) {
                    work.push(*base);
                }
            }
        }
        Ok(())
    }
}
