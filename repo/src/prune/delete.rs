//! The new index and the deletions: SPEC.md § [Pruning](../../../SPEC.md#pruning), steps 9
//! and 10.
//!
//! The new index names every pack the reloaded index names except the ones deleted, with
//! their blobs as before, less any delta that would lose a base with them (it could not be
//! read, and a backup must not deduplicate against it). It supersedes every index file it
//! was built from and is durable before the first delete; files that vanish meanwhile
//! count as deleted, so a rerun after a crash finishes the job.

use super::plan::{readable, PackInfo};
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::repository::Repository;
use format_spec::blob::Encoding;
use format_spec::id::{IndexId, PackId};
use format_spec::index::{IndexFile, IndexPack, VERSION};
use std::collections::{HashMap, HashSet};

/// The index file that replaces `files` (whose packs are `packs`, as
/// [`indexed_packs`](super::plan::indexed_packs) lists them) once the packs in `delete` are
/// gone.
pub fn final_index(
    files: &[(IndexId, IndexFile)],
    packs: HashMap<PackId, PackInfo>,
    delete: &HashSet<PackId>,
) -> IndexFile {
    let mut packs: Vec<_> = packs
        .into_values()
        .filter(|p| !delete.contains(&p.id))
        .collect();
    packs.sort_by_key(|p| p.id);
    let readable = readable(packs.iter());
    let packs = packs
        .into_iter()
        .map(|p| IndexPack {
            id: p.id,
            size: p.size,
            blobs: p
                .blobs
                .into_iter()
                .filter(|b| b.enc != Encoding::ZstdDelta || readable.contains(&b.id))
                .collect(),
        })
        .collect();
    IndexFile {
        v: VERSION,
        supersedes: files.iter().map(|(id, _)| *id).collect(),
        packs,
    }
}

/// Deletes files of a type; one already gone counts as deleted. Returns how many.
pub fn remove_all(repo: &Repository, t: FileType, names: &[String], point: &str) -> Result<u64> {
    let mut n = 0;
    for name in names {
        match repo.backend().remove(t, name) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => n += 1,
            Err(cause) => {
                return Err(Error::RepoWrite {
                    what: format!("{} {name} (deleting it)", t.name()),
                    cause,
                })
            }
        }
    }
    failpoint::hit(point).map_err(|cause| Error::RepoWrite {
        what: point.into(),
        cause,
    })?;
    Ok(n)
}
