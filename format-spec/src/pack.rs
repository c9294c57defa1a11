//! Pack files: SPEC.md § [Pack files](../../SPEC.md#pack-files).
//!
//! ```text
//! pack   = sealed blob ‖ … ‖ padding ‖ sealed header ‖ header length (u32 LE, of the sealed header)
//! header = version u8 (1) ‖ entry count u32 LE ‖ entry × count
//! entry  = kind u8 ‖ encoding u8 ‖ base count u8 ‖ reserved u8 (0)
//!          ‖ offset u32 LE ‖ stored length u32 LE ‖ raw length u32 LE ‖ blob ID (32)
//!          ‖ base blob ID (32) × base count
//! ```
//!
//! The header is sealed (kind `PackHeader`, no object ID) so an observer learns neither the
//! blob boundaries nor the chunk lengths; padding rounds the pack size with Padmé.

use crate::blob::{BlobKind, Encoding};
use crate::crypto::SEAL_OVERHEAD;
use crate::decode::{check_limit, Reader};
use crate::error::DecodeError;
use crate::id::BlobId;
use crate::limits;

const VERSION: u8 = 1;
/// Bytes of an entry without base IDs.
pub const ENTRY_MIN_LEN: usize = 48;
/// Bytes of the trailing header-length field.
pub const TRAILER_LEN: usize = 4;

/// One blob in a pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackEntry {
    /// Data, tree or list.
    pub kind: BlobKind,
    /// How the plaintext was stored.
    pub encoding: Encoding,
    /// Keyed hash of the plaintext.
    pub id: BlobId,
    /// Offset of the sealed blob from the start of the pack.
    pub offset: u32,
    /// Length of the sealed blob (nonce, ciphertext, tag).
    pub stored_len: u32,
    /// Length of the plaintext.
    pub raw_len: u32,
    /// Base blobs of a `zstd-delta` blob; empty otherwise.
    pub bases: Vec<BlobId>,
}

/// The list of blobs in a pack, in storage order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PackHeader {
    /// Entries in ascending offset order.
    pub entries: Vec<PackEntry>,
}

impl PackHeader {
    /// Encodes the header plaintext (before sealing).
    #[expect(
        clippy::expect_used,
        reason = "the writer bounds entry and base counts far below u32/u8"
    )]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.entries.len() * ENTRY_MIN_LEN);
        out.push(VERSION);
        let count = u32::try_from(self.entries.len())
            .expect("pack entry count fits u32 (packs are bounded)");
        out.extend_from_slice(&count.to_le_bytes());
        for e in &self.entries {
            out.push(e.kind as u8);
            out.push(e.encoding as u8);
            out.push(u8::try_from(e.bases.len()).expect("base count is at most MAX_DELTA_BASES"));
            out.push(0);
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.stored_len.to_le_bytes());
            out.extend_from_slice(&e.raw_len.to_le_bytes());
            out.extend_from_slice(&e.id.0);
            for b in &e.bases {
                out.extend_from_slice(&b.0);
            }
        }
        out
    }

    /// Decodes and validates a header plaintext; `data_end` is where the sealed header starts.
    pub fn decode(bytes: &[u8], data_end: u64) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("pack header version")?;
        if version != VERSION {
            return Err(DecodeError::Version {
                what: "pack header",
                found: version.into(),
                known: VERSION.into(),
            });
        }
        let count = r.u32_le("pack entry count")? as usize;
        // A count no header could hold is TooLarge; one that merely overruns this header
        // (a cut inside the entries) is Truncated. Either way nothing is allocated for it.
        check_limit(
            "pack entry count",
            count as u64,
            (limits::MAX_PACK_HEADER / ENTRY_MIN_LEN) as u64,
        )?;
        r.check_len(
            "pack entries",
            count * ENTRY_MIN_LEN,
            limits::MAX_PACK_HEADER,
        )?;
        let mut entries = Vec::with_capacity(count);
        let mut prev_end = 0u64;
        for _ in 0..count {
            let kind = BlobKind::from_u8(r.u8("pack entry kind")?)?;
            let encoding = Encoding::from_u8(r.u8("pack entry encoding")?)?;
            let base_count = r.u8("pack entry base count")? as usize;
            let reserved = r.u8("pack entry reserved")?;
            let offset = r.u32_le("pack entry offset")?;
            let stored_len = r.u32_le("pack entry stored length")?;
            let raw_len = r.u32_le("pack entry raw length")?;
            let id = BlobId(r.array("pack entry blob ID")?);
            check_limit(
                "pack entry base count",
                base_count as u64,
                limits::MAX_DELTA_BASES as u64,
            )?;
            let mut bases = Vec::with_capacity(base_count);
            for _ in 0..base_count {
                bases.push(BlobId(r.array("pack entry base ID")?));
            }
            let e = PackEntry {
                kind,
                encoding,
                id,
                offset,
                stored_len,
                raw_len,
                bases,
            };
            validate_entry(&e, reserved, prev_end, data_end)?;
            prev_end = u64::from(e.offset) + u64::from(e.stored_len);
            entries.push(e);
        }
        r.finish("pack header")?;
        Ok(Self { entries })
    }
}

