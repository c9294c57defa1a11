//! Backup sources (paths, stdin, a command's stdout) turned into an ordered event stream.
//!
//! The producer runs on its own thread: it walks, reads and chunks, and hands events to
//! the assembler over a bounded channel, so memory does not grow with the input.

use crate::backup::compare::{ParentCursor, RefVersion};
use crate::backup::meta::node_from_metadata;
use crate::error::Error;
use crate::pipeline::chunk::StreamChunker;
use crate::pipeline::gate::ByteGate;
use crate::pipeline::zstd_tune::LevelTuner;
use crate::util::now_ns;
use crossbeam_channel::Sender;
use format_spec::chunking::Chunker;
use format_spec::crypto::SubKey;
use format_spec::id::BlobId;
use format_spec::tree::{Node, NodeKind};
use globset::GlobSet;
use serde_bytes::ByteBuf;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to back up.
#[derive(Clone, Debug)]
pub enum Source {
    /// Files and directories.
    Paths(Vec<PathBuf>),
    /// Standard input as one file.
    Stdin {
        /// File name in the snapshot.
        name: String,
    },
    /// A command's standard output as one file (`sh -c`).
    Command {
        /// The command line.
        command: String,
        /// File name in the snapshot.
        name: String,
    },
}

/// One step of the source, in tree order.
pub enum Event {
    /// A directory begins (node without subtree).
    DirEnter(Node),
    /// The innermost open directory ends.
    DirExit,
    /// A regular file begins (node without content); the flag says whether the parent
    /// snapshot had an entry of that name (changed rather than new).
    FileStart(Node, bool),
    /// An unchanged file reused from the parent, with its content references.
    Reuse(Node),
    /// The next chunk of the current file, with how to store it.
    Chunk(Vec<u8>, ChunkInfo),
    /// The current file ended: whole-content hash and bytes read.
    FileEnd {
        /// Keyed BLAKE3 of the content; `None` for files of at most one chunk, whose chunk ID
        /// is that hash.
        hash: Option<BlobId>,
        /// Bytes read.
        size: u64,
    },
    /// The current file could not be read to its end; drop it.
    FileAbort(String),
    /// A complete non-file node (symlink, fifo, device).
    Other(Node),
    /// A source entry was skipped.
    Warning(String),
    /// The source failed as a whole; no snapshot may be written.
    Fatal(Error),
}

/// What the producer knows about a chunk besides its bytes.
pub struct ChunkInfo {
    /// zstd level for a plain frame.
    pub level: i32,
    /// Fingerprint of its first bytes (kept in the list entry).
    pub fp: u64,
    /// Candidate delta bases from the parent's version of the file (empty: store plain).
    pub bases: Vec<BlobId>,
}

/// Reads a source and emits events; returns when done or when the receiver hung up.
pub struct Producer<'a> {
    /// Chunker.
    pub chunker: &'a Chunker,
    /// Key for the whole-file hash (the blob-ID key).
    pub hash_key: &'a SubKey,
    /// Exclusion globs.
    pub excludes: &'a GlobSet,
    /// Event sink.
    pub tx: Sender<Event>,
    /// Configured zstd level.
    pub zstd_level: i32,
    /// Cursor into the parent snapshot (diff and incr levels).
    pub parent: Option<std::cell::RefCell<ParentCursor<'a>>>,
    /// Bytes of chunks in flight to the assembler.
    pub gate: &'a ByteGate,
    /// Chunker buffer reused across files.
    pub buf: std::cell::RefCell<Vec<u8>>,
    /// Look for delta bases in the parent's version of changed files.
    pub deltas: bool,
}

