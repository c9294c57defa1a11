//! The backup operation: SPEC.md § [Write order](../../SPEC.md#write-order).
//!
//! Three stages run at once: the producer thread (walk, read, chunk), the calling thread
//! (hash, dedup, compress, seal — fanned out over rayon — and tree assembly) and the upload
//! thread (packs). Channels between them are bounded, so memory is bounded by a few batches
//! of chunks, not by the input. Packs are written first, then the index that names them,
//! then the snapshot: a crash at any point leaves no snapshot that points at missing data.

pub mod assemble;
pub mod compare;
pub mod level;
pub mod meta;
pub mod source;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::lock::Lock;
use crate::pipeline::gate::ByteGate;
use crate::pipeline::packer::{PackStats, Packer};
use crate::pipeline::seal::SealedBlob;
use crate::progress::Progress;
use crate::repository::Repository;
use crate::util::{hostname, now_ns, username};
use assemble::{Assembler, Claims, Finished, Prepared};
use compare::ParentCursor;
use crossbeam_channel::bounded;
use format_spec::chunking::Chunker;
use format_spec::crypto::ObjectKind;
use format_spec::id::{BlobId, SnapshotId};
use format_spec::index::{IndexFile, IndexPack};
use format_spec::snapshot::Snapshot;
use globset::{Glob, GlobSet, GlobSetBuilder};
pub use level::Requested;
pub use source::Source;
pub use source::{Event, Producer};
use std::time::Instant;

/// Chunk bytes gathered before a parallel batch runs.
const BATCH_BYTES: usize = 8 << 20;
/// Events gathered before a batch runs regardless of size (many small files).
const BATCH_EVENTS: usize = 512;
/// Events buffered between the producer and the assembler (small files: ~3 events each).
const EVENT_QUEUE: usize = 4096;
/// Chunk bytes buffered between the producer and the assembler.
const QUEUE_BYTES: usize = 12 << 20;
/// Sealed blobs buffered before the upload thread.
const PACK_QUEUE: usize = 8;

/// What to back up and how to label it.
#[derive(Clone, Debug)]
pub struct BackupOptions {
    /// The source.
    pub source: Source,
    /// Backup set.
    pub set: String,
    /// Host name recorded.
    pub host: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Exclusion globs (matched against full paths).
    pub excludes: Vec<String>,
    /// Read and count, write nothing.
    pub dry_run: bool,
    /// Paths as recorded in the snapshot.
    pub paths: Vec<String>,
    /// Requested level.
    pub level: Requested,
    /// Store changed chunks of a diff or incr as deltas against the parent's version.
    pub deltas: bool,
}

/// What a backup produced.
#[derive(Debug)]
pub struct BackupOutcome {
    /// The snapshot's ID (none for a dry run).
    pub id: Option<SnapshotId>,
    /// The snapshot as written.
    pub snapshot: Snapshot,
    /// Source entries skipped (exit 3 when non-empty).
    pub warnings: Vec<String>,
    /// Why the level differs from the one requested, if it does.
    pub note: Option<String>,
    /// Data blobs stored as deltas, and their sealed bytes.
    pub deltas: (u64, u64),
    /// Sealed bytes read back from the repository (parent lists and delta bases).
    pub read_back: u64,
}

fn build_excludes(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| Error::Usage(format!("--exclude {p:?}: {e}")))?);
    }
    b.build()
        .map_err(|e| Error::Usage(format!("--exclude: {e}")))
}

/// Runs the upload stage: sealed blobs → packs. Returns the packs written.
pub(crate) fn upload(
    repo: &Repository,
    rx: crossbeam_channel::Receiver<SealedBlob>,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<(Vec<IndexPack>, PackStats)> {
    let target = repo.config().pack_size as usize;
    let mut data = Packer::new(target, dry_run);
    let mut meta = Packer::new(target, dry_run);
    let mut packs = Vec::new();
    let mut stats = PackStats::default();
    let mut record = |p: Option<IndexPack>, packs: &mut Vec<IndexPack>| {
        if let Some(p) = p {
            stats.packs += 1;
            stats.bytes += p.size;
            progress.pack_written(p.size);
            packs.push(p);
        }
    };
    for blob in rx {
        let packer = if blob.kind.is_metadata() {
            &mut meta
        } else {
            &mut data
        };
        let p = packer.add(repo, blob)?;
        record(p, &mut packs);
    }
    let p = data.flush(repo)?;
    record(p, &mut packs);
    let p = meta.flush(repo)?;
    record(p, &mut packs);
    Ok((packs, stats))
}

/// How one run of the write pipeline stores what its producer emits.
pub(crate) struct PipelineRun<'a> {
    /// The repository's index, loaded after the lock was taken.
    pub index: &'a MasterIndex,
    /// Root tree of the snapshot compared with (diff, incr): unchanged files are reused
    /// from it and changed ones find their delta bases in it.
    pub parent_tree: Option<BlobId>,
    /// A `full`: chunks indexed only as deltas are stored again, plain.
    pub plain_only: bool,
    /// Look for delta bases in the parent's version of changed files.
    pub deltas: bool,
    /// Exclusion globs for a walk of paths.
    pub excludes: &'a GlobSet,
    /// Read and count, write nothing.
    pub dry_run: bool,
}

