//! Mirrors made with the real rsync and rclone (DESIGN.md §6, README.md § Mirrors) open as
//! they are and restore every snapshot bit-identically, locally and on SeaweedFS; a run
//! that was killed, or copied in the wrong order, heals on the next run; and a mirror that
//! lags (a snapshot present, one of its packs not yet) fails `check` and `restore` naming
//! the pack, the restore before it writes anything.
//!
//! The mirror commands are README.md's, run one top-level name at a time in [`ORDER`].
//! rsync and rclone come from Debian (`apt-get install rsync rclone`); a missing tool fails
//! the test.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_repo::backend::local::LocalBackend;
use strata_repo::repository::Repository;
use support::history::{version, History};
use support::process::run_ok;
use support::s3::{S3Server, ACCESS_KEY, SECRET_KEY};
use support::*;

/// What a mirror copies, in this order: the files snapshots need (packs, indexes, keys,
/// config) before the files that name them. `locks/` and `pending/` stay behind.
const ORDER: [&str; 7] = [
    "config",
    "keys",
    "data",
    "index",
    "snapshots",
    "policies",
    "drills",
];

/// Rows of the dump-like file: ~2.6 MB, ~40 chunks of 64 KiB.
const ROWS: usize = 30_000;

/// A snapshot and what it restores to: under `root` in the target, these entries.
struct Snap {
    id: String,
    root: PathBuf,
    digest: BTreeMap<String, String>,
}

/// Path (relative to `dir`) → `file <BLAKE3>`, `link <target>` or `dir`, for everything
/// under `dir`.
fn digest(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link {}", fs::read_link(&p).unwrap().display()),
                );
            } else if md.is_dir() {
                out.insert(rel, "dir".into());
                walk(base, &p, out);
            } else {
                out.insert(
                    rel,
                    format!("file {}", blake3::hash(&fs::read(&p).unwrap())),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A history worth mirroring: a directory (with a file spanning list blobs, a symlink and
/// a subdirectory) backed up full then incr, and a dump backed up full ← diff ← incr, the
/// diff and incr storing delta chunks.
fn history(r: &TestRepo) -> Vec<Snap> {
    let src = r.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), b"first version\n").unwrap();
    fs::write(src.join("sub/dump.sql"), dumpish(90_000)).unwrap();
    fs::write(src.join("sub/noise.bin"), noise("noise", 1 << 20)).unwrap();
    std::os::unix::fs::symlink("sub/dump.sql", src.join("link")).unwrap();
    let root = src.strip_prefix("/").unwrap().to_path_buf();
    let mut snaps = Vec::new();
    let dir_backup = |level: &str, snaps: &mut Vec<Snap>| {
        let v = r.json(&["backup", "--json", "--level", level, src.to_str().unwrap()]);
        assert_eq!(v["level"], level, "{v}");
        snaps.push(Snap {
            id: v["id"].as_str().unwrap().into(),
            root: root.clone(),
            digest: digest(&src),
        });
    };
    dir_backup("full", &mut snaps);
    fs::write(src.join("a.txt"), b"second version\n").unwrap();
    let mut dump = dumpish(90_000);
    dump.extend_from_slice(b"one more row\n");
    fs::write(src.join("sub/dump.sql"), dump).unwrap();
    fs::write(src.join("sub/new.bin"), noise("new", 300_000)).unwrap();
    dir_backup("incr", &mut snaps);

    let mut h = History::new(r, "db");
    for (hour, level) in ["full", "diff", "incr"].into_iter().enumerate() {
        let data = version(ROWS, hour);
        let (id, v) = h.backup(&data, level);
        assert_eq!(v["level"], level, "{v}");
        if level != "full" {
            assert!(
                v["delta_blobs"].as_u64().unwrap() > 0,
                "no delta chunks: {v}"
            );
        }
        let hash = format!("file {}", blake3::hash(&data));
        snaps.push(Snap {
            id,
            root: PathBuf::new(),
            digest: BTreeMap::from([("db.sql".to_string(), hash)]),
        });
    }
    snaps
}

/// `strata` on a repository location (a directory or `s3://…` on `s3`).
fn strata(loc: &str, s3: Option<&S3Server>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.args(args)
        .env("STRATA_REPOSITORY", loc)
        .env("STRATA_PASSWORD", PASSWORD)
        .env_remove("STRATA_PASSWORD_FILE")
        .env_remove("STRATA_PASSWORD_COMMAND")
        .stdin(Stdio::null());
    if let Some(s) = s3 {
        s.env(&mut c);
    }
    c.output().unwrap()
}

fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out))
}

