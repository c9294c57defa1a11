//! `strata`: parse → run → map the error to an exit code (README.md § Exit codes).

mod cmd;
mod exit_code;
mod malloc_tuning;
mod output;
mod password;
mod progress;

use clap::{Parser, Subcommand};

/// Options every command takes (CLI.md § Global).
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Repository location: a local directory, or `s3://bucket/prefix`.
    #[arg(short = 'r', long = "repo", env = "STRATA_REPOSITORY", global = true)]
    pub repo: Option<String>,
    /// S3 endpoint URL (default: `AWS_ENDPOINT_URL`, else AWS).
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub s3_endpoint: Option<String>,
    /// Local cache of repository files for remote repositories (default: the user cache
    /// directory, `$XDG_CACHE_HOME/strata` or `~/.cache/strata`).
    #[arg(long, env = "STRATA_CACHE_DIR", global = true)]
    pub cache_dir: Option<String>,
    /// Use no local cache for a remote repository.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Bound of the local cache of one remote repository, in MiB.
    #[arg(
        long,
        env = "STRATA_CACHE_MAX_MIB",
        global = true,
        default_value_t = 4096
    )]
    pub cache_max_mib: u64,
    /// Read the passphrase from the first line of this file.
    #[arg(long, env = "STRATA_PASSWORD_FILE", global = true)]
    pub password_file: Option<String>,
    /// Read the passphrase from this command's output.
    #[arg(long, env = "STRATA_PASSWORD_COMMAND", global = true)]
    pub password_command: Option<String>,
    /// One JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress, fewer messages.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "Encrypted, deduplicating backups for databases and files"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a repository.
    Init(cmd::init::Args),
    /// Back up files, standard input or a command's output.
    Backup(cmd::backup::Args),
    /// List snapshots.
    Snapshots(cmd::snapshots::Args),
    /// List the entries of a snapshot.
    Ls(cmd::ls::Args),
    /// Restore a snapshot into a directory.
    Restore(cmd::restore::Args),
    /// Write one file of a snapshot to stdout.
    Dump(cmd::dump::Args),
    /// Added, removed and modified paths between two snapshots.
    Diff(cmd::diff::Args),
    /// Retention: remove snapshots by rules or IDs, keeping every kept snapshot's chain.
    Forget(cmd::forget::Args),
    /// Store or show a backup set's schedule policy (its RPO) and retention.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Restore drill: reassemble snapshots, re-hash everything, record the outcome.
    Verify(cmd::verify::Args),
    /// Per backup set: newest snapshot of each level and whether the RPO is met.
    Report(cmd::report::Args),
    /// Write a systemd service and timer (and print a crontab line) for a backup set.
    Schedule(cmd::schedule::Args),
    /// Manage key files (passphrases).
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Print a repository object: config or snapshot as JSON, a blob's index entry or data.
    #[command(subcommand)]
    Cat(cmd::cat::CatCommand),
    /// Sizes: logical, stored, deduplication and compression ratios, deltas, per set.
    Stats(cmd::stats::Args),
    /// Remove stale locks.
    Unlock(cmd::unlock::Args),
    /// Check structure and index consistency; `--read-data` re-reads and re-hashes blobs.
    Check(cmd::check::Args),
    /// Remove data no snapshot needs; repack mostly-unused packs. Backups may run meanwhile.
    Prune(cmd::prune::Args),
    /// Copy snapshots from another repository (`--from-repo`), with their chains and drills.
    Copy(cmd::copy::Args),
    /// Repair the repository (`repair index`: rebuild the index from pack headers).
    #[command(subcommand)]
    Repair(cmd::repair::RepairCommand),
}

fn main() {
    malloc_tuning::apply();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let g = &cli.global;
    let result = match &cli.command {
        Command::Init(a) => cmd::init::run(g, a),
        Command::Backup(a) => cmd::backup::run(g, a),
        Command::Snapshots(a) => cmd::snapshots::run(g, a),
        Command::Ls(a) => cmd::ls::run(g, a),
        Command::Restore(a) => cmd::restore::run(g, a),
        Command::Dump(a) => cmd::dump::run(g, a),
        Command::Diff(a) => cmd::diff::run(g, a),
        Command::Forget(a) => cmd::forget::run(g, a),
        Command::Policy(a) => cmd::policy::run(g, a),
        Command::Verify(a) => cmd::verify::run(g, a),
        Command::Report(a) => cmd::report::run(g, a),
        Command::Schedule(a) => cmd::schedule::run(g, a),
        Command::Key(a) => cmd::key::run(g, a),
        Command::Cat(a) => cmd::cat::run(g, a),
        Command::Stats(a) => cmd::stats::run(g, a),
        Command::Unlock(a) => cmd::unlock::run(g, a),
        Command::Check(a) => cmd::check::run(g, a),
        Command::Repair(a) => cmd::repair::run(g, a),
        Command::Prune(a) => cmd::prune::run(g, a),
        Command::Copy(a) => cmd::copy::run(g, a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("strata: {e:#}");
            std::process::exit(exit_code::for_error(&e));
        }
    }
}
