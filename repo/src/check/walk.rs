//! Snapshots and their trees: every snapshot opens, every tree and list blob reads, every
//! referenced blob is indexed with the kind its reference implies. Each tree and list blob
//! is read once however many snapshots share it. A second, targeted walk finds the
//! snapshots and paths that use a damaged blob.

use super::structure::describe;
use super::Finding;
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use crate::restore::walk::{display_path, load_tree};
use format_spec::blob::BlobKind;
use format_spec::id::{BlobId, SnapshotId};
use format_spec::limits;
use format_spec::list::{Content, ListBlob, ListEntry};
use format_spec::tree::{NodeKind, Tree};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Snapshots that opened.
pub(crate) struct Snapshots {
    /// Snapshot files listed.
    pub count: u64,
    /// Those that opened, with their root tree.
    pub good: Vec<(SnapshotId, BlobId)>,
}

/// Who uses a blob.
#[derive(Default)]
pub(crate) struct Users {
    pub snapshots: BTreeSet<SnapshotId>,
    pub paths: BTreeSet<String>,
}

struct Walker<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    trees: HashSet<BlobId>,
    lists: HashSet<BlobId>,
    bad: BTreeMap<BlobId, String>,
}

impl Walker<'_> {
    fn damaged(&mut self, id: BlobId, message: String) {
        self.bad.entry(id).or_insert(message);
    }

    /// Whether `id` is indexed as `kind`; records the problem otherwise.
    fn indexed(&mut self, id: &BlobId, kind: BlobKind) -> bool {
        match self.index.get(id) {
            None => {
                self.damaged(
                    *id,
                    format!("{kind:?} blob is not in any index").to_lowercase(),
                );
                false
            }
            Some(loc) if loc.kind != kind => {
                self.damaged(
                    *id,
                    format!("indexed as a {:?} blob, referenced as {kind:?}", loc.kind),
                );
                false
            }
            Some(_) => true,
        }
    }

    fn tree(&mut self, id: &BlobId, depth: usize) {
        if !self.trees.insert(*id) || !self.indexed(id, BlobKind::Tree) {
            return;
        }
        if depth >= limits::MAX_TREE_DEPTH {
            self.damaged(*id, "directories nest deeper than MAX_TREE_DEPTH".into());
            return;
        }
        let tree = match load_tree(self.repo, self.index, id) {
            Ok(t) => t,
            Err(e) => {
                self.damaged(*id, describe(&e));
                return;
            }
        };
        for node in &tree.nodes {
            if let Some(c) = &node.content {
                self.content(c);
            }
            if node.kind == NodeKind::Dir {
                if let Some(sub) = &node.subtree {
                    self.tree(sub, depth + 1);
                }
            }
        }
    }

    fn content(&mut self, c: &Content) {
        self.entries(c.level, &c.entries);
    }

    fn entries(&mut self, level: u8, entries: &[ListEntry]) {
        for e in entries {
            if level == 0 {
                self.indexed(&e.id, BlobKind::Data);
            } else if self.lists.insert(e.id) && self.indexed(&e.id, BlobKind::List) {
                match read_list(self.repo, self.index, &e.id, level, e.size) {
                    Ok(lb) => self.entries(lb.level, &lb.entries),
                    Err(err) => self.damaged(e.id, describe(&err)),
                }
            }
        }
    }
}

pub(crate) fn read_list(
    repo: &Repository,
    index: &MasterIndex,
    id: &BlobId,
    level: u8,
    size: u64,
) -> Result<ListBlob> {
    let bytes = repo.read_blob(index, id, BlobKind::List)?;
    let lb = ListBlob::decode(&bytes).map_err(|e| Error::damaged(format!("list blob {id}"), e))?;
    let covered = lb
        .entries
        .iter()
        .map(|x| x.size)
        .fold(0, u64::saturating_add);
    if u16::from(lb.level) + 1 != u16::from(level) || covered != size {
        return Err(Error::damaged(
            format!("list blob {id}"),
            std::io::Error::other(format!(
                "level {} covering {covered} bytes where level {} covering {size} was expected",
                lb.level,
                level.saturating_sub(1)
            )),
        ));
    }
    Ok(lb)
}

