//! The local-directory backend: SPEC.md § [Repository layout](../../SPEC.md#repository-layout).
//!
//! Writes go to `.tmp-<random>` in the target directory, are fsynced, renamed into place,
//! and the directory is fsynced, so a crash leaves either the whole file or none (plus a
//! temporary file that nothing references).

use super::{check_name, invalid_name as invalid, Backend, FileType};
use crate::failpoint;
use rand::Rng;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The directories of a repository (`data/` also holds one per first ID byte).
const DIRS: [&str; 8] = [
    "keys",
    "data",
    "index",
    "snapshots",
    "locks",
    "policies",
    "drills",
    "pending",
];

/// A repository in a local directory.
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// A backend rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, t: FileType, name: &str) -> io::Result<PathBuf> {
        check_name(name)?;
        Ok(match t {
            FileType::Config => self.root.join("config"),
            FileType::Pack => {
                let prefix = name.get(..2).ok_or_else(|| invalid(name))?;
                self.root.join("data").join(prefix).join(name)
            }
            _ => self.root.join(t.dir()).join(name),
        })
    }
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        for d in DIRS {
            fs::create_dir_all(self.root.join(d))?;
        }
        for i in 0..=255u8 {
            fs::create_dir_all(self.root.join("data").join(format!("{i:02x}")))?;
        }
        fsync_dir(&self.root)
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.write_parts(t, name, &[bytes])
    }

    fn write_parts(&self, t: FileType, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let path = self.path(t, name)?;
        let dir = path.parent().ok_or_else(|| invalid(name))?;
        failpoint::hit(&failpoint::name("write", t))?;
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{:016x}", rand::thread_rng().gen::<u64>()));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            for p in parts {
                f.write_all(p)?;
            }
            f.sync_all()?;
            drop(f);
            // Never replace an existing file: content-named files are immutable.
            if t != FileType::Config && path.exists() {
                fs::remove_file(&tmp)?;
                return Ok(());
            }
            failpoint::hit(&failpoint::name("rename", t))?;
            fs::rename(&tmp, &path)?;
            fsync_dir(dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn read(&self, t: FileType, name: &str, max: u64) -> io::Result<Vec<u8>> {
        let f = File::open(self.path(t, name)?)?;
        let len = f.metadata()?.len();
        if len > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{len} bytes exceeds the limit of {max}"),
            ));
        }
        let mut out = Vec::with_capacity(len as usize);
        f.take(max + 1).read_to_end(&mut out)?;
        if out.len() as u64 > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("grew past the limit of {max}"),
            ));
        }
        Ok(out)
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let mut f = File::open(self.path(t, name)?)?;
        if offset.checked_add(len as u64).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} past any end"),
            ));
        }
        f.seek(io::SeekFrom::Start(offset))?;
        out.clear();
        out.try_reserve_exact(len).map_err(io::Error::other)?;
        // `read_to_end` fills the spare capacity without zeroing it first.
        let n = f.take(len as u64).read_to_end(out)?;
        if n != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} past the end ({} bytes read)", n),
            ));
        }
        Ok(())
    }

    fn size(&self, t: FileType, name: &str) -> io::Result<u64> {
        Ok(fs::metadata(self.path(t, name)?)?.len())
    }

    fn list(&self, t: FileType) -> io::Result<Vec<(String, u64)>> {
        failpoint::hit(&failpoint::name("list", t))?;
        let mut out = Vec::new();
        let dirs: Vec<PathBuf> = match t {
            FileType::Config => return Ok(vec![]),
            FileType::Pack => {
                let mut v = Vec::new();
                for e in fs::read_dir(self.root.join("data"))? {
                    let e = e?;
                    if e.file_type()?.is_dir() {
                        v.push(e.path());
                    }
                }
                v
            }
            _ => vec![self.root.join(t.dir())],
        };
        for d in dirs {
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                // A directory a newer version added (e.g. `policies/`) may be absent.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for e in entries {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                // Only content names (64 lower-case hex) are repository files (SPEC.md §
                // Repository layout); temporary files and strays are ignored.
                if name.len() != 64 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    continue;
                }
                if t == FileType::Pack
                    && d.file_name()
                        .is_some_and(|x| !name.starts_with(&*x.to_string_lossy()))
                {
                    continue;
                }
                let md = match e.metadata() {
                    Ok(md) => md,
                    // Deleted since the directory was read (a lock released, a pack
                    // pruned): it is not there any more, which is what a later listing
                    // would say too.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err),
                };
                if md.is_file() {
                    out.push((name, md.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, t: FileType, name: &str) -> io::Result<()> {
        let path = self.path(t, name)?;
        failpoint::hit(&failpoint::name("remove", t))?;
        fs::remove_file(&path)?;
        if let Some(dir) = path.parent() {
            fsync_dir(dir)?;
        }
        Ok(())
    }

    fn remove_stale_temporaries(&self, older_than: std::time::Duration) -> io::Result<u64> {
        let mut dirs = vec![self.root.clone()];
        dirs.extend(
            DIRS.iter()
                .filter(|d| **d != "data")
                .map(|d| self.root.join(d)),
        );
        if let Ok(rd) = fs::read_dir(self.root.join("data")) {
            for e in rd.flatten() {
                dirs.push(e.path());
            }
        }
        let now = std::time::SystemTime::now();
        let mut n = 0;
        for d in dirs {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                if !e.file_name().to_string_lossy().starts_with(".tmp-") {
                    continue;
                }
                let Ok(md) = e.metadata() else { continue };
                let age = md
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                if md.is_file() && age >= older_than {
                    match fs::remove_file(e.path()) {
                        Ok(()) => n += 1,
                        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(n)
    }

    fn modified(&self, t: FileType, name: &str) -> io::Result<std::time::SystemTime> {
        fs::metadata(self.path(t, name)?)?.modified()
    }

    fn exists(&self, t: FileType, name: &str) -> io::Result<bool> {
        match fs::symlink_metadata(self.path(t, name)?) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let b = super::LocalBackend::new(dir.path().join("repo"));
        crate::backend::conformance::run(&b);
    }
}
