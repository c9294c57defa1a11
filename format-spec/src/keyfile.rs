//! Key files: SPEC.md § [Key files](../../SPEC.md#key-files).
//!
//! A key file is a plain MessagePack map holding the Argon2id parameters, the salt and the
//! master-key payload sealed under the passphrase-derived key. Several key files may open
//! the same repository; adding or removing one never touches data.

use crate::crypto::{self, MasterKey, ObjectKind, SubKey, NONCE_LEN};
use crate::decode::{check_limit, check_version, msgpack, to_msgpack};
use crate::error::{DecodeError, OpenError};
use crate::id::RepoId;
use crate::limits;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroize;

const VERSION: u32 = 1;

/// Argon2id cost parameters, bounded by a floor (no downgrade) and a cap (no exhaustion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Argon2Params {
    /// Defaults for new keys (`init`, `key add`, `key passwd` without `--kdf-*` flags): RFC 9106
    /// § 4's second recommended option, 64 MiB, 3 passes, 4 lanes.
    ///
    /// Every command derives this key before anything else, so its cost is paid by each
    /// `snapshots`, `cat` or scheduled backup, not once per login. The former default,
    /// 256 MiB and 3 passes, cost 0.8 s and 261 MiB peak RSS per command; this one does a
    /// quarter of the work, 0.17 s and 69 MiB (`strata cat config` on one x86-64 core; 0.25 s
    /// with the machine loaded), close to restic, which calibrates its scrypt key to at most
    /// 0.5 s and 60 MiB. The `argon2` crate computes the lanes one after another, so 4 lanes
    /// take about as long here as 1, and let a parallel implementation of SPEC.md finish
    /// sooner. An attacker pays memory × passes per guess whatever the lanes, so guessing is
    /// four times cheaper than under the former default: `key passwd --kdf-memory-mib
    /// --kdf-iterations` raises the cost of a key (each key file stores its own parameters,
    /// so existing keys keep theirs).
    pub const DEFAULT: Self = Self {
        m_kib: 64 << 10,
        t: 3,
        p: 4,
    };

    /// Rejects parameters outside `[floor, cap]` (SPEC.md § Key files).
    pub fn check(&self) -> Result<(), DecodeError> {
        let bad = |what: &'static str, v: u32, lo: u32, hi: u32| -> Result<(), DecodeError> {
            if v < lo {
                return Err(DecodeError::Invalid {
                    what,
                    reason: format!("{v} is below the floor of {lo} (a tampered key file?)"),
                });
            }
            check_limit(what, v.into(), hi.into())
        };
        bad(
            "argon2 m_kib",
            self.m_kib,
            limits::ARGON2_MIN_M_KIB,
            limits::ARGON2_MAX_M_KIB,
        )?;
        bad(
            "argon2 t",
            self.t,
            limits::ARGON2_MIN_T,
            limits::ARGON2_MAX_T,
        )?;
        bad("argon2 p", self.p, 1, limits::ARGON2_MAX_P)
    }

    /// Derives the 32-byte key-encryption key from a passphrase.
    pub fn derive(&self, passphrase: &[u8], salt: &[u8]) -> Result<SubKey, DecodeError> {
        self.check()?;
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|e| {
            DecodeError::Invalid {
                what: "argon2 params",
                reason: e.to_string(),
            }
        })?;
        let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        a2.hash_password_into(passphrase, salt, &mut out)
            .map_err(|e| DecodeError::Invalid {
                what: "argon2",
                reason: e.to_string(),
            })?;
        let key = SubKey(out);
        out.zeroize();
        Ok(key)
    }
}

/// The on-disk key file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    /// Structure version (1).
    pub v: u32,
    /// Always `argon2id`.
    pub kdf: String,
    /// Argon2id cost.
    pub params: Argon2Params,
    /// Random salt, 16 to 64 bytes.
    pub salt: ByteBuf,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// Host that created the key.
    pub host: String,
    /// User that created the key.
    pub user: String,
    /// The sealed [`KeyPayload`].
    pub sealed: ByteBuf,
}

/// What a key file seals: the master key and the repository it belongs to.
#[derive(Serialize, Deserialize)]
struct KeyPayload {
    v: u32,
    master: ByteBuf,
    repo: RepoId,
}

/// Why a key file did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnlockError {
    /// The tag did not verify: the passphrase is not this key file's.
    #[error("wrong passphrase for this key file")]
    WrongPassphrase,
    /// The key file is malformed or its parameters are out of bounds.
    #[error("key file is invalid")]
    Invalid(#[source] DecodeError),
}

