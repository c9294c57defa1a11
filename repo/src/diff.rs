//! Comparing two snapshots (`strata diff`): SPEC.md § [Trees](../../SPEC.md#trees) and
//! § [Lists](../../SPEC.md#lists).
//!
//! Both root trees are walked together. Tree nodes are strictly sorted by name bytes, so
//! each directory is a merge of two sorted lists: a name on one side only is added or
//! removed (with everything under it), a name on both sides is compared field by field. A
//! subtree whose blob ID is the same on both sides has identical content by construction
//! and is skipped without being read, so a diff reads only the directories on the way to a
//! change, not the whole snapshot.
//!
//! For a regular file whose content changed, the changed byte ranges come from the chunk
//! lists alone (no data blob is read): the ranges of the new file covered by chunks the old
//! file does not contain, adjacent ones merged. Chunking is content-defined, so an edit in
//! the middle of a large file changes only the chunks around it, and the ranges point at the
//! edit rather than at the whole file.

use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::content::ChunkEntries;
use crate::restore::walk::load_tree;
use format_spec::id::BlobId;
use format_spec::limits;
use format_spec::tree::{Node, NodeKind};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Range;

/// What happened to a path between the two snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Only in the new snapshot.
    Added,
    /// Only in the old snapshot.
    Removed,
    /// In both, with some [`Field`] different.
    Modified,
}

/// A node field whose difference makes a path modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The node type (file, dir, symlink, …); when it differs, nothing else is compared.
    Type,
    /// The size of a regular file.
    Size,
    /// Permission bits (`st_mode`).
    Mode,
    /// Modification time.
    Mtime,
    /// A regular file's content (its chunk references differ).
    Content,
    /// A symlink's target.
    Link,
}

impl Field {
    /// Lower-case name, as in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Type => "type",
            Self::Size => "size",
            Self::Mode => "mode",
            Self::Mtime => "mtime",
            Self::Content => "content",
            Self::Link => "link",
        }
    }
}

/// One changed path.
#[derive(Clone, Debug)]
pub struct Change {
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// Path from the snapshot root, one name per component.
    pub path: Vec<Vec<u8>>,
    /// The node in the new snapshot (the old one for a removal).
    pub node: Node,
    /// The node in the old snapshot, for a modification.
    pub old: Option<Node>,
    /// The fields that differ (modifications only).
    pub fields: Vec<Field>,
    /// Byte ranges of the new file (half-open, ascending, not touching) covered by chunks
    /// the old file does not contain; empty unless both sides are regular files whose
    /// content differs.
    pub changed_ranges: Vec<Range<u64>>,
}

/// Counts over a whole diff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffStats {
    /// Paths only in the new snapshot.
    pub added: u64,
    /// Paths only in the old snapshot.
    pub removed: u64,
    /// Paths in both whose fields differ.
    pub modified: u64,
    /// Total size of the regular files added.
    pub added_bytes: u64,
    /// Total size of the regular files removed.
    pub removed_bytes: u64,
    /// Total length of the changed ranges of modified files.
    pub changed_bytes: u64,
    /// Tree blobs read.
    pub trees_read: u64,
    /// Directories skipped because both sides name the same tree blob.
    pub trees_skipped: u64,
}

/// The result of [`diff`]: changes in depth-first name order (a directory before its
/// entries), and counts.
#[derive(Clone, Debug, Default)]
pub struct Diff {
    /// Every changed path.
    pub changes: Vec<Change>,
    /// Counts.
    pub stats: DiffStats,
}

/// Compares the trees rooted at `old` and `new` (normally two snapshots' `tree`).
///
/// # Errors
///
/// Any tree or list blob that cannot be read or decoded, naming it.
pub fn diff(repo: &Repository, index: &MasterIndex, old: &BlobId, new: &BlobId) -> Result<Diff> {
    let mut d = Differ {
        repo,
        index,
        out: Diff::default(),
    };
    d.trees(old, new, &mut Vec::new())?;
    Ok(d.out)
}

struct Differ<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    out: Diff,
}

fn too_deep(id: &BlobId) -> Error {
    Error::damaged(
        format!("tree blob {id}"),
        std::io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
    )
}

