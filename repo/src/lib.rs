//! The strata repository engine: backends, the backup pipeline, restore, locks.
//!
//! | module | job |
//! |---|---|
//! | [`backend`] | where files live (`local`) |
//! | [`repository`] | init, open, keys, sealed objects, blob reads |
//! | [`keys`] | key add / list / remove / passwd |
//! | [`index`] | the in-memory master index |
//! | [`pipeline`] | chunk → seal → pack |
//! | [`backup`] | sources, tree assembly, write order |
//! | [`restore`] | reading snapshots back: restore, dump, ls |
//! | [`snapshots`] | listing and resolving snapshot references |
//! | [`diff`] | comparing two snapshots |
//! | [`lock`] | shared and exclusive locks |
//! | [`policy`] | stored schedule policies |
//! | [`forget`] | retention: which snapshots to keep, and deleting the others |
//! | [`duration`] | durations as the command line writes them |
//! | [`drill`] | stored restore-drill records |
//! | [`verify`] | restore drills (`strata verify`) |
//! | [`progress`] | progress events |
//! | [`repair`] | `repair index`: the index rebuilt from pack headers |
//! | [`pending`] | pending notices: packs a prune is about to delete |
//! | [`prune`] | `prune`: mark, plan, repack, announce, wait, delete |
//! | [`copy`] | `copy`: snapshots into another repository (blobs as they are, or re-chunked) |
//! | [`failpoint`] | fault injection for the crash tests (feature `failpoints`) |
//!
//! ```no_run
//! use std::sync::Arc;
//! use strata_repo::{backend::local::LocalBackend, repository::{Repository, InitOptions}};
//! let backend = Arc::new(LocalBackend::new("/tmp/repo"));
//! let repo = Repository::init(backend, b"passphrase", &InitOptions::default()).unwrap();
//! println!("{}", repo.id());
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod backend;
pub mod backup;
pub mod blob_cache;
pub mod check;
pub mod copy;
pub mod diff;
pub mod drill;
pub mod duration;
pub mod error;
pub mod failpoint;
pub mod forget;
pub mod index;
pub mod keys;
pub mod lock;
pub mod pack_read;
pub mod pending;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod prune;
pub mod repair;
pub mod repository;
pub mod restore;
pub mod snapshots;
pub mod stats;
pub mod util;
pub mod verify;

pub use error::{Error, Result};
