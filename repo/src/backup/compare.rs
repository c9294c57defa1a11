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
use format_spec::limits::MAX_DELTA_BASES;
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
    /// Offset of each entry in the parent's version.
    starts: Vec<u64>,
    by_fp: HashMap<u64, usize>,
    /// Offset of the next chunk in the new version.
    pos: u64,
    /// Parent offset minus new offset at the last fingerprint match (where the new
    /// version's bytes sit in the old one, as far as the last match tells).
    shift: i64,
}

impl RefVersion {
    /// Indexes level-0 entries by fingerprint (the first entry wins).
    pub fn new(entries: Vec<ListEntry>) -> Self {
        let mut by_fp = HashMap::with_capacity(entries.len());
        let mut starts = Vec::with_capacity(entries.len());
        let mut at = 0u64;
        for (i, e) in entries.iter().enumerate() {
            if let Some(fp) = e.fp {
                by_fp.entry(fp).or_insert(i);
            }
            starts.push(at);
            at = at.saturating_add(e.size);
        }
        Self {
            entries,
            starts,
            by_fp,
            pos: 0,
            shift: 0,
        }
    }

    /// Candidate bases for the next chunk of the new version (SPEC.md § Blob encodings,
    /// writer rules). The chunk with the same fingerprint and its successors until they
    /// cover the new chunk's length; without a match, the old chunks covering the same
    /// bytes as placed by the last match (an edit of equal size, such as rows deleted and
    /// new ones written into the freed space, keeps the rest aligned). At most
    /// `MAX_DELTA_BASES`.
    pub fn candidates(&mut self, fp: u64, len: usize) -> Vec<BlobId> {
        let len = len as u64;
        let pos = self.pos;
        self.pos = self.pos.saturating_add(len);
        let (first, end) = match self.by_fp.get(&fp) {
            Some(&i) => {
                let start = self.starts.get(i).copied().unwrap_or_default();
                self.shift = start as i64 - pos as i64;
                (i, start.saturating_add(len))
            }
            None => {
                let from = (pos as i64 + self.shift).max(0) as u64;
                // The entry holding byte `from` (the last one starting at or before it).
                let i = self
                    .starts
                    .partition_point(|&s| s <= from)
                    .saturating_sub(1);
                (i, from.saturating_add(len))
            }
        };
        let mut out = Vec::new();
        for (e, &start) in self.entries.iter().zip(&self.starts).skip(first) {
            if out.len() == MAX_DELTA_BASES || (start >= end && !out.is_empty()) {
                break;
            }
            out.push(e.id);
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
        let id = |i: u8| BlobId([i; 32]);
        let mut r = RefVersion::new((0..6).map(|i| entry(i, 100, 10 + u64::from(i))).collect());
        // New chunk 0 (0..90) matches old entry 1 (100..200): the new version sits 100 on.
        assert_eq!(r.candidates(11, 90), vec![id(1)]);
        // No match, new 90..240 → old 190..340: entries 1, 2, 3.
        assert_eq!(r.candidates(99, 150), vec![id(1), id(2), id(3)]);
        // No match, new 240..1240 → old 340..: entries 3, 4, 5 (the rest).
        assert_eq!(r.candidates(98, 1000), vec![id(3), id(4), id(5)]);
        // A match longer than its entry takes successors, at most four.
        assert_eq!(r.candidates(10, 401), vec![id(0), id(1), id(2), id(3)]);
        // No match after it: placed by that last match (new 1641 → old 401).
        assert_eq!(r.candidates(97, 10), vec![id(4)]);
        // Past the old version's end: up to the last entry.
        assert_eq!(r.candidates(96, 10_000), vec![id(4), id(5)]);
    }
}
