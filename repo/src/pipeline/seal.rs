//! Compress, seal and verify one blob: SPEC.md § [Pack files](../../SPEC.md#pack-files).
//!
//! Verify before upload: the sealed bytes are opened, decoded and re-hashed against the
//! blob ID before the blob may enter a pack, so a codec bug cannot write a blob that will
//! not restore (restic added the same check after such a bug).

use crate::error::{Error, Result};
use crate::repository::{nonce, Repository};
use format_spec::blob::{self, BlobKind, Encoding};
use format_spec::crypto;
use format_spec::id::BlobId;

/// A blob ready for a pack.
pub struct SealedBlob {
    /// Kind.
    pub kind: BlobKind,
    /// ID (keyed hash of the plaintext).
    pub id: BlobId,
    /// Encoding of the stored plaintext.
    pub encoding: Encoding,
    /// Plaintext length.
    pub raw_len: u32,
    /// Sealed bytes.
    pub bytes: Vec<u8>,
    /// Base blobs of a `zstd-delta` blob; empty otherwise.
    pub bases: Vec<BlobId>,
}

thread_local! {
    // Verification buffers, reused per thread: two fewer chunk-sized allocations per blob
    // keep the allocator from fragmenting (peak RSS) and from mmap churn (system time).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Encodes, seals and verifies a plaintext whose ID is already known.
pub fn seal_blob(
    repo: &Repository,
    kind: BlobKind,
    id: BlobId,
    plaintext: &[u8],
) -> Result<SealedBlob> {
    seal_blob_at(repo, kind, id, plaintext, repo.config().zstd_level)
}

/// [`seal_blob`] at a chosen zstd level (see `zstd_tune`).
pub fn seal_blob_at(
    repo: &Repository,
    kind: BlobKind,
    id: BlobId,
    plaintext: &[u8],
    level: i32,
) -> Result<SealedBlob> {
    let (encoding, stored) = blob::encode(plaintext, level);
    seal_stored(
        repo,
        Stored {
            kind,
            id,
            encoding,
            stored,
            bases: Vec::new(),
        },
        plaintext,
        &[],
    )
}

/// A blob in its stored (encoded, not yet sealed) form.
pub struct Stored {
    /// Kind.
    pub kind: BlobKind,
    /// ID of the plaintext.
    pub id: BlobId,
    /// How `stored` encodes the plaintext.
    pub encoding: Encoding,
    /// The encoded bytes.
    pub stored: Vec<u8>,
    /// Bases of a delta (their plaintexts, concatenated, are `history`).
    pub bases: Vec<BlobId>,
}

/// Seals an encoded blob and verifies it: opened, decoded (against `history` for a delta)
/// and compared with `plaintext` before it may enter a pack.
pub fn seal_stored(
    repo: &Repository,
    blob: Stored,
    plaintext: &[u8],
    history: &[u8],
) -> Result<SealedBlob> {
    let Stored {
        kind,
        id,
        encoding,
        stored,
        bases,
    } = blob;
    let raw_len = u32::try_from(plaintext.len())
        .map_err(|_| Error::Usage(format!("blob of {} bytes is too large", plaintext.len())))?;
    let okind = kind.object_kind();
    let aad = crypto::aad(repo.id(), okind, Some(&id));
    let bytes = crypto::seal(&repo.keys().encryption, &nonce(), &aad, &stored);
    let what = || format!("new blob {id} (check before upload)");
    let matches = SCRATCH.with(|s| {
        let (opened, decoded) = &mut *s.borrow_mut();
        crypto::open_into(&repo.keys().encryption, okind, &aad, &bytes, opened)
            .map_err(|e| Error::damaged(what(), e))?;
        blob::decode_against(encoding, opened, raw_len, history, decoded)
            .map_err(|e| Error::damaged(what(), e))?;
        // The caller derived `id` from `plaintext`; getting the same bytes back is the same
        // proof as re-hashing them, at memcmp speed.
        Ok::<_, Error>(decoded.as_slice() == plaintext)
    })?;
    if !matches {
        return Err(Error::HashMismatch {
            blob: id.to_hex(),
            pack: "(not yet written: check before upload)".into(),
        });
    }
    Ok(SealedBlob {
        kind,
        id,
        encoding,
        raw_len,
        bytes,
        bases,
    })
}
