//! A hostile tree (names `..`, `a/b`, empty, with NUL) is refused at restore and nothing is
//! written outside the target; a symlink already in the target is replaced, not followed.

mod support;

use format_spec::blob::BlobKind;
use format_spec::crypto::ObjectKind;
use format_spec::id::SnapshotId;
use format_spec::list::Content;
use format_spec::snapshot::{Level, Snapshot, Summary};
use format_spec::tree::{Node, NodeKind, Tree};
use serde_bytes::ByteBuf;
use std::sync::Arc;
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::FileType;
use strata_repo::pipeline::packer::write_pack;
use strata_repo::pipeline::seal::seal_blob;
use strata_repo::repository::Repository;
use support::*;

fn node(name: &[u8], kind: NodeKind) -> Node {
    Node {
        name: ByteBuf::from(name.to_vec()),
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime_ns: 0,
        ctime_ns: 0,
        size: 0,
        inode: 0,
        dev: 0,
        rdev: 0,
        link: None,
        xattrs: vec![],
        content: if kind == NodeKind::File {
            Some(Content::default())
        } else {
            None
        },
        hash: None,
        subtree: None,
    }
}

/// Writes a snapshot whose root tree holds `nodes` verbatim (no validation on the way in).
fn hostile_snapshot(r: &TestRepo, nodes: Vec<Node>) -> SnapshotId {
    let repo = Repository::open(Arc::new(LocalBackend::new(&r.repo)), PASSWORD.as_bytes()).unwrap();
    let bytes = Tree { v: 1, nodes }.encode();
    let id = repo.keys().blob_id(&bytes);
    let sealed = seal_blob(&repo, BlobKind::Tree, id, &bytes).unwrap();
    let pack = write_pack(&repo, vec![sealed], false).unwrap();
    let index = format_spec::index::IndexFile {
        v: 1,
        supersedes: vec![],
        packs: vec![pack],
    };
    repo.save(FileType::Index, ObjectKind::Index, &index)
        .unwrap();
    let snap = Snapshot {
        v: 1,
        time_ns: 1,
        host: "evil".into(),
        user: "evil".into(),
        set: "evil".into(),
        paths: vec![],
        tags: vec![],
        tree: id,
        level: Level::Full,
        parent: None,
        base: None,
        program: "test".into(),
        command: None,
        exit_status: None,
        original: None,
        summary: Summary::default(),
    };
    SnapshotId(
        repo.save(FileType::Snapshot, ObjectKind::Snapshot, &snap)
            .unwrap(),
    )
}

#[test]
fn hostile_names_are_rejected_and_nothing_escapes() {
    for name in [&b".."[..], b"a/b", b"", b"x\0y", b".", b"/etc"] {
        let r = TestRepo::new();
        let id = hostile_snapshot(&r, vec![node(name, NodeKind::File)]);
        let target = r.path("sandbox/target");
        let out = r.run(&[
            "restore",
            &id.to_hex(),
            "--target",
            target.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("node name"),
            "{name:?}: {}",
            stderr(&out)
        );
        // Nothing was created, not even the target: the restore's pre-flight walk decodes
        // every tree before the first write, and the hostile one does not decode.
        assert!(
            !r.path("sandbox").exists(),
            "{name:?}: written: {:?}",
            walk(&r.path("sandbox"))
        );
    }
}

#[test]
fn symlink_in_target_is_not_followed() {
    let r = TestRepo::new();
    let src = r.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/file"), b"from backup").unwrap();
    r.backup(&[&src]);
    // Plant symlinks where the restore will write: a directory and a file.
    let outside = r.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("file"), b"precious").unwrap();
    let target = r.path("target");
    let base = target.join(src.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&base).unwrap();
    std::os::unix::fs::symlink(&outside, base.join("d")).unwrap();
    let out = r.run(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(std::fs::read(outside.join("file")).unwrap(), b"precious");
    assert!(std::fs::symlink_metadata(base.join("d")).unwrap().is_dir());
    assert_eq!(std::fs::read(base.join("d/file")).unwrap(), b"from backup");
}

#[test]
fn duplicate_names_in_a_tree_are_rejected() {
    let r = TestRepo::new();
    let id = hostile_snapshot(
        &r,
        vec![node(b"same", NodeKind::File), node(b"same", NodeKind::File)],
    );
    let out = r.run(&[
        "restore",
        &id.to_hex(),
        "--target",
        r.path("t").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sorted"), "{}", stderr(&out));
}
