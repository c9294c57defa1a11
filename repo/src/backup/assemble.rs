//! Events → blobs, content lists and trees: SPEC.md § [Trees](../../SPEC.md#trees),
//! § [Lists](../../SPEC.md#lists).
//!
//! Chunks of a batch are hashed, deduplicated, compressed and sealed in parallel (rayon);
//! the batch is then folded in order into file content lists and directory trees, so the
//! result is identical to a sequential run. The fold of one batch overlaps the parallel
//! preparation of the next, so the cores do not wait at every batch boundary. Which blob a
//! run stores is decided once, by whoever first claims its ID in the shared [`Claims`].

use super::source::Event;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::pipeline::delta::seal_chunk;
use crate::pipeline::seal::{seal_blob, SealedBlob};
use crate::progress::Progress;
use crate::repository::Repository;
use crossbeam_channel::Sender;
use format_spec::blob::BlobKind;
use format_spec::decode::to_msgpack;
use format_spec::id::BlobId;
use format_spec::list::{self, Content, ListBlob, ListEntry, INLINE_MAX};
use format_spec::snapshot::Summary;
use format_spec::tree::{Node, Tree};
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::Mutex;

/// Blob IDs this run has decided to store; shared by preparation and fold.
pub struct Claims<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    claimed: Mutex<HashSet<BlobId>>,
    /// A `full`: chunks indexed only as deltas are stored again, plain (a clean break).
    plain_only: bool,
}

impl<'a> Claims<'a> {
    /// An empty claim set over the repository's index.
    pub fn new(repo: &'a Repository, index: &'a MasterIndex, plain_only: bool) -> Self {
        Self {
            repo,
            index,
            claimed: Mutex::new(HashSet::new()),
            plain_only,
        }
    }

    /// True for the first caller with a blob neither indexed nor claimed: that caller stores it.
    fn claim(&self, id: &BlobId) -> bool {
        // `usable`, not `contains`: a blob only packs announced for deletion hold must be
        // stored again (SPEC.md § Pending deletions).
        let indexed = if self.plain_only {
            self.index.usable_plain(id)
        } else {
            self.index.usable(id)
        };
        !indexed
            && self
                .claimed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(*id)
    }

    /// Hashes and (for new chunks) seals every chunk of a batch, in parallel.
    pub fn prepare(&self, events: &[Event]) -> Vec<Prepared> {
        events
            .par_iter()
            .map(|ev| match ev {
                Event::Chunk(data, info) => {
                    let id = self.repo.keys().blob_id(data);
                    if self.claim(&id) {
                        Some(
                            seal_chunk(self.repo, self.index, id, data, info.level, &info.bases)
                                .map(|s| (id, Some(s))),
                        )
                    } else {
                        Some(Ok((id, None)))
                    }
                }
                _ => None,
            })
            .collect()
    }
}

/// Folds the event stream into trees; owns the send side of the packer channel.
pub struct Assembler<'a> {
    claims: &'a Claims<'a>,
    to_pack: Sender<SealedBlob>,
    stack: Vec<(Option<Node>, Vec<Node>)>,
    file: Option<(Node, Vec<ListEntry>, bool)>,
    progress: &'a dyn Progress,
    /// Counters for the snapshot.
    pub summary: Summary,
    /// Source entries skipped.
    pub warnings: Vec<String>,
    /// Data blobs this run stored as deltas, and their sealed bytes.
    pub deltas: (u64, u64),
}

/// What the assembler produced.
pub struct Finished {
    /// Root tree.
    pub tree: BlobId,
    /// Counters.
    pub summary: Summary,
    /// Source entries skipped.
    pub warnings: Vec<String>,
    /// Delta blobs stored and their sealed bytes.
    pub deltas: (u64, u64),
}

/// A batch event's preparation: for a chunk, its ID and, if this run stores it, the sealed blob.
pub type Prepared = Option<Result<(BlobId, Option<SealedBlob>)>>;

impl<'a> Assembler<'a> {
    /// A new assembler with an empty root directory.
    pub fn new(
        claims: &'a Claims<'a>,
        to_pack: Sender<SealedBlob>,
        progress: &'a dyn Progress,
    ) -> Self {
        Self {
            claims,
            to_pack,
            stack: vec![(None, Vec::new())],
            file: None,
            progress,
            summary: Summary::default(),
            warnings: Vec::new(),
            deltas: (0, 0),
        }
    }

    /// Folds a prepared batch, in order.
    pub fn fold(&mut self, events: Vec<Event>, prepared: Vec<Prepared>) -> Result<()> {
        for (ev, prep) in events.into_iter().zip(prepared) {
            self.event(ev, prep)?;
        }
        Ok(())
    }

    /// Sends a blob this run claimed (so it is sent exactly once) to the packer.
    fn send(&mut self, sealed: SealedBlob) -> Result<()> {
        self.summary.blobs_new += 1;
        self.summary.bytes_new += u64::from(sealed.raw_len);
        if !sealed.bases.is_empty() {
            self.deltas.0 += 1;
            self.deltas.1 += sealed.bytes.len() as u64;
        }
        self.to_pack.send(sealed).map_err(|_| Error::RepoWrite {
            what: "pack".into(),
            cause: std::io::Error::other("pack writer stopped"),
        })
    }

    /// Stores a tree or list blob unless it exists; returns its ID.
    fn store_meta(&mut self, kind: BlobKind, plaintext: &[u8]) -> Result<BlobId> {
        let id = self.claims.repo.keys().blob_id(plaintext);
        if self.claims.claim(&id) {
            let sealed = seal_blob(self.claims.repo, kind, id, plaintext)?;
            self.send(sealed)?;
        }
        Ok(id)
    }