impl Producer<'_> {
    /// Sends one event (waiting for budget for a chunk), keeping the parent cursor in step
    /// with the directories entered and left; false once the receiver hung up.
    pub(crate) fn send(&self, ev: Event) -> bool {
        if let Event::Chunk(c, _) = &ev {
            if !self.gate.acquire(c.len()) {
                return false;
            }
        }
        // The parent cursor follows every directory the stream enters and leaves.
        if let Some(c) = &self.parent {
            match &ev {
                Event::DirEnter(node) => c.borrow_mut().enter(&node.name),
                Event::DirExit => c.borrow_mut().exit(),
                _ => {}
            }
        }
        self.tx.send(ev).is_ok()
    }

    /// Streams a reader as chunks plus `FileEnd`; returns false if the receiver hung up.
    /// `reference` is the parent's version of the file (delta bases).
    pub(crate) fn stream(
        &self,
        reader: impl Read,
        what: &Path,
        expected: Option<u64>,
        mut reference: Option<RefVersion>,
    ) -> Result<bool, std::io::Error> {
        let mut chunks = StreamChunker::with_buffer(reader, self.chunker, self.buf.take());
        // A one-chunk file's hash is its chunk's ID, which a worker computes anyway, so the
        // whole-file hash starts only once a second chunk shows up (most files are small).
        let mut hasher: Option<blake3::Hasher> = None;
        let mut held: Option<(Vec<u8>, ChunkInfo)> = None;
        let mut size = 0u64;
        let mut tuner = LevelTuner::new(self.zstd_level, expected);
        while let Some(c) = chunks.next_chunk()? {
            size += c.len() as u64;
            let fp = format_spec::list::fingerprint(&c);
            let info = ChunkInfo {
                level: tuner.level_for(&c),
                fp,
                bases: reference
                    .as_mut()
                    .map(|r| r.candidates(fp, c.len()))
                    .unwrap_or_default(),
            };
            if let Some((prev, prev_info)) = held.replace((c, info)) {
                hasher
                    .get_or_insert_with(|| blake3::Hasher::new_keyed(&self.hash_key.0))
                    .update(&prev);
                if !self.send(Event::Chunk(prev, prev_info)) {
                    return Ok(false);
                }
            }
        }
        if let Some((last, info)) = held {
            if let Some(h) = hasher.as_mut() {
                h.update(&last);
            }
            if !self.send(Event::Chunk(last, info)) {
                return Ok(false);
            }
        }
        tracing::trace!(path = %what.display(), size, "file read");
        self.buf.replace(chunks.into_buffer());
        Ok(self.send(Event::FileEnd {
            hash: hasher.map(|h| BlobId(*h.finalize().as_bytes())),
            size,
        }))
    }

    /// Runs the producer for a source.
    pub fn run(&self, source: &Source) {
        match source {
            Source::Paths(paths) => self.paths(paths),
            Source::Stdin { name } => {
                let (existed, reference) = self.stream_parent(name);
                self.send(Event::FileStart(stream_node(name), existed));
                if let Err(e) = self.stream(
                    std::io::stdin().lock(),
                    Path::new("<stdin>"),
                    None,
                    reference,
                ) {
                    self.send(Event::Fatal(Error::Source {
                        path: "<stdin>".into(),
                        cause: e,
                    }));
                }
            }
            Source::Command { command, name } => self.command(command, name),
        }
    }

    /// For a stdin or command stream: whether the parent snapshot had it, and its chunk list
    /// for delta bases (a stream's metadata says nothing, so it is always read in full).
    fn stream_parent(&self, name: &str) -> (bool, Option<RefVersion>) {
        let Some(c) = &self.parent else {
            return (false, None);
        };
        let c = c.borrow();
        let existed = c.existed(name.as_bytes());
        let reference = self.deltas.then(|| c.reference(name.as_bytes())).flatten();
        (existed, reference)
    }

    fn command(&self, command: &str, name: &str) {
        let child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                self.send(Event::Fatal(Error::Source {
                    path: command.into(),
                    cause: e,
                }));
                return;
            }
        };
        let (existed, reference) = self.stream_parent(name);
        self.send(Event::FileStart(stream_node(name), existed));
        let Some(stdout) = child.stdout.take() else {
            self.send(Event::Fatal(Error::Source {
                path: command.into(),
                cause: std::io::Error::other("no stdout pipe"),
            }));
            return;
        };
        let streamed = self.stream(stdout, Path::new(command), None, reference);
        let status = child.wait();
        let fatal = match (streamed, status) {
            (Err(e), _) => Some(Error::Source {
                path: command.into(),
                cause: e,
            }),
            (_, Err(e)) => Some(Error::Source {
                path: command.into(),
                cause: e,
            }),
            (Ok(_), Ok(st)) if !st.success() => Some(Error::CommandFailed {
                command: command.into(),
                status: describe_status(st),
            }),
            _ => None,
        };
        if let Some(e) = fatal {
            self.send(Event::Fatal(e));
        }
    }

    fn paths(&self, paths: &[PathBuf]) {
        let mut open: Vec<PathBuf> = Vec::new(); // directories entered above the walked roots
        for root in paths {
            let parent = root.parent().map(Path::to_path_buf).unwrap_or_default();
            // Close open ancestors that are not ancestors of this root.
            while open.last().is_some_and(|o| !parent.starts_with(o)) {
                open.pop();
                self.send(Event::DirExit);
            }
            // Enter the missing ancestors with their real metadata (restic-style full paths).
            let have = open.len();
            let ancestors: Vec<&Path> = parent
                .ancestors()
                .filter(|a| a.file_name().is_some())
                .collect();
            for anc in ancestors.into_iter().rev().skip(have) {
                match std::fs::symlink_metadata(anc) {
                    Ok(md) => {
                        let name = anc
                            .file_name()
                            .map(|n| n.as_bytes().to_vec())
                            .unwrap_or_default();
                        self.send(Event::DirEnter(node_from_metadata(name, &md)));
                        open.push(anc.to_path_buf());
                    }
                    Err(e) => {
                        self.send(Event::Fatal(Error::Source {
                            path: anc.into(),
                            cause: e,
                        }));
                        return;
                    }
                }
            }
            if !self.walk(root) {
                return;
            }
        }
        for _ in open {
            self.send(Event::DirExit);
        }
    }

    /// Walks one root; returns false if the receiver hung up.
    fn walk(&self, root: &Path) -> bool {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()))
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !self.excludes.is_match(e.path()));
        let mut depth_open = 0usize;
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if e.depth() == 0 {
                        let cause = e
                            .into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("walk failed"));
                        self.send(Event::Fatal(Error::Source {
                            path: root.into(),
                            cause,
                        }));
                        return false;
                    }
                    if !self.send(Event::Warning(format!("{e}"))) {
                        return false;
                    }
                    continue;
                }
            };
            while depth_open > entry.depth() {
                depth_open -= 1;
                if !self.send(Event::DirExit) {
                    return false;
                }
            }
            let md = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    if !self.send(Event::Warning(format!("{}: {e}", entry.path().display()))) {
                        return false;
                    }
                    continue;
                }
            };
            let name = match entry.path().file_name() {
                Some(n) => n.as_bytes().to_vec(),
                None => b"root".to_vec(),
            };
            let mut node = node_from_metadata(name, &md);
            let ok = match node.kind {
                NodeKind::Dir => {
                    depth_open += 1;
                    self.send(Event::DirEnter(node))
                }
                NodeKind::File => self.file(entry.path(), node),
                NodeKind::Symlink => match std::fs::read_link(entry.path()) {
                    Ok(t) => {
                        node.link = Some(ByteBuf::from(t.as_os_str().as_bytes().to_vec()));
                        self.send(Event::Other(node))
                    }
                    Err(e) => self.send(Event::Warning(format!("{}: {e}", entry.path().display()))),
                },
                _ => self.send(Event::Other(node)),
            };
            if !ok {
                return false;
            }
        }
        for _ in 0..depth_open {
            if !self.send(Event::DirExit) {
                return false;
            }
        }
        true
    }

    fn file(&self, path: &Path, node: Node) -> bool {
        let mut existed = false;
        let mut reference = None;
        if let Some(c) = &self.parent {
            let c = c.borrow();
            if let Some(reused) = c.unchanged(&node) {
                return self.send(Event::Reuse(reused));
            }
            existed = c.existed(&node.name);
            if self.deltas {
                reference = c.reference(&node.name);
            }
        }
        let f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return self.send(Event::Warning(format!("{}: {e}", path.display()))),
        };
        let size = node.size;
        if !self.send(Event::FileStart(node, existed)) {
            return false;
        }
        match self.stream(f, path, Some(size), reference) {
            Ok(alive) => alive,
            Err(e) => self.send(Event::FileAbort(format!("{}: {e}", path.display()))),
        }
    }
}

pub(crate) fn stream_node(name: &str) -> Node {
    let now = now_ns();
    Node {
        name: ByteBuf::from(name.as_bytes().to_vec()),
        kind: NodeKind::File,
        mode: 0o100600,
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        mtime_ns: now,
        ctime_ns: now,
        size: 0,
        inode: 0,
        dev: 0,
        rdev: 0,
        link: None,
        xattrs: vec![],
        content: None,
        hash: None,
        subtree: None,
    }
}

fn describe_status(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown status".into(),
    }
}
