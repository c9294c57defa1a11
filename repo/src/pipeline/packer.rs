//! Pack assembly and upload: SPEC.md § [Pack files](../../SPEC.md#pack-files).
//!
//! Blobs are collected per class (data, metadata) until the config's target pack size,
//! then shuffled, padded (Padmé), given a sealed header and written under their content
//! name. Shuffling and padding hide the chunk order and lengths the chunker's cuts reveal.

use super::seal::SealedBlob;
use crate::backend::FileType;
use crate::error::Result;
use crate::repository::{content_name_parts, nonce, Repository};
use format_spec::crypto::{self, ObjectKind};
use format_spec::id::PackId;
use format_spec::index::{IndexBlob, IndexPack};
use format_spec::pack::{padme, PackEntry, PackHeader, TRAILER_LEN};
use rand::seq::SliceRandom;
use rand::RngCore;

/// Collects sealed blobs of one class into packs.
pub struct Packer {
    blobs: Vec<SealedBlob>,
    size: usize,
    target: usize,
    dry_run: bool,
}

/// Bytes and packs written.
#[derive(Default, Debug, Clone, Copy)]
pub struct PackStats {
    /// Pack files written.
    pub packs: u64,
    /// Their total size.
    pub bytes: u64,
}

impl Packer {
    /// A packer that flushes at `target` bytes; with `dry_run` nothing is written.
    pub fn new(target: usize, dry_run: bool) -> Self {
        Self {
            blobs: Vec::new(),
            size: 0,
            target,
            dry_run,
        }
    }

    /// Adds a blob; returns a written pack when the target size was reached.
    pub fn add(&mut self, repo: &Repository, blob: SealedBlob) -> Result<Option<IndexPack>> {
        self.size += blob.bytes.len();
        self.blobs.push(blob);
        if self.size >= self.target {
            return self.flush(repo);
        }
        Ok(None)
    }

    /// Writes whatever is pending as a pack.
    pub fn flush(&mut self, repo: &Repository) -> Result<Option<IndexPack>> {
        if self.blobs.is_empty() {
            return Ok(None);
        }
        let blobs = std::mem::take(&mut self.blobs);
        self.size = 0;
        write_pack(repo, blobs, self.dry_run).map(Some)
    }
}

/// Lays out, seals and writes one pack.
#[expect(
    clippy::expect_used,
    reason = "a pack is built in memory from blobs bounded by MAX_BLOB_SIZE and the pack target"
)]
pub fn write_pack(
    repo: &Repository,
    mut blobs: Vec<SealedBlob>,
    dry_run: bool,
) -> Result<IndexPack> {
    blobs.shuffle(&mut rand::thread_rng());
    // The blobs are written in place as parts of the file: no pack-sized copy.
    let mut len = 0usize;
    let mut entries = Vec::with_capacity(blobs.len());
    for b in &blobs {
        let offset = u32::try_from(len).expect("packs are far below 4 GiB (MAX_PACK_SIZE)");
        let stored_len = u32::try_from(b.bytes.len()).expect("blobs are below MAX_BLOB_SIZE");
        len += b.bytes.len();
        entries.push(PackEntry {
            kind: b.kind,
            encoding: b.encoding,
            id: b.id,
            offset,
            stored_len,
            raw_len: b.raw_len,
            bases: b.bases.clone(),
        });
    }
    let header = PackHeader { entries };
    let header_plain = header.encode();
    let sealed_len = header_plain.len() + crypto::SEAL_OVERHEAD;
    let unpadded = (len + sealed_len + TRAILER_LEN) as u64;
    let mut padding = vec![0u8; (padme(unpadded) - unpadded) as usize];
    rand::thread_rng().fill_bytes(&mut padding);
    let aad = crypto::aad(repo.id(), ObjectKind::PackHeader, None);
    let sealed = crypto::seal(&repo.keys().encryption, &nonce(), &aad, &header_plain);
    let trailer = u32::try_from(sealed.len())
        .expect("header below MAX_PACK_HEADER")
        .to_le_bytes();
    let mut parts: Vec<&[u8]> = blobs.iter().map(|b| b.bytes.as_slice()).collect();
    parts.extend([padding.as_slice(), sealed.as_slice(), trailer.as_slice()]);
    let size = len + padding.len() + sealed.len() + trailer.len();
    let id = if dry_run {
        PackId(content_name_parts(&parts))
    } else {
        PackId(repo.write_named_parts(FileType::Pack, &parts)?)
    };
    tracing::debug!(pack = %id.short(), bytes = size, blobs = header.entries.len(), "pack written");
    let blobs = header.entries.into_iter().map(IndexBlob::from).collect();
    Ok(IndexPack {
        id,
        size: size as u64,
        blobs,
    })
}
