//! Keyed FastCDC (`format_spec::chunking::Chunker`) over 64 MiB with the default
//! parameters (256 KiB / 1 MiB / 4 MiB): incompressible bytes and dump-like text.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use format_spec::chunking::Chunker;
use format_spec::config::ChunkerParams;
use std::hint::black_box;
use strata_benches::{dump_like, keys, random_bytes, MIB};

const LEN: usize = 64 * MIB;

fn chunking(c: &mut Criterion) {
    let chunker = Chunker::new(&keys().chunker, ChunkerParams::DEFAULT);
    let mut g = c.benchmark_group("chunking");
    g.throughput(Throughput::Bytes(LEN as u64));
    for (name, data) in [
        ("random", random_bytes(LEN, "chunking")),
        ("dump", dump_like(LEN)),
    ] {
        g.bench_function(format!("lengths/{name}"), |b| {
            b.iter(|| chunker.lengths(black_box(&data)))
        });
        // `cut` alone: the chunk-boundary search without collecting the lengths.
        g.bench_function(format!("cut/{name}"), |b| {
            b.iter(|| {
                let mut rest = black_box(&data[..]);
                let mut n = 0usize;
                while !rest.is_empty() {
                    rest = &rest[chunker.cut(rest).clamp(1, rest.len())..];
                    n += 1;
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, chunking);
criterion_main!(benches);
