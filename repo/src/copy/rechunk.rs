//! Copying between repositories that cut or name chunks differently: SPEC.md § [Copying
//! snapshots](../../../SPEC.md#copying-snapshots), rule 5.
//!
//! The source snapshot's tree is walked in order and fed to the destination's backup
//! pipeline as if it were a file system: directories and special files with their stored
//! metadata, each file's content read from the source (decoded on several threads ahead
//! of the chunker, see `reader`). The pipeline chunks with the destination's chunker,
//! deduplicates against the destination's index and, for a `diff` or `incr`, compares
//! with the destination's copy of the parent: a changed file's chunks become deltas
//! against the parent copy's version, exactly as a backup of that level would store them.
//!
//! A file whose content in the source equals the source parent's file at the same path
//! (same `content` and `hash`: the source backup reused it, or read it unchanged) is not
//! read at all: the parent copy's node content is reused, which holds the same bytes.
//! Everything else is read once, in file order.

use super::reader::{engine_error, with_content};
use super::CopyStats;
use crate::backup::compare::ParentCursor;
use crate::backup::{run_pipeline, Event, PipelineRun, Producer};
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::progress::Progress;
use crate::repository::Repository;
use crate::restore::walk::{display_path, load_tree};
use format_spec::id::BlobId;
use format_spec::index::IndexPack;
use format_spec::limits;
use format_spec::snapshot::{Level, Snapshot};
use format_spec::tree::{Node, NodeKind};
use globset::GlobSet;
use std::path::Path;

/// The source side of one snapshot's copy.
pub struct SourceSide<'a> {
    /// The source repository.
    pub repo: &'a Repository,
    /// Its index.
    pub index: &'a MasterIndex,
    /// The snapshot copied.
    pub snapshot: &'a Snapshot,
    /// Root tree of its parent in the source (diff, incr).
    pub parent_tree: Option<BlobId>,
}

/// Copies one snapshot's files through `dst`'s pipeline, with `dst_parent_tree` (the
/// parent's copy) as the parent. Returns the new root tree and the packs, not yet indexed.
pub fn copy_snapshot(
    src: &SourceSide<'_>,
    dst: &Repository,
    dst_index: &MasterIndex,
    dst_parent_tree: Option<BlobId>,
    progress: &dyn Progress,
) -> Result<(BlobId, Vec<IndexPack>, CopyStats)> {
    let excludes = GlobSet::empty();
    let run = PipelineRun {
        index: dst_index,
        parent_tree: dst_parent_tree,
        plain_only: src.snapshot.level == Level::Full,
        deltas: true,
        excludes: &excludes,
        dry_run: false,
    };
    let walker = Walker { src, dst_index };
    let stored = run_pipeline(dst, &run, progress, |p| walker.feed(p))?;
    let f = &stored.finished;
    if let Some(w) = f.warnings.first() {
        // The walker sends no warnings; one here is a pipeline failure, not a skipped file.
        return Err(Error::Internal(format!("copy pipeline warned: {w}")));
    }
    let stats = CopyStats {
        blobs: f.summary.blobs_new,
        bytes_new: f.summary.bytes_new,
        bytes_stored: stored.stats.bytes,
        packs: stored.stats.packs,
        deltas: f.deltas.0,
        bytes_read: f.summary.bytes_read,
        files_reused: f.summary.files_unchanged,
        duration_ms: 0,
    };
    Ok((f.tree, stored.packs, stats))
}

/// Feeds a source snapshot's tree to a producer (runs on the producer's thread).
struct Walker<'a> {
    src: &'a SourceSide<'a>,
    dst_index: &'a MasterIndex,
}