impl KeyFile {
    /// Seals `master` under a key derived from `passphrase`.
    #[expect(
        clippy::too_many_arguments,
        reason = "every input is a distinct field; vectors pass fixed values"
    )]
    pub fn create(
        passphrase: &[u8],
        params: Argon2Params,
        salt: &[u8],
        nonce: &[u8; NONCE_LEN],
        master: &MasterKey,
        repo: RepoId,
        created_ns: i64,
        host: &str,
        user: &str,
    ) -> Result<Self, DecodeError> {
        let kek = params.derive(passphrase, salt)?;
        let mut value = KeyPayload {
            v: VERSION,
            master: ByteBuf::from(master.0.to_vec()),
            repo,
        };
        let mut payload = to_msgpack(&value);
        value.master.as_mut_slice().zeroize();
        let sealed = crypto::seal(&kek, nonce, &aad(), &payload);
        payload.zeroize();
        Ok(Self {
            v: VERSION,
            kdf: "argon2id".into(),
            params,
            salt: ByteBuf::from(salt.to_vec()),
            created_ns,
            host: host.into(),
            user: user.into(),
            sealed: ByteBuf::from(sealed),
        })
    }

    /// Decodes and validates a key file's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let kf: Self = msgpack("key file", bytes, limits::MAX_KEY_FILE)?;
        check_version("key file", kf.v, VERSION)?;
        if kf.kdf != "argon2id" {
            return Err(DecodeError::Invalid {
                what: "key file kdf",
                reason: format!("unknown KDF {:?}", kf.kdf),
            });
        }
        kf.params.check()?;
        if kf.salt.len() < limits::SALT_MIN {
            return Err(DecodeError::Invalid {
                what: "key file salt",
                reason: format!("{} bytes is shorter than 16", kf.salt.len()),
            });
        }
        check_limit(
            "key file salt",
            kf.salt.len() as u64,
            limits::SALT_MAX as u64,
        )?;
        Ok(kf)
    }

    /// Encodes the key file.
    pub fn encode(&self) -> Vec<u8> {
        to_msgpack(self)
    }

    /// Opens the master key with a passphrase.
    pub fn unlock(&self, passphrase: &[u8]) -> Result<(MasterKey, RepoId), UnlockError> {
        let kek = self
            .params
            .derive(passphrase, &self.salt)
            .map_err(UnlockError::Invalid)?;
        // Only a failed tag means "wrong passphrase"; a sealed field too short to be one
        // is a damaged key file, which a user must be told apart.
        let mut plain =
            crypto::open(&kek, ObjectKind::KeyFile, &aad(), &self.sealed).map_err(|e| match e {
                OpenError::Authentication { .. } => UnlockError::WrongPassphrase,
                other => UnlockError::Invalid(DecodeError::Invalid {
                    what: "key file sealed",
                    reason: other.to_string(),
                }),
            })?;
        let payload: Result<KeyPayload, _> = msgpack("key payload", &plain, limits::MAX_KEY_FILE);
        plain.zeroize();
        let mut payload = payload.map_err(UnlockError::Invalid)?;
        check_version("key payload", payload.v, VERSION).map_err(UnlockError::Invalid)?;
        let master: Result<[u8; 32], _> = payload.master.as_slice().try_into().map_err(|_| {
            UnlockError::Invalid(DecodeError::Invalid {
                what: "key payload master",
                reason: format!("{} bytes, expected 32", payload.master.len()),
            })
        });
        payload.master.as_mut_slice().zeroize();
        Ok((MasterKey(master?), payload.repo))
    }
}

/// Key files are sealed before the repository ID is known, so their AAD carries zeros.
fn aad() -> [u8; 68] {
    crypto::aad(&RepoId([0u8; 32]), ObjectKind::KeyFile, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Argon2Params = Argon2Params {
        m_kib: limits::ARGON2_MIN_M_KIB,
        t: 2,
        p: 1,
    };

    #[test]
    fn unlock_round_trip_and_wrong_passphrase() {
        let kf = KeyFile::create(
            b"pw",
            FAST,
            &[1u8; 16],
            &[2u8; 24],
            &MasterKey([3u8; 32]),
            RepoId([4u8; 32]),
            0,
            "h",
            "u",
        )
        .unwrap();
        let kf = KeyFile::decode(&kf.encode()).unwrap();
        let (mk, repo) = kf.unlock(b"pw").unwrap();
        assert_eq!(mk.0, [3u8; 32]);
        assert_eq!(repo, RepoId([4u8; 32]));
        assert!(matches!(
            kf.unlock(b"nope"),
            Err(UnlockError::WrongPassphrase)
        ));
    }

    #[test]
    fn downgraded_parameters_are_rejected() {
        let mut kf = KeyFile::create(
            b"pw",
            FAST,
            &[1u8; 16],
            &[2u8; 24],
            &MasterKey([3u8; 32]),
            RepoId([4u8; 32]),
            0,
            "h",
            "u",
        )
        .unwrap();
        kf.params.m_kib = 8;
        assert!(matches!(
            KeyFile::decode(&kf.encode()),
            Err(DecodeError::Invalid { .. })
        ));
        kf.params.m_kib = u32::MAX;
        assert!(matches!(
            KeyFile::decode(&kf.encode()),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
