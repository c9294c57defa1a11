//! Master-index memory per blob, measured: builds an index of N synthetic blobs (a share of
//! them deltas with one or two bases) from index files, as `load_index` does, and reports
//! the growth of the process's resident set per blob and per TB of unique data.
//! `cargo run --release -p strata-benches --example index_memory [N] [MEAN_CHUNK_BYTES] [DELTA_SHARE]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use format_spec::blob::{BlobKind, Encoding};
use format_spec::id::{BlobId, IndexId, PackId};
use format_spec::index::{IndexBlob, IndexFile, IndexPack};
use strata_repo::index::MasterIndex;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn id(n: u64, salt: u8) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&n.to_le_bytes()).update(&[salt]);
    *h.finalize().as_bytes()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let mean_chunk: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1.25e6);
    let delta_share: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.5);
    // Index files of 16 MiB-pack-sized groups (~12 blobs of 1.25 MB), built and dropped one
    // at a time like load_index does, so only the master index stays resident.
    let per_pack = 12u64;
    let before = rss_bytes();
    let mut index = MasterIndex::default();
    let mut next = 0u64;
    while next < n {
        let mut packs = Vec::new();
        for p in 0..1000u64 {
            let blobs: Vec<IndexBlob> = (0..per_pack)
                .map(|k| next + p * per_pack + k)
                .filter(|&b| b < n)
                .map(|b| {
                    let delta = (b % 100) as f64 / 100.0 < delta_share && b > 2;
                    IndexBlob {
                        id: BlobId(id(b, 0)),
                        kind: BlobKind::Data,
                        enc: if delta {
                            Encoding::ZstdDelta
                        } else {
                            Encoding::Zstd
                        },
                        off: (b % per_pack) as u32 * 1_000_000,
                        len: 600_000,
                        raw: 1_250_000,
                        bases: if delta {
                            (1..=1 + b % 2).map(|d| BlobId(id(b - d, 0))).collect()
                        } else {
                            vec![]
                        },
                    }
                })
                .collect();
            if blobs.is_empty() {
                break;
            }
            packs.push(IndexPack {
                id: PackId(id(next + p, 1)),
                size: 16 << 20,
                blobs,
            });
        }
        next += 1000 * per_pack;
        index.add_file(&IndexFile {
            v: 1,
            supersedes: vec![],
            packs,
        });
    }
    index.files.push(IndexId::default());
    let grown = rss_bytes().saturating_sub(before);
    let per_blob = grown as f64 / index.len() as f64;
    println!(
        "{} blobs ({} deltas): resident set grew {:.1} MiB = {:.1} B per blob; at {:.2} MB per chunk, 1 TB of unique data = {:.2} M blobs = {:.0} MiB",
        index.len(),
        index.delta_count(),
        grown as f64 / (1 << 20) as f64,
        per_blob,
        mean_chunk / 1e6,
        1e12 / mean_chunk / 1e6,
        1e12 / mean_chunk * per_blob / (1 << 20) as f64,
    );
}
