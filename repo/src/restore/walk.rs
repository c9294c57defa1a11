//! Walking a snapshot's trees: SPEC.md § [Trees](../../SPEC.md#trees).

use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use format_spec::blob::BlobKind;
use format_spec::id::BlobId;
use format_spec::limits;
use format_spec::tree::{Node, NodeKind, Tree};

/// A node and its path inside the snapshot (components joined by `/`).
pub struct Entry {
    /// Path from the snapshot root, without a leading `/`.
    pub path: Vec<Vec<u8>>,
    /// The node.
    pub node: Node,
}

impl Entry {
    /// Path as text (lossy for non-UTF-8 names), with a leading `/`.
    pub fn display(&self) -> String {
        display_path(&self.path)
    }
}

/// `/a/b/c` from components.
pub fn display_path(path: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for c in path {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(c));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// Restore's `--include` paths, split into components. A path is visited when it is under
/// an include or an ancestor of one (its directory must be created on the way down); none
/// means everything.
#[derive(Clone, Debug, Default)]
pub struct Includes(Vec<Vec<Vec<u8>>>);

impl Includes {
    /// From paths such as `/etc/ssh` or `etc/ssh`.
    pub fn new(paths: &[String]) -> Self {
        Self(
            paths
                .iter()
                .map(|p| {
                    p.split('/')
                        .filter(|c| !c.is_empty())
                        .map(|c| c.as_bytes().to_vec())
                        .collect()
                })
                .collect(),
        )
    }

    /// Whether `path` is visited at all, and whether everything under it is wanted.
    pub fn wanted(&self, path: &[Vec<u8>]) -> (bool, bool) {
        if self.0.is_empty() {
            return (true, true);
        }
        let under = self.0.iter().any(|inc| path.starts_with(inc));
        let ancestor = self.0.iter().any(|inc| inc.starts_with(path));
        (under || ancestor, under)
    }
}

/// Loads and validates a tree blob.
pub fn load_tree(repo: &Repository, index: &MasterIndex, id: &BlobId) -> Result<Tree> {
    let bytes = repo.read_blob(index, id, BlobKind::Tree)?;
    Tree::decode(&bytes).map_err(|e| Error::damaged(format!("tree blob {id}"), e))
}

/// Calls `f` for every node under `root` in depth-first, name order (parents first).
pub fn walk_tree(
    repo: &Repository,
    index: &MasterIndex,
    root: &BlobId,
    f: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    walk_rec(repo, index, root, &mut Vec::new(), f)
}

fn walk_rec(
    repo: &Repository,
    index: &MasterIndex,
    id: &BlobId,
    path: &mut Vec<Vec<u8>>,
    f: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    if path.len() >= limits::MAX_TREE_DEPTH {
        return Err(Error::damaged(
            format!("tree blob {id}"),
            std::io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
        ));
    }
    let tree = load_tree(repo, index, id)?;
    for node in tree.nodes {
        path.push(node.name.to_vec());
        let entry = Entry {
            path: path.clone(),
            node,
        };
        f(&entry)?;
        if entry.node.kind == NodeKind::Dir {
            if let Some(sub) = entry.node.subtree {
                walk_rec(repo, index, &sub, path, f)?;
            }
        }
        path.pop();
    }
    Ok(())
}

/// Finds the node at `path` (`/a/b` or `a/b`).
pub fn find_node(
    repo: &Repository,
    index: &MasterIndex,
    root: &BlobId,
    path: &str,
) -> Result<Node> {
    let mut tree = load_tree(repo, index, root)?;
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let not_found = || Error::PathInSnapshot {
        path: path.into(),
        reason: "not in this snapshot".into(),
    };
    for (i, comp) in comps.iter().enumerate() {
        let node = tree
            .nodes
            .into_iter()
            .find(|n| n.name.as_slice() == comp.as_bytes())
            .ok_or_else(not_found)?;
        if i + 1 == comps.len() {
            return Ok(node);
        }
        let sub = node
            .subtree
            .filter(|_| node.kind == NodeKind::Dir)
            .ok_or_else(not_found)?;
        tree = load_tree(repo, index, &sub)?;
    }
    Err(Error::PathInSnapshot {
        path: path.into(),
        reason: "is the root directory, not a file".into(),
    })
}
