//! Exit codes (README.md § Exit codes, CLI.md): scripts tell failures apart by these.

use strata_repo::Error;

/// Success.
pub const OK: i32 = 0;
/// Any error; nothing committed unless stated.
pub const ERROR: i32 = 1;
/// Backup committed but some source files could not be read.
pub const PARTIAL: i32 = 3;
/// No repository at the location.
pub const NO_REPO: i32 = 10;
/// Lock held by another process.
pub const LOCKED: i32 = 11;
/// Wrong passphrase.
pub const WRONG_PASSPHRASE: i32 = 12;

/// Finds the engine error in an anyhow chain and maps it.
pub fn for_error(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match e {
                Error::NoRepository { .. } => NO_REPO,
                Error::Locked { .. } => LOCKED,
                Error::WrongPassphrase => WRONG_PASSPHRASE,
                _ => ERROR,
            };
        }
    }
    ERROR
}