impl Walker<'_> {
    fn feed(&self, p: &Producer<'_>) {
        let fatal = |e: Error| {
            p.send(Event::Fatal(e));
        };
        let (repo, index) = (self.src.repo, self.src.index);
        let mut src_parent = self
            .src
            .parent_tree
            .map(|t| ParentCursor::new(repo, index, &t));
        let root = match load_tree(repo, index, &self.src.snapshot.tree) {
            Ok(t) => t,
            Err(e) => return fatal(e),
        };
        // Explicit stacks: trees nest up to MAX_TREE_DEPTH.
        let mut stack = vec![root.nodes.into_iter()];
        let mut path: Vec<Vec<u8>> = Vec::new();
        while let Some(top) = stack.last_mut() {
            let Some(node) = top.next() else {
                stack.pop();
                if stack.is_empty() {
                    break;
                }
                path.pop();
                if let Some(c) = &mut src_parent {
                    c.exit();
                }
                if !p.send(Event::DirExit) {
                    return;
                }
                continue;
            };
            let alive = match node.kind {
                NodeKind::Dir => {
                    let Some(sub) = node.subtree else {
                        return fatal(damaged(&path, &node, "a directory without a subtree"));
                    };
                    if stack.len() >= limits::MAX_TREE_DEPTH {
                        return fatal(damaged(&path, &node, "nested deeper than MAX_TREE_DEPTH"));
                    }
                    let children = match load_tree(repo, index, &sub) {
                        Ok(t) => t.nodes,
                        Err(e) => return fatal(e),
                    };
                    if let Some(c) = &mut src_parent {
                        c.enter(&node.name);
                    }
                    path.push(node.name.to_vec());
                    stack.push(children.into_iter());
                    let mut dir = node;
                    dir.subtree = None;
                    p.send(Event::DirEnter(dir))
                }
                NodeKind::File => self.file(p, src_parent.as_ref(), node, &path),
                _ => p.send(Event::Other(node)),
            };
            if !alive {
                return;
            }
        }
    }

    /// One file: reused from the parent copy when the source says it is unchanged since
    /// the source parent, else read from the source and streamed through the chunker.
    fn file(
        &self,
        p: &Producer<'_>,
        src_parent: Option<&ParentCursor<'_>>,
        node: Node,
        dir: &[Vec<u8>],
    ) -> bool {
        let mut components = dir.to_vec();
        components.push(node.name.to_vec());
        let path = display_path(&components);
        let Some(content) = node.content.clone() else {
            p.send(Event::Fatal(damaged(dir, &node, "a file without content")));
            return false;
        };
        let dst_parent = p.parent.as_ref().map(|c| c.borrow());
        if let Some(reused) = self.reuse(src_parent, dst_parent.as_deref(), &node) {
            drop(dst_parent);
            return p.send(Event::Reuse(reused));
        }
        let existed = dst_parent.as_ref().is_some_and(|c| c.existed(&node.name));
        let reference = dst_parent
            .as_ref()
            .filter(|_| p.deltas)
            .and_then(|c| c.reference(&node.name));
        drop(dst_parent);
        let mut start = node.clone();
        start.content = None;
        start.hash = None;
        if !p.send(Event::FileStart(start, existed)) {
            return false;
        }
        let streamed = with_content(self.src.repo, self.src.index, &node, &content, &path, |r| {
            p.stream(r, Path::new(&path), Some(node.size), reference)
        });
        match streamed {
            Ok(alive) => alive,
            Err(e) => {
                p.send(Event::Fatal(engine_error(e, &path)));
                false
            }
        }
    }

    /// The node with the parent copy's content, when the source file equals the source
    /// parent's at this path and the parent copy's version is whole in the destination.
    fn reuse(
        &self,
        src_parent: Option<&ParentCursor<'_>>,
        dst_parent: Option<&ParentCursor<'_>>,
        node: &Node,
    ) -> Option<Node> {
        let old = src_parent?.lookup(&node.name)?;
        let same = old.kind == NodeKind::File
            && old.size == node.size
            && old.content == node.content
            && old.hash == node.hash;
        if !same {
            return None;
        }
        let copy = dst_parent?
            .lookup(&node.name)
            .filter(|d| d.kind == NodeKind::File && d.size == node.size)?;
        let content = copy.content.as_ref()?;
        if !content
            .entries
            .iter()
            .all(|e| self.dst_index.contains(&e.id))
        {
            return None;
        }
        let mut reused = node.clone();
        reused.content = Some(content.clone());
        reused.hash = copy.hash;
        Some(reused)
    }
}

fn damaged(dir: &[Vec<u8>], node: &Node, what: &str) -> Error {
    let mut components = dir.to_vec();
    components.push(node.name.to_vec());
    Error::damaged(
        format!("{} (source repository)", display_path(&components)),
        std::io::Error::other(what.to_string()),
    )
}
