//! A whole backup of a 1 GiB dump-like file into a fresh repository per iteration, and a
//! restore of that snapshot into a fresh directory per iteration. Repository creation,
//! the first backup for the restore bench and deleting the outputs are not timed.
//!
//! The input is generated once into `target/strata-bench-data/` and is in the page cache
//! after the warm-up, so this measures the engine, not the source disk.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use std::path::Path;
use std::time::Duration;
use strata_benches::{dump_file, init_repo, scratch_dir, DUMP_FILE_LEN};
use strata_repo::backup::{backup, BackupOptions, BackupOutcome, Requested, Source};
use strata_repo::progress::NoProgress;
use strata_repo::repository::Repository;
use strata_repo::restore::{restore, RestoreOptions};

fn backup_once(repo: &Repository, file: &Path) -> BackupOutcome {
    let opts = BackupOptions {
        source: Source::Paths(vec![file.to_path_buf()]),
        set: "bench:dump".into(),
        host: "bench".into(),
        tags: vec![],
        excludes: vec![],
        dry_run: false,
        paths: vec![file.display().to_string()],
        // Into a fresh repository: the same full backup whatever `auto` would choose.
        level: Requested::Full,
        deltas: true,
    };
    backup(repo, &opts, &NoProgress, None).expect("backup of the bench dump")
}

fn backup_e2e(c: &mut Criterion) {
    let file = dump_file();
    let mut g = c.benchmark_group("backup_e2e");
    // Flat sampling: every sample runs the same number of iterations (one, when an
    // iteration takes 3 s or more), not 1, 2, ... 10 as linear sampling would.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Bytes(DUMP_FILE_LEN));

    g.bench_function("backup/dump-1GiB", |b| {
        b.iter_batched(
            || {
                let dir = scratch_dir();
                let repo = init_repo(dir.path());
                (dir, repo)
            },
            // Returned, so the repository is deleted after the timed part.
            |(dir, repo)| {
                let out = backup_once(&repo, &file);
                (dir, out)
            },
            BatchSize::PerIteration,
        )
    });

    let dir = scratch_dir();
    let repo = init_repo(dir.path());
    let root = backup_once(&repo, &file).snapshot.tree;
    g.bench_function("restore/dump-1GiB", |b| {
        b.iter_batched(
            scratch_dir,
            |target| {
                // Loading the index is part of every restore.
                let index = repo.load_index().expect("load the bench index");
                let opts = RestoreOptions {
                    target: target.path().to_path_buf(),
                    ..Default::default()
                };
                restore(&repo, &index, &root, &opts, &NoProgress).expect("restore the bench dump");
                target
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, backup_e2e);
criterion_main!(benches);