impl Differ<'_> {
    fn load(&mut self, id: &BlobId, depth: usize) -> Result<Vec<Node>> {
        if depth >= limits::MAX_TREE_DEPTH {
            return Err(too_deep(id));
        }
        self.out.stats.trees_read += 1;
        Ok(load_tree(self.repo, self.index, id)?.nodes)
    }

    /// Merges two directories by name.
    fn trees(&mut self, old: &BlobId, new: &BlobId, path: &mut Vec<Vec<u8>>) -> Result<()> {
        if old == new {
            // Same blob ID, same bytes: nothing below differs, so nothing below is read.
            self.out.stats.trees_skipped += 1;
            return Ok(());
        }
        let a = self.load(old, path.len())?;
        let b = self.load(new, path.len())?;
        let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
        loop {
            let order = match (a.peek(), b.peek()) {
                (None, None) => return Ok(()),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(x), Some(y)) => x.name.as_slice().cmp(y.name.as_slice()),
            };
            match order {
                Ordering::Less => {
                    if let Some(x) = a.next() {
                        self.whole(ChangeKind::Removed, x, path)?;
                    }
                }
                Ordering::Greater => {
                    if let Some(y) = b.next() {
                        self.whole(ChangeKind::Added, y, path)?;
                    }
                }
                Ordering::Equal => {
                    if let (Some(x), Some(y)) = (a.next(), b.next()) {
                        self.pair(x, y, path)?;
                    }
                }
            }
        }
    }

    /// Records a node present on one side only, and everything under it.
    fn whole(&mut self, kind: ChangeKind, node: Node, path: &mut Vec<Vec<u8>>) -> Result<()> {
        path.push(node.name.to_vec());
        let sub = node.subtree.filter(|_| node.kind == NodeKind::Dir);
        self.record(kind, node, None, Vec::new(), Vec::new(), path);
        if let Some(sub) = sub {
            self.all_under(kind, &sub, path)?;
        }
        path.pop();
        Ok(())
    }

    fn all_under(
        &mut self,
        kind: ChangeKind,
        tree: &BlobId,
        path: &mut Vec<Vec<u8>>,
    ) -> Result<()> {
        for node in self.load(tree, path.len())? {
            self.whole(kind, node, path)?;
        }
        Ok(())
    }

    /// Compares a name present on both sides.
    fn pair(&mut self, old: Node, new: Node, path: &mut Vec<Vec<u8>>) -> Result<()> {
        path.push(new.name.to_vec());
        let fields = fields(&old, &new);
        let ranges = if fields.contains(&Field::Content) {
            self.changed_ranges(&old, &new)?
        } else {
            Vec::new()
        };
        let old_sub = old.subtree.filter(|_| old.kind == NodeKind::Dir);
        let new_sub = new.subtree.filter(|_| new.kind == NodeKind::Dir);
        if !fields.is_empty() {
            self.record(ChangeKind::Modified, new, Some(old), fields, ranges, path);
        }
        match (old_sub, new_sub) {
            (Some(o), Some(n)) => self.trees(&o, &n, path)?,
            // A type change to or from a directory: its entries went or came with it.
            (Some(o), None) => self.all_under(ChangeKind::Removed, &o, path)?,
            (None, Some(n)) => self.all_under(ChangeKind::Added, &n, path)?,
            (None, None) => {}
        }
        path.pop();
        Ok(())
    }

    fn record(
        &mut self,
        kind: ChangeKind,
        node: Node,
        old: Option<Node>,
        fields: Vec<Field>,
        changed_ranges: Vec<Range<u64>>,
        path: &[Vec<u8>],
    ) {
        let s = &mut self.out.stats;
        let file_size = |n: &Node| if n.kind == NodeKind::File { n.size } else { 0 };
        match kind {
            ChangeKind::Added => {
                s.added += 1;
                s.added_bytes = s.added_bytes.saturating_add(file_size(&node));
            }
            ChangeKind::Removed => {
                s.removed += 1;
                s.removed_bytes = s.removed_bytes.saturating_add(file_size(&node));
            }
            ChangeKind::Modified => {
                s.modified += 1;
                let changed = changed_ranges
                    .iter()
                    .fold(0u64, |a, r| a.saturating_add(r.end - r.start));
                s.changed_bytes = s.changed_bytes.saturating_add(changed);
            }
        }
        self.out.changes.push(Change {
            kind,
            path: path.to_vec(),
            node,
            old,
            fields,
            changed_ranges,
        });
    }

    /// Ranges of `new`'s content covered by chunks that `old`'s content does not hold.
    fn changed_ranges(&self, old: &Node, new: &Node) -> Result<Vec<Range<u64>>> {
        let (Some(oc), Some(nc)) = (&old.content, &new.content) else {
            return Ok(Vec::new());
        };
        let mut known = HashSet::new();
        for e in ChunkEntries::new(self.repo, self.index, oc) {
            known.insert(e?.id);
        }
        let mut ranges: Vec<Range<u64>> = Vec::new();
        let mut offset = 0u64;
        for e in ChunkEntries::new(self.repo, self.index, nc) {
            let e = e?;
            let end = offset.checked_add(e.size).ok_or_else(|| {
                Error::damaged(
                    format!("content of {}", String::from_utf8_lossy(&new.name)),
                    std::io::Error::other("chunk sizes overflow a 64-bit offset"),
                )
            })?;
            if !known.contains(&e.id) && end > offset {
                match ranges.last_mut() {
                    Some(last) if last.end == offset => last.end = end,
                    _ => ranges.push(offset..end),
                }
            }
            offset = end;
        }
        Ok(ranges)
    }
}

