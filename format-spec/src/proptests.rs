//! Property tests across codecs: decoding arbitrary bytes returns `Ok` or `Err` and never
//! panics, and encode → decode round-trips.

use crate::blob::{self, BlobKind, Encoding};
use crate::decode::{msgpack, to_msgpack};
use crate::id::{BlobId, PackId};
use crate::index::{IndexBlob, IndexFile, IndexPack};
use crate::keyfile::KeyFile;
use crate::list::ListBlob;
use crate::pack::{PackEntry, PackHeader};
use crate::snapshot::Snapshot;
use proptest::prelude::*;

fn id() -> impl Strategy<Value = [u8; 32]> {
    proptest::array::uniform32(any::<u8>())
}

proptest! {
    #[test]
    fn msgpack_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        let _ = KeyFile::decode(&bytes);
        let _ = ListBlob::decode(&bytes);
        let _ = msgpack::<Snapshot>("snapshot", &bytes, 1 << 20).map(|s| s.validate());
        let _ = msgpack::<IndexFile>("index", &bytes, 1 << 20).map(|i| i.validate());
        let _ = blob::decompress_bounded("object", &bytes, 1 << 20);
        let _ = blob::decode(Encoding::Zstd, &bytes, 1000);
    }

    #[test]
    fn pack_header_round_trips(entries in proptest::collection::vec((id(), 40u32..5000, 0u32..9000, any::<bool>()), 0..20)) {
        let mut offset = 0u32;
        let entries: Vec<PackEntry> = entries.into_iter().map(|(i, stored, raw, tree)| {
            let e = PackEntry {
                kind: if tree { BlobKind::Tree } else { BlobKind::Data },
                encoding: Encoding::Zstd,
                id: BlobId(i),
                offset,
                stored_len: stored,
                raw_len: raw.max(stored),
                bases: vec![],
            };
            offset += stored;
            e
        }).collect();
        let h = PackHeader { entries };
        prop_assert_eq!(PackHeader::decode(&h.encode(), offset.into()).unwrap(), h);
    }

    #[test]
    fn index_round_trips(blobs in proptest::collection::vec((id(), 0u32..1000, 40u32..1000), 0..20), pack in id()) {
        let blobs: Vec<IndexBlob> = blobs.into_iter().map(|(i, off, len)| IndexBlob {
            id: BlobId(i), kind: BlobKind::Data, enc: Encoding::Raw, off, len, raw: len, bases: vec![],
        }).collect();
        let f = IndexFile { v: 1, supersedes: vec![], packs: vec![IndexPack { id: PackId(pack), size: 4096, blobs }] };
        let back: IndexFile = msgpack("index", &to_msgpack(&f), 1 << 20).unwrap();
        prop_assert!(back.validate().is_ok());
        prop_assert_eq!(back, f);
    }
}
