//! The suite every backend passes (test-only), as restic's backend test suite does.

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
}