/// Every snapshot of `snaps`, and no other, is listed at `loc` and restores to exactly
/// its content; `check --read-data` passes.
fn assert_mirror_restores(loc: &str, s3: Option<&S3Server>, snaps: &[Snap], scratch: &Path) {
    let out = strata(loc, s3, &["snapshots", "--json"]);
    assert_ok(&out);
    let listed: BTreeSet<String> =
        serde_json::from_str::<serde_json::Value>(&String::from_utf8_lossy(&out.stdout))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
    let want: BTreeSet<String> = snaps.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed, want, "snapshots at {loc}");
    for (n, s) in snaps.iter().enumerate() {
        let target = scratch.join(format!("restore-{n}"));
        let out = strata(
            loc,
            s3,
            &["restore", &s.id, "--target", target.to_str().unwrap()],
        );
        assert_ok(&out);
        assert_eq!(
            digest(&target.join(&s.root)),
            s.digest,
            "snapshot {} restored from {loc}",
            s.id
        );
        fs::remove_dir_all(&target).unwrap();
    }
    let out = strata(loc, s3, &["check", "--read-data"]);
    assert!(out.status.success(), "check of {loc}: {}", all_output(&out));
}

/// On a mirror in any state, every snapshot restores exactly or fails having written
/// nothing (its target not even created).
fn assert_whole_or_nothing(loc: &str, snaps: &[Snap], scratch: &Path) {
    for s in snaps {
        let target = scratch.join("whole-or-nothing");
        let out = strata(
            loc,
            None,
            &["restore", &s.id, "--target", target.to_str().unwrap()],
        );
        if out.status.success() {
            assert_eq!(digest(&target.join(&s.root)), s.digest, "snapshot {}", s.id);
            fs::remove_dir_all(&target).unwrap();
        } else {
            assert!(!target.exists(), "restore of {} wrote before failing", s.id);
        }
    }
}

/// README.md's rsync mirror: one name at a time, in [`ORDER`], never replacing a file.
fn rsync(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for name in ORDER {
        let mut c = Command::new("rsync");
        c.args(["-a", "--ignore-existing", "--exclude", ".*"])
            .arg(from.join(name))
            .arg(format!("{}/", to.display()));
        run_ok(c);
    }
}

/// README.md's deleting pass, after a copy: the directories of [`ORDER`] in reverse order
/// (what names before what is named), with `--delete`.
fn rsync_delete(from: &Path, to: &Path) {
    for name in ORDER.iter().rev().filter(|n| **n != "config") {
        let mut c = Command::new("rsync");
        c.args(["-a", "--ignore-existing", "--delete", "--exclude", ".*"])
            .arg(from.join(name))
            .arg(format!("{}/", to.display()));
        run_ok(c);
    }
}

/// Forgets the last snapshot of `snaps` (a db incr nothing depends on) and prunes, so the
/// source deletes packs and index files.
fn forget_last_and_prune(r: &TestRepo, snaps: &mut Vec<Snap>) {
    let last = snaps.pop().unwrap();
    assert_ok(&r.run(&["forget", &last.id]));
    let before = packs(&r.repo);
    assert_ok(&r.run(&["prune"]));
    assert!(packs(&r.repo) != before, "prune deleted no pack");
}

