//! Every maximum a decoder enforces: SPEC.md § [Limits](../../SPEC.md#limits).
//!
//! A second implementation must enforce the same numbers, so each constant names the
//! section that states it. Lengths read from a repository are checked against these
//! *and* against the bytes that remain before anything is allocated.

/// Largest plaintext of any blob (data, tree or list). SPEC.md § Blobs.
pub const MAX_BLOB_SIZE: u32 = 64 << 20;
/// Largest maximum chunk size a repository config may set. SPEC.md § Chunking.
pub const MAX_CHUNK_SIZE: u32 = 16 << 20;
/// Smallest minimum chunk size a repository config may set. SPEC.md § Chunking.
pub const MIN_CHUNK_SIZE: u32 = 4 << 10;
/// Largest pack file. SPEC.md § Pack files.
pub const MAX_PACK_SIZE: u64 = 1 << 30;
/// Largest sealed pack header. SPEC.md § Pack files.
pub const MAX_PACK_HEADER: usize = 16 << 20;
/// Largest number of base blobs a `zstd-delta` entry may name. SPEC.md § Pack files.
pub const MAX_DELTA_BASES: usize = 4;
/// Deepest delta chain a reader follows (delta of a delta). SPEC.md § Blob encodings.
pub const MAX_DELTA_DEPTH: usize = 2;
/// Largest index file. SPEC.md § Index files.
pub const MAX_INDEX_FILE: usize = 256 << 20;
/// Largest snapshot file. SPEC.md § Snapshots.
pub const MAX_SNAPSHOT_FILE: usize = 16 << 20;
/// Largest config file. SPEC.md § Config.
pub const MAX_CONFIG_FILE: usize = 1 << 20;
/// Largest key file. SPEC.md § Key files.
pub const MAX_KEY_FILE: usize = 64 << 10;
/// Largest policy file. SPEC.md § Policies.
pub const MAX_POLICY_FILE: usize = 64 << 10;
/// Largest drill file. SPEC.md § Drills.
pub const MAX_DRILL_FILE: usize = 64 << 10;
/// Largest pending-deletion notice: 1.9 million pack IDs (30 TB of 16 MiB packs).
/// SPEC.md § Pending deletions.
pub const MAX_PENDING_FILE: usize = 64 << 20;
/// Largest lock file. SPEC.md § Locks.
pub const MAX_LOCK_FILE: usize = 64 << 10;
/// Longest node name in a tree, in bytes. SPEC.md § Trees.
pub const MAX_NAME_LEN: usize = 4096;
/// Longest symlink target, in bytes. SPEC.md § Trees.
pub const MAX_LINK_TARGET: usize = 64 << 10;
/// Deepest directory nesting a reader descends. SPEC.md § Trees.
pub const MAX_TREE_DEPTH: usize = 1024;
/// Most entries in one list blob or one node's inline content. SPEC.md § Lists.
pub const MAX_LIST_ENTRIES: usize = 4096;
/// Deepest list-blob tree. SPEC.md § Lists.
pub const MAX_LIST_LEVEL: u8 = 8;

/// Argon2id floor: a key file asking for less is rejected. SPEC.md § Key files.
pub const ARGON2_MIN_M_KIB: u32 = 16 << 10;
/// Argon2id floor on passes. SPEC.md § Key files.
pub const ARGON2_MIN_T: u32 = 2;
/// Argon2id cap on memory, so a hostile key file cannot exhaust RAM. SPEC.md § Key files.
pub const ARGON2_MAX_M_KIB: u32 = 4 << 20;
/// Argon2id cap on passes. SPEC.md § Key files.
pub const ARGON2_MAX_T: u32 = 64;
/// Argon2id cap on lanes. SPEC.md § Key files.
pub const ARGON2_MAX_P: u32 = 16;
/// Salt length bounds. SPEC.md § Key files.
pub const SALT_MIN: usize = 16;
/// Salt length bounds. SPEC.md § Key files.
pub const SALT_MAX: usize = 64;
