//! Restoring a snapshot into a directory.
//!
//! Directories are created on the way down and get their mode and times at the end,
//! deepest first (after their children, so a read-only directory does not block its own
//! restore). File contents are written by a pool of workers.

use super::content::ChunkEntries;
use super::fetch::{fetch_into, threads, BufPool};
use super::file_task::{Arrival, FileTask};
use super::path_guard::{child, create_fifo, create_file, create_symlink, ensure_dir};
use super::preflight::{self, KeptTrees};
use super::walk::{display_path, load_tree, Includes};
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::progress::Progress;
use crate::repository::Repository;
use crossbeam_channel::{bounded, Receiver, Sender};
use format_spec::id::BlobId;
use format_spec::limits;
use format_spec::list::ListEntry;
use format_spec::tree::{Node, NodeKind};
use nix::sys::stat::{futimens, utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What to restore and how.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Target directory (created if missing).
    pub target: PathBuf,
    /// Only these snapshot paths and what is under them (all when empty).
    pub include: Vec<String>,
    /// Check every file against the content hash recorded at backup, computed over the
    /// bytes as they are written (no second read). Without it, every chunk is still
    /// checked against its ID and every file's chunks against its size; a file of one
    /// chunk is always checked, its hash being the chunk's ID.
    pub verify: bool,
    /// Leave all-zero blocks of files as holes (restic's `--sparse`).
    pub sparse: bool,
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

/// Jobs queued ahead of the workers (bounds the open files of multi-chunk jobs too).
const QUEUE: usize = 64;

/// What the walker hands the workers.
enum Job {
    /// A file of at most one chunk: created, written and finished by one worker.
    New(Box<NewFile>),
    /// One chunk of a file the walker created.
    Chunk {
        task: Arc<FileTask>,
        offset: u64,
        entry: ListEntry,
    },
}

struct NewFile {
    target: PathBuf,
    shown: String,
    node: Node,
    chunk: Option<ListEntry>,
}

/// State shared by the walker and the workers.
struct Shared<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    opts: &'a RestoreOptions,
    progress: &'a dyn Progress,
    is_root: bool,
    pool: BufPool,
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    files: AtomicU64,
    bytes: AtomicU64,
}

/// The walker's own state: directories to finish, other counts.
struct Walker<'s, 'a> {
    shared: &'s Shared<'a>,
    include: Includes,
    /// Trees the pre-flight decoded, taken as the walk reaches them.
    kept: KeptTrees,
    /// Directories created, parents first; their metadata is applied last, in reverse.
    dirs: Vec<(PathBuf, Node)>,
    stats: RestoreStats,
}

