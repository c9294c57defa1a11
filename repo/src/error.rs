//! The engine's error type. `cli/src/exit_code.rs` maps variants to exit codes.

use format_spec::{DecodeError, OpenError};
use std::path::PathBuf;

/// Everything the engine can fail with. Each variant carries the object or path a user
/// needs to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No repository at the location (exit 10).
    #[error("no repository at {location}")]
    NoRepository {
        /// Where we looked.
        location: String,
    },
    /// `init` on a location that already holds one.
    #[error("a repository already exists at {location}")]
    AlreadyExists {
        /// Where.
        location: String,
    },
    /// No key file opens with the passphrase (exit 12).
    #[error("no key file opens with this passphrase")]
    WrongPassphrase,
    /// A lock held by someone else (exit 11).
    #[error("repository is locked: {holder}")]
    Locked {
        /// Who holds it.
        holder: String,
    },
    /// A repository file is damaged or missing.
    #[error("{object} is damaged")]
    Damaged {
        /// Which object, e.g. `pack 1a2b… (data/1a/…)`.
        object: String,
        /// What was wrong.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A blob the snapshot needs is not in the index.
    #[error("blob {blob} is not in any index (needed by {needed_by})")]
    MissingBlob {
        /// The blob.
        blob: String,
        /// What needs it.
        needed_by: String,
    },
    /// Packs that a restore or dump would read are absent, or not the size the index
    /// states: a copy of the repository that lags behind its source, or a copy that
    /// stopped part way. Found before anything was written.
    #[error(
        "nothing written: {} needed pack(s) missing or incomplete: {}; a copy that lags? `strata check` names all that is missing",
        .packs.len(),
        first_few(.packs)
    )]
    MissingPacks {
        /// Each pack with what is wrong, e.g. `pack 1a2b… (missing)`, sorted by ID.
        packs: Vec<String>,
    },
    /// A delta blob names a base that no index holds.
    #[error("delta blob {blob} needs base blob {base}, which is not in any index")]
    MissingBase {
        /// The delta blob.
        blob: String,
        /// Its missing base.
        base: String,
    },
    /// A blob's plaintext does not hash to its ID.
    #[error("blob {blob} in pack {pack}: content does not match its ID")]
    HashMismatch {
        /// The blob.
        blob: String,
        /// The pack.
        pack: String,
    },
    /// Writing to the repository failed (not a source problem).
    #[error("writing {what} to the repository failed")]
    RepoWrite {
        /// What was being written.
        what: String,
        /// The I/O error.
        #[source]
        cause: std::io::Error,
    },
    /// Reading from the repository failed.
    #[error("reading {what} from the repository failed")]
    RepoRead {
        /// What was being read.
        what: String,
        /// The I/O error.
        #[source]
        cause: std::io::Error,
    },
    /// A source (file, stdin, command) could not be read.
    #[error("reading source {path} failed")]
    Source {
        /// The source.
        path: PathBuf,
        /// The I/O error.
        #[source]
        cause: std::io::Error,
    },
    /// A `--command` exited non-zero or by a signal; no snapshot was written.
    #[error("command {command:?} failed ({status}); no snapshot was written")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Exit status description.
        status: String,
    },
    /// A snapshot reference matched nothing or several.
    #[error("snapshot {reference:?}: {reason}")]
    SnapshotRef {
        /// What the user typed.
        reference: String,
        /// Why it did not resolve.
        reason: String,
    },
    /// A path inside a snapshot does not exist or has the wrong type.
    #[error("{path}: {reason}")]
    PathInSnapshot {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Restoring to the target failed.
    #[error("restore of {path} failed")]
    RestoreWrite {
        /// Target path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        cause: std::io::Error,
    },
    /// A restored file's content hash differs from the one recorded at backup.
    #[error("{path}: restored content does not match the hash recorded at backup")]
    ContentMismatch {
        /// The file.
        path: String,
    },
    /// `forget` refused its plan (it would break a kept snapshot's chain or leave a set
    /// without a full); nothing was removed.
    #[error("forget refused, nothing removed: {reason}")]
    ForgetRefused {
        /// Which snapshot and why, e.g. `1a2b3c4d is the parent of 5e6f7a8b, which is kept`.
        reason: String,
    },
    /// Invalid user input caught by the engine.
    #[error("{0}")]
    Usage(String),
    /// This process's lock went stale or was removed: another command may have treated
    /// it as gone (prune may have deleted data it uses), so nothing more is committed.
    #[error("lost the repository lock ({reason}); nothing more was committed")]
    LockLost {
        /// Why the lock is considered lost.
        reason: String,
    },
    /// A pending notice does not open: a backup cannot know which packs it announces.
    #[error("pending notice {name} is damaged; the next `strata prune` removes it")]
    PendingDamaged {
        /// The notice's file name.
        name: String,
        /// Why it does not open.
        #[source]
        cause: Box<Error>,
    },
    /// Prune found something it cannot prove safe and deleted nothing.
    #[error("prune deleted nothing: {object}: {reason}")]
    PruneRefused {
        /// The object at fault (snapshot, index file, pack, blob).
        object: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A worker thread stopped without a result (it panicked): a bug, never bad input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps a decode failure of a named object.
    pub fn damaged(
        object: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Damaged {
            object: object.into(),
            cause: Box::new(cause),
        }
    }
}

/// Items shown in a message before "and N more".
const SHOWN: usize = 10;

/// The first [`SHOWN`] items, comma-separated, and how many more there are.
fn first_few(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

impl From<(String, DecodeError)> for Error {
    fn from((object, cause): (String, DecodeError)) -> Self {
        Self::damaged(object, cause)
    }
}

impl From<(String, OpenError)> for Error {
    fn from((object, cause): (String, OpenError)) -> Self {
        Self::damaged(object, cause)
    }
}

/// Engine result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
