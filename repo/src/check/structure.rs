//! Index files, pack files and pack headers: every indexed pack exists with the indexed
//! size, its header lists exactly the indexed blobs, and index files agree with each other.

use super::{Finding, Problem};
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::lock::list_locks;
use crate::repository::Repository;
use format_spec::blob::{BlobKind, Encoding};
use format_spec::id::{BlobId, IndexId, PackId};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What one blob's entry says, as compared between index files and pack headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub kind: BlobKind,
    pub enc: Encoding,
    pub off: u32,
    pub len: u32,
    pub raw: u32,
}

/// A pack as the live index describes it.
pub(crate) struct ExpectedPack {
    /// Size the index states.
    pub size: u64,
    /// The index file that first named it.
    pub index: IndexId,
    /// Its blobs.
    pub blobs: BTreeMap<BlobId, Entry>,
    /// The bases of its delta blobs, as this pack's entries name them: a blob stored twice
    /// may be a delta against other bases in another pack (or plain there), so its copy
    /// here must be decoded against these, not against the copy the master index chose.
    pub delta_bases: BTreeMap<BlobId, Vec<BlobId>>,
}

/// The structure phase's result, used by the later phases.
pub(crate) struct Structure {
    /// Master index over the readable, live index files.
    pub index: MasterIndex,
    /// Packs named by the live index.
    pub expected: BTreeMap<PackId, ExpectedPack>,
    /// Pack files present, with their sizes.
    pub present: HashMap<PackId, u64>,
}

fn list(repo: &Repository, t: FileType) -> Result<Vec<(String, u64)>> {
    repo.backend().list(t).map_err(|cause| Error::RepoRead {
        what: format!("{} list", t.name()),
        cause,
    })
}

/// The whole error chain as one line.
pub(crate) fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub(crate) fn check(
    repo: &Repository,
    findings: &mut Vec<Finding>,
    warnings: &mut Vec<Problem>,
) -> Result<Structure> {
    // Index files, one by one: a damaged one is reported and the others still load.
    let (files, damaged) = repo.load_index_files()?;
    for (name, e) in damaged {
        findings.push(Finding::new(
            format!("index {name}"),
            describe(&e),
            Vec::new(),
        ));
    }
    let present_ids: HashSet<IndexId> = files.iter().map(|(id, _)| *id).collect();
    let superseded: HashSet<IndexId> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .filter(|id| present_ids.contains(id))
        .collect();

    // What the live index files say about each pack; they must agree with each other.
    let mut expected: BTreeMap<PackId, ExpectedPack> = BTreeMap::new();
    for (file, f) in files.iter().filter(|(id, _)| !superseded.contains(id)) {
        for p in &f.packs {
            let e = expected.entry(p.id).or_insert_with(|| ExpectedPack {
                size: p.size,
                index: *file,
                blobs: BTreeMap::new(),
                delta_bases: BTreeMap::new(),
            });
            if e.size != p.size {
                findings.push(Finding::new(
                    format!("index {file}"),
                    format!(
                        "pack {} has size {} here but {} in index {}",
                        p.id, p.size, e.size, e.index
                    ),
                    Vec::new(),
                ));
            }
            for b in &p.blobs {
                let entry = Entry {
                    kind: b.kind,
                    enc: b.enc,
                    off: b.off,
                    len: b.len,
                    raw: b.raw,
                };
                match e.blobs.get(&b.id) {
                    Some(prev) if *prev != entry => findings.push(Finding::new(
                        format!("index {file}"),
                        format!(
                            "blob {} in pack {}: {entry:?} here but {prev:?} in index {}",
                            b.id, p.id, e.index
                        ),
                        vec![b.id],
                    )),
                    Some(_) => {}
                    None => {
                        e.blobs.insert(b.id, entry);
                        if b.enc == Encoding::ZstdDelta {
                            e.delta_bases.insert(b.id, b.bases.clone());
                        }
                    }
                }
            }
        }
    }

    // Pack files present; each indexed pack must exist with the indexed size.
    let mut present: HashMap<PackId, u64> = HashMap::new();
    for (name, size) in list(repo, FileType::Pack)? {
        match name.parse::<PackId>() {
            Ok(id) => {
                present.insert(id, size);
            }
            Err(e) => warnings.push(Problem {
                object: format!("pack {name}"),
                message: format!("file name is not a pack ID: {e}"),
                ..Problem::default()
            }),
        }
    }
    let mut to_read = Vec::new();
    for (id, p) in &expected {
        let blobs = || p.blobs.keys().copied().collect::<Vec<_>>();
        match present.get(id) {
            None => findings.push(Finding::new(
                format!("pack {id}"),
                format!("missing (named by index {})", p.index),
                blobs(),
            )),
            Some(&size) if size != p.size => findings.push(Finding::new(
                format!("pack {id}"),
                format!(
                    "is {size} bytes but index {} says {} bytes",
                    p.index, p.size
                ),
                blobs(),
            )),
            Some(_) => to_read.push((*id, p)),
        }
    }
    let mut unreferenced: Vec<_> = present
        .iter()
        .filter(|(id, _)| !expected.contains_key(id))
        .collect();
    unreferenced.sort();
    for (id, size) in unreferenced {
        warnings.push(Problem {
            object: format!("pack {id}"),
            message: format!(
                "unreferenced pack ({size} bytes): in no index (left by an interrupted backup?)"
            ),
            ..Problem::default()
        });
    }

    // Every pack's header must list exactly the indexed blobs.
    let compared: Vec<(Option<Finding>, usize)> = to_read
        .par_iter()
        .map(|(id, p)| compare_header(repo, id, p))
        .collect();
    for (id, (finding, unindexed)) in to_read.iter().map(|(id, _)| id).zip(compared) {
        findings.extend(finding);
        if unindexed > 0 {
            // SPEC.md § Index files: a header entry MAY be absent from the index (repair
            // index leaves damaged blobs out; prune leaves out deltas whose bases it
            // deleted). Such a blob is unreachable data, not damage.
            warnings.push(Problem {
                object: format!("pack {id}"),
                message: format!(
                    "{unindexed} blob(s) in its header are in no index (unreferenced data)"
                ),
                ..Problem::default()
            });
        }
    }

    // Lock files: a damaged one is treated as stale by every command, so it is only a warning.
    for (name, rec) in list_locks(repo)? {
        if rec.is_none() {
            warnings.push(Problem {
                object: format!("lock {name}"),
                message:
                    "lock file does not open; it is treated as stale (`strata unlock` removes it)"
                        .into(),
                ..Problem::default()
            });
        }
    }

    // Pending notices: one is present while a prune runs, or after one was interrupted
    // (backups then store those packs' blobs again); a damaged one stops every backup.
    let (notices, damaged) = repo.pending_notices_checked()?;
    for (name, rec) in notices {
        warnings.push(Problem {
            object: format!("pending notice {name}"),
            message: format!(
                "announces {} pack(s) for deletion: a prune is running or was interrupted \
                 (the next prune finishes it)",
                rec.packs.len()
            ),
            ..Problem::default()
        });
    }
    for (name, e) in damaged {
        findings.push(Finding::new(
            format!("pending notice {name}"),
            format!(
                "{}; backups refuse to run until `strata prune` removes it",
                describe(&e)
            ),
            Vec::new(),
        ));
    }

    let index = MasterIndex::build(files);
    Ok(Structure {
        index,
        expected,
        present,
    })
}

