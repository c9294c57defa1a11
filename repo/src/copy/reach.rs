//! The blobs a source snapshot reaches: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots), rule 4, and § [Reading a
//! snapshot](../../../SPEC.md#reading-a-snapshot), step 6.
//!
//! Its root tree, every subtree, every list blob and every data blob of every file, as
//! `prune` marks them. Trees and list blobs are read from the source (metadata packs only);
//! data blobs are not read here. One [`Reached`] serves a whole copy run: a blob reached by
//! an earlier snapshot of the run was dealt with then (stored, or found in the destination),
//! so later snapshots skip it and do not read a shared tree twice.

use crate::check::walk::read_list;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::walk::load_tree;
use format_spec::blob::BlobKind;
use format_spec::id::BlobId;
use format_spec::limits;
use format_spec::list::ListEntry;
use format_spec::tree::NodeKind;
use std::collections::HashSet;

/// Blobs already reached during this copy run.
#[derive(Default)]
pub struct Reached {
    seen: HashSet<BlobId>,
}

impl Reached {
    /// Every blob the tree `root` reaches that no earlier call reached, with its kind, in
    /// walk order. A blob the source index lacks, or a tree or list blob that does not
    /// read, is an error naming it: a copy must not write a snapshot it could not prove whole.
    pub fn snapshot(
        &mut self,
        src: &Repository,
        index: &MasterIndex,
        root: &BlobId,
    ) -> Result<Vec<(BlobId, BlobKind)>> {
        let mut out = Vec::new();
        // Explicit stacks: trees nest up to MAX_TREE_DEPTH, lists up to MAX_LIST_LEVEL.
        let mut trees: Vec<(BlobId, usize)> = vec![(*root, 0)];
        let mut lists: Vec<(u8, Vec<ListEntry>)> = Vec::new();
        while let Some((id, depth)) = trees.pop() {
            if !self.reach(index, &id, BlobKind::Tree, &mut out)? {
                continue;
            }
            if depth >= limits::MAX_TREE_DEPTH {
                return Err(Error::damaged(
                    format!("tree blob {id}"),
                    std::io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
                ));
            }
            let tree = load_tree(src, index, &id)?;
            for node in tree.nodes {
                if let Some(c) = node.content {
                    lists.push((c.level, c.entries));
                }
                if node.kind == NodeKind::Dir {
                    if let Some(sub) = node.subtree {
                        trees.push((sub, depth + 1));
                    }
                }
            }
            while let Some((level, entries)) = lists.pop() {
                for e in entries {
                    if level == 0 {
                        self.reach(index, &e.id, BlobKind::Data, &mut out)?;
                    } else if self.reach(index, &e.id, BlobKind::List, &mut out)? {
                        let lb = read_list(src, index, &e.id, level, e.size)?;
                        lists.push((lb.level, lb.entries));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Records a blob; true when it is new to this run (and then its children need a walk).
    fn reach(
        &mut self,
        index: &MasterIndex,
        id: &BlobId,
        kind: BlobKind,
        out: &mut Vec<(BlobId, BlobKind)>,
    ) -> Result<bool> {
        if self.seen.contains(id) {
            return Ok(false);
        }
        match index.get(id) {
            None => Err(Error::MissingBlob {
                blob: id.to_hex(),
                needed_by: "a snapshot being copied (source repository)".into(),
            }),
            Some(loc) if loc.kind != kind => Err(Error::damaged(
                format!("blob {id} (source repository)"),
                std::io::Error::other(format!(
                    "indexed as a {:?} blob, referenced as {kind:?}",
                    loc.kind
                )),
            )),
            Some(_) => {
                self.seen.insert(*id);
                out.push((*id, kind));
                Ok(true)
            }
        }
    }
}