/// The fields that differ between two nodes of the same name.
fn fields(old: &Node, new: &Node) -> Vec<Field> {
    if old.kind != new.kind {
        return vec![Field::Type];
    }
    let mut out = Vec::new();
    if new.kind == NodeKind::File && old.size != new.size {
        out.push(Field::Size);
    }
    if old.mode != new.mode {
        out.push(Field::Mode);
    }
    if old.mtime_ns != new.mtime_ns {
        out.push(Field::Mtime);
    }
    if new.kind == NodeKind::File && !same_content(old, new) {
        out.push(Field::Content);
    }
    if new.kind == NodeKind::Symlink && old.link != new.link {
        out.push(Field::Link);
    }
    out
}

/// Equal content references mean equal bytes (blob IDs are keyed hashes of the bytes, and
/// list blobs are cut deterministically); so does an equal whole-file hash.
fn same_content(old: &Node, new: &Node) -> bool {
    old.content == new.content || (old.hash.is_some() && old.hash == new.hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use format_spec::list::{Content, ListEntry};
    use serde_bytes::ByteBuf;

    fn file(content: Content) -> Node {
        Node {
            name: ByteBuf::from(b"f".to_vec()),
            kind: NodeKind::File,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime_ns: 1,
            ctime_ns: 1,
            size: content.size(),
            inode: 1,
            dev: 1,
            rdev: 0,
            link: None,
            xattrs: vec![],
            content: Some(content),
            hash: None,
            subtree: None,
        }
    }

    fn chunks(ids: &[u8]) -> Content {
        Content {
            level: 0,
            entries: ids
                .iter()
                .map(|&i| ListEntry {
                    id: BlobId([i; 32]),
                    size: 10,
                    fp: None,
                })
                .collect(),
        }
    }

    #[test]
    fn fields_name_what_differs() {
        let a = file(chunks(&[1, 2]));
        assert!(fields(&a, &a).is_empty());
        let mut b = file(chunks(&[1, 3]));
        b.mtime_ns = 2;
        assert_eq!(fields(&a, &b), vec![Field::Mtime, Field::Content]);
        let mut c = a.clone();
        c.kind = NodeKind::Symlink;
        assert_eq!(fields(&a, &c), vec![Field::Type]);
        let mut d = file(chunks(&[1, 2, 3]));
        d.mode = 0o100600;
        assert_eq!(
            fields(&a, &d),
            vec![Field::Size, Field::Mode, Field::Content]
        );
    }

    #[test]
    fn equal_hash_means_equal_content() {
        let mut a = file(chunks(&[1, 2]));
        let mut b = file(Content {
            level: 1,
            entries: vec![ListEntry {
                id: BlobId([9; 32]),
                size: 20,
                fp: None,
            }],
        });
        assert!(!same_content(&a, &b));
        a.hash = Some(BlobId([7; 32]));
        b.hash = Some(BlobId([7; 32]));
        assert!(same_content(&a, &b));
    }
}