/// What a pipeline run stored: packs written but not yet indexed, and the assembled tree.
pub(crate) struct Stored {
    /// The packs, for the index file that must name them before any snapshot does.
    pub packs: Vec<IndexPack>,
    /// Packs and bytes written.
    pub stats: PackStats,
    /// Root tree, counters and warnings.
    pub finished: Finished,
}

/// Runs the write pipeline once: `drive` feeds the producer on its own thread (a walk of
/// paths, a stream, or another repository's snapshot for `copy`); its events are hashed,
/// deduplicated, sealed and packed. Nothing is indexed yet: see [`commit_index`].
pub(crate) fn run_pipeline(
    repo: &Repository,
    run: &PipelineRun<'_>,
    progress: &dyn Progress,
    drive: impl FnOnce(&Producer<'_>) + Send,
) -> Result<Stored> {
    let index = run.index;
    let chunker = Chunker::new(&repo.keys().chunker, repo.config().chunker);
    let (ev_tx, ev_rx) = bounded::<Event>(EVENT_QUEUE);
    let gate = ByteGate::new(QUEUE_BYTES);
    let (pack_tx, pack_rx) = bounded::<SealedBlob>(PACK_QUEUE);

    let (assembled, uploaded) = std::thread::scope(|s| {
        let producer = Producer {
            chunker: &chunker,
            hash_key: &repo.keys().blob_id,
            excludes: run.excludes,
            tx: ev_tx,
            zstd_level: repo.config().zstd_level,
            parent: run
                .parent_tree
                .map(|t| std::cell::RefCell::new(ParentCursor::new(repo, index, &t))),
            gate: &gate,
            buf: Default::default(),
            deltas: run.deltas,
        };
        s.spawn(move || drive(&producer));
        let uploader = s.spawn(|| upload(repo, pack_rx, run.dry_run, progress));
        let assembled = assemble_all(repo, index, run.plain_only, ev_rx, &gate, pack_tx, progress);
        // However the assembler ended, a producer waiting for budget must not wait forever.
        gate.close();
        let uploaded = uploader
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("upload thread panicked".into())));
        (assembled, uploaded)
    });
    // An upload error is the root cause when both failed (the assembler saw a closed channel).
    let (packs, stats) = uploaded?;
    Ok(Stored {
        packs,
        stats,
        finished: assembled?,
    })
}

/// Writes the index file naming `packs` (none when there are none), after checking the
/// lock: an index must be durable before any snapshot names its blobs (SPEC.md § Write
/// order), and a writer whose lock went stale stops (SPEC.md § Locks).
pub(crate) fn commit_index(
    repo: &Repository,
    packs: Vec<IndexPack>,
    lock: Option<&Lock>,
) -> Result<Option<IndexFile>> {
    if packs.is_empty() {
        return Ok(None);
    }
    lock.map_or(Ok(()), Lock::check_held)?;
    let file = IndexFile {
        v: format_spec::index::VERSION,
        supersedes: vec![],
        packs,
    };
    repo.save(FileType::Index, ObjectKind::Index, &file)?;
    Ok(Some(file))
}

