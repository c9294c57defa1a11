//! Compress + seal of 1 MiB chunks: the bare codec (`blob::encode` at zstd 3, then
//! `crypto::seal`) and the engine's `seal_blob`, which also re-opens and re-hashes every
//! blob before it may enter a pack. Dump-like text takes the zstd path, random bytes the
//! raw path.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use format_spec::blob::{self, BlobKind};
use format_spec::crypto::{self, ObjectKind};
use format_spec::id::RepoId;
use std::hint::black_box;
use strata_benches::{dump_like, init_repo, keys, random_bytes, scratch_dir, MIB};
use strata_repo::pipeline::seal::seal_blob;
use strata_repo::repository::nonce;

fn seal(c: &mut Criterion) {
    let keys = keys();
    let dir = scratch_dir();
    let repo = init_repo(dir.path());
    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Bytes(MIB as u64));
    for (name, chunk) in [
        ("dump", dump_like(MIB)),
        ("random", random_bytes(MIB, "seal")),
    ] {
        let id = keys.blob_id(&chunk);
        g.bench_function(format!("encode+seal/{name}"), |b| {
            b.iter(|| {
                let (_, stored) = blob::encode(black_box(&chunk), 3);
                let aad = crypto::aad(&RepoId([1; 32]), ObjectKind::DataBlob, Some(&id));
                crypto::seal(&keys.encryption, &nonce(), &aad, &stored)
            })
        });
        let id = repo.keys().blob_id(&chunk);
        g.bench_function(format!("seal_blob/{name}"), |b| {
            b.iter(|| seal_blob(&repo, BlobKind::Data, id, black_box(&chunk)))
        });
    }
    g.finish();
}

criterion_group!(benches, seal);
criterion_main!(benches);
