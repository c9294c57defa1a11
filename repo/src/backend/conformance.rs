//! The suite every backend passes, as restic's backend test suite does. It panics on the
//! first failure; tests call it (the local backend's unit test, the S3 integration tests).

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::indexing_slicing
)]

use super::{Backend, FileType};
use std::io::ErrorKind;

/// Runs every check against an empty backend.
pub fn run(b: &dyn Backend) {
    b.create().unwrap();
    let name = "ab".to_string() + &"0".repeat(62);
    assert!(!b.exists(FileType::Pack, &name).unwrap());
    b.write(FileType::Pack, &name, b"hello world").unwrap();
    assert!(b.exists(FileType::Pack, &name).unwrap());
    assert_eq!(b.size(FileType::Pack, &name).unwrap(), 11);
    assert_eq!(b.read(FileType::Pack, &name, 100).unwrap(), b"hello world");
    assert_eq!(
        b.read(FileType::Pack, &name, 5).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    assert_eq!(b.read_range(FileType::Pack, &name, 6, 5).unwrap(), b"world");
    assert_eq!(
        b.read_range(FileType::Pack, &name, 6, 6)
            .unwrap_err()
            .kind(),
        ErrorKind::UnexpectedEof
    );
    assert_eq!(
        b.read_range(FileType::Pack, &name, u64::MAX, 6)
            .unwrap_err()
            .kind(),
        ErrorKind::UnexpectedEof
    );
    // Immutable: a second write of the same name keeps the first content.
    b.write(FileType::Pack, &name, b"other").unwrap();
    assert_eq!(b.read(FileType::Pack, &name, 100).unwrap(), b"hello world");
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 11)]);
    assert!(b.list(FileType::Snapshot).unwrap().is_empty());
    b.remove(FileType::Pack, &name).unwrap();
    assert!(b.list(FileType::Pack).unwrap().is_empty());
    assert_eq!(
        b.read(FileType::Pack, &name, 100).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Names that could escape the repository are refused.
    for bad in ["../x", "a/b", "", ".tmp-1"] {
        assert!(b.write(FileType::Snapshot, bad, b"x").is_err(), "{bad}");
    }
    b.write(FileType::Config, "config", b"c1").unwrap();
    assert_eq!(b.read(FileType::Config, "config", 10).unwrap(), b"c1");
    large_files_and_long_listings(b);
}

/// A file above an S3 backend's multipart threshold (12 MiB, with parts of 5 MiB in the
/// tests), read back across a part boundary; and more files of one type than one LIST page
/// (1000 keys) holds, all listed.
fn large_files_and_long_listings(b: &dyn Backend) {
    let big: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let name = hex::encode(blake3::hash(&big).as_bytes());
    b.write_parts(FileType::Pack, &name, &[&big[..7 << 20], &big[7 << 20..]])
        .unwrap();
    assert_eq!(b.size(FileType::Pack, &name).unwrap(), big.len() as u64);
    let at = (5 << 20) - 10;
    assert_eq!(
        b.read_range(FileType::Pack, &name, at, 20).unwrap(),
        &big[at as usize..at as usize + 20]
    );
    assert_eq!(b.read(FileType::Pack, &name, 64 << 20).unwrap(), big);
    let names: Vec<String> = (0..1003u32)
        .map(|i| hex::encode(blake3::hash(&i.to_le_bytes()).as_bytes()))
        .collect();
    std::thread::scope(|s| {
        for part in names.chunks(126) {
            s.spawn(move || {
                for n in part {
                    b.write(FileType::Lock, n, b"l").unwrap();
                }
            });
        }
    });
    let listed: Vec<String> = b
        .list(FileType::Lock)
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    let mut want = names.clone();
    want.sort();
    assert_eq!(listed, want);
    b.remove(FileType::Pack, &name).unwrap();
    assert_eq!(
        b.remove(FileType::Pack, &name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