fn validate_entry(
    e: &PackEntry,
    reserved: u8,
    prev_end: u64,
    data_end: u64,
) -> Result<(), DecodeError> {
    let invalid = |reason: String| {
        Err(DecodeError::Invalid {
            what: "pack entry",
            reason,
        })
    };
    if reserved != 0 {
        return invalid(format!("reserved byte is {reserved:#04x}, must be 0"));
    }
    check_limit(
        "pack entry raw length",
        e.raw_len.into(),
        limits::MAX_BLOB_SIZE.into(),
    )?;
    check_limit(
        "pack entry stored length",
        e.stored_len.into(),
        u64::from(e.raw_len) + SEAL_OVERHEAD as u64,
    )?;
    if (e.stored_len as usize) < SEAL_OVERHEAD {
        return invalid(format!(
            "stored length {} is shorter than a sealed object",
            e.stored_len
        ));
    }
    let end = u64::from(e.offset) + u64::from(e.stored_len);
    if u64::from(e.offset) < prev_end || end > data_end {
        return invalid(format!(
            "blob {} at {}+{} overlaps another or the header (data ends at {data_end})",
            e.id.short(),
            e.offset,
            e.stored_len
        ));
    }
    match (e.encoding, e.bases.is_empty()) {
        (Encoding::ZstdDelta, true) => return invalid("zstd-delta entry names no base".into()),
        (Encoding::Raw | Encoding::Zstd, false) => {
            return invalid("only zstd-delta entries name bases".into())
        }
        _ => {}
    }
    if e.bases.contains(&e.id) {
        return invalid(format!("blob {} names itself as its base", e.id.short()));
    }
    if e.encoding == Encoding::ZstdDelta && e.kind != BlobKind::Data {
        return invalid("only data blobs may be deltas".into());
    }
    Ok(())
}

/// Reads the trailer of a pack of `pack_len` bytes: returns (header offset, sealed header length).
pub fn trailer(last4: [u8; 4], pack_len: u64) -> Result<(u64, usize), DecodeError> {
    check_limit("pack size", pack_len, limits::MAX_PACK_SIZE)?;
    let header_len = u32::from_le_bytes(last4) as usize;
    check_limit(
        "pack header length",
        header_len as u64,
        limits::MAX_PACK_HEADER as u64,
    )?;
    let avail = pack_len
        .checked_sub(TRAILER_LEN as u64)
        .ok_or(DecodeError::Truncated {
            what: "pack trailer",
            need: TRAILER_LEN as u64,
            left: pack_len,
        })?;
    if header_len as u64 > avail || header_len < SEAL_OVERHEAD {
        return Err(DecodeError::Invalid {
            what: "pack header length",
            reason: format!("{header_len} does not fit a pack of {pack_len} bytes"),
        });
    }
    Ok((avail - header_len as u64, header_len))
}

/// Padmé: the smallest size ≥ `len` whose low bits are zero, leaking O(log log len) bits
/// of the true size at most 12 % overhead (Nikitin et al., PETS 2019).
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - len.leading_zeros() as u64; // floor(log2 len)
    let s = 64 - e.leading_zeros() as u64; // floor(log2 e) + 1
    let zero_bits = e - s;
    let mask = (1u64 << zero_bits) - 1;
    (len + mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(offset: u32, bases: Vec<BlobId>) -> PackEntry {
        PackEntry {
            kind: BlobKind::Data,
            encoding: if bases.is_empty() {
                Encoding::Zstd
            } else {
                Encoding::ZstdDelta
            },
            id: BlobId([offset as u8; 32]),
            offset,
            stored_len: 100,
            raw_len: 200,
            bases,
        }
    }

    #[test]
    fn round_trip_and_every_truncation() {
        let h = PackHeader {
            entries: vec![entry(0, vec![]), entry(100, vec![BlobId([9; 32])])],
        };
        let bytes = h.encode();
        assert_eq!(PackHeader::decode(&bytes, 200).unwrap(), h);
        for cut in 0..bytes.len() {
            assert!(
                PackHeader::decode(&bytes[..cut], 200).is_err(),
                "cut at {cut}"
            );
        }
        assert!(
            PackHeader::decode(&bytes, 199).is_err(),
            "blob past data end"
        );
    }

    #[test]
    fn self_base_and_overlap_are_rejected() {
        let mut e = entry(0, vec![]);
        e.encoding = Encoding::ZstdDelta;
        e.bases = vec![e.id];
        let bytes = PackHeader { entries: vec![e] }.encode();
        assert!(matches!(
            PackHeader::decode(&bytes, 1000),
            Err(DecodeError::Invalid { .. })
        ));
        let bytes = PackHeader {
            entries: vec![entry(0, vec![]), entry(50, vec![])],
        }
        .encode();
        assert!(PackHeader::decode(&bytes, 1000).is_err());
    }

    #[test]
    fn huge_count_does_not_allocate() {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            PackHeader::decode(&bytes, 1000),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn trailer_bounds() {
        assert!(trailer(100u32.to_le_bytes(), 50).is_err());
        assert!(trailer(u32::MAX.to_le_bytes(), u64::MAX).is_err());
        assert_eq!(trailer(60u32.to_le_bytes(), 1064).unwrap(), (1000, 60));
        assert!(trailer([0; 4], 2).is_err());
    }

    #[test]
    fn padme_overhead_is_bounded() {
        for len in [1u64, 2, 3, 100, 4095, 1 << 20, (16 << 20) + 12345, 1 << 30] {
            let p = padme(len);
            assert!(p >= len);
            assert!(p - len <= len / 8 + 1, "{len} -> {p}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), end in 0u64..5000) {
            let _ = PackHeader::decode(&bytes, end);
        }
    }
}
