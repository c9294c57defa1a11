//! Change detection against the parent snapshot (diff and incr levels).
//!
//! The producer keeps a cursor into the parent's tree that follows its walk. A regular file
//! whose size, mtime, ctime, inode and mode equal the parent's is reused without being
//! read: its node (content references and hash) is copied, so the new snapshot is still a
//! complete tree. A parent tree that cannot be read only disables reuse below it.

use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::content::ChunkEntries;
use crate::restore::walk::load_tree;
use format_spec::id::BlobId;
use format_spec::list::ListEntry;
use format_spec::tree::{Node, NodeKind};
use std::collections::HashMap;

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

    /// The chunk list of the parent's version of file `name`, for finding delta bases;
    /// `None` when there is none or it cannot be read (the file is then stored plain).
    pub fn reference(&self, name: &[u8]) -> Option<RefVersion> {
        let old = self.lookup(name)?;
        let content = old
            .content
            .as_ref()
            .filter(|_| old.kind == NodeKind::File)?;
        let mut entries = Vec::new();
        for e in ChunkEntries::new(self.repo, self.index, content) {
            match e {
                Ok(e) => entries.push(e),
                Err(err) => {
                    tracing::warn!(error = %err, "parent version unreadable; file stored without deltas");
                    return None;
                }
            }
        }
        Some(RefVersion::new(entries))
    }

    /// Whether the parent had an entry of this name (a changed file, not a new one).
    pub fn existed(&self, name: &[u8]) -> bool {
        self.lookup(name).is_some()
    }
}

/// The parent's version of one file: its chunks in order, found by fingerprint.
pub struct RefVersion {
    entries: Vec<ListEntry>,
    by_fp: HashMap<u64, usize>,
    prev: Option<usize>,
}

impl RefVersion {
    /// Indexes level-0 entries by fingerprint (the first entry wins).
    pub fn new(entries: Vec<ListEntry>) -> Self {
        let mut by_fp = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if let Some(fp) = e.fp {
                by_fp.entry(fp).or_insert(i);
            }
        }
        Self {
            entries,
            by_fp,
            prev: None,
        }
    }

    /// Candidate bases for the next chunk of the new version (SPEC.md § Blob encodings,
    /// writer rules): the chunk with the same fingerprint, else the one after the previous
    /// chunk's match; plus its successor when the new chunk is longer.
    pub fn candidates(&mut self, fp: u64, len: usize) -> Vec<BlobId> {
        let i = match self.by_fp.get(&fp) {
            Some(&i) => i,
            None => match self.prev {
                Some(p) => p + 1,
                None => 0,
            },
        };
        self.prev = Some(i);
        let Some(e) = self.entries.get(i) else {
            return Vec::new();
        };
        let mut out = vec![e.id];
        if len as u64 > e.size {
            if let Some(next) = self.entries.get(i + 1) {
                out.push(next.id);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u8, size: u64, fp: u64) -> ListEntry {
        ListEntry {
            id: BlobId([i; 32]),
            size,
            fp: Some(fp),
        }
    }

    #[test]
    fn candidates_follow_fingerprints_then_position() {
        let mut r = RefVersion::new(vec![
            entry(0, 100, 10),
            entry(1, 100, 11),
            entry(2, 100, 12),
        ]);
        assert_eq!(r.candidates(11, 90), vec![BlobId([1; 32])]);
        // Unknown fingerprint: the entry after the previous match; longer: plus its successor.
        assert_eq!(r.candidates(99, 150), vec![BlobId([2; 32])]);
        assert_eq!(r.candidates(98, 10), Vec::<BlobId>::new());
        assert_eq!(
            r.candidates(10, 150),
            vec![BlobId([0; 32]), BlobId([1; 32])]
        );
    }
}
