//! Content-defined chunking: SPEC.md § [Chunking](../../SPEC.md#chunking).
//!
//! FastCDC 2020 with normalization level 1, over a full 256-entry gear table derived from
//! the chunker key: `gear[i] = u64 LE of bytes 8i..8i+8 of BLAKE3-XOF(keyed with the
//! chunker key, input "strata gear table v1")`. The masks are fastcdc's for the average size.

use crate::config::ChunkerParams;
use crate::crypto::SubKey;
use fastcdc::v2020::{cut_gear, select_masks, Normalization};

/// Input to the gear-table XOF.
pub const GEAR_INPUT: &[u8] = b"strata gear table v1";

/// A keyed FastCDC cutter.
#[derive(Clone)]
pub struct Chunker {
    gear: Vec<u64>,
    gear_ls: Vec<u64>,
    mask_s: u64,
    mask_l: u64,
    params: ChunkerParams,
}

/// The 256-entry gear table for a chunker key.
#[expect(clippy::expect_used, reason = "chunks_exact(8) yields 8-byte slices")]
pub fn gear_table(key: &SubKey) -> Vec<u64> {
    let mut xof = blake3::Hasher::new_keyed(&key.0)
        .update(GEAR_INPUT)
        .finalize_xof();
    let mut bytes = [0u8; 2048];
    xof.fill(&mut bytes);
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("chunks_exact(8)")))
        .collect()
}

impl Chunker {
    /// Builds a chunker from the chunker key and validated parameters.
    pub fn new(key: &SubKey, params: ChunkerParams) -> Self {
        let gear = gear_table(key);
        let gear_ls = gear.iter().map(|g| g << 1).collect();
        let (mask_s, mask_l) = select_masks(params.avg as usize, Normalization::Level1);
        Self {
            gear,
            gear_ls,
            mask_s,
            mask_l,
            params,
        }
    }

    /// The parameters.
    pub fn params(&self) -> ChunkerParams {
        self.params
    }

    /// The masks used (small, large), as SPEC.md lists them.
    pub fn masks(&self) -> (u64, u64) {
        (self.mask_s, self.mask_l)
    }

    /// Length of the chunk that starts at `buf[0]`. `buf` must hold at least `max` bytes
    /// unless it is the end of the input; the result is ≥ 1 for non-empty input.
    pub fn cut(&self, buf: &[u8]) -> usize {
        let (_, n) = cut_gear(
            buf,
            self.params.min as usize,
            self.params.avg as usize,
            self.params.max as usize,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
            &self.gear,
            &self.gear_ls,
        );
        n
    }

    /// Chunk lengths of a whole in-memory input (vectors and tests).
    pub fn lengths(&self, mut data: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let n = self.cut(data).clamp(1, data.len());
            out.push(n);
            data = data.get(n..).unwrap_or_default();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_bounded_and_keyed() {
        let mut data = vec![0u8; 4_000_000];
        blake3::Hasher::new()
            .update(b"test data")
            .finalize_xof()
            .fill(&mut data);
        let p = ChunkerParams {
            min: 16 << 10,
            avg: 64 << 10,
            max: 256 << 10,
        };
        let a = Chunker::new(&SubKey([1; 32]), p).lengths(&data);
        let b = Chunker::new(&SubKey([2; 32]), p).lengths(&data);
        assert_eq!(a.iter().sum::<usize>(), data.len());
        assert!(a[..a.len() - 1]
            .iter()
            .all(|&n| ((16 << 10)..=(256 << 10)).contains(&n)));
        assert_ne!(a, b, "different keys cut differently");
    }
}