/// rclone with remote `sw:` set to `s3` (credentials by environment) and no config file.
fn rclone(scratch: &Path, s3: Option<&S3Server>) -> Command {
    let mut c = Command::new("rclone");
    // rclone 1.60's AWS SDK fails on any AWS_CA_BUNDLE ("unsupported transport"), and the
    // endpoint is plain HTTP anyway.
    c.env("RCLONE_CONFIG", scratch.join("no-rclone.conf"))
        .env_remove("AWS_CA_BUNDLE");
    if let Some(s) = s3 {
        c.env("RCLONE_CONFIG_SW_TYPE", "s3")
            .env("RCLONE_CONFIG_SW_PROVIDER", "SeaweedFS")
            .env("RCLONE_CONFIG_SW_ENDPOINT", &s.endpoint)
            .env("RCLONE_CONFIG_SW_ACCESS_KEY_ID", ACCESS_KEY)
            .env("RCLONE_CONFIG_SW_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("RCLONE_CONFIG_SW_REGION", "us-east-1");
    }
    c
}

/// README.md's rclone mirror between `from` and `to` (paths or `sw:bucket/prefix`), in
/// [`ORDER`]. `--immutable` only towards an object store: rclone before 1.63 writes a local
/// file under its own name, so a killed run leaves it short and the next run must replace it.
fn rclone_copy(from: &str, to: &str, s3: Option<&S3Server>, scratch: &Path) {
    for name in ORDER {
        let mut c = rclone(scratch, s3);
        c.args(["copy", "--exclude", ".*"]);
        if to.starts_with("sw:") {
            c.arg("--immutable");
        }
        if name == "config" {
            c.arg(format!("{from}/config")).arg(to);
        } else {
            c.arg(format!("{from}/{name}")).arg(format!("{to}/{name}"));
        }
        run_ok(c);
    }
}

/// rclone's deleting pass: `sync` of the directories of [`ORDER`] in reverse order.
fn rclone_sync(from: &str, to: &str, s3: Option<&S3Server>, scratch: &Path) {
    for name in ORDER.iter().rev().filter(|n| **n != "config") {
        let mut c = rclone(scratch, s3);
        c.args(["sync", "--immutable", "--exclude", ".*"])
            .arg(format!("{from}/{name}"))
            .arg(format!("{to}/{name}"));
        run_ok(c);
    }
}

/// Pack IDs (file names) under `repo/data`.
fn packs(repo: &Path) -> BTreeSet<String> {
    walk(&repo.join("data"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

fn pack_path(repo: &Path, id: &str) -> PathBuf {
    repo.join("data").join(&id[..2]).join(id)
}

/// Relative path → bytes of every file under `dir`, leaving out `locks/` and dot files.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
        .filter(|p| !p.starts_with("locks"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let b = fs::read(dir.join(&p)).unwrap();
            (p, b)
        })
        .collect()
}

/// A copy under way; killed (SIGKILL) when dropped, also when the test fails first.
struct Copying(Child);

impl Drop for Copying {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until a file appears under `dir` (the copy is under way), then kills it at once.
fn kill_once_copying(mut copy: Copying, dir: &Path) {
    let start = Instant::now();
    while walk(dir).is_empty() {
        assert!(
            copy.0.try_wait().unwrap().is_none(),
            "the copy ended before it was killed"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "nothing copied");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(copy);
}

#[test]
fn rsync_mirror_restores_every_snapshot_and_its_later_runs_keep_it_exact() {
    let r = TestRepo::new();
    let mut snaps = history(&r);
    let mirror = r.path("mirror");
    rsync(&r.repo, &mirror);
    assert_mirror_restores(mirror.to_str().unwrap(), None, &snaps, r.dir.path());

    // A later backup and run: only new files exist on the source (none changed), so the
    // mirror is again exactly the source, and the new snapshot restores from it.
    let mut h = History::new(&r, "db");
    let data = version(ROWS, 3);
    let (id, _) = h.backup(&data, "incr");
    snaps.push(Snap {
        id,
        root: PathBuf::new(),
        digest: BTreeMap::from([(
            "db.sql".to_string(),
            format!("file {}", blake3::hash(&data)),
        )]),
    });
    rsync(&r.repo, &mirror);
    let (src, dst) = (files(&r.repo), files(&mirror));
    assert_eq!(
        src.keys().collect::<Vec<_>>(),
        dst.keys().collect::<Vec<_>>()
    );
    assert!(
        src == dst,
        "a file differs between the source and the mirror"
    );
    assert_mirror_restores(mirror.to_str().unwrap(), None, &snaps, r.dir.path());

    // forget and prune at the source (no prune running any more): the copy, then the
    // deleting pass, leave the mirror exactly the source again.
    forget_last_and_prune(&r, &mut snaps);
    rsync(&r.repo, &mirror);
    rsync_delete(&r.repo, &mirror);
    assert!(
        files(&r.repo) == files(&mirror),
        "the mirror is not the source"
    );
    assert_mirror_restores(mirror.to_str().unwrap(), None, &snaps, r.dir.path());
}

#[test]
fn rclone_mirrors_to_a_directory_to_seaweedfs_and_back() {
    let r = TestRepo::new();
    let mut snaps = history(&r);
    let scratch = r.dir.path();
    let source = r.repo.to_str().unwrap();

    let local = r.path("rclone-mirror");
    rclone_copy(source, local.to_str().unwrap(), None, scratch);
    assert_mirror_restores(local.to_str().unwrap(), None, &snaps, scratch);

    let server = S3Server::seaweedfs();
    server.create_bucket("mirror");
    rclone_copy(source, "sw:mirror/strata", Some(&server), scratch);
    // A second run with --immutable finds every object equal and changes nothing.
    rclone_copy(source, "sw:mirror/strata", Some(&server), scratch);
    assert_mirror_restores("s3://mirror/strata", Some(&server), &snaps, scratch);

    let back = r.path("from-s3");
    rclone_copy(
        "sw:mirror/strata",
        back.to_str().unwrap(),
        Some(&server),
        scratch,
    );
    assert_mirror_restores(back.to_str().unwrap(), None, &snaps, scratch);
    assert!(
        files(&back) == files(&r.repo),
        "the round trip through S3 changed a file"
    );

    // forget and prune at the source, then copy and the deleting pass: the bucket holds
    // exactly the source's files.
    forget_last_and_prune(&r, &mut snaps);
    rclone_copy(source, "sw:mirror/strata", Some(&server), scratch);
    rclone_sync(source, "sw:mirror/strata", Some(&server), scratch);
    let mut ls = rclone(scratch, Some(&server));
    ls.args(["lsf", "-R", "--files-only", "sw:mirror/strata"]);
    let listed: BTreeSet<PathBuf> = run_ok(ls)
        .lines()
        .map(PathBuf::from)
        .filter(|p| !p.starts_with("locks"))
        .collect();
    let want: BTreeSet<PathBuf> = files(&r.repo).into_keys().collect();
    assert_eq!(listed, want);
    assert_mirror_restores("s3://mirror/strata", Some(&server), &snaps, scratch);
}

#[test]
fn a_mirror_run_killed_part_way_heals_on_the_next_run() {
    let r = TestRepo::new();
    let snaps = history(&r);
    let scratch = r.dir.path();

    // rsync killed while copying packs: it leaves at most its own dot-named temporary,
    // which readers ignore.
    let mirror = r.path("rsync-mirror");
    fs::create_dir_all(&mirror).unwrap();
    for name in ["config", "keys"] {
        let mut c = Command::new("rsync");
        c.args(["-a", "--exclude", ".*"])
            .arg(r.repo.join(name))
            .arg(format!("{}/", mirror.display()));
        run_ok(c);
    }
    let rsync_data = Command::new("rsync")
        .args([
            "-a",
            "--ignore-existing",
            "--exclude",
            ".*",
            "--bwlimit=1000",
        ])
        .arg(r.repo.join("data"))
        .arg(format!("{}/", mirror.display()))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_once_copying(Copying(rsync_data), &mirror.join("data"));
    assert!(packs(&mirror).len() < packs(&r.repo).len());
    assert_whole_or_nothing(mirror.to_str().unwrap(), &snaps, scratch);
    rsync(&r.repo, &mirror);
    assert_mirror_restores(mirror.to_str().unwrap(), None, &snaps, scratch);

    // A plain `rclone copy` of the whole repository at once copies in no useful order (a
    // snapshot may arrive before its packs), and killed it leaves files short under their
    // own names (empty, in the runs seen). The next run, in order, replaces them.
    let mirror = r.path("rclone-mirror");
    let rclone_all = rclone(scratch, None)
        .args(["copy", "--bwlimit", "1M"])
        .arg(&r.repo)
        .arg(&mirror)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_once_copying(Copying(rclone_all), &mirror.join("data"));
    assert!(
        files(&mirror) != files(&r.repo),
        "the copy was not cut short"
    );
    assert_whole_or_nothing(mirror.to_str().unwrap(), &snaps, scratch);
    rclone_copy(
        r.repo.to_str().unwrap(),
        mirror.to_str().unwrap(),
        None,
        scratch,
    );
    assert_mirror_restores(mirror.to_str().unwrap(), None, &snaps, scratch);
}

#[test]
fn a_mirror_copied_snapshots_first_names_its_missing_packs_then_heals() {
    let r = TestRepo::new();
    let snaps = history(&r);
    let mirror = r.path("mirror");
    // The wrong order, cut short: everything but packs, then every other pack.
    fs::create_dir_all(mirror.join("data")).unwrap();
    for name in ["config", "keys", "index", "snapshots"] {
        let mut c = Command::new("cp");
        c.arg("-a").arg(r.repo.join(name)).arg(&mirror);
        run_ok(c);
    }
    let all = packs(&r.repo);
    let mut missing = BTreeSet::new();
    for (n, id) in all.iter().enumerate() {
        if n % 2 == 0 {
            let to = pack_path(&mirror, id);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(pack_path(&r.repo, id), to).unwrap();
        } else {
            missing.insert(id.clone());
        }
    }
    let loc = mirror.to_str().unwrap();
    let out = strata(loc, None, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    for id in &missing {
        assert!(
            all_output(&out).contains(id.as_str()),
            "check does not name pack {id}"
        );
    }
    // Every snapshot needs at least one missing pack, or restores.
    let mut failed = 0;
    for s in &snaps {
        let target = r.path("target");
        let out = strata(
            loc,
            None,
            &["restore", &s.id, "--target", target.to_str().unwrap()],
        );
        if out.status.success() {
            assert_eq!(digest(&target.join(&s.root)), s.digest);
            fs::remove_dir_all(&target).unwrap();
            continue;
        }
        failed += 1;
        assert!(!target.exists(), "restore of {} wrote before failing", s.id);
        let err = stderr(&out);
        assert!(
            missing.iter().any(|id| err.contains(id.as_str())),
            "restore of {} names no missing pack: {err}",
            s.id
        );
    }
    assert!(failed > 0, "no snapshot needed a missing pack");

    rsync(&r.repo, &mirror);
    assert_mirror_restores(loc, None, &snaps, r.dir.path());
}

/// The data packs (holding data blobs) among `ids`, from the index of the repository at `repo`.
fn data_packs(repo: &Path, ids: &BTreeSet<String>) -> BTreeSet<String> {
    let repo = Repository::open(Arc::new(LocalBackend::new(repo)), PASSWORD.as_bytes()).unwrap();
    let index = repo.load_index().unwrap();
    let with_data: HashSet<String> = index
        .blobs()
        .filter(|(_, loc)| loc.kind == format_spec::blob::BlobKind::Data)
        .map(|(_, loc)| index.pack(loc.pack).0.to_hex())
        .collect();
    ids.iter()
        .filter(|id| with_data.contains(*id))
        .cloned()
        .collect()
}

#[test]
fn a_lagging_mirror_fails_check_and_restore_naming_the_pack_and_writes_nothing() {
    let r = TestRepo::new();
    let snaps = history(&r);
    let mirror = r.path("mirror");
    rsync(&r.repo, &mirror);

    // A new incr on the source; the mirror gets its snapshot and index but not its data
    // pack (a copier that took snapshots first, or a run overlapping the backup).
    let before = packs(&r.repo);
    let mut h = History::new(&r, "db");
    let data = version(ROWS, 3);
    let (new, _) = h.backup(&data, "incr");
    rsync(&r.repo, &mirror);
    let added: BTreeSet<String> = packs(&r.repo).difference(&before).cloned().collect();
    let lagging = data_packs(&r.repo, &added);
    assert!(
        !lagging.is_empty() && lagging.len() < added.len(),
        "{added:?}"
    );
    for id in &lagging {
        fs::remove_file(pack_path(&mirror, id)).unwrap();
    }
    let loc = mirror.to_str().unwrap();

    let out = strata(loc, None, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    for id in &lagging {
        assert!(
            all_output(&out).contains(id.as_str()),
            "check does not name {id}"
        );
    }

    // restore: fails naming exactly the lagging packs, with no target created, and an
    // existing target left empty.
    let absent = r.path("absent");
    let out = strata(
        loc,
        None,
        &["restore", &new, "--target", absent.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        !absent.exists(),
        "restore created its target before failing"
    );
    let err = stderr(&out);
    let named: BTreeSet<String> = packs(&r.repo)
        .into_iter()
        .filter(|id| err.contains(id.as_str()))
        .collect();
    assert_eq!(named, lagging, "{err}");
    let empty = r.path("empty");
    fs::create_dir(&empty).unwrap();
    let out = strata(
        loc,
        None,
        &["restore", &new, "--target", empty.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);

    // dump: nothing on stdout (a pipe into psql gets no half dump).
    let out = strata(loc, None, &["dump", &new, "/db.sql"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "dump wrote {} bytes",
        out.stdout.len()
    );
    assert!(lagging.iter().all(|id| stderr(&out).contains(id.as_str())));

    // Older snapshots do not need those packs and restore from the lagging mirror.
    for s in &snaps {
        let target = r.path("older");
        let out = strata(
            loc,
            None,
            &["restore", &s.id, "--target", target.to_str().unwrap()],
        );
        assert_ok(&out);
        assert_eq!(digest(&target.join(&s.root)), s.digest);
        fs::remove_dir_all(&target).unwrap();
    }

    // The next run brings the packs.
    rsync(&r.repo, &mirror);
    let mut all_snaps = snaps;
    all_snaps.push(Snap {
        id: new,
        root: PathBuf::new(),
        digest: BTreeMap::from([(
            "db.sql".to_string(),
            format!("file {}", blake3::hash(&data)),
        )]),
    });
    assert_mirror_restores(loc, None, &all_snaps, r.dir.path());
}
