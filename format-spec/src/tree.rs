//! Trees: SPEC.md § [Trees](../../SPEC.md#trees).
//!
//! A tree blob lists one directory: nodes strictly sorted by name bytes. Names are bytes,
//! not UTF-8, and each is a single path component; a reader rejects anything else before it
//! touches the file system, so a hostile tree cannot make a restore escape its target.

use crate::decode::{check_limit, check_version, msgpack, to_msgpack};
use crate::error::DecodeError;
use crate::id::BlobId;
use crate::limits;
use crate::list::Content;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Current structure version.
pub const VERSION: u32 = 1;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Character device.
    Chardev,
    /// Block device.
    Blockdev,
    /// Unix socket (recorded, not restored).
    Socket,
}

/// An extended attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    /// Attribute name.
    pub name: ByteBuf,
    /// Attribute value.
    pub value: ByteBuf,
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Single path component, as bytes.
    pub name: ByteBuf,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: NodeKind,
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status-change time, ns since the epoch (change detection only).
    pub ctime_ns: i64,
    /// Size in bytes (files).
    pub size: u64,
    /// Inode number (change detection only).
    pub inode: u64,
    /// Device number of the containing file system (change detection only).
    pub dev: u64,
    /// Device number for device nodes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rdev: u64,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<ByteBuf>,
    /// Extended attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xattrs: Vec<Xattr>,
    /// File content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Keyed BLAKE3 (blob-ID key) of the whole file content, for restore drills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<BlobId>,
    /// Directory listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<BlobId>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Structure version (1).
    pub v: u32,
    /// Entries sorted by name bytes, names unique.
    pub nodes: Vec<Node>,
}

/// Checks that a name is one path component: not empty, `.` or `..`, no `/` or NUL.
pub fn validate_name(name: &[u8]) -> Result<(), DecodeError> {
    let bad = |reason: &str| {
        Err(DecodeError::Invalid {
            what: "node name",
            reason: format!("{reason}: {:?}", String::from_utf8_lossy(name)),
        })
    };
    check_limit(
        "node name length",
        name.len() as u64,
        limits::MAX_NAME_LEN as u64,
    )?;
    if name.is_empty() {
        return bad("empty");
    }
    if name == b"." || name == b".." {
        return bad("names the directory itself or its parent");
    }
    if name.contains(&b'/') {
        return bad("contains '/'");
    }
    if name.contains(&0) {
        return bad("contains NUL");
    }
    Ok(())
}

impl Node {
    /// Checks the name and that the fields this kind needs are present.
    pub fn validate(&self) -> Result<(), DecodeError> {
        validate_name(&self.name)?;
        let missing = |field: &str| {
            Err(DecodeError::Invalid {
                what: "node",
                reason: format!(
                    "{:?} node {:?} has no {field}",
                    self.kind,
                    String::from_utf8_lossy(&self.name)
                ),
            })
        };
        match self.kind {
            NodeKind::Dir if self.subtree.is_none() => return missing("subtree"),
            NodeKind::File => match &self.content {
                None => return missing("content"),
                Some(c) => {
                    c.validate()?;
                    if c.size() != self.size {
                        return Err(DecodeError::Invalid {
                            what: "node",
                            reason: format!(
                                "content covers {} bytes, size says {}",
                                c.size(),
                                self.size
                            ),
                        });
                    }
                }
            },
            NodeKind::Symlink => match &self.link {
                None => return missing("link target"),
                Some(l) => check_limit(
                    "link target",
                    l.len() as u64,
                    limits::MAX_LINK_TARGET as u64,
                )?,
            },
            _ => {}
        }
        Ok(())
    }
}

impl Tree {
    /// Decodes and validates a tree blob's plaintext.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let t: Self = msgpack("tree blob", bytes, limits::MAX_BLOB_SIZE as usize)?;
        check_version("tree blob", t.v, VERSION)?;
        for n in &t.nodes {
            n.validate()?;
        }
        for w in t.nodes.windows(2) {
            if let [a, b] = w {
                if a.name >= b.name {
                    return Err(DecodeError::Invalid {
                        what: "tree",
                        reason: format!(
                            "names not strictly sorted: {:?} then {:?}",
                            String::from_utf8_lossy(&a.name),
                            String::from_utf8_lossy(&b.name)
                        ),
                    });
                }
            }
        }
        Ok(t)
    }

    /// Encodes a tree (nodes must already be sorted).
    pub fn encode(&self) -> Vec<u8> {
        to_msgpack(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn file(name: &[u8]) -> Node {
        Node {
            name: ByteBuf::from(name.to_vec()),
            kind: NodeKind::File,
            mode: 0o100644,
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
            content: Some(Content::default()),
            hash: None,
            subtree: None,
        }
    }

    #[test]
    fn hostile_names_are_rejected() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/etc", b"a\0b"] {
            let t = Tree {
                v: 1,
                nodes: vec![file(bad)],
            };
            assert!(
                matches!(Tree::decode(&t.encode()), Err(DecodeError::Invalid { .. })),
                "{bad:?}"
            );
        }
        let ok = Tree {
            v: 1,
            nodes: vec![file(b"\xff\xfe not utf8"), file(b"...")],
        };
        let mut ok_sorted = ok.clone();
        ok_sorted.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(Tree::decode(&ok_sorted.encode()).unwrap(), ok_sorted);
    }

    #[test]
    fn duplicate_or_unsorted_names_are_rejected() {
        let t = Tree {
            v: 1,
            nodes: vec![file(b"a"), file(b"a")],
        };
        assert!(Tree::decode(&t.encode()).is_err());
        let t = Tree {
            v: 1,
            nodes: vec![file(b"b"), file(b"a")],
        };
        assert!(Tree::decode(&t.encode()).is_err());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        #[derive(Serialize)]
        struct Future<'a> {
            v: u32,
            nodes: Vec<Node>,
            added_in_v1_5: &'a str,
        }
        let bytes = rmp_serde::to_vec_named(&Future {
            v: 1,
            nodes: vec![file(b"x")],
            added_in_v1_5: "hi",
        })
        .unwrap();
        assert_eq!(Tree::decode(&bytes).unwrap().nodes.len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Tree::decode(&bytes);
        }
    }
}
