//! Sealed MessagePack objects (config, index, snapshot, lock, drill, policy):
//! SPEC.md § [Sealed objects](../../SPEC.md#sealed-objects).
//!
//! Each such file is `seal(encryption key, nonce, AAD(repo, kind, none), zstd(MessagePack))`:
//! one zstd frame with its content size in the header, so a reader bounds the plaintext
//! before it allocates. Compression halves index files (their field names repeat per blob).

use crate::blob;
use crate::crypto::{self, ObjectKind, SubKeys, NONCE_LEN};
use crate::decode::{check_limit, msgpack, to_msgpack};
use crate::error::OpenError;
use crate::id::RepoId;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Seals a value as named-field MessagePack.
pub fn seal<T: Serialize>(
    keys: &SubKeys,
    repo: &RepoId,
    kind: ObjectKind,
    nonce: &[u8; NONCE_LEN],
    value: &T,
) -> Vec<u8> {
    crypto::seal(
        &keys.encryption,
        nonce,
        &crypto::aad(repo, kind, None),
        &blob::compress_object(&to_msgpack(value)),
    )
}

/// Opens a sealed object of at most `max` bytes and decodes its MessagePack.
pub fn open<T: DeserializeOwned>(
    keys: &SubKeys,
    repo: &RepoId,
    kind: ObjectKind,
    bytes: &[u8],
    max: usize,
) -> Result<T, OpenError> {
    check_limit(kind.name(), bytes.len() as u64, max as u64).map_err(|cause| {
        OpenError::Decode {
            kind: kind.name(),
            cause,
        }
    })?;
    let plain = crypto::open(
        &keys.encryption,
        kind,
        &crypto::aad(repo, kind, None),
        bytes,
    )?;
    let decode = |cause| OpenError::Decode {
        kind: kind.name(),
        cause,
    };
    let plain = blob::decompress_bounded(kind.name(), &plain, max).map_err(decode)?;
    msgpack(kind.name(), &plain, max).map_err(decode)
}