/// Compares a pack's header with the index: a finding for every disagreement, and the
/// number of header entries no index lists (not damage: see the caller).
fn compare_header(repo: &Repository, id: &PackId, p: &ExpectedPack) -> (Option<Finding>, usize) {
    let all = || p.blobs.keys().copied().collect::<Vec<_>>();
    let header = match repo.read_pack_header(id, p.size) {
        Ok(h) => h,
        Err(e) => {
            return (
                Some(Finding::new(
                    format!("pack {id}"),
                    format!("header unreadable: {}", describe(&e)),
                    all(),
                )),
                0,
            )
        }
    };
    let mut unindexed = 0;
    let mut problems = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for h in &header.entries {
        seen.insert(h.id);
        let got = Entry {
            kind: h.kind,
            enc: h.encoding,
            off: h.offset,
            len: h.stored_len,
            raw: h.raw_len,
        };
        match p.blobs.get(&h.id) {
            None => unindexed += 1,
            Some(want) if *want != got => {
                problems.push(format!(
                    "blob {}: header says {got:?}, index says {want:?}",
                    h.id
                ));
                bad.push(h.id);
            }
            Some(_) => {}
        }
    }
    for b in p.blobs.keys().filter(|b| !seen.contains(*b)) {
        problems.push(format!("index lists blob {b} the header does not"));
        bad.push(*b);
    }
    if problems.is_empty() {
        return (None, unindexed);
    }
    let n = problems.len();
    problems.truncate(5);
    let mut message = format!("header and index disagree: {}", problems.join("; "));
    if n > 5 {
        message.push_str(&format!(" (and {} more)", n - 5));
    }
    (
        Some(Finding::new(format!("pack {id}"), message, bad)),
        unindexed,
    )
}
