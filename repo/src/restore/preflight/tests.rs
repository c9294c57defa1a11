//! A repository built blob by blob: a base chunk, a plain chunk and a delta of the base,
//! each in its own pack, and two trees in a fourth; then packs removed or cut short.

use super::*;
use crate::pipeline::delta::seal_chunk;
use crate::pipeline::packer::write_pack;
use crate::pipeline::seal::{seal_blob, SealedBlob};
use crate::repository::test_repository;
use format_spec::blob::BlobKind;
use format_spec::crypto::ObjectKind;
use format_spec::index::{IndexFile, IndexPack, VERSION};
use serde_bytes::ByteBuf;

struct Fixture {
    dir: tempfile::TempDir,
    repo: Repository,
    root: BlobId,
    /// The base of the delta (needed only through it).
    base_pack: PackId,
    /// `/sub/b`'s plain chunk.
    plain_pack: PackId,
    /// `/a2`'s chunk, a delta of the base.
    delta_pack: PackId,
    /// Both trees.
    tree_pack: PackId,
}

fn noise(seed: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut v);
    v
}

fn node(name: &str, kind: NodeKind, content: Option<Content>, subtree: Option<BlobId>) -> Node {
    Node {
        name: ByteBuf::from(name.as_bytes().to_vec()),
        kind,
        mode: if kind == NodeKind::Dir {
            0o40755
        } else {
            0o100644
        },
        uid: 0,
        gid: 0,
        mtime_ns: 1,
        ctime_ns: 1,
        size: content.as_ref().map_or(0, Content::size),
        inode: 1,
        dev: 1,
        rdev: 0,
        link: None,
        xattrs: vec![],
        content,
        hash: None,
        subtree,
    }
}

fn file(name: &str, chunk: BlobId, size: usize) -> Node {
    let content = Content {
        level: 0,
        entries: vec![ListEntry {
            id: chunk,
            size: size as u64,
            fp: None,
        }],
    };
    node(name, NodeKind::File, Some(content), None)
}

fn tree(repo: &Repository, nodes: Vec<Node>) -> SealedBlob {
    let bytes = Tree { v: 1, nodes }.encode();
    seal_blob(repo, BlobKind::Tree, repo.keys().blob_id(&bytes), &bytes).unwrap()
}

fn save_index(repo: &Repository, packs: Vec<IndexPack>) {
    let file = IndexFile {
        v: VERSION,
        supersedes: Vec::new(),
        packs,
    };
    repo.save(FileType::Index, ObjectKind::Index, &file)
        .unwrap();
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = test_repository(dir.path());
    let (base, plain) = (noise(1, 3000), noise(2, 3000));
    let (base_id, plain_id) = (repo.keys().blob_id(&base), repo.keys().blob_id(&plain));
    let base_pack = write_pack(
        &repo,
        vec![seal_blob(&repo, BlobKind::Data, base_id, &base).unwrap()],
        false,
    )
    .unwrap();
    let plain_pack = write_pack(
        &repo,
        vec![seal_blob(&repo, BlobKind::Data, plain_id, &plain).unwrap()],
        false,
    )
    .unwrap();
    let (base_pack_id, plain_pack_id) = (base_pack.id, plain_pack.id);
    save_index(&repo, vec![base_pack, plain_pack]);

    let mut changed = base.clone();
    changed[1000] ^= 0xff;
    let changed_id = repo.keys().blob_id(&changed);
    let index = repo.load_index().unwrap();
    let level = repo.config().zstd_level;
    let delta = seal_chunk(&repo, &index, changed_id, &changed, level, &[base_id]).unwrap();
    assert_eq!(delta.encoding, Encoding::ZstdDelta);
    let delta_pack = write_pack(&repo, vec![delta], false).unwrap();

    let sub = tree(&repo, vec![file("b", plain_id, plain.len())]);
    let sub_id = sub.id;
    let root = tree(
        &repo,
        vec![
            file("a2", changed_id, changed.len()),
            node("sub", NodeKind::Dir, None, Some(sub_id)),
        ],
    );
    let root_id = root.id;
    let tree_pack = write_pack(&repo, vec![sub, root], false).unwrap();
    let (delta_pack_id, tree_pack_id) = (delta_pack.id, tree_pack.id);
    save_index(&repo, vec![delta_pack, tree_pack]);
    Fixture {
        dir,
        repo,
        root: root_id,
        base_pack: base_pack_id,
        plain_pack: plain_pack_id,
        delta_pack: delta_pack_id,
        tree_pack: tree_pack_id,
    }
}

