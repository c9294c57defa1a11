//! One verb per file; each exposes `Args` and `run(global, args) -> exit code`.

pub mod backup;
pub mod cat;
pub mod check;
pub mod copy;
pub mod diff;
pub mod dump;
pub mod forget;
pub mod init;
pub mod key;
pub mod ls;
pub mod policy;
pub mod prune;
pub mod repair;
pub mod report;
pub mod report_offsite;
pub mod restore;
pub mod schedule;
pub mod snapshots;
pub mod stats;
pub mod unlock;
pub mod verify;

use crate::password;
use crate::Global;
use anyhow::{Context, Result};
use format_spec::keyfile::Argon2Params;
use std::sync::Arc;
use strata_repo::backend::cache::{CachePolicy, CachedBackend};
use strata_repo::backend::local::LocalBackend;
use strata_repo::backend::s3::{S3Backend, S3Options};
use strata_repo::backend::Backend;
use strata_repo::repository::Repository;

/// The backend named by `--repo`.
pub fn backend(g: &Global) -> Result<Arc<dyn Backend>> {
    let loc = g
        .repo
        .as_deref()
        .context("no repository: use -r/--repo or set STRATA_REPOSITORY")?;
    backend_at(g, loc)
}

/// The backend at a location (`--repo`, or `--from-repo` of `copy`): a local directory or
/// `s3://bucket/prefix`, with the endpoint and cache options of `g`.
pub fn backend_at(g: &Global, loc: &str) -> Result<Arc<dyn Backend>> {
    if loc.starts_with("s3://") {
        let opts = S3Options {
            endpoint: g.s3_endpoint.clone().filter(|e| !e.is_empty()),
            ..S3Options::default()
        };
        return Ok(Arc::new(S3Backend::new(loc, opts)?));
    }
    Ok(Arc::new(LocalBackend::new(loc)))
}

/// Puts the local cache in front of a remote backend (unless `--no-cache`).
pub fn with_cache(
    g: &Global,
    backend: Arc<dyn Backend>,
    policy: Option<CachePolicy>,
) -> Result<Arc<dyn Backend>> {
    let (Some(policy), false, true) = (policy, g.no_cache, backend.traffic().is_some()) else {
        return Ok(backend);
    };
    let root = match &g.cache_dir {
        Some(d) => std::path::PathBuf::from(d),
        None => match CachedBackend::default_root() {
            Some(r) => r,
            None => return Ok(backend),
        },
    };
    let max = g.cache_max_mib.saturating_mul(1 << 20);
    match CachedBackend::new(backend.clone(), &root, policy, max) {
        Ok(c) => Ok(Arc::new(c)),
        Err(e) => {
            tracing::warn!("no local cache at {}: {e}", root.display());
            Ok(backend)
        }
    }
}

/// The passphrase sources from the global options and the environment.
pub fn password_sources(g: &Global) -> password::Sources {
    password::Sources {
        env: std::env::var("STRATA_PASSWORD").ok(),
        file: g.password_file.clone(),
        command: g.password_command.clone(),
        missing: None,
    }
}

/// Opens the repository: exit 10 if missing, 12 on a wrong passphrase. A remote one reads
/// keys, index and snapshot files through the local cache, and packs already in it.
pub fn open(g: &Global) -> Result<Arc<Repository>> {
    open_with(g, Some(CachePolicy::Metadata))
}

/// [`open`] with the cache a command wants: backups cache packs (their delta bases);
/// `check` and `verify` use none, since they judge the remote copy.
pub fn open_with(g: &Global, cache: Option<CachePolicy>) -> Result<Arc<Repository>> {
    let backend = with_cache(g, backend(g)?, cache)?;
    if !Repository::exists(backend.as_ref())? {
        return Err(strata_repo::Error::NoRepository {
            location: backend.location(),
        }
        .into());
    }
    let pw = password::read(&password_sources(g), "repository passphrase", false)?;
    Ok(Arc::new(Repository::open(backend, &pw)?))
}

/// The repository `copy` reads from, and `init --copy-chunker-params` takes its chunker
/// parameters from: restic's `--from-repo` options, with `STRATA_FROM_*` variables.
#[derive(clap::Args, Debug, Clone)]
pub struct FromRepoArgs {
    /// Source repository: a local directory or `s3://bucket/prefix` (same S3 options as
    /// `--repo`).
    #[arg(long = "from-repo", env = "STRATA_FROM_REPOSITORY")]
    pub from_repo: Option<String>,
    /// Read the source repository's passphrase from the first line of this file.
    #[arg(long, env = "STRATA_FROM_PASSWORD_FILE")]
    pub from_password_file: Option<String>,
    /// Read the source repository's passphrase from this command's output.
    #[arg(long, env = "STRATA_FROM_PASSWORD_COMMAND")]
    pub from_password_command: Option<String>,
}

/// Opens the source repository of `--from-repo`: exit 10 if missing, 12 on a wrong
/// passphrase, as for `--repo`, with messages that say it is the source.
pub fn open_from(g: &Global, a: &FromRepoArgs) -> Result<Arc<Repository>> {
    let loc = a
        .from_repo
        .as_deref()
        .context("no source repository: use --from-repo or set STRATA_FROM_REPOSITORY")?;
    // Its keys, index and snapshot files through the local cache (a nightly copy from a
    // remote repository reads them all every time); its packs are read once, not cached.
    let backend = with_cache(g, backend_at(g, loc)?, Some(CachePolicy::Metadata))?;
    let what = || format!("source repository {}", backend.location());
    if !Repository::exists(backend.as_ref()).with_context(what)? {
        return Err(anyhow::Error::new(strata_repo::Error::NoRepository {
            location: backend.location(),
        })
        .context("the source repository (--from-repo) does not exist"));
    }
    let sources = password::Sources {
        env: std::env::var("STRATA_FROM_PASSWORD").ok(),
        file: a.from_password_file.clone(),
        command: a.from_password_command.clone(),
        missing: Some(
            "no passphrase for the source repository: set STRATA_FROM_PASSWORD, \
             STRATA_FROM_PASSWORD_FILE or STRATA_FROM_PASSWORD_COMMAND, or use \
             --from-password-file / --from-password-command, or run on a terminal",
        ),
    };
    let pw = password::read(&sources, "source repository passphrase", false)?;
    let repo = Repository::open(backend.clone(), &pw).with_context(what)?;
    Ok(Arc::new(repo))
}

/// Argon2id cost flags for commands that create key files. The defaults are
/// [`Argon2Params::DEFAULT`]; floors and caps are SPEC.md's (checked when the key is made).
#[derive(clap::Args, Debug, Clone)]
pub struct KdfArgs {
    /// Argon2id memory in MiB for the new key (floor 16, cap 4096).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.m_kib / 1024)]
    pub kdf_memory_mib: u32,
    /// Argon2id passes for the new key (floor 2, cap 64).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.t)]
    pub kdf_iterations: u32,
    /// Argon2id lanes for the new key (1 to 16).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.p)]
    pub kdf_lanes: u32,
}

impl KdfArgs {
    /// As format parameters.
    pub fn params(&self) -> Argon2Params {
        Argon2Params {
            m_kib: self.kdf_memory_mib.saturating_mul(1024),
            t: self.kdf_iterations,
            p: self.kdf_lanes,
        }
    }
}
