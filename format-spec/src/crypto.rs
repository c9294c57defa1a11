//! Keys, sealing and associated data: SPEC.md § [Keys](../../SPEC.md#keys) and
//! § [Sealed objects](../../SPEC.md#sealed-objects).
//!
//! ```text
//! sealed object = nonce (24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag (16)
//! AAD (68 bytes) = format version u16 LE ‖ object kind u8 ‖ has-object-ID u8 (0|1)
//!                  ‖ repository ID (32) ‖ object ID (32, zeros when absent)
//! ```
//!
//! The AAD binds every object to its role and its repository, so a tree blob cannot be
//! passed off as a snapshot, nor one repository's object as another's.

use crate::error::OpenError;
use crate::id::{BlobId, RepoId};
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The on-disk format version written into every AAD.
pub const FORMAT_VERSION: u16 = 1;
/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed object adds to its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// BLAKE3 `derive_key` context for the blob-ID key.
pub const CTX_BLOB_ID: &str = "strata 2026-11 blob-id key v1";
/// BLAKE3 `derive_key` context for the encryption key.
pub const CTX_ENCRYPTION: &str = "strata 2026-11 encryption key v1";
/// BLAKE3 `derive_key` context for the chunker key.
pub const CTX_CHUNKER: &str = "strata 2026-11 chunker key v1";

/// The repository's 32-byte master key. Never printed; zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey(pub [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A 32-byte symmetric key derived for one job. Never printed; zeroed on drop. In
/// MessagePack (a config's `dedup_keys`) it is `bin8` of length 32, like an ID.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SubKey(pub [u8; 32]);

impl std::fmt::Debug for SubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubKey(..)")
    }
}

impl PartialEq for SubKey {
    /// Compares every byte whatever the first difference (no early exit on key bytes).
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for SubKey {}

impl serde::Serialize for SubKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SubKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(crate::id::Id32Visitor).map(Self)
    }
}

/// The three keys derived from the master key; one key never serves two jobs.
#[derive(Clone, Debug)]
pub struct SubKeys {
    /// Keys the BLAKE3 hash that names blobs.
    pub blob_id: SubKey,
    /// Seals every object.
    pub encryption: SubKey,
    /// Derives the gear table of the chunker.
    pub chunker: SubKey,
}

impl SubKeys {
    /// Derives the sub-keys with BLAKE3 `derive_key(context, master)`.
    pub fn derive(master: &MasterKey) -> Self {
        Self {
            blob_id: SubKey(blake3::derive_key(CTX_BLOB_ID, &master.0)),
            encryption: SubKey(blake3::derive_key(CTX_ENCRYPTION, &master.0)),
            chunker: SubKey(blake3::derive_key(CTX_CHUNKER, &master.0)),
        }
    }

    /// The blob ID of a plaintext: BLAKE3 keyed with the blob-ID key.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.blob_id.0, plaintext).as_bytes())
    }
}

/// What a sealed object is; its byte goes into the AAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ObjectKind {
    /// The master-key payload of a key file.
    KeyFile = 1,
    /// The repository config.
    Config = 2,
    /// A pack header.
    PackHeader = 3,
    /// A data blob.
    DataBlob = 4,
    /// A tree blob.
    TreeBlob = 5,
    /// A list blob.
    ListBlob = 6,
    /// An index file.
    Index = 7,
    /// A snapshot.
    Snapshot = 8,
    /// A lock record.
    Lock = 9,
    /// A restore-drill record.
    Drill = 10,
    /// A schedule policy.
    Policy = 11,
    /// A pending-deletion notice written by prune.
    Pending = 12,
}

impl ObjectKind {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyFile => "key file",
            Self::Config => "config",
            Self::PackHeader => "pack header",
            Self::DataBlob => "data blob",
            Self::TreeBlob => "tree blob",
            Self::ListBlob => "list blob",
            Self::Index => "index",
            Self::Snapshot => "snapshot",
            Self::Lock => "lock",
            Self::Drill => "drill",
            Self::Policy => "policy",
            Self::Pending => "pending",
        }
    }
}

