//! Restore as a pipeline: several workers write chunks of large files at their offsets
//! and many small files at once; the result is bit-identical with its metadata, with and
//! without `--verify`; `--sparse` leaves zero blocks as holes; a file whose content fails
//! is not left behind half-written.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use support::*;

/// Relative path → (content, mode, mtime) of every regular file under `root`.
fn snapshot_of(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, i64)> {
    walk(root)
        .into_iter()
        .filter(|p| p.symlink_metadata().unwrap().is_file())
        .map(|p| {
            let md = p.metadata().unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            (
                rel,
                (
                    std::fs::read(&p).unwrap(),
                    md.permissions().mode() & 0o7777,
                    md.mtime(),
                ),
            )
        })
        .collect()
}

/// Large multi-chunk files, 300 small files in nested directories, an empty file and a
/// read-only directory.
fn source(r: &TestRepo) -> PathBuf {
    let src = r.path("src");
    std::fs::create_dir_all(src.join("big")).unwrap();
    std::fs::write(src.join("big/noise.bin"), noise("big", 9 << 20)).unwrap();
    std::fs::write(src.join("big/dump.sql"), dumpish(60_000)).unwrap();
    for d in 0..10 {
        let dir = src.join(format!("d{d}/sub"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..30 {
            let body = noise(&format!("{d}-{f}"), 100 + f * 997);
            std::fs::write(dir.join(format!("f{f}.txt")), body).unwrap();
        }
    }
    std::fs::write(src.join("empty"), b"").unwrap();
    std::fs::set_permissions(src.join("d3/sub"), std::fs::Permissions::from_mode(0o555)).unwrap();
    src
}

#[test]
fn large_and_many_files_restore_bit_identical_with_and_without_verify() {
    let r = TestRepo::new();
    let src = source(&r);
    r.backup(&[&src]);
    let want = snapshot_of(&src);
    assert!(want.len() > 300);
    for (i, extra) in [&[][..], &["--verify"][..], &["--sparse"][..]]
        .iter()
        .enumerate()
    {
        let target = r.path(&format!("out{i}"));
        let mut args = vec!["restore", "latest", "--target", target.to_str().unwrap()];
        args.extend_from_slice(extra);
        assert_ok(&r.run(&args));
        let restored = target.join(src.strip_prefix("/").unwrap());
        let got = snapshot_of(&restored);
        assert_eq!(got.len(), want.len(), "{extra:?}: every file is there");
        for (path, w) in &want {
            let g = &got[path];
            assert!(g.0 == w.0, "{extra:?}: {} differs", path.display());
            assert_eq!(
                (g.1, g.2),
                (w.1, w.2),
                "{extra:?}: {} mode, mtime",
                path.display()
            );
        }
        let ro = restored.join("d3/sub").metadata().unwrap();
        assert_eq!(ro.permissions().mode() & 0o777, 0o555, "{extra:?}");
        assert_eq!(ro.mtime(), src.join("d3/sub").metadata().unwrap().mtime());
        std::fs::set_permissions(
            restored.join("d3/sub"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    std::fs::set_permissions(src.join("d3/sub"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn sparse_restore_leaves_zero_blocks_as_holes() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    // Data, 24 MiB of zeros, data, and 4 MiB of zeros at the end (a trailing hole).
    let content = [
        noise("head", 1 << 20),
        vec![0u8; 24 << 20],
        noise("mid", 1 << 20),
        vec![0u8; 4 << 20],
    ]
    .concat();
    std::fs::write(src.join("disk.img"), &content).unwrap();
    r.backup(&[&src]);
    let rel = src.strip_prefix("/").unwrap().join("disk.img");
    let allocated = |target: &Path| target.join(&rel).metadata().unwrap().blocks() * 512;

    let sparse = r.path("sparse");
    assert_ok(&r.run(&[
        "restore",
        "latest",
        "--target",
        sparse.to_str().unwrap(),
        "--sparse",
    ]));
    assert!(
        std::fs::read(sparse.join(&rel)).unwrap() == content,
        "same bytes"
    );
    let dense = r.path("dense");
    assert_ok(&r.run(&["restore", "latest", "--target", dense.to_str().unwrap()]));
    assert!(
        std::fs::read(dense.join(&rel)).unwrap() == content,
        "same bytes"
    );
    let (s, d) = (allocated(&sparse), allocated(&dense));
    assert!(
        s < 8 << 20 && d >= content.len() as u64,
        "sparse allocates {s} bytes, dense {d}, of {}",
        content.len()
    );
}

#[test]
fn a_file_whose_content_fails_is_not_left_half_written() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a-small.txt"), b"small and whole").unwrap();
    // 24 MiB of noise: two data packs at 16 MiB per pack.
    std::fs::write(src.join("big.bin"), noise("big", 24 << 20)).unwrap();
    r.backup(&[&src]);
    // Damage the larger data pack in its middle: some chunk of big.bin, not its first.
    let mut packs: Vec<(u64, PathBuf)> = walk(&r.repo.join("data"))
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| (p.metadata().unwrap().len(), p))
        .collect();
    packs.sort();
    let victim = &packs.last().unwrap().1;
    let mut bytes = std::fs::read(victim).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x40;
    std::fs::write(victim, bytes).unwrap();
    for extra in [&[][..], &["--verify"][..]] {
        let target = r.path("out");
        let mut args = vec!["restore", "latest", "--target", target.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = r.run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains("damaged"), "{extra:?}: {err}");
        let restored = target.join(src.strip_prefix("/").unwrap());
        assert!(
            !restored.join("big.bin").exists(),
            "{extra:?}: the half-written file was removed"
        );
        std::fs::remove_dir_all(&target).unwrap();
    }
}
