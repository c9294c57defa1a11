//! Restore drills (`strata verify`): SPEC.md § [Drills](../../SPEC.md#drills) and
//! § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! A drill reassembles every file of a snapshot exactly as a restore would (each blob
//! authenticated and re-hashed against its ID, each file's size and whole-file hash
//! checked) but, unless a target directory is given, writes nothing: the content streams
//! into a sink that only counts. Optionally one file is then dumped into a restore command
//! (`pg_restore --list`, `psql` into a scratch database), which must exit 0.
//!
//! Whatever happens inside the drill, its outcome is recorded as a [`Drill`] in `drills/`:
//! a failed drill is evidence too. Only failing to record it is an error of [`verify`].

use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::progress::NoProgress;
use crate::repository::Repository;
use crate::restore::content::{dump_file, write_content};
use crate::restore::walk::{find_node, walk_tree};
use crate::restore::{restore, RestoreOptions};
use format_spec::drill::{self, Drill};
use format_spec::id::SnapshotId;
use format_spec::snapshot::Snapshot;
use format_spec::tree::NodeKind;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How much of a restore command's stderr goes into the drill's error message.
const STDERR_TAIL: usize = 2048;

/// What a drill does besides reassembling every file.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Run a real restore (with `verify`) into this directory instead of a counting sink.
    pub target: Option<PathBuf>,
    /// Pipe one file into `sh -c` this command; it must exit 0.
    pub restore_command: Option<String>,
    /// The snapshot path to pipe; see [`command_path`] for the default.
    pub path: Option<String>,
}

/// A recorded drill and the name of its file in `drills/`.
#[derive(Clone, Debug)]
pub struct DrillOutcome {
    /// What was recorded.
    pub drill: Drill,
    /// Its content name.
    pub name: String,
}

/// The snapshot path a restore command is fed: `--path` if given; else, for a snapshot of
/// a command or stdin, or of a single root path that is a file, that file.
///
/// # Errors
///
/// [`Error::Usage`] when the snapshot holds more than one file and no path was given.
pub fn command_path(
    repo: &Repository,
    index: &MasterIndex,
    id: &SnapshotId,
    snap: &Snapshot,
    path: Option<&str>,
) -> Result<String> {
    if let Some(p) = path {
        return Ok(p.to_string());
    }
    let usage = || {
        Error::Usage(format!(
            "snapshot {} holds more than one file ({}); give --path to choose the file to pipe into --restore-command",
            id.short(),
            snap.paths.join(" ")
        ))
    };
    let [only] = snap.paths.as_slice() else {
        return Err(usage());
    };
    if snap.command.is_some() {
        return Ok(only.clone());
    }
    match find_node(repo, index, &snap.tree, only) {
        Ok(n) if n.kind == NodeKind::File => Ok(only.clone()),
        Ok(_) => Err(usage()),
        // A damaged tree is the drill's business: let it fail (and be recorded) there.
        Err(_) => Ok(only.clone()),
    }
}

/// Runs one drill of `snapshot` and records it (passed or failed).
///
/// # Errors
///
/// Only when the drill cannot be recorded, or the options are unusable (no `--path` for a
/// snapshot of several files): a failed drill is `Ok` with `drill.ok == false`.
pub fn verify(
    repo: &Repository,
    index: &MasterIndex,
    snapshot_id: &SnapshotId,
    snapshot: &Snapshot,
    opts: &VerifyOptions,
) -> Result<DrillOutcome> {
    let path = match &opts.restore_command {
        Some(_) => Some(command_path(
            repo,
            index,
            snapshot_id,
            snapshot,
            opts.path.as_deref(),
        )?),
        None => None,
    };
    let time_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let started = Instant::now();
    let mut counts = (0u64, 0u64);
    let result = run_drill(repo, index, snapshot, opts, path.as_deref(), &mut counts);
    let drill = Drill {
        v: drill::VERSION,
        snapshot: *snapshot_id,
        set: snapshot.set.clone(),
        time_ns,
        command: opts.restore_command.clone(),
        path,
        ok: result.is_ok(),
        error: result.err(),
        files: counts.0,
        bytes: counts.1,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let name = repo.save_drill(&drill)?;
    Ok(DrillOutcome { drill, name })
}

/// The drill proper; the error is the message to record.
fn run_drill(
    repo: &Repository,
    index: &MasterIndex,
    snap: &Snapshot,
    opts: &VerifyOptions,
    path: Option<&str>,
    counts: &mut (u64, u64),
) -> std::result::Result<(), String> {
    match &opts.target {
        Some(target) => {
            let ropts = RestoreOptions {
                target: target.clone(),
                include: Vec::new(),
                verify: true,
                sparse: false,
            };
            let stats = restore(repo, index, &snap.tree, &ropts, &NoProgress).map_err(chain)?;
            *counts = (stats.files, stats.bytes);
        }
        None => {
            walk_tree(repo, index, &snap.tree, &mut |e| {
                if e.node.kind != NodeKind::File {
                    return Ok(());
                }
                let n =
                    write_content(repo, index, &e.node, &e.display(), &mut io::sink(), &|_| {})?;
                counts.0 += 1;
                counts.1 += n;
                Ok(())
            })
            .map_err(chain)?;
        }
    }
    if let (Some(cmd), Some(path)) = (&opts.restore_command, path) {
        pipe_into(repo, index, snap, cmd, path)?;
    }
    Ok(())
}

/// Streams the file at `path` into `sh -c cmd` and requires exit status 0. The command's
/// stdout goes to our stderr (stdout may carry `--json`); its stderr is kept for the error.
fn pipe_into(
    repo: &Repository,
    index: &MasterIndex,
    snap: &Snapshot,
    cmd: &str,
    path: &str,
) -> std::result::Result<(), String> {
    let node = find_node(repo, index, &snap.tree, path).map_err(chain)?;
    if node.kind != NodeKind::File {
        return Err(format!("{path} is a {:?}, not a file", node.kind));
    }
    let stdout = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .map_err(|e| format!("restore command {cmd:?}: {e}"))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("restore command {cmd:?} could not start: {e}"))?;
    // Drain stderr on its own thread so a chatty command cannot block on a full pipe
    // while we block writing its stdin.
    let stderr = child.stderr.take();
    let tail = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let dumped = match child.stdin.take() {
        Some(stdin) => {
            let mut w = PipeWriter {
                inner: io::BufWriter::with_capacity(1 << 20, stdin),
                closed: false,
            };
            // The content is still fully read and checked even when the command stops
            // reading early (`grep -q`): the rest is discarded.
            dump_file(repo, index, &node, path, &mut w).map_err(chain)
        }
        None => Err("restore command has no stdin".to_string()),
    };
    let status = child
        .wait()
        .map_err(|e| format!("restore command {cmd:?}: {e}"))?;
    let tail = tail.join().unwrap_or_default();
    dumped?;
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&tail);
    let text = text.trim();
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= STDERR_TAIL)
        .unwrap_or(text.len());
    let shown = text.get(start..).unwrap_or("");
    Err(if shown.is_empty() {
        format!("restore command {cmd:?} failed ({status})")
    } else {
        format!("restore command {cmd:?} failed ({status}): {shown}")
    })
}

/// The whole error chain on one line, as the CLI prints it.
fn chain(e: Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A pipe writer that treats the reader going away as the end of what it wanted.
struct PipeWriter<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for PipeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}