/// Builds the 68-byte associated data for an object.
pub fn aad(repo: &RepoId, kind: ObjectKind, object: Option<&BlobId>) -> [u8; 68] {
    let mut out = [0u8; 68];
    out[..2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[2] = kind as u8;
    out[3] = u8::from(object.is_some());
    out[4..36].copy_from_slice(&repo.0);
    if let Some(id) = object {
        out[36..68].copy_from_slice(&id.0);
    }
    out
}

/// Seals `plaintext` with a caller-chosen nonce (random in production, fixed in vectors).
#[expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "encryption of an in-memory buffer below 256 GiB cannot fail; out holds the nonce"
)]
pub fn seal(key: &SubKey, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    // One allocation: nonce ‖ plaintext, encrypted in place, then the tag appended.
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key.0));
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(nonce), aad, &mut out[NONCE_LEN..])
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    out.extend_from_slice(&tag);
    out
}

/// Opens a sealed object into `out` (cleared first), reusing its allocation: the hot
/// path of verify-before-upload and of restore.
pub fn open_into(
    key: &SubKey,
    kind: ObjectKind,
    aad: &[u8],
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), OpenError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(OpenError::TooShort {
            kind: kind.name(),
            len: sealed.len(),
        });
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    out.clear();
    out.extend_from_slice(ct);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key.0));
    cipher
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            aad,
            out,
            chacha20poly1305::Tag::from_slice(tag),
        )
        .map_err(|_| OpenError::Authentication { kind: kind.name() })
}

/// Opens a sealed object, authenticating it against `aad`.
pub fn open(
    key: &SubKey,
    kind: ObjectKind,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(OpenError::TooShort {
            kind: kind.name(),
            len: sealed.len(),
        });
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key.0));
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| OpenError::Authentication { kind: kind.name() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SubKeys {
        SubKeys::derive(&MasterKey([1u8; 32]))
    }

    #[test]
    fn subkeys_differ_and_ids_are_keyed() {
        let k = keys();
        assert_ne!(k.blob_id.0, k.encryption.0);
        assert_ne!(k.encryption.0, k.chunker.0);
        assert_ne!(k.blob_id(b"x").0, *blake3::hash(b"x").as_bytes());
    }

    #[test]
    fn aad_binds_kind_repo_and_object() {
        let k = keys();
        let repo = RepoId([2u8; 32]);
        let id = BlobId([3u8; 32]);
        let a = aad(&repo, ObjectKind::TreeBlob, Some(&id));
        let sealed = seal(&k.encryption, &[9u8; 24], &a, b"hello");
        assert_eq!(
            open(&k.encryption, ObjectKind::TreeBlob, &a, &sealed).unwrap(),
            b"hello"
        );
        let as_snapshot = aad(&repo, ObjectKind::Snapshot, Some(&id));
        assert!(matches!(
            open(&k.encryption, ObjectKind::Snapshot, &as_snapshot, &sealed),
            Err(OpenError::Authentication { .. })
        ));
        let other_repo = aad(&RepoId([4u8; 32]), ObjectKind::TreeBlob, Some(&id));
        assert!(open(&k.encryption, ObjectKind::TreeBlob, &other_repo, &sealed).is_err());
        let other_id = aad(&repo, ObjectKind::TreeBlob, Some(&BlobId([5u8; 32])));
        assert!(open(&k.encryption, ObjectKind::TreeBlob, &other_id, &sealed).is_err());
        assert!(matches!(
            open(&k.encryption, ObjectKind::TreeBlob, &a, &sealed[..39]),
            Err(OpenError::TooShort { .. })
        ));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let k = keys();
        let a = aad(&RepoId([2u8; 32]), ObjectKind::Config, None);
        let sealed = seal(&k.encryption, &[9u8; 24], &a, b"some config bytes");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                open(&k.encryption, ObjectKind::Config, &a, &bad).is_err(),
                "byte {i}"
            );
        }
    }
}
