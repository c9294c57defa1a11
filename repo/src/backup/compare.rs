//! Change detection against the parent snapshot (diff and incr levels).
//!
//! The producer keeps a cursor into the parent's tree that follows its walk. A regular file
//! whose size, mtime, ctime, inode and mode equal the parent's is reused without being
//! read: its node (content references and hash) is copied, so the new snapshot is still a
//! complete tree. A parent tree that cannot be read only disables reuse below it.

use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::walk::load_tree;
use format_spec::id::BlobId;
use format_spec::tree::{Node, NodeKind};

/// Follows the producer's walk through the parent snapshot's trees.
pub struct ParentCursor<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    stack: Vec<Option<Vec<Node>>>,
}

impl<'a> ParentCursor<'a> {
    /// A cursor at the parent's root tree.
    pub fn new(repo: &'a Repository, index: &'a MasterIndex, root: &BlobId) -> Self {
        let mut c = Self {
            repo,
            index,
            stack: Vec::new(),
        };
        c.stack.push(c.load(root));
        c
    }

    fn load(&self, id: &BlobId) -> Option<Vec<Node>> {
        match load_tree(self.repo, self.index, id) {
            Ok(t) => Some(t.nodes),
            Err(e) => {
                tracing::warn!(tree = %id, error = %e, "parent tree unreadable; files below it are read in full");
                None
            }
        }
    }

    /// The parent's node of that name in the current directory.
    pub fn lookup(&self, name: &[u8]) -> Option<&Node> {
        let nodes = self.stack.last()?.as_ref()?;
        nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
            .and_then(|i| nodes.get(i))
    }

    /// Descends into the directory `name`.
    pub fn enter(&mut self, name: &[u8]) {
        let sub = self
            .lookup(name)
            .filter(|n| n.kind == NodeKind::Dir)
            .and_then(|n| n.subtree);
        let next = sub.and_then(|id| self.load(&id));
        self.stack.push(next);
    }

    /// Leaves the current directory.
    pub fn exit(&mut self) {
        self.stack.pop();
    }

    /// The parent's node for `new` when the file is unchanged and all its content is still
    /// indexed; the returned node carries the parent's content and hash.
    pub fn unchanged(&self, new: &Node) -> Option<Node> {
        let old = self.lookup(&new.name)?;
        let same = old.kind == NodeKind::File
            && new.kind == NodeKind::File
            && old.size == new.size
            && old.mtime_ns == new.mtime_ns
            && old.ctime_ns == new.ctime_ns
            && old.inode == new.inode
            && old.mode == new.mode;
        let content = old.content.as_ref()?;
        if !same || !content.entries.iter().all(|e| self.index.contains(&e.id)) {
            return None;
        }
        let mut node = new.clone();
        node.content = Some(content.clone());
        node.hash = old.hash;
        Some(node)
    }

    /// Whether the parent had an entry of this name (a changed file, not a new one).
    pub fn existed(&self, name: &[u8]) -> bool {
        self.lookup(name).is_some()
    }
}
