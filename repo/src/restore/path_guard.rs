//! Keeping a restore inside its target.
//!
//! Every name is validated as one path component (SPEC.md § Trees) before it is joined to
//! a directory we created or checked ourselves; an existing entry in the way is removed,
//! never followed, and files are opened with `O_NOFOLLOW | O_EXCL`. So neither a hostile
//! tree nor a symlink left in the target (or restored earlier) can redirect a write.

use crate::error::{Error, Result};
use format_spec::tree::validate_name;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `dir/name` after validating `name` as one component.
pub fn child(dir: &Path, name: &[u8]) -> Result<PathBuf> {
    validate_name(name)
        .map_err(|e| Error::damaged(format!("tree entry under {}", dir.display()), e))?;
    Ok(dir.join(OsStr::from_bytes(name)))
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |cause| Error::RestoreWrite {
        path: path.to_path_buf(),
        cause,
    }
}

/// Removes whatever non-directory is at `path` (a symlink is removed, not followed).
fn clear(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Err(Error::RestoreWrite {
            path: path.into(),
            cause: io::Error::new(io::ErrorKind::AlreadyExists, "a directory is in the way"),
        }),
        Ok(_) => fs::remove_file(path).map_err(write_err(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_err(path)(e)),
    }
}

/// Ensures `path` is a real directory (not a symlink to one), creating it if needed.
pub fn ensure_dir(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(path).map_err(write_err(path))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_err(path)(e)),
    }
    fs::create_dir(path).map_err(write_err(path))
}

/// Creates a new regular file at `path` (open for reading and writing), replacing a
/// non-directory in the way. The create is tried first: in an empty target nothing is in
/// the way, and checking first would cost a system call per file.
pub fn create_file(path: &Path) -> Result<File> {
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .mode(0o600)
            .open(path)
    };
    match open() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            clear(path)?;
            open().map_err(write_err(path))
        }
        Err(e) => Err(write_err(path)(e)),
    }
}

/// Creates a symlink at `path`, replacing a non-directory in the way.
pub fn create_symlink(target: &[u8], path: &Path) -> Result<()> {
    clear(path)?;
    std::os::unix::fs::symlink(OsStr::from_bytes(target), path).map_err(write_err(path))
}

/// Creates a FIFO at `path`.
pub fn create_fifo(path: &Path, mode: u32) -> Result<()> {
    clear(path)?;
    nix::unistd::mkfifo(
        path,
        nix::sys::stat::Mode::from_bits_truncate(mode & 0o7777),
    )
    .map_err(|e| Error::RestoreWrite {
        path: path.into(),
        cause: io::Error::from(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_refused() {
        let d = Path::new("/tmp/t");
        for bad in [&b".."[..], b".", b"", b"a/b", b"/etc", b"x\0y"] {
            assert!(child(d, bad).is_err(), "{bad:?}");
        }
        assert_eq!(child(d, b"ok").unwrap(), Path::new("/tmp/t/ok"));
    }

    #[test]
    fn symlinks_in_the_way_are_replaced_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let link = t.path().join("d");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        ensure_dir(&link).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_dir());
        let victim = outside.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let f = t.path().join("f");
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        drop(create_file(&f).unwrap());
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&f).unwrap().is_file());
    }
}