pub(crate) fn check_snapshots(
    repo: &Repository,
    index: &MasterIndex,
    findings: &mut Vec<Finding>,
) -> Result<Snapshots> {
    let names = repo.list(FileType::Snapshot)?;
    let mut out = Snapshots {
        count: names.len() as u64,
        good: Vec::new(),
    };
    for (name, _) in names {
        let loaded = name
            .parse::<SnapshotId>()
            .map_err(|e| Error::damaged(format!("snapshot {name}"), e))
            .and_then(|id| Ok((id, repo.load_snapshot(&id)?)));
        match loaded {
            Ok((id, s)) => out.good.push((id, s.tree)),
            Err(e) => findings.push(Finding::new(
                format!("snapshot {name}"),
                describe(&e),
                Vec::new(),
            )),
        }
    }
    let mut w = Walker {
        repo,
        index,
        trees: HashSet::new(),
        lists: HashSet::new(),
        bad: BTreeMap::new(),
    };
    for (_, root) in &out.good {
        w.tree(root, 0);
    }
    for (id, message) in w.bad {
        findings.push(Finding::new(format!("blob {id}"), message, vec![id]));
    }
    Ok(out)
}

/// The snapshots and paths that use each blob in `bad`. Subtrees known to hold no damaged
/// blob are skipped, so only the damaged part of each snapshot is walked again.
pub(crate) fn users(
    repo: &Repository,
    index: &MasterIndex,
    snapshots: &[(SnapshotId, BlobId)],
    bad: &BTreeSet<BlobId>,
) -> HashMap<BlobId, Users> {
    let mut u = UserWalk {
        repo,
        index,
        bad,
        tree_clean: HashMap::new(),
        list_bad: HashMap::new(),
        users: HashMap::new(),
    };
    for (snap, root) in snapshots {
        let mut path = Vec::new();
        u.tree(*snap, root, &mut path);
    }
    u.users
}

struct UserWalk<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    bad: &'a BTreeSet<BlobId>,
    /// Tree → whether nothing below it is damaged.
    tree_clean: HashMap<BlobId, bool>,
    /// List blob → damaged blobs at or below it.
    list_bad: HashMap<BlobId, Vec<BlobId>>,
    users: HashMap<BlobId, Users>,
}

impl UserWalk<'_> {
    fn used(&mut self, blob: BlobId, snap: SnapshotId, path: &[Vec<u8>]) {
        let u = self.users.entry(blob).or_default();
        u.snapshots.insert(snap);
        u.paths.insert(display_path(path));
    }

    /// Returns whether the subtree is free of damaged blobs.
    fn tree(&mut self, snap: SnapshotId, id: &BlobId, path: &mut Vec<Vec<u8>>) -> bool {
        if self.tree_clean.get(id) == Some(&true) {
            return true;
        }
        if self.bad.contains(id) {
            self.used(*id, snap, path);
            self.tree_clean.insert(*id, false);
            return false;
        }
        if path.len() >= limits::MAX_TREE_DEPTH {
            return false;
        }
        let tree: Tree = match load_tree(self.repo, self.index, id) {
            Ok(t) => t,
            Err(_) => return false,
        };
        let mut clean = true;
        for node in tree.nodes {
            path.push(node.name.to_vec());
            if let Some(c) = &node.content {
                for b in self.content(c) {
                    self.used(b, snap, path);
                    clean = false;
                }
            }
            if node.kind == NodeKind::Dir {
                if let Some(sub) = &node.subtree {
                    clean &= self.tree(snap, sub, path);
                }
            }
            path.pop();
        }
        self.tree_clean.insert(*id, clean);
        clean
    }

    fn content(&mut self, c: &Content) -> Vec<BlobId> {
        let mut out = Vec::new();
        self.entries(c.level, &c.entries, &mut out);
        out
    }

    fn entries(&mut self, level: u8, entries: &[ListEntry], out: &mut Vec<BlobId>) {
        for e in entries {
            if self.bad.contains(&e.id) {
                out.push(e.id);
            } else if level > 0 {
                if let Some(v) = self.list_bad.get(&e.id) {
                    out.extend(v.iter().copied());
                    continue;
                }
                let mut below = Vec::new();
                if let Ok(lb) = read_list(self.repo, self.index, &e.id, level, e.size) {
                    self.entries(lb.level, &lb.entries, &mut below);
                }
                out.extend(below.iter().copied());
                self.list_bad.insert(e.id, below);
            }
        }
    }
}