/// Backs up a source and writes a snapshot. With `lock` (the caller's shared lock, taken
/// before this call so the pending notices and index read here are at least as new as it),
/// the lock is checked before the index and again before the snapshot is written: a
/// backup whose lock went stale may have been given up by a prune (SPEC.md § Locks).
#[tracing::instrument(skip_all, fields(set = %opts.set))]
pub fn backup(
    repo: &Repository,
    opts: &BackupOptions,
    progress: &dyn Progress,
    lock: Option<&Lock>,
) -> Result<BackupOutcome> {
    let held = || lock.map_or(Ok(()), Lock::check_held);
    let started = Instant::now();
    let time_ns = now_ns();
    let index = repo.load_index()?;
    let plan = level::plan(repo, &opts.set, opts.level, time_ns)?;
    if let Some(n) = &plan.note {
        tracing::info!("{n}");
    }
    // Files are compared with the parent; a stream has no metadata to trust, but the
    // parent's version of it still tells changed from new and supplies delta bases.
    let read_before = repo.blob_bytes_read();
    let excludes = build_excludes(&opts.excludes)?;
    let run = PipelineRun {
        index: &index,
        parent_tree: plan.parent.as_ref().map(|(_, p)| p.tree),
        plain_only: plan.level == format_spec::snapshot::Level::Full,
        deltas: opts.deltas,
        excludes: &excludes,
        dry_run: opts.dry_run,
    };
    let source = &opts.source;
    let Stored {
        packs,
        stats,
        finished:
            Finished {
                tree,
                mut summary,
                warnings,
                deltas,
            },
    } = run_pipeline(repo, &run, progress, |p| p.run(source))?;

    if !opts.dry_run {
        commit_index(repo, packs, lock)?;
    }
    summary.bytes_stored = stats.bytes;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let (command, exit_status) = match &opts.source {
        Source::Command { command, .. } => (Some(command.clone()), Some(0)),
        _ => (None, None),
    };
    let snapshot = Snapshot {
        v: format_spec::snapshot::VERSION,
        time_ns,
        host: opts.host.clone(),
        user: username(),
        set: opts.set.clone(),
        paths: opts.paths.clone(),
        tags: opts.tags.clone(),
        tree,
        level: plan.level,
        parent: plan.parent.as_ref().map(|(id, _)| *id),
        base: plan.base,
        program: format!("strata {}", env!("CARGO_PKG_VERSION")),
        command,
        exit_status,
        summary,
        original: None,
    };
    let id = if opts.dry_run {
        None
    } else {
        held()?;
        Some(SnapshotId(repo.save(
            FileType::Snapshot,
            ObjectKind::Snapshot,
            &snapshot,
        )?))
    };
    tracing::info!(snapshot = ?id, "backup done");
    Ok(BackupOutcome {
        id,
        snapshot,
        warnings,
        note: plan.note,
        deltas,
        read_back: repo.blob_bytes_read() - read_before,
    })
}

fn assemble_all(
    repo: &Repository,
    index: &MasterIndex,
    plain_only: bool,
    rx: crossbeam_channel::Receiver<Event>,
    gate: &ByteGate,
    pack_tx: crossbeam_channel::Sender<SealedBlob>,
    progress: &dyn Progress,
) -> Result<Finished> {
    let claims = Claims::new(repo, index, plain_only);
    let mut asm = Assembler::new(&claims, pack_tx, progress);
    let mut prev: Option<(Vec<Event>, Vec<Prepared>)> = None;
    loop {
        let batch = gather(&rx, gate);
        let done = batch.is_empty();
        // Prepare this batch while the previous one is folded.
        let (prepared, folded) = rayon::join(
            || claims.prepare(&batch),
            || match prev.take() {
                Some((events, prepared)) => asm.fold(events, prepared),
                None => Ok(()),
            },
        );
        folded?;
        if done {
            break;
        }
        prev = Some((batch, prepared));
    }
    asm.finish()
}

/// Blocks for the next batch: up to `BATCH_BYTES` of chunks or `BATCH_EVENTS` events, cut
/// early at a fatal event; empty when the producer is done.
fn gather(rx: &crossbeam_channel::Receiver<Event>, gate: &ByteGate) -> Vec<Event> {
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    for ev in rx.iter() {
        if let Event::Chunk(c, _) = &ev {
            bytes += c.len();
            gate.release(c.len());
        }
        let fatal = matches!(ev, Event::Fatal(_));
        batch.push(ev);
        if fatal || bytes >= BATCH_BYTES || batch.len() >= BATCH_EVENTS {
            break;
        }
    }
    batch
}

/// The default backup-set name: `<host>:<path>[,<path>…]`.
pub fn default_set(host: &str, paths: &[String]) -> String {
    format!("{host}:{}", paths.join(","))
}

/// This host's name, for `--host` defaults.
pub fn this_host() -> String {
    hostname()
}
