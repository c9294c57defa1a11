//! File content: expanding list blobs and streaming chunks in order.
//! SPEC.md § [Lists](../../SPEC.md#lists).
//!
//! Chunks are decoded on several threads and written in order, a bounded window ahead, so
//! memory is bounded whatever the file size.

use super::fetch::for_each_in_order;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::repository::Repository;
use format_spec::blob::BlobKind;
use format_spec::id::BlobId;
use format_spec::list::{Content, ListBlob, ListEntry};
use format_spec::tree::Node;
use std::io::Write;

/// Walks a content's list blobs depth-first, yielding data-chunk entries in file order.
pub struct ChunkEntries<'a> {
    repo: &'a Repository,
    index: &'a MasterIndex,
    stack: Vec<(u8, std::vec::IntoIter<ListEntry>)>,
}

impl<'a> ChunkEntries<'a> {
    /// Starts at a node's content.
    pub fn new(repo: &'a Repository, index: &'a MasterIndex, content: &Content) -> Self {
        Self {
            repo,
            index,
            stack: vec![(content.level, content.entries.clone().into_iter())],
        }
    }

    fn expand(&mut self, level: u8, e: &ListEntry) -> Result<()> {
        let bytes = self.repo.read_blob(self.index, &e.id, BlobKind::List)?;
        let lb = ListBlob::decode(&bytes)
            .map_err(|err| Error::damaged(format!("list blob {}", e.id), err))?;
        let covered: u64 = lb
            .entries
            .iter()
            .map(|x| x.size)
            .fold(0, u64::saturating_add);
        if lb.level + 1 != level || covered != e.size {
            return Err(Error::damaged(
                format!("list blob {}", e.id),
                std::io::Error::other(format!(
                    "level {} covering {covered} bytes where level {} covering {} was expected",
                    lb.level,
                    level - 1,
                    e.size
                )),
            ));
        }
        self.stack.push((lb.level, lb.entries.into_iter()));
        Ok(())
    }
}

impl Iterator for ChunkEntries<'_> {
    type Item = Result<ListEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (level, iter) = self.stack.last_mut()?;
            let level = *level;
            match iter.next() {
                None => {
                    self.stack.pop();
                }
                Some(e) if level == 0 => return Some(Ok(e)),
                Some(e) => {
                    if let Err(err) = self.expand(level, &e) {
                        self.stack.clear();
                        return Some(Err(err));
                    }
                }
            }
        }
    }
}

/// Streams a file node's content to `out` in order, checking chunk sizes, total size and
/// the whole-file hash (computed as the bytes go out, not by a second read). Chunks are
/// decoded on several threads ahead of the writer ([`for_each_in_order`]). Returns the
/// bytes written.
pub fn write_content(
    repo: &Repository,
    index: &MasterIndex,
    node: &Node,
    path: &str,
    out: &mut dyn Write,
    on_bytes: &dyn Fn(u64),
) -> Result<u64> {
    let content = node.content.as_ref().ok_or_else(|| Error::PathInSnapshot {
        path: path.into(),
        reason: "has no content".into(),
    })?;
    let mut hasher = blake3::Hasher::new_keyed(&repo.keys().blob_id.0);
    let mut entries = ChunkEntries::new(repo, index, content);
    let mut written = 0u64;
    for_each_in_order(repo, index, &mut entries, path, &mut |b| {
        written += b.len() as u64;
        if written > node.size {
            return Err(Error::ContentMismatch { path: path.into() });
        }
        hasher.update(b);
        out.write_all(b).map_err(|cause| Error::RestoreWrite {
            path: path.into(),
            cause,
        })?;
        on_bytes(b.len() as u64);
        Ok(())
    })?;
    if written != node.size {
        return Err(Error::ContentMismatch { path: path.into() });
    }
    if let Some(h) = node.hash {
        if BlobId(*hasher.finalize().as_bytes()) != h {
            return Err(Error::ContentMismatch { path: path.into() });
        }
    }
    Ok(written)
}

/// Writes one file of a snapshot to `out` (`strata dump`), after checking that every pack
/// it reads is there: a consumer such as `psql` must not get half a dump.
pub fn dump_file(
    repo: &Repository,
    index: &MasterIndex,
    node: &Node,
    path: &str,
    out: &mut dyn Write,
) -> Result<u64> {
    super::preflight::before_dump(repo, index, node, path)?;
    let n = write_content(repo, index, node, path, out, &|_| {})?;
    out.flush().map_err(|cause| Error::RestoreWrite {
        path: "<stdout>".into(),
        cause,
    })?;
    Ok(n)
}
