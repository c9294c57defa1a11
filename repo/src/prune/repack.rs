//! Repacking: SPEC.md § [Pruning](../../../SPEC.md#pruning), step 5.
//!
//! The needed blobs of mostly-unused packs are copied into new packs with their sealed
//! bytes unchanged (no decryption to plaintext, no re-encryption: the AAD binds a blob to
//! its ID, not to its pack). Each copy is authenticated first, so a damaged blob is found
//! before the pack holding its only good copy could be deleted. Data blobs and tree/list
//! blobs go to separate packs, as in a backup. The new packs are then named by one new
//! index file that supersedes nothing; until step 9 both copies are indexed.

use super::mark::Marks;
use super::plan::Plan;
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::index::MasterIndex;
use crate::pipeline::packer::Packer;
use crate::pipeline::seal::SealedBlob;
use crate::repository::Repository;
use format_spec::crypto::{self, ObjectKind};
use format_spec::index::{IndexFile, IndexPack, VERSION};

/// What repacking wrote and read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repacked {
    /// New packs written.
    pub packs: u64,
    /// Their bytes.
    pub bytes_written: u64,
    /// Bytes of old packs read.
    pub bytes_read: u64,
    /// Blobs copied.
    pub blobs: u64,
}

/// Copies the needed blobs of `plan.repack` into new packs and indexes them.
pub fn repack(
    repo: &Repository,
    index: &MasterIndex,
    marks: &Marks,
    plan: &Plan,
) -> Result<Repacked> {
    let mut out = Repacked::default();
    if plan.repack.is_empty() {
        return Ok(out);
    }
    let target = repo.config().pack_size as usize;
    let mut data = Packer::new(target, false);
    let mut meta = Packer::new(target, false);
    let mut written: Vec<IndexPack> = Vec::new();
    let mut scratch = Vec::new();
    for id in &plan.repack {
        let Some(info) = plan.packs.get(id) else {
            continue;
        };
        let hex = id.to_hex();
        // The plan checked the size against the listing; the index bounds it by MAX_PACK_SIZE.
        let bytes = repo
            .backend()
            .read(FileType::Pack, &hex, info.size)
            .map_err(|cause| Error::RepoRead {
                what: format!("pack {} (repacking)", id.short()),
                cause,
            })?;
        out.bytes_read += bytes.len() as u64;
        for b in &info.blobs {
            if !info.keeps(b, index, marks) {
                continue;
            }
            let start = b.off as usize;
            let sealed = start
                .checked_add(b.len as usize)
                .and_then(|end| bytes.get(start..end))
                .ok_or_else(|| Error::PruneRefused {
                    object: format!("pack {hex}"),
                    reason: format!("blob {} lies past the end of the pack", b.id.short()),
                })?;
            let kind = b.kind.object_kind();
            let aad = crypto::aad(repo.id(), kind, Some(&b.id));
            crypto::open_into(&repo.keys().encryption, kind, &aad, sealed, &mut scratch).map_err(
                |e| Error::PruneRefused {
                    object: format!("pack {hex} (blob {})", b.id.short()),
                    reason: format!("does not authenticate ({e}); run `strata check --read-data`"),
                },
            )?;
            let blob = SealedBlob {
                kind: b.kind,
                id: b.id,
                encoding: b.enc,
                raw_len: b.raw,
                bytes: sealed.to_vec(),
                bases: b.bases.clone(),
            };
            out.blobs += 1;
            let packer = if b.kind.is_metadata() {
                &mut meta
            } else {
                &mut data
            };
            if let Some(p) = packer.add(repo, blob)? {
                written.push(p);
            }
        }
    }
    for packer in [&mut data, &mut meta] {
        if let Some(p) = packer.flush(repo)? {
            written.push(p);
        }
    }
    out.packs = written.len() as u64;
    out.bytes_written = written.iter().map(|p| p.size).sum();
    if !written.is_empty() {
        // Durable before the notice: the copies must be indexed before anything announces
        // the originals for deletion.
        let file = IndexFile {
            v: VERSION,
            supersedes: Vec::new(),
            packs: written,
        };
        repo.save(FileType::Index, ObjectKind::Index, &file)?;
    }
    Ok(out)
}