    fn event(&mut self, ev: Event, prep: Prepared) -> Result<()> {
        match ev {
            Event::DirEnter(node) => self.stack.push((Some(node), Vec::new())),
            Event::DirExit => {
                let (node, children) = self
                    .stack
                    .pop()
                    .ok_or_else(|| Error::Usage("unbalanced directory events".into()))?;
                let mut node =
                    node.ok_or_else(|| Error::Usage("root directory closed twice".into()))?;
                node.subtree = Some(self.store_tree(children)?);
                self.summary.dirs += 1;
                self.push(node)?;
            }
            Event::FileStart(node, changed) => self.file = Some((node, Vec::new(), changed)),
            Event::Reuse(node) => {
                self.summary.files_unchanged += 1;
                self.summary.total_bytes += node.size;
                self.progress.file_done();
                self.push(node)?;
            }
            Event::Chunk(data, info) => {
                let (id, sealed) =
                    prep.unwrap_or_else(|| Err(Error::Usage("chunk without preparation".into())))?;
                if let Some(s) = sealed {
                    self.send(s)?;
                }
                let (_, entries, _) = self
                    .file
                    .as_mut()
                    .ok_or_else(|| Error::Usage("chunk outside a file".into()))?;
                entries.push(ListEntry {
                    id,
                    size: data.len() as u64,
                    fp: Some(info.fp),
                });
                self.summary.bytes_read += data.len() as u64;
                self.progress.bytes(data.len() as u64);
            }
            Event::FileEnd { hash, size } => {
                let (mut node, entries, changed) = self
                    .file
                    .take()
                    .ok_or_else(|| Error::Usage("file end outside a file".into()))?;
                node.size = size;
                // A one-chunk file's content hash *is* its chunk's ID (same keyed hash over
                // the same bytes), so it is omitted (SPEC.md § Trees); checking the equality
                // here catches a pipeline that mixed up chunks.
                node.hash = match (entries.as_slice(), hash) {
                    ([_] | [], None) => None,
                    ([only], Some(h)) if only.id == h => None,
                    ([only], Some(_)) => {
                        return Err(Error::HashMismatch {
                            blob: only.id.to_hex(),
                            pack: "(file hash differs from its only chunk)".into(),
                        })
                    }
                    (_, Some(h)) => Some(h),
                    (_, None) => {
                        return Err(Error::Usage(
                            "a multi-chunk file arrived without its hash".into(),
                        ))
                    }
                };
                node.content = Some(self.build_content(entries)?);
                self.summary.total_bytes += size;
                if changed {
                    self.summary.files_changed += 1;
                } else {
                    self.summary.files_new += 1;
                }
                self.progress.file_done();
                self.push(node)?;
            }
            Event::FileAbort(msg) | Event::Warning(msg) => {
                self.file = None;
                tracing::warn!("{msg}");
                self.summary.errors += 1;
                self.warnings.push(msg);
            }
            Event::Other(node) => self.push(node)?,
            Event::Fatal(e) => return Err(e),
        }
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<()> {
        let (_, children) = self
            .stack
            .last_mut()
            .ok_or_else(|| Error::Usage("node outside any directory".into()))?;
        children.push(node);
        Ok(())
    }

    fn store_tree(&mut self, mut nodes: Vec<Node>) -> Result<BlobId> {
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some([a, _]) = nodes
            .windows(2)
            .find(|w| matches!(w, [a, b] if a.name == b.name))
        {
            return Err(Error::Usage(format!(
                "two entries named {:?} in one directory",
                String::from_utf8_lossy(&a.name)
            )));
        }
        let bytes = Tree {
            v: format_spec::tree::VERSION,
            nodes,
        }
        .encode();
        self.store_meta(BlobKind::Tree, &bytes)
    }

    /// Cuts a long chunk list into list blobs, level by level, until it fits inline.
    fn build_content(&mut self, mut entries: Vec<ListEntry>) -> Result<Content> {
        let mut level = 0u8;
        while entries.len() > INLINE_MAX {
            let mut groups: Vec<&[ListEntry]> = list::split(&entries);
            if groups.len() == entries.len() {
                // Pathological IDs (every one a cut): group by position so the loop shrinks.
                groups = entries.chunks(list::FANOUT as usize).collect();
            }
            let groups: Vec<Vec<ListEntry>> =
                groups.into_iter().map(<[ListEntry]>::to_vec).collect();
            let mut next = Vec::with_capacity(groups.len());
            for g in groups {
                let size = g.iter().map(|e| e.size).sum();
                let bytes = to_msgpack(&ListBlob {
                    v: list::VERSION,
                    level,
                    entries: g,
                });
                next.push(ListEntry {
                    id: self.store_meta(BlobKind::List, &bytes)?,
                    size,
                    fp: None,
                });
            }
            entries = next;
            level += 1;
        }
        Ok(Content { level, entries })
    }

    /// Ends the stream: stores the root tree and returns its ID.
    pub fn finish(mut self) -> Result<Finished> {
        if self.stack.len() != 1 {
            return Err(Error::Usage(format!(
                "{} directories left open",
                self.stack.len() - 1
            )));
        }
        let (_, children) = self.stack.pop().unwrap_or_default();
        let root = self.store_tree(children)?;
        Ok(Finished {
            tree: root,
            summary: self.summary,
            warnings: self.warnings,
            deltas: self.deltas,
        })
    }
}
