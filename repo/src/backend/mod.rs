//! Storage backends: SPEC.md § [Repository layout](../../SPEC.md#repository-layout).
//!
//! A backend stores named immutable files by type. The engine never modifies a file; it
//! writes new ones and, in prune, deletes old ones. `local` is the embedded default; `s3`
//! stores the same layout in a bucket.

pub mod aws_profile;
pub mod cache;
pub mod local;
pub mod s3;

use std::io;

/// Requests made and bytes moved by a remote backend, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests sent (retries not counted).
    pub requests: u64,
    /// Bytes of object content received.
    pub bytes_down: u64,
    /// Bytes of object content sent.
    pub bytes_up: u64,
}

fn invalid_name(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid repository file name {name:?}"),
    )
}

/// Names are hex IDs (or `config`); anything else could escape the repository.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid_name(name));
    }
    Ok(())
}

/// Kinds of repository files and their directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `config`.
    Config,
    /// `keys/`.
    Key,
    /// `data/<2 hex>/`.
    Pack,
    /// `index/`.
    Index,
    /// `snapshots/`.
    Snapshot,
    /// `locks/`.
    Lock,
    /// `policies/`.
    Policy,
    /// `drills/`.
    Drill,
    /// `pending/`.
    Pending,
}

impl FileType {
    /// The directory of this type, relative to the repository root.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Config => "",
            Self::Key => "keys",
            Self::Pack => "data",
            Self::Index => "index",
            Self::Snapshot => "snapshots",
            Self::Lock => "locks",
            Self::Policy => "policies",
            Self::Drill => "drills",
            Self::Pending => "pending",
        }
    }

    /// Human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Key => "key file",
            Self::Pack => "pack",
            Self::Index => "index",
            Self::Snapshot => "snapshot",
            Self::Lock => "lock",
            Self::Policy => "policy",
            Self::Drill => "drill",
            Self::Pending => "pending notice",
        }
    }
}

/// A place that stores repository files.
pub trait Backend: Send + Sync {
    /// Where, for messages.
    fn location(&self) -> String;
    /// Creates the directory structure of a new repository.
    fn create(&self) -> io::Result<()>;
    /// Writes a new file durably (all or nothing).
    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// Writes a new file given as consecutive parts (a pack's blobs), so the caller need not
    /// copy them into one buffer. The default joins them.
    fn write_parts(&self, t: FileType, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        self.write(t, name, &parts.concat())
    }
    /// Reads a whole file, failing with `InvalidData` if it is larger than `max`.
    fn read(&self, t: FileType, name: &str, max: u64) -> io::Result<Vec<u8>>;
    /// Reads `len` bytes at `offset`; fails with `UnexpectedEof` if the file is shorter.
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_range_into(t, name, offset, len, &mut out)?;
        Ok(out)
    }
    /// [`Self::read_range`] into `out` (replacing its contents), reusing its allocation: the
    /// hot path of restore, where a fresh buffer per blob costs page faults.
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> io::Result<()>;
    /// Size of a file.
    fn size(&self, t: FileType, name: &str) -> io::Result<u64>;
    /// Names and sizes of the files of a type.
    fn list(&self, t: FileType) -> io::Result<Vec<(String, u64)>>;
    /// Deletes a file.
    fn remove(&self, t: FileType, name: &str) -> io::Result<()>;
    /// Whether a file exists.
    fn exists(&self, t: FileType, name: &str) -> io::Result<bool>;
    /// When a file was last written (prune's grace period for packs no index names yet).
    fn modified(&self, t: FileType, name: &str) -> io::Result<std::time::SystemTime>;
    /// Deletes temporary files (a write that was killed before its rename) last modified
    /// longer ago than `older_than`; returns how many. Backends whose writes are atomic
    /// (object stores) have none.
    fn remove_stale_temporaries(&self, _older_than: std::time::Duration) -> io::Result<u64> {
        Ok(0)
    }
    /// Requests and bytes so far, for a remote backend; `None` for a local one.
    fn traffic(&self) -> Option<Traffic> {
        None
    }
}

/// The suite every backend passes; public so the S3 integration tests run it against real
/// servers.
#[doc(hidden)]
pub mod conformance;
