//! Restoring a snapshot into a directory.
//!
//! Directories are created on the way down and get their mode and times on the way up
//! (after their children, so a read-only directory does not block its own restore).

use super::content::write_content;
use super::path_guard::{child, create_fifo, create_file, create_symlink, ensure_dir};
use super::walk::{display_path, load_tree};
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::progress::Progress;
use crate::repository::Repository;
use format_spec::id::BlobId;
use format_spec::limits;
use format_spec::tree::{Node, NodeKind};
use nix::sys::stat::{futimens, utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What to restore and how.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Target directory (created if missing).
    pub target: PathBuf,
    /// Only these snapshot paths and what is under them (all when empty).
    pub include: Vec<String>,
    /// Re-read every written file and compare with the recorded hash.
    pub verify: bool,
}

/// What a restore did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RestoreStats {
    /// Files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Other entries (symlinks, FIFOs).
    pub others: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Entries skipped, with the reason.
    pub skipped: Vec<String>,
}

struct Ctx<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    opts: &'a RestoreOptions,
    include: Vec<Vec<Vec<u8>>>,
    progress: &'a dyn Progress,
    stats: RestoreStats,
    is_root: bool,
}

fn split(p: &str) -> Vec<Vec<u8>> {
    p.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| c.as_bytes().to_vec())
        .collect()
}

/// Restores the tree `root` into `opts.target`.
#[tracing::instrument(skip_all, fields(target = %opts.target.display()))]
pub fn restore(
    repo: &Repository,
    index: &MasterIndex,
    root: &BlobId,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreStats> {
    fs::create_dir_all(&opts.target).map_err(|cause| Error::RestoreWrite {
        path: opts.target.clone(),
        cause,
    })?;
    let mut ctx = Ctx {
        repo,
        index,
        opts,
        include: opts.include.iter().map(|p| split(p)).collect(),
        progress,
        stats: RestoreStats::default(),
        is_root: nix::unistd::geteuid().is_root(),
    };
    ctx.dir(root, &opts.target, &mut Vec::new())?;
    Ok(ctx.stats)
}

impl Ctx<'_> {
    /// Whether `path` is wanted: under an include, or an ancestor of one.
    fn wanted(&self, path: &[Vec<u8>]) -> (bool, bool) {
        if self.include.is_empty() {
            return (true, true);
        }
        let under = self.include.iter().any(|inc| path.starts_with(inc));
        let ancestor = self.include.iter().any(|inc| inc.starts_with(path));
        (under || ancestor, under)
    }

    fn dir(&mut self, id: &BlobId, dir: &Path, path: &mut Vec<Vec<u8>>) -> Result<()> {
        if path.len() >= limits::MAX_TREE_DEPTH {
            return Err(Error::damaged(
                format!("tree blob {id}"),
                std::io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
            ));
        }
        let tree = load_tree(self.repo, self.index, id)?;
        for node in &tree.nodes {
            path.push(node.name.to_vec());
            let (visit, whole) = self.wanted(path);
            if visit {
                let target = child(dir, &node.name)?;
                if node.kind == NodeKind::Dir || whole {
                    self.node(node, &target, path)?;
                }
            }
            path.pop();
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, target: &Path, path: &mut Vec<Vec<u8>>) -> Result<()> {
        let shown = display_path(path);
        match node.kind {
            NodeKind::Dir => {
                ensure_dir(target)?;
                self.stats.dirs += 1;
                let sub = node.subtree.ok_or_else(|| {
                    Error::damaged(
                        format!("directory {shown}"),
                        std::io::Error::other("no subtree"),
                    )
                })?;
                self.dir(&sub, target, path)?;
                self.apply_meta(node, target, None)?;
            }
            NodeKind::File => {
                let f = create_file(target)?;
                let mut w = BufWriter::with_capacity(1 << 20, f);
                let progress = self.progress;
                let n = write_content(self.repo, self.index, node, &shown, &mut w, &|b| {
                    progress.bytes(b)
                })?;
                let f = w.into_inner().map_err(|e| Error::RestoreWrite {
                    path: target.into(),
                    cause: e.into_error(),
                })?;
                self.stats.files += 1;
                self.stats.bytes += n;
                self.apply_meta(node, target, Some(&f))?;
                if self.opts.verify {
                    self.verify_file(node, target, &shown)?;
                }
                self.progress.file_done();
            }
            NodeKind::Symlink => {
                let link = node.link.as_ref().ok_or_else(|| {
                    Error::damaged(
                        format!("symlink {shown}"),
                        std::io::Error::other("no target"),
                    )
                })?;
                create_symlink(link, target)?;
                if self.is_root {
                    let _ = std::os::unix::fs::lchown(target, Some(node.uid), Some(node.gid));
                }
                let t = timespec(node.mtime_ns);
                let _ = utimensat(None, target, &t, &t, UtimensatFlags::NoFollowSymlink);
                self.stats.others += 1;
            }
            NodeKind::Fifo => {
                create_fifo(target, node.mode)?;
                self.apply_meta(node, target, None)?;
                self.stats.others += 1;
            }
            NodeKind::Chardev | NodeKind::Blockdev | NodeKind::Socket => {
                tracing::warn!(path = %shown, "device nodes and sockets are not restored");
                self.stats
                    .skipped
                    .push(format!("{shown}: {:?} not restored", node.kind));
            }
        }
        Ok(())
    }

    /// Mode, owner (when root) and times. `file` is the open handle for regular files.
    fn apply_meta(&self, node: &Node, target: &Path, file: Option<&File>) -> Result<()> {
        let err = |cause| Error::RestoreWrite {
            path: target.into(),
            cause,
        };
        let t = timespec(node.mtime_ns);
        let nix_err = |e: nix::errno::Errno| Error::RestoreWrite {
            path: target.into(),
            cause: e.into(),
        };
        let perms = fs::Permissions::from_mode(node.mode & 0o7777);
        match file {
            Some(f) => {
                if self.is_root {
                    std::os::unix::fs::fchown(f, Some(node.uid), Some(node.gid)).map_err(err)?;
                }
                f.set_permissions(perms).map_err(err)?;
                futimens(f.as_raw_fd(), &t, &t).map_err(nix_err)?;
            }
            None => {
                // `target` was created by us as a directory or FIFO and checked not to be a symlink.
                if self.is_root {
                    std::os::unix::fs::lchown(target, Some(node.uid), Some(node.gid))
                        .map_err(err)?;
                }
                fs::set_permissions(target, perms).map_err(err)?;
                // utimensat, not open(): opening a restored FIFO would block.
                utimensat(None, target, &t, &t, UtimensatFlags::NoFollowSymlink)
                    .map_err(nix_err)?;
            }
        }
        Ok(())
    }

    fn verify_file(&self, node: &Node, target: &Path, shown: &str) -> Result<()> {
        let mut f = File::open(target).map_err(|cause| Error::RestoreWrite {
            path: target.into(),
            cause,
        })?;
        let mut hasher = blake3::Hasher::new_keyed(&self.repo.keys().blob_id.0);
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf).map_err(|cause| Error::RestoreWrite {
                path: target.into(),
                cause,
            })?;
            if k == 0 {
                break;
            }
            n += k as u64;
            hasher.update(buf.get(..k).unwrap_or_default());
        }
        let ok = n == node.size
            && node
                .hash
                .is_none_or(|h| h.0 == *hasher.finalize().as_bytes());
        if !ok {
            return Err(Error::ContentMismatch { path: shown.into() });
        }
        Ok(())
    }
}

/// A nanosecond timestamp as a `timespec`.
fn timespec(ns: i64) -> TimeSpec {
    TimeSpec::new(ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}
