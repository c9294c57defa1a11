//! Before a restore or dump writes anything, every pack it will read is present with the
//! size the index states: SPEC.md § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! A copy of a repository made by rsync or rclone can lag behind its source: a snapshot
//! arrives before one of its packs, or a copy stops part way and leaves a pack short.
//! Without this check a restore would write files until it reached the first chunk it
//! cannot read, and a dump would have piped half a file into `psql`. With it, the command
//! stops first, naming every such pack.
//!
//! Cost, on a snapshot of any size:
//! - one walk of the trees and list blobs to be read, each distinct one read once (a tree
//!   reached again under another name is not walked again), collecting the packs of the
//!   data blobs and of their delta bases (transitively) as one state byte per pack the
//!   index names; no data blob is read;
//! - a tree or list blob's pack is looked at (its size) before the blob is read, so that a
//!   missing one is reported, not failed on; snapshots keep them in a few metadata packs;
//! - then the data packs: one listing of `data/`, or one size query per pack, whichever
//!   takes fewer requests ([`LIST_PAGE`]);
//! - the first [`KEEP_TREE_BYTES`] of decoded trees are kept for the restore's own walk,
//!   which visits them in the same order, so a snapshot of up to some 100,000 files has its
//!   trees read once in all.

use super::walk::{display_path, load_tree, Includes};
use crate::backend::FileType;
use crate::check::walk::read_list;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use format_spec::blob::Encoding;
use format_spec::id::{BlobId, PackId};
use format_spec::limits;
use format_spec::list::{Content, ListEntry};
use format_spec::tree::{Node, NodeKind, Tree};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;

/// Names one page of an S3 listing returns (ListObjectsV2's maximum): a listing of `n`
/// packs costs `n / LIST_PAGE` requests where size queries cost one per pack.
pub const LIST_PAGE: usize = 1000;

/// Plaintext bytes of tree blobs kept for the restore's walk (some 150 bytes a file; two
/// to three times that once decoded); trees past it are read again.
pub const KEEP_TREE_BYTES: usize = 16 << 20;

/// Trees the pre-flight walk decoded, handed to the restore's walk so it need not read
/// them again. Each is taken once.
#[derive(Default)]
pub struct KeptTrees(HashMap<BlobId, Tree>);

impl KeptTrees {
    /// The tree `id` if it was kept, removed from here.
    pub fn take(&mut self, id: &BlobId) -> Option<Tree> {
        self.0.remove(id)
    }
}

/// Checks a restore of tree `root` (only the paths `include` selects) before it writes
/// anything; returns the trees it decoded, for the restore's walk.
///
/// # Errors
/// [`Error::MissingPacks`] naming every needed pack that is absent or of another size than
/// the index states; [`Error::MissingBlob`] or [`Error::MissingBase`] for a needed blob no
/// index holds; the error of a tree or list blob that does not read.
#[tracing::instrument(skip_all, fields(tree = %root.short()))]
pub fn before_restore(
    repo: &Repository,
    index: &MasterIndex,
    root: &BlobId,
    include: &Includes,
) -> Result<KeptTrees> {
    let mut w = Walk::new(repo, index);
    w.tree(root, include, &mut Vec::new())?;
    w.finish()?;
    Ok(w.kept)
}

/// Checks a dump of one file node (`path` in the snapshot) before its first byte goes out.
///
/// # Errors
/// As [`before_restore`].
#[tracing::instrument(skip_all, fields(path = %path))]
pub fn before_dump(repo: &Repository, index: &MasterIndex, node: &Node, path: &str) -> Result<()> {
    let mut w = Walk::new(repo, index);
    if let Some(c) = &node.content {
        w.content(c, path)?;
    }
    w.finish()
}

/// What is known of a pack the index names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PackState {
    Unneeded,
    Needed,
    Present,
    Bad,
}

struct Walk<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    /// By pack position in the index.
    packs: Vec<PackState>,
    /// What is wrong with each bad pack, by ID (sorted for the message).
    bad: BTreeMap<PackId, String>,
    /// Trees walked whole, and list blobs expanded.
    walked: HashSet<BlobId>,
    /// Delta bases whose packs (and bases) are marked.
    bases: HashSet<BlobId>,
    kept: KeptTrees,
    kept_bytes: usize,
    /// [`LIST_PAGE`]; smaller in tests, to take the other path.
    list_page: usize,
    started: std::time::Instant,
}

