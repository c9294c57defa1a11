//! Delta decoding never panics, never yields other than `raw_len` bytes, and the chain walk
//! terminates on any base graph.
#![no_main]
use format_spec::delta::{decompress_into, depth};
use format_spec::id::BlobId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // [history len u16][raw_len u16][history][frame]
    if data.len() < 4 {
        return;
    }
    let h = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 4);
    let raw_len = u32::from(u16::from_le_bytes([data[2], data[3]]));
    let (history, frame) = data[4..].split_at(h);
    let mut out = Vec::new();
    if decompress_into(history, frame, raw_len, &mut out).is_ok() {
        assert_eq!(out.len(), raw_len as usize);
    }
    // The same bytes as a base graph: blob i names bases from the following bytes.
    let graph: Vec<Vec<BlobId>> = data
        .chunks(3)
        .map(|c| c.iter().map(|b| BlobId([b % 8; 32])).collect())
        .collect();
    let bases = |b: &BlobId| graph.get(usize::from(b.0[0])).map(Vec::as_slice);
    let _ = depth(&BlobId([0; 32]), bases);
});
