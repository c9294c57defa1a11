//! Key management: SPEC.md § [Key files](../../SPEC.md#key-files).
//!
//! Adding, removing or changing a passphrase only writes or deletes key files; data is
//! never re-encrypted, because every key file seals the same master key.

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::id::KeyId;
use format_spec::keyfile::{Argon2Params, KeyFile};
use format_spec::limits;

/// What `key list` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    /// Key file ID.
    pub id: String,
    /// Whether this session opened with it.
    pub current: bool,
    /// Creating user.
    pub user: String,
    /// Creating host.
    pub host: String,
    /// Creation time, ns.
    pub created_ns: i64,
    /// Argon2id memory (KiB).
    pub m_kib: u32,
    /// Argon2id passes.
    pub t: u32,
    /// Argon2id lanes.
    pub p: u32,
}

impl Repository {
    /// Lists key files (damaged ones are skipped with a warning).
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let names = self.list(FileType::Key)?;
        let mut out = Vec::new();
        for (name, _) in names {
            let bytes = self
                .backend()
                .read(FileType::Key, &name, limits::MAX_KEY_FILE as u64)
                .map_err(|e| Error::damaged(format!("key {name}"), e))?;
            match KeyFile::decode(&bytes) {
                Ok(kf) => out.push(KeyInfo {
                    current: name == self.key_id().to_hex(),
                    id: name,
                    user: kf.user,
                    host: kf.host,
                    created_ns: kf.created_ns,
                    m_kib: kf.params.m_kib,
                    t: kf.params.t,
                    p: kf.params.p,
                }),
                Err(e) => tracing::warn!(key = %name, error = %e, "damaged key file"),
            }
        }
        Ok(out)
    }

    /// Removes a key file; refuses the one in use and the last one.
    pub fn remove_key(&self, id: &KeyId) -> Result<()> {
        if *id == self.key_id() {
            return Err(Error::Usage(
                "refusing to remove the key this session opened with; open with another key first"
                    .into(),
            ));
        }
        let names = self.list(FileType::Key)?;
        if !names.iter().any(|(n, _)| *n == id.to_hex()) {
            return Err(Error::Usage(format!("no key file {id}")));
        }
        self.backend()
            .remove(FileType::Key, &id.to_hex())
            .map_err(|cause| Error::RepoWrite {
                what: format!("removing key {id}"),
                cause,
            })
    }

    /// Changes the passphrase of the key in use: writes a new key file, then removes the old.
    pub fn change_passphrase(&self, new_passphrase: &[u8], kdf: Argon2Params) -> Result<KeyId> {
        let new = self.add_key(new_passphrase, kdf)?;
        self.backend()
            .remove(FileType::Key, &self.key_id().to_hex())
            .map_err(|cause| Error::RepoWrite {
                what: format!("removing old key {}", self.key_id()),
                cause,
            })?;
        Ok(new)
    }
}
