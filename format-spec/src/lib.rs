//! The strata on-disk format: typed structures and codecs, no I/O. SPEC.md is normative.
//!
//! | module | SPEC.md section |
//! |---|---|
//! | [`limits`] | Limits |
//! | [`id`] | Identifiers |
//! | [`crypto`] | Keys, Sealed objects |
//! | [`keyfile`] | Key files |
//! | [`object`] | Sealed objects |
//! | [`blob`] | Blobs, Blob encodings |
//! | [`pack`] | Pack files |
//! | [`index`] | Index files |
//! | [`tree`] | Trees |
//! | [`list`] | Lists |
//! | [`snapshot`] | Snapshots |
//! | [`config`] | Config |
//! | [`lock`] | Locks |
//! | [`policy`] | Policies |
//! | [`pending`] | Pending deletions |
//! | [`drill`] | Drills |
//! | [`chunking`] | Chunking |
//! | [`decode`], [`error`] | Limits |
//!
//! ```
//! use format_spec::crypto::{MasterKey, SubKeys};
//! let keys = SubKeys::derive(&MasterKey([7; 32]));
//! let id = keys.blob_id(b"hello");
//! assert_eq!(id.to_hex().len(), 64);
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod blob;
pub mod chunking;
pub mod config;
pub mod crypto;
pub mod decode;
pub mod delta;
pub mod drill;
pub mod error;
pub mod id;
pub mod index;
pub mod keyfile;
pub mod limits;
pub mod list;
pub mod lock;
pub mod object;
pub mod pack;
pub mod pending;
pub mod policy;
#[cfg(test)]
mod proptests;
pub mod snapshot;
pub mod tree;

pub use error::{DecodeError, OpenError};
