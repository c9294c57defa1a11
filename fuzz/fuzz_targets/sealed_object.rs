//! Opening arbitrary bytes as sealed snapshots, index files and configs never panics.
#![no_main]
use format_spec::config::RepoConfig;
use format_spec::crypto::{MasterKey, ObjectKind, SubKeys};
use format_spec::id::RepoId;
use format_spec::index::IndexFile;
use format_spec::object;
use format_spec::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = SubKeys::derive(&MasterKey([0x42; 32]));
    let repo = RepoId([7; 32]);
    let _ = object::open::<Snapshot>(&keys, &repo, ObjectKind::Snapshot, data, 1 << 20);
    let _ = object::open::<IndexFile>(&keys, &repo, ObjectKind::Index, data, 1 << 20);
    let _ = object::open::<RepoConfig>(&keys, &repo, ObjectKind::Config, data, 1 << 20);
    // Past authentication: the plaintext decoders themselves.
    let _ = format_spec::blob::decompress_bounded("object", data, 1 << 20);
    let _ = format_spec::decode::msgpack::<Snapshot>("snapshot", data, 1 << 20).map(|s| s.validate());
    let _ = format_spec::decode::msgpack::<IndexFile>("index", data, 1 << 20).map(|i| i.validate());
});
