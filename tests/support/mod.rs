//! Shared fixtures for the binary-driven integration tests.
#![allow(dead_code)]

pub mod history;
pub mod locks;
pub mod process;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Passphrase of every test repository.
pub const PASSWORD: &str = "correct horse battery staple";

/// A repository in a temporary directory, initialised with the cheapest allowed KDF
/// and small chunks (64 KiB average) so that modest files span many chunks.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    pub repo: PathBuf,
}

impl TestRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let t = Self { dir, repo };
        let out = t.run(&[
            "init",
            "--kdf-memory-mib",
            "16",
            "--kdf-iterations",
            "2",
            "--chunk-avg-kib",
            "64",
        ]);
        assert_ok(&out);
        t
    }

    /// A command with the repository and passphrase set.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
        c.args(args)
            .env("STRATA_REPOSITORY", &self.repo)
            .env("STRATA_PASSWORD", PASSWORD)
            .env_remove("STRATA_PASSWORD_FILE")
            .env_remove("STRATA_PASSWORD_COMMAND")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and parses stdout's last line as JSON (asserting success).
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    }

    /// Backs up paths; returns the snapshot ID.
    pub fn backup(&self, paths: &[&Path]) -> String {
        let mut args = vec!["backup".to_string(), "--json".into()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = self.json(&refs);
        v["id"].as_str().unwrap().to_string()
    }

    /// A scratch path inside the test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Every file in the repository with its bytes (to prove nothing changed).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<_> = walk(&self.repo)
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        v.sort();
        v
    }

    /// Repository files of a kind: "snapshots", "index", "keys", "locks", or "data" (packs).
    pub fn list(&self, dir: &str) -> Vec<PathBuf> {
        let mut v = walk(&self.repo.join(dir));
        v.sort();
        v
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: &str, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut v);
    v
}

/// Dump-like text: numbered rows with some repetition, compressible about 2x.
pub fn dumpish(rows: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..rows {
        let h = blake3::hash(&(i as u64).to_le_bytes());
        s.push_str(&format!(
            "{i}\t{}\t{}\t2026-11-25 10:00:00\n",
            i % 97,
            &h.to_hex()[..32]
        ));
    }
    s.into_bytes()
}