/// Restores the tree `root` into `opts.target`.
///
/// The calling thread walks the trees, creating directories, symlinks and FIFOs and
/// queueing files; [`threads`] workers fetch, decode and write file contents: several
/// files at once, and the chunks of a large file decoded in parallel and written in
/// order. Directories get their metadata last, deepest first, once everything inside them
/// exists. The first error stops the restore;
/// a file whose content failed is removed, so every file left in the target is whole.
#[tracing::instrument(skip_all, fields(target = %opts.target.display()))]
pub fn restore(
    repo: &Repository,
    index: &MasterIndex,
    root: &BlobId,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreStats> {
    let include = Includes::new(&opts.include);
    // A pack missing from a lagging mirror must stop the restore before its first file.
    let kept = preflight::before_restore(repo, index, root, &include)?;
    fs::create_dir_all(&opts.target).map_err(|cause| Error::RestoreWrite {
        path: opts.target.clone(),
        cause,
    })?;
    let shared = Shared {
        repo,
        index,
        opts,
        progress,
        is_root: nix::unistd::geteuid().is_root(),
        pool: BufPool::default(),
        abort: AtomicBool::new(false),
        error: Mutex::new(None),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    };
    let mut walker = Walker {
        shared: &shared,
        include,
        kept,
        dirs: Vec::new(),
        stats: RestoreStats::default(),
    };
    std::thread::scope(|s| {
        let (tx, rx) = bounded::<Job>(QUEUE);
        let workers: Vec<_> = (0..threads())
            .map(|_| {
                let rx = rx.clone();
                let shared = &shared;
                s.spawn(move || shared.work(rx))
            })
            .collect();
        drop(rx);
        if let Err(e) = walker.dir(root, &opts.target, &mut Vec::new(), &tx) {
            shared.fail(e);
        }
        drop(tx);
        for w in workers {
            if w.join().is_err() {
                shared.fail(Error::Internal("a restore worker panicked".into()));
            }
        }
    });
    if let Some(e) = shared.take_error() {
        return Err(e);
    }
    for (target, node) in walker.dirs.iter().rev() {
        apply_meta(node, target, None, shared.is_root)?;
    }
    let mut stats = walker.stats;
    stats.files = shared.files.load(Ordering::Relaxed);
    stats.bytes = shared.bytes.load(Ordering::Relaxed);
    Ok(stats)
}

impl Walker<'_, '_> {
    fn dir(
        &mut self,
        id: &BlobId,
        dir: &Path,
        path: &mut Vec<Vec<u8>>,
        tx: &Sender<Job>,
    ) -> Result<()> {
        if path.len() >= limits::MAX_TREE_DEPTH {
            return Err(Error::damaged(
                format!("tree blob {id}"),
                std::io::Error::other("directories nest deeper than MAX_TREE_DEPTH"),
            ));
        }
        let tree = match self.kept.take(id) {
            Some(tree) => tree,
            None => load_tree(self.shared.repo, self.shared.index, id)?,
        };
        for node in tree.nodes {
            if self.shared.aborted() {
                return Ok(());
            }
            path.push(node.name.to_vec());
            let (visit, whole) = self.include.wanted(path);
            if visit {
                let target = child(dir, &node.name)?;
                if node.kind == NodeKind::Dir || whole {
                    self.node(node, target, path, tx)?;
                }
            }
            path.pop();
        }
        Ok(())
    }

    fn node(
        &mut self,
        node: Node,
        target: PathBuf,
        path: &mut Vec<Vec<u8>>,
        tx: &Sender<Job>,
    ) -> Result<()> {
        let shown = display_path(path);
        match node.kind {
            NodeKind::Dir => {
                ensure_dir(&target)?;
                self.stats.dirs += 1;
                let sub = node.subtree.ok_or_else(|| {
                    Error::damaged(
                        format!("directory {shown}"),
                        std::io::Error::other("no subtree"),
                    )
                })?;
                self.dir(&sub, &target, path, tx)?;
                self.dirs.push((target, node));
            }
            NodeKind::File => self.file(node, target, shown, tx)?,
            NodeKind::Symlink => {
                let link = node.link.as_ref().ok_or_else(|| {
                    Error::damaged(
                        format!("symlink {shown}"),
                        std::io::Error::other("no target"),
                    )
                })?;
                create_symlink(link, &target)?;
                if self.shared.is_root {
                    let _ = std::os::unix::fs::lchown(&target, Some(node.uid), Some(node.gid));
                }
                let t = timespec(node.mtime_ns);
                let _ = utimensat(None, &target, &t, &t, UtimensatFlags::NoFollowSymlink);
                self.stats.others += 1;
            }
            NodeKind::Fifo => {
                create_fifo(&target, node.mode)?;
                apply_meta(&node, &target, None, self.shared.is_root)?;
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

    /// Queues a file: whole when it has at most one chunk, else chunk by chunk at their
    /// offsets, after checking that the chunks cover exactly the file's size.
    fn file(&mut self, node: Node, target: PathBuf, shown: String, tx: &Sender<Job>) -> Result<()> {
        let send = |job| {
            tx.send(job)
                .map_err(|_| Error::Internal("restore workers ended early".into()))
        };
        let content = node.content.as_ref().ok_or_else(|| Error::PathInSnapshot {
            path: shown.clone(),
            reason: "has no content".into(),
        })?;
        if content.level == 0 && content.entries.len() <= 1 {
            let chunk = content.entries.first().cloned();
            return send(Job::New(Box::new(NewFile {
                target,
                shown,
                node,
                chunk,
            })));
        }
        let entries = ChunkEntries::new(self.shared.repo, self.shared.index, content);
        let file = create_file(&target)?;
        let key = &self.shared.repo.keys().blob_id.0;
        let key = self.shared.opts.verify.then_some(key);
        let sparse = self.shared.opts.sparse;
        let task = Arc::new(FileTask::new(
            target,
            shown,
            node.clone(),
            file,
            key,
            sparse,
        ));
        let mut offset = 0u64;
        let r = (|| {
            for e in entries {
                if self.shared.aborted() {
                    return Ok(());
                }
                let e = e?;
                let end = offset.saturating_add(e.size);
                if e.size == 0 || end > task.node.size {
                    return Err(task.mismatch());
                }
                send(Job::Chunk {
                    task: Arc::clone(&task),
                    offset,
                    entry: e,
                })?;
                offset = end;
            }
            if offset != task.node.size {
                return Err(task.mismatch());
            }
            Ok(())
        })();
        if r.is_err() {
            task.abandon();
        }
        r
    }
}

impl Shared<'_> {
    fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Records the first error and stops everyone.
    fn fail(&self, e: Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.abort.store(true, Ordering::Relaxed);
    }

    fn take_error(&self) -> Option<Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// A worker: runs jobs until the walker is done; after an error, drains the queue.
    fn work(&self, rx: Receiver<Job>) {
        for job in rx {
            if self.aborted() {
                continue;
            }
            let r = match job {
                Job::New(nf) => self.new_file(*nf),
                Job::Chunk {
                    task,
                    offset,
                    entry,
                } => self.chunk(&task, offset, &entry),
            };
            if let Err(e) = r {
                self.fail(e);
            }
        }
    }

    /// Creates, writes and finishes a file of at most one chunk. Its whole-file hash is the
    /// chunk's ID (both are BLAKE3 keyed with the blob-ID key), which the read checked.
    fn new_file(&self, nf: NewFile) -> Result<()> {
        let file = create_file(&nf.target)?;
        let task = FileTask::new(nf.target, nf.shown, nf.node, file, None, self.opts.sparse);
        let r = (|| {
            let hash = match &nf.chunk {
                None => self.repo.keys().blob_id(&[]),
                Some(e) => {
                    let mut buf = self.pool.take();
                    let r = fetch_into(self.repo, self.index, e, &task.shown, &mut buf)
                        .and_then(|()| task.write_at(&buf, 0));
                    self.progress.bytes(buf.len() as u64);
                    self.pool.put(buf);
                    r?;
                    e.id
                }
            };
            let size = nf.chunk.as_ref().map_or(0, |e| e.size);
            if size != task.node.size {
                return Err(task.mismatch());
            }
            self.finish(&task, Some(hash))
        })();
        if r.is_err() {
            task.abandon();
        }
        r
    }

    /// Fetches one chunk of a multi-chunk file and hands it to the file, which writes it in
    /// order; finishes the file when this worker wrote its last byte.
    fn chunk(&self, task: &FileTask, offset: u64, entry: &ListEntry) -> Result<()> {
        let mut buf = self.pool.take();
        let r = fetch_into(self.repo, self.index, entry, &task.shown, &mut buf)
            .and_then(|()| {
                self.progress.bytes(buf.len() as u64);
                task.arrived(offset, buf, &self.pool, &self.abort)
            })
            .and_then(|arrival| match arrival {
                Arrival::Pending => Ok(()),
                Arrival::Complete(h) => self.finish(task, h.map(|h| BlobId(*h.as_bytes()))),
            });
        if r.is_err() {
            task.abandon();
        }
        r
    }

    /// A file's content is all written: checks the whole-file hash when there is one, sets
    /// the length (a sparse file may end in a hole) and applies metadata.
    fn finish(&self, task: &FileTask, hash: Option<BlobId>) -> Result<()> {
        if let (Some(want), Some(got)) = (task.node.hash, hash) {
            if want != got {
                return Err(task.mismatch());
            }
        }
        if self.opts.sparse {
            task.file
                .set_len(task.node.size)
                .map_err(|cause| Error::RestoreWrite {
                    path: task.target.clone(),
                    cause,
                })?;
        }
        apply_meta(&task.node, &task.target, Some(&task.file), self.is_root)?;
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(task.node.size, Ordering::Relaxed);
        self.progress.file_done();
        Ok(())
    }
}

/// Mode, owner (when root) and times. `file` is the open handle for regular files.
fn apply_meta(node: &Node, target: &Path, file: Option<&File>, is_root: bool) -> Result<()> {
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
            if is_root {
                std::os::unix::fs::fchown(f, Some(node.uid), Some(node.gid)).map_err(err)?;
            }
            f.set_permissions(perms).map_err(err)?;
            futimens(f.as_raw_fd(), &t, &t).map_err(nix_err)?;
        }
        None => {
            // `target` was created by us as a directory or FIFO and checked not to be a symlink.
            if is_root {
                std::os::unix::fs::lchown(target, Some(node.uid), Some(node.gid)).map_err(err)?;
            }
            fs::set_permissions(target, perms).map_err(err)?;
            // utimensat, not open(): opening a restored FIFO would block.
            utimensat(None, target, &t, &t, UtimensatFlags::NoFollowSymlink).map_err(nix_err)?;
        }
    }
    Ok(())
}

/// A nanosecond timestamp as a `timespec`.
fn timespec(ns: i64) -> TimeSpec {
    TimeSpec::new(ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}
