//! Shared helpers for the criterion benches in `benches/`: deterministic inputs, a cache
//! directory under `target/`, and cheap-KDF repositories.
//!
//! | bench | measures |
//! |---|---|
//! | `chunking.rs` | keyed FastCDC over 64 MiB (random and dump-like) |
//! | `hashing.rs` | blob IDs (keyed BLAKE3) of 1 MiB chunks |
//! | `seal.rs` | zstd + XChaCha20-Poly1305 of 1 MiB chunks, bare and through the engine |
//! | `backup_e2e.rs` | a whole backup and restore of a 1 GiB dump-like file |
//!
//! `vs_restic.sh` beside them compares the `strata` binary with restic and borg.

use format_spec::crypto::{MasterKey, SubKeys};
use format_spec::keyfile::Argon2Params;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::repository::{InitOptions, Repository};

/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// Size of the cached end-to-end input file.
pub const DUMP_FILE_LEN: u64 = 1 << 30;

/// Passphrase of every bench repository.
pub const PASSPHRASE: &[u8] = b"pw";

/// Sub-keys from a fixed master key, so chunk boundaries are the same on every run.
pub fn keys() -> SubKeys {
    SubKeys::derive(&MasterKey([7; 32]))
}

/// `len` pseudo-random (incompressible) bytes, fixed by `seed`.
pub fn random_bytes(len: usize, seed: &str) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new_derive_key("strata bench random bytes")
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Generates the rows of a pgbench `pgbench_accounts` COPY block whose filler column holds
/// hex text (as in `make-bench-data.sh`'s `dumps-hex`): `aid\tbid\tabalance\t<84 hex>\n`.
/// Deterministic; zstd-3 shrinks it to about half, like the real dump.
pub struct DumpRows {
    next_aid: u64,
    xof: blake3::OutputReader,
}

impl Default for DumpRows {
    fn default() -> Self {
        Self::new()
    }
}

impl DumpRows {
    /// Starts at `aid` 1.
    pub fn new() -> Self {
        Self {
            next_aid: 1,
            xof: blake3::Hasher::new_derive_key("strata bench dump rows").finalize_xof(),
        }
    }

    /// Appends whole rows to `out` until it holds at least `min_len` bytes.
    pub fn fill(&mut self, out: &mut Vec<u8>, min_len: usize) {
        let mut rnd = [0u8; 44];
        let mut filler = [0u8; 84];
        while out.len() < min_len {
            let aid = self.next_aid;
            self.next_aid += 1;
            self.xof.fill(&mut rnd);
            let (seed, bytes) = rnd.split_at(2);
            hex::encode_to_slice(bytes, &mut filler).expect("42 bytes encode to 84 hex chars");
            // pgbench leaves most balances at 0; a few accounts have seen transactions.
            let abalance = if aid.is_multiple_of(37) {
                i32::from(u16::from_le_bytes([seed[0], seed[1]]) % 10_000) - 5_000
            } else {
                0
            };
            let bid = (aid - 1) / 100_000 + 1;
            write!(out, "{aid}\t{bid}\t{abalance}\t").expect("writing to a Vec cannot fail");
            out.extend_from_slice(&filler);
            out.push(b'\n');
        }
    }
}

/// The first `len` bytes of the dump-like row stream.
pub fn dump_like(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    DumpRows::new().fill(&mut out, len);
    out.truncate(len);
    out
}

/// `target/strata-bench-data` (or under `CARGO_TARGET_DIR`), created if missing.
pub fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let dir = target.join("strata-bench-data");
    fs::create_dir_all(&dir).expect("bench cache directory under target/ must be writable");
    dir
}

/// A fresh scratch directory in the cache directory: repositories and restores of a GiB
/// belong on the same disk as `target/`, not in a possibly small `/tmp`.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(cache_dir()).expect("scratch directory in the bench cache")
}

/// The 1 GiB dump-like file, generated once (about 10 s) and reused by later runs.
pub fn dump_file() -> PathBuf {
    let path = cache_dir().join("dump-like-v1-1GiB.sql");
    if fs::metadata(&path).is_ok_and(|m| m.len() == DUMP_FILE_LEN) {
        return path;
    }
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::new(File::create(&tmp).expect("create the dump-like file"));
    let mut rows = DumpRows::new();
    let mut buf = Vec::with_capacity(8 * MIB + 128);
    let mut left = DUMP_FILE_LEN as usize;
    while left > 0 {
        buf.clear();
        rows.fill(&mut buf, (8 * MIB).min(left));
        buf.truncate(left);
        w.write_all(&buf).expect("write the dump-like file");
        left -= buf.len();
    }
    w.into_inner()
        .expect("flush the dump-like file")
        .sync_all()
        .expect("sync the dump-like file");
    fs::rename(&tmp, &path).expect("move the dump-like file into place");
    path
}

/// Creates a repository in `dir` with the cheapest KDF `init` accepts and default chunker,
/// pack and zstd settings.
pub fn init_repo(dir: &std::path::Path) -> Repository {
    let opts = InitOptions {
        kdf: Argon2Params {
            m_kib: 16 << 10,
            t: 2,
            p: 1,
        },
        ..Default::default()
    };
    Repository::init(Arc::new(LocalBackend::new(dir)), PASSPHRASE, &opts)
        .expect("init a bench repository in an empty scratch directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_rows_look_like_pgbench_accounts() {
        let d = dump_like(1000);
        assert_eq!(d.len(), 1000);
        let first = d.split(|&b| b == b'\n').next().unwrap();
        let cols: Vec<&[u8]> = first.split(|&b| b == b'\t').collect();
        assert_eq!(cols[..3], [&b"1"[..], b"1", b"0"]);
        assert_eq!(cols[3].len(), 84);
        assert_eq!(dump_like(5000)[..1000], d[..]);
    }
}
