//! Reading a pack's header back: SPEC.md § [Pack files](../../SPEC.md#pack-files).
//!
//! Used by `check` (headers must agree with the index) and `repair index` (the index is
//! rebuilt from headers). Every length is bounded before it is read.

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::repository::Repository;
use format_spec::crypto::{self, ObjectKind};
use format_spec::id::PackId;
use format_spec::pack::{self, PackHeader, TRAILER_LEN};

impl Repository {
    /// Reads, authenticates and decodes the header of pack `id`, whose file is `size` bytes.
    pub fn read_pack_header(&self, id: &PackId, size: u64) -> Result<PackHeader> {
        let hex = id.to_hex();
        let what = || format!("pack {hex}");
        let last4 = self
            .backend()
            .read_range(
                FileType::Pack,
                &hex,
                size.saturating_sub(TRAILER_LEN as u64),
                TRAILER_LEN,
            )
            .map_err(|e| Error::damaged(what(), e))?;
        let last4: [u8; 4] = last4
            .as_slice()
            .try_into()
            .map_err(|_| Error::damaged(what(), std::io::Error::other("short trailer")))?;
        let (offset, len) = pack::trailer(last4, size).map_err(|e| Error::damaged(what(), e))?;
        let sealed = self
            .backend()
            .read_range(FileType::Pack, &hex, offset, len)
            .map_err(|e| Error::damaged(what(), e))?;
        let aad = crypto::aad(self.id(), ObjectKind::PackHeader, None);
        let plain = crypto::open(
            &self.keys().encryption,
            ObjectKind::PackHeader,
            &aad,
            &sealed,
        )
        .map_err(|e| Error::damaged(what(), e))?;
        PackHeader::decode(&plain, offset).map_err(|e| Error::damaged(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::packer::write_pack;
    use crate::pipeline::seal::seal_blob;
    use format_spec::blob::BlobKind;

    #[test]
    fn header_read_back_matches_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::repository::test_repository(dir.path());
        let blobs = (0..5u8)
            .map(|i| {
                let data = vec![i; 1000 + usize::from(i)];
                seal_blob(&repo, BlobKind::Data, repo.keys().blob_id(&data), &data).unwrap()
            })
            .collect();
        let p = write_pack(&repo, blobs, false).unwrap();
        let h = repo.read_pack_header(&p.id, p.size).unwrap();
        assert_eq!(h.entries.len(), 5);
        for (e, b) in h.entries.iter().zip(&p.blobs) {
            assert_eq!((e.id, e.offset, e.stored_len), (b.id, b.off, b.len));
        }
        assert!(
            repo.read_pack_header(&p.id, p.size - 1).is_err(),
            "a wrong size is damage, not a panic"
        );
    }
}