impl Fixture {
    fn pack_path(&self, id: &PackId) -> std::path::PathBuf {
        let hex = id.to_hex();
        self.dir.path().join("r/data").join(&hex[..2]).join(hex)
    }

    fn remove(&self, id: &PackId) {
        std::fs::remove_file(self.pack_path(id)).unwrap();
    }

    /// Runs the restore pre-flight with the data packs looked at by a listing or by one
    /// size query each.
    fn check(&self, include: &[&str], listing: bool) -> Result<KeptTrees> {
        let index = self.repo.load_index().unwrap();
        let include: Vec<String> = include.iter().map(|s| s.to_string()).collect();
        let mut w = Walk::new(&self.repo, &index);
        w.list_page = if listing { usize::MAX } else { 1 };
        w.tree(&self.root, &Includes::new(&include), &mut Vec::new())?;
        w.finish()?;
        Ok(w.kept)
    }

    fn node(&self, path: &str) -> Node {
        let index = self.repo.load_index().unwrap();
        crate::restore::walk::find_node(&self.repo, &index, &self.root, path).unwrap()
    }
}

/// The packs a `MissingPacks` error names, or a panic naming the error.
fn named(r: Result<impl Sized>) -> Vec<String> {
    match r {
        Err(Error::MissingPacks { packs }) => packs,
        Err(e) => panic!("expected MissingPacks, got {e:#}"),
        Ok(_) => panic!("expected MissingPacks, got Ok"),
    }
}

#[test]
fn a_whole_repository_passes_and_its_trees_are_kept_for_the_walk() {
    let f = fixture();
    for listing in [true, false] {
        let mut kept = f.check(&[], listing).unwrap();
        assert!(kept.take(&f.root).is_some());
        assert!(kept.take(&f.root).is_none(), "each tree is taken once");
    }
    let index = f.repo.load_index().unwrap();
    before_restore(&f.repo, &index, &f.root, &Includes::default()).unwrap();
}

#[test]
fn a_missing_base_pack_is_named_though_no_file_references_its_blob() {
    let f = fixture();
    f.remove(&f.base_pack);
    for listing in [true, false] {
        let packs = named(f.check(&[], listing));
        assert_eq!(packs, vec![format!("pack {} (missing)", f.base_pack)]);
    }
    // `/sub` needs neither the delta nor its base.
    f.check(&["/sub"], true).unwrap();
    f.check(&["sub/b"], false).unwrap();
    // A dump of the delta's file needs the base's pack; one of `/sub/b` does not.
    let index = f.repo.load_index().unwrap();
    let packs = named(before_dump(&f.repo, &index, &f.node("/a2"), "/a2"));
    assert_eq!(packs, vec![format!("pack {} (missing)", f.base_pack)]);
    before_dump(&f.repo, &index, &f.node("/sub/b"), "/sub/b").unwrap();
}

#[test]
fn every_missing_or_short_pack_is_named_once() {
    let f = fixture();
    f.remove(&f.delta_pack);
    let short = f.pack_path(&f.plain_pack);
    let len = std::fs::metadata(&short).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&short)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    for listing in [true, false] {
        let mut want = vec![
            format!("pack {} (missing)", f.delta_pack),
            format!(
                "pack {} ({} bytes, the index says {len})",
                f.plain_pack,
                len - 1
            ),
        ];
        want.sort();
        assert_eq!(named(f.check(&[], listing)), want);
    }
}

#[test]
fn a_missing_tree_pack_is_named_not_read() {
    let f = fixture();
    f.remove(&f.tree_pack);
    let packs = named(f.check(&[], true));
    assert_eq!(packs, vec![format!("pack {} (missing)", f.tree_pack)]);
}

#[test]
fn a_chunk_no_index_holds_is_named_with_its_file() {
    let f = fixture();
    let index = f.repo.load_index().unwrap();
    let ghost = file("ghost", BlobId([7; 32]), 10);
    match before_dump(&f.repo, &index, &ghost, "/ghost") {
        Err(Error::MissingBlob { blob, needed_by }) => {
            assert_eq!(blob, BlobId([7; 32]).to_hex());
            assert_eq!(needed_by, "/ghost");
        }
        other => panic!("expected MissingBlob, got {:?}", other.err()),
    }
}
