//! `strata init`: create a repository and print its ID.

use super::{backend, password_sources, KdfArgs};
use crate::{output, password, Global};
use anyhow::Result;
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
}

/// Runs `init`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let backend = backend(g)?;
    let pw = password::read(&password_sources(g), "new repository passphrase", true)?;
    let avg = a.chunk_avg_kib.saturating_mul(1024);
    let opts = InitOptions {
        kdf: a.kdf.params(),
        chunker: format_spec::config::ChunkerParams {
            min: avg / 4,
            avg,
            max: avg.saturating_mul(4),
        },
        ..InitOptions::default()
    };
    let repo = Repository::init(backend.clone(), &pw, &opts)?;
    if g.json {
        output::print_json(&json!({ "id": repo.id().to_hex(), "location": backend.location() }));
    } else {
        println!("created repository {} at {}", repo.id(), backend.location());
    }
    Ok(0)
}
