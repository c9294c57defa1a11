//! The write path of a backup: source → chunk → seal → packer → upload.
//!
//! `chunk` cuts a byte stream with the keyed FastCDC; `seal` compresses, encrypts and
//! re-opens a blob to check it against its ID before anything is written; `packer` groups
//! sealed blobs into packs (data apart from metadata) and writes them.

pub mod chunk;
pub mod delta;
pub mod gate;
pub mod packer;
pub mod seal;
pub mod zstd_tune;
