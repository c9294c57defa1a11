//! `strata cat config|snapshot ID`: decrypted objects as JSON, for debugging.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::Result;
use serde_json::json;

/// `cat` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum CatCommand {
    /// The repository config.
    Config,
    /// One snapshot.
    Snapshot {
        /// Snapshot ID prefix or `latest`.
        id: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

/// Runs `cat`.
pub fn run(g: &Global, c: &CatCommand) -> Result<i32> {
    let repo = super::open(g)?;
    let v = match c {
        CatCommand::Config => {
            let cfg = repo.config();
            json!({
                "v": cfg.v,
                "id": cfg.id.to_hex(),
                "created": output::rfc3339(cfg.created_ns),
                "chunker": cfg.chunker,
                "pack_size": cfg.pack_size,
                "zstd_level": cfg.zstd_level,
            })
        }
        CatCommand::Snapshot { id, filter } => {
            let (id, s) = repo.resolve_snapshot(id, &filter.filter())?;
            output::snapshot_json(&id, &s)
        }
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(0)
}
