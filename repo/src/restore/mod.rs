//! Reading snapshots back: restore, dump and ls.
//! SPEC.md § [Reading a snapshot](../../SPEC.md#reading-a-snapshot).
//!
//! Every snapshot restores in one step from its own tree, whatever its level; every blob
//! is re-hashed against its ID as it is read, and every file against the content hash
//! recorded at backup time. Before restore or dump writes anything, [`preflight`] checks
//! that every pack they will read is there.

pub mod content;
pub mod fetch;
pub mod file_task;
pub mod path_guard;
pub mod preflight;
pub mod walk;
pub mod write;

pub use content::dump_file;
pub use walk::{find_node, walk_tree, Entry};
pub use write::{restore, RestoreOptions, RestoreStats};
