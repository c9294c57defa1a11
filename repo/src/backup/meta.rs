//! File-system metadata → tree node: SPEC.md § [Trees](../../SPEC.md#trees).

use format_spec::tree::{Node, NodeKind};
use serde_bytes::ByteBuf;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// A node with everything but content, subtree and link target.
pub fn node_from_metadata(name: Vec<u8>, md: &Metadata) -> Node {
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        NodeKind::Dir
    } else if ft.is_file() {
        NodeKind::File
    } else if ft.is_symlink() {
        NodeKind::Symlink
    } else if ft.is_fifo() {
        NodeKind::Fifo
    } else if ft.is_char_device() {
        NodeKind::Chardev
    } else if ft.is_block_device() {
        NodeKind::Blockdev
    } else {
        NodeKind::Socket
    };
    Node {
        name: ByteBuf::from(name),
        kind,
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
        mtime_ns: md
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(md.mtime_nsec()),
        ctime_ns: md
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(md.ctime_nsec()),
        size: if kind == NodeKind::File { md.size() } else { 0 },
        inode: md.ino(),
        dev: md.dev(),
        rdev: if matches!(kind, NodeKind::Chardev | NodeKind::Blockdev) {
            md.rdev()
        } else {
            0
        },
        link: None,
        xattrs: vec![],
        content: None,
        hash: None,
        subtree: None,
    }
}
