//! `repair index`: rebuilds the index from pack headers. SPEC.md § [Index files](../../SPEC.md#index-files),
//! § [Write order](../../SPEC.md#write-order).
//!
//! Three steps, each safe to interrupt:
//!
//! 1. [`plan`] lists the index files present (all of them will be superseded) and every pack,
//!    reads each pack's header and re-hashes each of its blobs. Nothing is written.
//! 2. [`write_index`] writes ONE index file describing every intact blob and superseding
//!    every index file listed in step 1. Once it is durable, readers ignore the old files
//!    even if they are still there.
//! 3. [`remove_superseded`] deletes the superseded files. A crash before it finishes leaves
//!    them behind, harmlessly; a rerun supersedes and deletes them.
//!
//! A pack whose header does not read is left out of the new index; a blob that does not
//! authenticate, decode or re-hash to its ID is left out, and the pack's other blobs stay.
//! The caller holds an exclusive lock ([`run`] takes one).

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::repository::Repository;
use format_spec::blob;
use format_spec::crypto::{self, ObjectKind};
use format_spec::id::{IndexId, PackId};
use format_spec::index::{IndexBlob, IndexFile, IndexPack, VERSION};
use format_spec::pack::PackEntry;
use rayon::prelude::*;
use std::sync::Arc;

/// How many packs are read at once (each is held in memory while its blobs are checked).
pub const MAX_PARALLEL_PACKS: usize = 8;

/// A pack left out of the new index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedPack {
    /// The pack's file name (normally its hex ID).
    pub pack: String,
    /// Why, with its causes.
    pub reason: String,
}

/// A blob left out of the new index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedBlob {
    /// Blob ID (hex).
    pub blob: String,
    /// Pack ID (hex).
    pub pack: String,
    /// Why, with its causes.
    pub reason: String,
}

/// What [`plan`] found.
#[derive(Debug)]
pub struct Plan {
    /// Every index file present when the repair started; the new index supersedes them all.
    pub superseded: Vec<IndexId>,
    /// The new index file.
    pub file: IndexFile,
    /// Packs whose header could be read.
    pub packs_read: usize,
    /// Packs left out.
    pub damaged_packs: Vec<DamagedPack>,
    /// Blobs put in the new index.
    pub blobs_indexed: usize,
    /// Blobs left out.
    pub damaged_blobs: Vec<DamagedBlob>,
}

/// The outcome of a full repair.
#[derive(Debug)]
pub struct Report {
    /// The plan that was carried out.
    pub plan: Plan,
    /// The index file written.
    pub written: IndexId,
    /// How many superseded index files were deleted.
    pub removed: usize,
}

