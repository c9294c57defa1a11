//! `strata backup`: paths, `--stdin`, or `--command` (CLI.md).

use crate::progress::Bar;
use crate::{exit_code, output, Global};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;
use strata_repo::backup::{backup, default_set, this_host, BackupOptions, Source};
use strata_repo::lock::Lock;

/// `backup` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files and directories to back up.
    paths: Vec<PathBuf>,
    /// Back up standard input as one file.
    #[arg(long, requires = "stdin_name", conflicts_with = "command")]
    stdin: bool,
    /// Run this through `sh -c` and back up its stdout; a failure leaves no snapshot.
    #[arg(long, requires = "stdin_name")]
    command: Option<String>,
    /// File name for `--stdin` / `--command` data.
    #[arg(long)]
    stdin_name: Option<String>,
    /// Backup set (default `<host>:<paths>` or `<host>:<stdin-name>`).
    #[arg(long)]
    set: Option<String>,
    /// Level: full, diff, incr or auto.
    #[arg(long, default_value = "auto", value_parser = ["full", "diff", "incr", "auto"])]
    level: String,
    /// Tag (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    host: Option<String>,
    /// Skip paths matching this glob (repeatable).
    #[arg(long = "exclude")]
    excludes: Vec<String>,
    /// Read everything, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Store changed chunks plain, not as deltas against the parent's version (diff, incr).
    #[arg(long)]
    no_delta: bool,
}

fn source(a: &Args) -> Result<(Source, Vec<String>)> {
    let stream_name = |n: &Option<String>| -> Result<String> {
        let n = n.clone().context("--stdin-name is required")?;
        format_spec::tree::validate_name(n.as_bytes())
            .with_context(|| format!("--stdin-name {n:?} must be one file name"))?;
        Ok(n)
    };
    if a.stdin || a.command.is_some() {
        if !a.paths.is_empty() {
            bail!("give either paths or --stdin/--command, not both");
        }
        let name = stream_name(&a.stdin_name)?;
        let src = match &a.command {
            Some(c) => Source::Command {
                command: c.clone(),
                name: name.clone(),
            },
            None => Source::Stdin { name: name.clone() },
        };
        return Ok((src, vec![format!("/{name}")]));
    }
    if a.paths.is_empty() {
        bail!("nothing to back up: give paths, --stdin or --command");
    }
    let mut abs = Vec::new();
    for p in &a.paths {
        let p = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
        std::fs::symlink_metadata(&p).with_context(|| format!("source {}", p.display()))?;
        abs.push(p);
    }
    abs.sort();
    abs.dedup();
    // A path inside another given path is already covered.
    let roots: Vec<PathBuf> = abs
        .iter()
        .filter(|p| !abs.iter().any(|q| q != *p && p.starts_with(q)))
        .cloned()
        .collect();
    let shown = roots.iter().map(|p| p.display().to_string()).collect();
    Ok((Source::Paths(roots), shown))
}

/// Runs `backup`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let (source, paths) = source(a)?;
    let repo = super::open_with(g, Some(strata_repo::backend::cache::CachePolicy::Packs))?;
    let lock = Lock::acquire(repo.clone(), false, "backup")?;
    let host = a.host.clone().unwrap_or_else(this_host);
    let set = a.set.clone().unwrap_or_else(|| default_set(&host, &paths));
    let opts = BackupOptions {
        source,
        set,
        host,
        tags: a.tags.clone(),
        excludes: a.excludes.clone(),
        dry_run: a.dry_run,
        paths,
        level: a.level.parse().map_err(anyhow::Error::msg)?,
        deltas: !a.no_delta,
    };
    let bar = Bar::new(!g.quiet && !g.json, "backup");
    let out = backup(&repo, &opts, &bar, Some(&lock));
    bar.finish();
    let out = out?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    if let (Some(n), false) = (&out.note, g.quiet) {
        eprintln!("note: {n}");
    }
    let s = &out.snapshot.summary;
    if g.json {
        let mut v = json!({ "message_type": "summary", "id": out.id.map(|i| i.to_hex()), "dry_run": a.dry_run, "warnings": out.warnings, "note": out.note,
            "delta_blobs": out.deltas.0, "delta_bytes": out.deltas.1, "read_back_bytes": out.read_back });
        if let (Some(obj), Some(t)) = (v.as_object_mut(), repo.backend().traffic()) {
            obj.insert(
                "remote".into(),
                json!({ "requests": t.requests, "bytes_down": t.bytes_down, "bytes_up": t.bytes_up }),
            );
        }
        if let (Some(obj), Some(id)) = (v.as_object_mut(), out.id) {
            if let Some(snap) = output::snapshot_json(&id, &out.snapshot).as_object() {
                obj.extend(snap.clone());
            }
        } else if let Some(obj) = v.as_object_mut() {
            obj.insert("summary".into(), serde_json::to_value(s)?);
        }
        output::print_json(&v);
    } else {
        if !g.quiet {
            eprintln!(
                "files: {} new, {} dirs; read {}, new data {}, stored {} in {:.1}s",
                s.files_new,
                s.dirs,
                output::bytes(s.bytes_read),
                output::bytes(s.bytes_new),
                output::bytes(s.bytes_stored),
                s.duration_ms as f64 / 1000.0
            );
            if out.deltas.0 > 0 {
                eprintln!(
                    "deltas: {} changed chunks stored as deltas in {}; read back {}",
                    out.deltas.0,
                    output::bytes(out.deltas.1),
                    output::bytes(out.read_back)
                );
            }
            if let Some(t) = repo.backend().traffic() {
                eprintln!(
                    "remote: {} requests, {} downloaded, {} uploaded",
                    t.requests,
                    output::bytes(t.bytes_down),
                    output::bytes(t.bytes_up)
                );
            }
        }
        match out.id {
            Some(id) => println!(
                "snapshot {id} saved ({} level, set {})",
                out.snapshot.level.name(),
                out.snapshot.set
            ),
            None => println!("dry run: nothing written"),
        }
    }
    Ok(if out.warnings.is_empty() {
        exit_code::OK
    } else {
        exit_code::PARTIAL
    })
}
