//! `strata init`: create a repository and print its ID.

use super::{backend, open_from, password_sources, FromRepoArgs, KdfArgs};
use crate::{output, password, Global};
use anyhow::{bail, Result};
use format_spec::config::{ChunkerParams, DedupKeys};
use serde_json::json;
use strata_repo::repository::{InitOptions, Repository};

/// `init` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    kdf: KdfArgs,
    /// Average chunk size in KiB (a power of two; min = avg/4, max = avg*4).
    #[arg(long, default_value_t = 1024)]
    chunk_avg_kib: u32,
    /// Cut and name chunks exactly as the `--from-repo` repository does (its chunk sizes,
    /// chunker key and blob-ID key), so `copy` between them moves blobs without re-chunking
    /// and sends only what the destination lacks. The master key stays this repository's.
    #[arg(long, requires = "from_repo")]
    copy_chunker_params: bool,
    #[command(flatten)]
    from: FromRepoArgs,
}

/// Runs `init`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let backend = backend(g)?;
    if a.from.from_repo.is_some() && !a.copy_chunker_params {
        bail!("--from-repo is only used with --copy-chunker-params here");
    }
    let avg = a.chunk_avg_kib.saturating_mul(1024);
    let mut opts = InitOptions {
        kdf: a.kdf.params(),
        chunker: ChunkerParams {
            min: avg / 4,
            avg,
            max: avg.saturating_mul(4),
        },
        ..InitOptions::default()
    };
    // The source is opened first: a wrong source passphrase leaves nothing behind.
    if a.copy_chunker_params {
        let src = open_from(g, &a.from)?;
        opts.chunker = src.config().chunker;
        opts.dedup_keys = Some(DedupKeys::of(src.keys()));
    }
    let pw = password::read(&password_sources(g), "new repository passphrase", true)?;
    let repo = Repository::init(backend.clone(), &pw, &opts)?;
    let from = a
        .from
        .from_repo
        .as_deref()
        .filter(|_| a.copy_chunker_params);
    if g.json {
        output::print_json(&json!({
            "id": repo.id().to_hex(),
            "location": backend.location(),
            "chunker_params_from": from,
        }));
    } else {
        println!("created repository {} at {}", repo.id(), backend.location());
        if let Some(f) = from {
            println!("chunker parameters and dedup keys copied from {f}");
        }
    }
    Ok(0)
}
