//! `strata cat config|snapshot ID|blob ID`: decrypted objects and index entries, for
//! debugging.

use super::snapshots::FilterArgs;
use crate::{output, Global};
use anyhow::{bail, Result};
use format_spec::blob::{BlobKind, Encoding};
use format_spec::id::BlobId;
use serde_json::{json, Value};
use std::io::Write;
use strata_repo::index::{BlobLocation, ChainError, MasterIndex};
use strata_repo::lock::Lock;

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
    /// One blob's index entry, or with `--data` its decoded plaintext.
    ///
    /// The entry: kind, pack, offset, stored and raw length, encoding, and for
    /// `zstd-delta` its bases and delta depth. `--json` prints one object with the fields
    /// `id`, `kind`, `pack`,
    /// `offset`, `stored_length`, `raw_length`, `encoding`, `bases` (array, empty unless
    /// `zstd-delta`), `depth` (0 for a plain blob; null when its chain cannot be followed)
    /// and `chain_error` (null, or why not).
    Blob {
        /// Blob ID: 64 hex characters, or a unique prefix of at least 4.
        #[arg(value_parser = blob_ref)]
        id: String,
        /// Write the blob's decoded plaintext to stdout instead (reads its pack).
        #[arg(long, conflicts_with = "json")]
        data: bool,
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
                // Whether the blob-ID and chunker keys are shared (never the keys themselves).
                "dedup_keys_shared": cfg.dedup_keys.is_some(),
            })
        }
        CatCommand::Snapshot { id, filter } => {
            let (id, s) = repo.resolve_snapshot(id, &filter.filter())?;
            output::snapshot_json(&id, &s)
        }
        CatCommand::Blob { id, data } => {
            // A shared lock only for the pack read: prune must not delete it under us.
            let _lock = if *data {
                Some(Lock::acquire(repo.clone(), false, "cat blob")?)
            } else {
                None
            };
            let index = repo.load_index()?;
            let (id, loc) = resolve_blob(&index, id)?;
            if *data {
                let plain = repo.read_blob(&index, &id, loc.kind)?;
                let mut out = std::io::stdout().lock();
                out.write_all(&plain)?;
                out.flush()?;
                return Ok(0);
            }
            let v = blob_json(&index, &id, &loc);
            if g.json {
                output::print_json(&v);
            } else {
                print_blob(&v);
            }
            return Ok(0);
        }
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(0)
}

/// Accepts 4 to 64 hex characters (as clap's value parser, so a malformed ID is a usage
/// error, exit 2); returns them in lower case.
fn blob_ref(s: &str) -> Result<String, String> {
    if (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("expected a blob ID: 64 hex characters, or a prefix of at least 4".into())
    }
}

/// The one indexed blob whose ID starts with `reference` (lower-case hex, 4 to 64 chars).
fn resolve_blob(index: &MasterIndex, reference: &str) -> Result<(BlobId, BlobLocation)> {
    if let Ok(id) = reference.parse::<BlobId>() {
        return match index.get(&id) {
            Some(loc) => Ok((id, loc)),
            None => bail!("blob {reference}: not in the index"),
        };
    }
    // A prefix: one pass over the index (no pack is read).
    let mut hits = index
        .blobs()
        .filter(|(id, _)| id.to_hex().starts_with(reference));
    match (hits.next(), hits.next()) {
        (Some((id, loc)), None) => Ok((*id, *loc)),
        (None, _) => bail!("blob {reference}: no indexed blob has this ID prefix"),
        (Some(_), Some(_)) => {
            bail!("blob {reference}: prefix is ambiguous; give more characters")
        }
    }
}

fn kind_name(k: BlobKind) -> &'static str {
    match k {
        BlobKind::Data => "data",
        BlobKind::Tree => "tree",
        BlobKind::List => "list",
    }
}

fn blob_json(index: &MasterIndex, id: &BlobId, loc: &BlobLocation) -> Value {
    let (pack, _) = index.pack(loc.pack);
    let (depth, chain_error) = match index.depth(id) {
        Ok(d) => (Some(d), None),
        Err(ChainError::Missing(b)) => (None, Some(format!("base blob {b} is not indexed"))),
        Err(ChainError::TooDeep) => (
            None,
            Some("the delta chain is too deep or loops back on itself".to_string()),
        ),
    };
    json!({
        "id": id.to_hex(),
        "kind": kind_name(loc.kind),
        "pack": pack.to_hex(),
        "offset": loc.offset,
        "stored_length": loc.stored_len,
        "raw_length": loc.raw_len,
        "encoding": loc.encoding.name(),
        "bases": index.bases(id).iter().map(BlobId::to_hex).collect::<Vec<_>>(),
        "depth": depth,
        "chain_error": chain_error,
    })
}

/// The entry as aligned `name value` lines.
fn print_blob(v: &Value) {
    let s = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    println!("{:<9} {}", "blob", s("id"));
    println!("{:<9} {}", "kind", s("kind"));
    println!("{:<9} {}", "pack", s("pack"));
    println!("{:<9} {}", "offset", s("offset"));
    println!("{:<9} {} bytes", "stored", s("stored_length"));
    println!("{:<9} {} bytes", "raw", s("raw_length"));
    println!("{:<9} {}", "encoding", s("encoding"));
    if s("encoding") == Encoding::ZstdDelta.name() {
        let bases = v["bases"].as_array().map(Vec::as_slice).unwrap_or_default();
        for (i, b) in bases.iter().enumerate() {
            let label = if i == 0 { "bases" } else { "" };
            println!("{label:<9} {}", b.as_str().unwrap_or("?"));
        }
        match &v["chain_error"] {
            Value::String(e) => println!("{:<9} unknown: {e}", "depth"),
            _ => println!("{:<9} {}", "depth", s("depth")),
        }
    }
}
