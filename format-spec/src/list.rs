//! File content references and list blobs: SPEC.md § [Lists](../../SPEC.md#lists).
//!
//! A file's content is a sequence of data chunks. Short sequences sit inline in the tree
//! node (level 0). Longer ones are cut, content-defined on the chunk IDs, into `list` blobs;
//! if those are still too many, the list of list blobs is cut again (level 1, 2, …). Because
//! the cut points depend only on the IDs, an unchanged region of a large file yields the same
//! list blobs, so an incremental of a 100 GB file with a few changed pages writes only the
//! list blobs around those pages.

use crate::decode::{check_limit, check_version, msgpack};
use crate::error::DecodeError;
use crate::id::BlobId;
use crate::limits;
use serde::{Deserialize, Serialize};

/// Current structure version.
pub const VERSION: u32 = 1;
/// A node holds at most this many entries inline; more are cut into list blobs.
pub const INLINE_MAX: usize = 64;
/// Cut after an entry whose ID's first two bytes (LE) are ≡ FANOUT−1 mod FANOUT: ~64 per blob.
pub const FANOUT: u16 = 64;

/// One reference: a data chunk (level 0) or a list blob (level ≥ 1), with the bytes it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// Blob ID.
    pub id: BlobId,
    /// File bytes covered by this entry.
    pub size: u64,
    /// Level 0 only, optional: [`fingerprint`] of the chunk's first bytes. Writers use it to
    /// find the chunk a changed chunk descends from (its delta base); readers ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<u64>,
}

/// Bytes of a chunk's start that [`fingerprint`] covers.
pub const FP_PREFIX: usize = 64;

/// A chunk's fingerprint: the first 8 bytes, as u64 LE, of BLAKE3 (unkeyed) over its first
/// `min(64, length)` bytes. A small edit rarely moves a content-defined cut, so the changed
/// chunk usually starts with the same bytes as the chunk it replaces.
#[expect(clippy::expect_used, reason = "a BLAKE3 hash has 32 bytes")]
pub fn fingerprint(chunk: &[u8]) -> u64 {
    let h = blake3::hash(chunk.get(..FP_PREFIX).unwrap_or(chunk));
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("32-byte hash"))
}

/// A node's content: entries of the given level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Content {
    /// 0: entries are data chunks; n: entries are list blobs of level n−1.
    pub level: u8,
    /// The entries, in file order.
    pub entries: Vec<ListEntry>,
}

/// A list blob's plaintext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListBlob {
    /// Structure version (1).
    pub v: u32,
    /// As in [`Content::level`].
    pub level: u8,
    /// The entries, in file order.
    pub entries: Vec<ListEntry>,
}

impl Content {
    /// Total bytes covered.
    pub fn size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |a, e| a.saturating_add(e.size))
    }

    /// Checks level and entry count bounds.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_limit(
            "content level",
            self.level.into(),
            limits::MAX_LIST_LEVEL.into(),
        )?;
        check_limit(
            "content entries",
            self.entries.len() as u64,
            limits::MAX_LIST_ENTRIES as u64,
        )
    }
}

impl ListBlob {
    /// Decodes and validates a list blob's plaintext.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let l: Self = msgpack("list blob", bytes, limits::MAX_BLOB_SIZE as usize)?;
        check_version("list blob", l.v, VERSION)?;
        check_limit(
            "list blob level",
            l.level.into(),
            limits::MAX_LIST_LEVEL.into(),
        )?;
        check_limit(
            "list blob entries",
            l.entries.len() as u64,
            limits::MAX_LIST_ENTRIES as u64,
        )?;
        if l.entries.is_empty() {
            return Err(DecodeError::Invalid {
                what: "list blob",
                reason: "no entries".into(),
            });
        }
        Ok(l)
    }
}

/// Whether a list blob ends after this entry (content-defined on the keyed ID).
pub fn is_cut(id: &BlobId) -> bool {
    u16::from_le_bytes([id.0[0], id.0[1]]) % FANOUT == FANOUT - 1
}

/// Splits `entries` into groups: a cut after every [`is_cut`] entry or at `MAX_LIST_ENTRIES`.
pub fn split(entries: &[ListEntry]) -> Vec<&[ListEntry]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, e) in entries.iter().enumerate() {
        if is_cut(&e.id) || i + 1 - start == limits::MAX_LIST_ENTRIES {
            out.extend(entries.get(start..=i));
            start = i + 1;
        }
    }
    if start < entries.len() {
        out.extend(entries.get(start..));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_local_and_bounded() {
        let entries: Vec<ListEntry> = (0..10_000u32)
            .map(|i| ListEntry {
                id: BlobId(*blake3::hash(&i.to_le_bytes()).as_bytes()),
                size: 1,
                fp: None,
            })
            .collect();
        let groups = split(&entries);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 10_000);
        assert!(
            groups.len() > 100 && groups.len() < 250,
            "{} groups",
            groups.len()
        );
        // Changing one entry changes only the group that holds it (and maybe its neighbour).
        let mut changed = entries.clone();
        changed[5000].id = BlobId([0u8; 32]);
        let g2 = split(&changed);
        let same = groups.iter().filter(|g| g2.contains(g)).count();
        assert!(same + 2 >= groups.len());
    }
}
