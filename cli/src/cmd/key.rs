//! `strata key add|list|remove|passwd`: key files only; data is never re-encrypted.

use super::KdfArgs;
use crate::{output, password, Global};
use anyhow::Result;
use serde_json::json;

/// Where a new passphrase comes from.
#[derive(clap::Args, Debug)]
pub struct NewPassword {
    /// Read the new passphrase from this file (else `STRATA_NEW_PASSWORD`, else a prompt).
    #[arg(long)]
    new_password_file: Option<String>,
    #[command(flatten)]
    kdf: KdfArgs,
}

impl NewPassword {
    fn read(&self) -> Result<Vec<u8>> {
        let src = password::Sources {
            env: std::env::var("STRATA_NEW_PASSWORD").ok(),
            file: self.new_password_file.clone(),
            ..Default::default()
        };
        password::read(&src, "new passphrase", true)
    }
}

/// `key` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum KeyCommand {
    /// Add a key file for a new passphrase.
    Add(NewPassword),
    /// List key files.
    List,
    /// Remove a key file (not the one in use).
    Remove {
        /// Key ID (full hex, or a unique prefix).
        id: String,
    },
    /// Change the passphrase of the key in use.
    Passwd(NewPassword),
}

/// Runs `key`.
pub fn run(g: &Global, c: &KeyCommand) -> Result<i32> {
    let repo = super::open(g)?;
    match c {
        KeyCommand::Add(np) => {
            let pw = np.read()?;
            let id = repo.add_key(&pw, np.kdf.params())?;
            report(g, "added", &id.to_hex());
        }
        KeyCommand::Passwd(np) => {
            let pw = np.read()?;
            let id = repo.change_passphrase(&pw, np.kdf.params())?;
            report(g, "changed passphrase; new key", &id.to_hex());
        }
        KeyCommand::List => {
            let keys = repo.list_keys()?;
            if g.json {
                output::print_json(&serde_json::to_value(&keys)?);
            } else {
                println!(
                    "  {:<10} {:<12} {:<16} {:<19} argon2id",
                    "ID", "user", "host", "created (UTC)"
                );
                for k in keys {
                    println!(
                        "{} {:<10} {:<12} {:<16} {:<19} m={}MiB t={} p={}",
                        if k.current { "*" } else { " " },
                        k.id.get(..8).unwrap_or(&k.id),
                        k.user,
                        k.host,
                        output::short_time(k.created_ns),
                        k.m_kib / 1024,
                        k.t,
                        k.p
                    );
                }
            }
        }
        KeyCommand::Remove { id } => {
            let keys = repo.list_keys()?;
            let hits: Vec<_> = keys
                .iter()
                .filter(|k| k.id.starts_with(&id.to_ascii_lowercase()))
                .collect();
            let [one] = hits.as_slice() else {
                anyhow::bail!(
                    "key {id:?} matches {} key files; give a unique prefix",
                    hits.len()
                );
            };
            repo.remove_key(&one.id.parse()?)?;
            report(g, "removed", &one.id);
        }
    }
    Ok(0)
}

fn report(g: &Global, what: &str, id: &str) {
    if g.json {
        output::print_json(&json!({ "result": what, "id": id }));
    } else {
        println!("{what} key {id}");
    }
}
