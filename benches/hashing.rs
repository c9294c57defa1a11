//! Blob IDs: keyed BLAKE3 (`SubKeys::blob_id`) of 1 MiB chunks, the default average size.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use strata_benches::{keys, random_bytes, MIB};

fn hashing(c: &mut Criterion) {
    let keys = keys();
    let chunk = random_bytes(MIB, "hashing");
    let mut g = c.benchmark_group("hashing");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("blob_id/1MiB", |b| {
        b.iter(|| keys.blob_id(black_box(&chunk)))
    });
    g.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