impl<'a> Walk<'a> {
    fn new(repo: &'a Repository, index: &'a MasterIndex) -> Self {
        Self {
            repo,
            index,
            packs: vec![PackState::Unneeded; index.packs().len()],
            bad: BTreeMap::new(),
            walked: HashSet::new(),
            bases: HashSet::new(),
            kept: KeptTrees::default(),
            kept_bytes: 0,
            list_page: LIST_PAGE,
            started: std::time::Instant::now(),
        }
    }

    fn state(&mut self, pos: u32) -> Option<&mut PackState> {
        self.packs.get_mut(pos as usize)
    }

    fn need(&mut self, pos: u32) {
        if let Some(s) = self.state(pos) {
            if *s == PackState::Unneeded {
                *s = PackState::Needed;
            }
        }
    }

    /// Whether the pack at `pos` is there with its indexed size, asking the backend now
    /// (once per pack): a tree or list blob is read only from a pack known to be whole.
    fn readable(&mut self, pos: u32) -> Result<bool> {
        match self.state(pos).copied() {
            Some(PackState::Present) => return Ok(true),
            Some(PackState::Bad) | None => return Ok(false),
            Some(PackState::Needed | PackState::Unneeded) => {}
        }
        let (id, want) = self.index.pack(pos);
        let found = size_of(self.repo, &id)?;
        Ok(self.record(pos, id, want, found))
    }

    /// Records what was found of a pack; whether it is whole.
    fn record(&mut self, pos: u32, id: PackId, want: u64, found: Option<u64>) -> bool {
        let problem = match found {
            Some(size) if size == want => None,
            Some(size) => Some(format!("{size} bytes, the index says {want}")),
            None => Some("missing".to_string()),
        };
        let whole = problem.is_none();
        if let Some(p) = problem {
            self.bad.insert(id, p);
        }
        if let Some(s) = self.state(pos) {
            *s = if whole {
                PackState::Present
            } else {
                PackState::Bad
            };
        }
        whole
    }

    /// Walks tree `id` at `path`, as the restore's walker will.
    fn tree(&mut self, id: &BlobId, include: &Includes, path: &mut Vec<Vec<u8>>) -> Result<()> {
        if path.len() >= limits::MAX_TREE_DEPTH {
            return Err(Error::damaged(
                format!("tree blob {id}"),
                io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
            ));
        }
        let loc = self.index.get(id).ok_or_else(|| Error::MissingBlob {
            blob: id.to_hex(),
            needed_by: format!("directory {}", display_path(path)),
        })?;
        if !self.readable(loc.pack)? {
            return Ok(());
        }
        let raw = loc.raw_len as usize;
        let kept_after = self.kept_bytes.saturating_add(raw);
        let keep = kept_after <= KEEP_TREE_BYTES && !self.kept.0.contains_key(id);
        if keep {
            self.kept_bytes = kept_after;
        }
        let tree = load_tree(self.repo, self.index, id)?;
        for node in &tree.nodes {
            path.push(node.name.to_vec());
            let (visit, whole) = include.wanted(path);
            if visit {
                match (node.kind, &node.subtree, &node.content) {
                    // A subtree walked whole needs nothing more, wherever it appears again.
                    (NodeKind::Dir, Some(sub), _) if !whole || self.walked.insert(*sub) => {
                        self.tree(sub, include, path)?
                    }
                    (NodeKind::File, _, Some(c)) if whole => {
                        self.content(c, &display_path(path))?
                    }
                    _ => {}
                }
            }
            path.pop();
        }
        if keep {
            self.kept.0.insert(*id, tree);
        }
        Ok(())
    }