impl Plan {
    /// Whether anything was damaged (the CLI exits 1).
    pub fn found_damage(&self) -> bool {
        !self.damaged_packs.is_empty() || !self.damaged_blobs.is_empty()
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// One pack's outcome.
enum PackOutcome {
    Read(IndexPack, Vec<DamagedBlob>),
    Damaged(DamagedPack),
}

/// Checks one blob of a pack already in memory: open, decode, re-hash.
fn check_blob(repo: &Repository, pack: &[u8], e: &PackEntry) -> std::result::Result<(), String> {
    let start = e.offset as usize;
    let end = start.saturating_add(e.stored_len as usize);
    let sealed = pack
        .get(start..end)
        .ok_or_else(|| format!("bytes {start}..{end} lie past the end of the pack"))?;
    let kind = e.kind.object_kind();
    let aad = crypto::aad(repo.id(), kind, Some(&e.id));
    let stored =
        crypto::open(&repo.keys().encryption, kind, &aad, sealed).map_err(|err| chain(&err))?;
    if e.encoding == format_spec::blob::Encoding::ZstdDelta {
        // Its bases may sit in packs not read yet: the blob is authenticated (it was sealed
        // with this key, for this ID) and its frame must state the raw length; `check
        // --read-data` decodes it against its bases once the index is rebuilt.
        return match format_spec::delta::frame_content_size(&stored) {
            Some(n) if n == u64::from(e.raw_len) => Ok(()),
            _ => Err("delta frame does not state the raw length".into()),
        };
    }
    let plain = blob::decode(e.encoding, &stored, e.raw_len).map_err(|err| chain(&err))?;
    if repo.keys().blob_id(&plain) != e.id {
        return Err("content does not match its ID".into());
    }
    Ok(())
}

fn read_pack(repo: &Repository, name: &str, size: u64) -> PackOutcome {
    let damaged = |reason: String| {
        PackOutcome::Damaged(DamagedPack {
            pack: name.to_string(),
            reason,
        })
    };
    let id: PackId = match name.parse() {
        Ok(id) => id,
        Err(e) => return damaged(format!("file name is not a pack ID: {e}")),
    };
    let header = match repo.read_pack_header(&id, size) {
        Ok(h) => h,
        Err(e) => return damaged(chain(&e)),
    };
    // The header bounded the size (≤ MAX_PACK_SIZE), so reading the whole file is bounded.
    let bytes = match repo.backend().read(FileType::Pack, name, size) {
        Ok(b) => b,
        Err(e) => return damaged(format!("reading the pack: {e}")),
    };
    let mut blobs = Vec::with_capacity(header.entries.len());
    let mut bad = Vec::new();
    for e in header.entries {
        match check_blob(repo, &bytes, &e) {
            Ok(()) => blobs.push(IndexBlob::from(e)),
            Err(reason) => bad.push(DamagedBlob {
                blob: e.id.to_hex(),
                pack: name.to_string(),
                reason,
            }),
        }
    }
    PackOutcome::Read(IndexPack { id, size, blobs }, bad)
}

/// Step 1: lists index files and packs, reads every pack header and checks every blob.
/// Writes nothing.
pub fn plan(repo: &Repository) -> Result<Plan> {
    let index_names = repo.list(FileType::Index)?;
    let mut superseded = Vec::with_capacity(index_names.len());
    for (name, _) in &index_names {
        match name.parse::<IndexId>() {
            Ok(id) => superseded.push(id),
            // Not an index file strata wrote; leave it alone (readers fail on it loudly).
            Err(e) => tracing::warn!(file = %name, error = %e, "ignoring a file in index/"),
        }
    }
    let mut packs = repo.list(FileType::Pack)?;
    packs.sort();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads().clamp(1, MAX_PARALLEL_PACKS))
        .build()
        .map_err(|e| Error::Usage(format!("starting the pack readers: {e}")))?;
    let outcomes: Vec<PackOutcome> = pool.install(|| {
        packs
            .par_iter()
            .map(|(name, size)| read_pack(repo, name, *size))
            .collect()
    });
    let mut plan = Plan {
        superseded,
        file: IndexFile {
            v: VERSION,
            supersedes: Vec::new(),
            packs: Vec::new(),
        },
        packs_read: 0,
        damaged_packs: Vec::new(),
        blobs_indexed: 0,
        damaged_blobs: Vec::new(),
    };
    for o in outcomes {
        match o {
            PackOutcome::Read(p, bad) => {
                plan.packs_read += 1;
                plan.blobs_indexed += p.blobs.len();
                plan.damaged_blobs.extend(bad);
                if !p.blobs.is_empty() {
                    plan.file.packs.push(p);
                }
            }
            PackOutcome::Damaged(d) => plan.damaged_packs.push(d),
        }
    }
    plan.file.supersedes = plan.superseded.clone();
    Ok(plan)
}

/// Step 2: writes the new index file (durably, superseding every file the plan listed).
pub fn write_index(repo: &Repository, plan: &Plan) -> Result<IndexId> {
    plan.file
        .validate()
        .map_err(|e| Error::damaged("rebuilt index", e))?;
    let name = repo.save(FileType::Index, ObjectKind::Index, &plan.file)?;
    Ok(IndexId(name))
}

/// Step 3: deletes superseded index files; one already gone counts as removed.
/// Call only after [`write_index`] returned.
pub fn remove_superseded(
    repo: &Repository,
    superseded: &[IndexId],
    written: IndexId,
) -> Result<usize> {
    let mut n = 0;
    for id in superseded {
        if *id == written {
            continue;
        }
        let name = id.to_hex();
        match repo.backend().remove(FileType::Index, &name) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => n += 1,
            Err(cause) => {
                return Err(Error::RepoWrite {
                    what: format!("index {name} (removing it)"),
                    cause,
                })
            }
        }
    }
    Ok(n)
}

/// Takes an exclusive lock and runs all three steps.
pub fn run(repo: Arc<Repository>) -> Result<Report> {
    let _lock = Lock::acquire(repo.clone(), true, "repair index")?;
    let plan = plan(&repo)?;
    let written = write_index(&repo, &plan)?;
    let removed = remove_superseded(&repo, &plan.superseded, written)?;
    Ok(Report {
        plan,
        written,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::packer::write_pack;
    use crate::pipeline::seal::seal_blob;
    use format_spec::blob::BlobKind;

    fn repo(dir: &std::path::Path) -> Repository {
        crate::repository::test_repository(dir)
    }

    #[test]
    fn rerun_after_a_partial_delete_finishes_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo(dir.path());
        let blobs = (0..3u8)
            .map(|i| {
                let data = vec![i; 2000];
                seal_blob(&repo, BlobKind::Data, repo.keys().blob_id(&data), &data).unwrap()
            })
            .collect();
        write_pack(&repo, blobs, false).unwrap();
        // Two stale index files (empty ones will do: repair does not read them).
        let empty = IndexFile {
            v: VERSION,
            supersedes: Vec::new(),
            packs: Vec::new(),
        };
        for _ in 0..2 {
            repo.save(FileType::Index, ObjectKind::Index, &empty)
                .unwrap();
        }
        let plan = plan(&repo).unwrap();
        assert_eq!((plan.packs_read, plan.blobs_indexed), (1, 3));
        assert_eq!(plan.superseded.len(), 2);
        assert!(!plan.found_damage());
        let written = write_index(&repo, &plan).unwrap();
        // A crash after deleting one of the two superseded files.
        let first = plan.superseded.first().unwrap().to_hex();
        repo.backend().remove(FileType::Index, &first).unwrap();
        assert_eq!(
            remove_superseded(&repo, &plan.superseded, written).unwrap(),
            2
        );
        let left = repo.backend().list(FileType::Index).unwrap();
        assert_eq!(left, vec![(written.to_hex(), left[0].1)]);
        assert_eq!(repo.load_index().unwrap().len(), 3);
    }
}