    /// Marks the packs of a file's content: its list blobs (read, once each), data blobs
    /// and their delta bases.
    fn content(&mut self, c: &Content, path: &str) -> Result<()> {
        // An explicit stack: lists nest up to MAX_LIST_LEVEL.
        let mut stack: Vec<(u8, Vec<ListEntry>)> = Vec::new();
        let visit = |w: &mut Self, level: u8, entries: &[ListEntry], stack: &mut Vec<_>| {
            for e in entries {
                if level == 0 {
                    w.data(&e.id, path)?;
                    continue;
                }
                let loc = w.index.get(&e.id).ok_or_else(|| Error::MissingBlob {
                    blob: e.id.to_hex(),
                    needed_by: path.into(),
                })?;
                if w.walked.insert(e.id) && w.readable(loc.pack)? {
                    let lb = read_list(w.repo, w.index, &e.id, level, e.size)?;
                    stack.push((lb.level, lb.entries));
                }
            }
            Ok::<(), Error>(())
        };
        visit(self, c.level, &c.entries, &mut stack)?;
        while let Some((level, entries)) = stack.pop() {
            visit(self, level, &entries, &mut stack)?;
        }
        Ok(())
    }

    /// Marks a data blob's pack and, for a delta, its bases' packs down the chain (the
    /// copies the index chooses, as a read takes them).
    fn data(&mut self, id: &BlobId, path: &str) -> Result<()> {
        let loc = self.index.get(id).ok_or_else(|| Error::MissingBlob {
            blob: id.to_hex(),
            needed_by: path.into(),
        })?;
        self.need(loc.pack);
        if loc.encoding != Encoding::ZstdDelta {
            return Ok(());
        }
        let mut work = vec![*id];
        while let Some(delta) = work.pop() {
            for base in self.index.bases(&delta) {
                if !self.bases.insert(*base) {
                    continue;
                }
                let loc = self.index.get(base).ok_or_else(|| Error::MissingBase {
                    blob: delta.to_hex(),
                    base: base.to_hex(),
                })?;
                self.need(loc.pack);
                // The `bases` set ends a chain that loops; reading it reports the loop.
                work.push(*base);
            }
        }
        Ok(())
    }

    /// Looks at every needed pack not looked at yet, then fails naming the bad ones.
    fn finish(&mut self) -> Result<()> {
        let pending: Vec<u32> = (0..self.packs.len())
            .filter(|&i| self.packs.get(i) == Some(&PackState::Needed))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let listing = pending.len() > self.packs.len() / self.list_page;
        let found = if listing {
            self.sizes_listed(&pending)?
        } else {
            self.sizes_queried(&pending)?
        };
        for (pos, size) in found {
            let (id, want) = self.index.pack(pos);
            self.record(pos, id, want, size);
        }
        if self.bad.is_empty() {
            let packs = self
                .packs
                .iter()
                .filter(|s| **s == PackState::Present)
                .count();
            let ms = self.started.elapsed().as_millis();
            tracing::info!(packs, listing, ms, "every needed pack is present");
            return Ok(());
        }
        Err(Error::MissingPacks {
            packs: std::mem::take(&mut self.bad)
                .into_iter()
                .map(|(id, problem)| format!("pack {id} ({problem})"))
                .collect(),
        })
    }

    /// The sizes of the packs at `pending` from one listing of `data/` (`None`: absent).
    fn sizes_listed(&self, pending: &[u32]) -> Result<Vec<(u32, Option<u64>)>> {
        let mut names = self.repo.list(FileType::Pack)?;
        // The backend trait promises no order.
        names.sort_unstable();
        Ok(pending
            .iter()
            .map(|&pos| {
                let hex = self.index.pack(pos).0.to_hex();
                let size = names
                    .binary_search_by(|(n, _)| n.as_str().cmp(hex.as_str()))
                    .ok()
                    .and_then(|i| names.get(i))
                    .map(|(_, s)| *s);
                (pos, size)
            })
            .collect())
    }

    /// The sizes of the packs at `pending`, one query each, several at once.
    fn sizes_queried(&self, pending: &[u32]) -> Result<Vec<(u32, Option<u64>)>> {
        let (repo, index) = (self.repo, self.index);
        pending
            .par_iter()
            .map(|&pos| Ok((pos, size_of(repo, &index.pack(pos).0)?)))
            .collect()
    }
}

/// A pack's size, `None` if it is absent.
fn size_of(repo: &Repository, id: &PackId) -> Result<Option<u64>> {
    match repo.backend().size(FileType::Pack, &id.to_hex()) {
        Ok(size) => Ok(Some(size)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(cause) => Err(Error::RepoRead {
            what: format!("the size of pack {id}"),
            cause,
        }),
    }
}

#[cfg(test)]
mod tests;
