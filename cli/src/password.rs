//! Passphrase sources, in CLI.md's order: `STRATA_PASSWORD`, `--password-file` /
//! `STRATA_PASSWORD_FILE`, `--password-command` / `STRATA_PASSWORD_COMMAND`, a prompt on
//! a TTY, else a clear error.

use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::process::Command;

/// Where a passphrase may come from.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Value of an environment variable holding the passphrase itself.
    pub env: Option<String>,
    /// A file whose first line is the passphrase.
    pub file: Option<String>,
    /// A command whose stdout's first line is the passphrase.
    pub command: Option<String>,
    /// The error when no source is given and there is no terminal (default: the
    /// repository passphrase's variables and options).
    pub missing: Option<&'static str>,
}

fn first_line(bytes: Vec<u8>) -> Vec<u8> {
    let mut s = bytes;
    if let Some(pos) = s.iter().position(|&b| b == b'\n') {
        s.truncate(pos);
    }
    if s.last() == Some(&b'\r') {
        s.pop();
    }
    s
}

/// Reads a passphrase; `confirm` asks twice at a prompt (for new passphrases).
pub fn read(src: &Sources, prompt: &str, confirm: bool) -> Result<Vec<u8>> {
    if let Some(p) = &src.env {
        return Ok(p.as_bytes().to_vec());
    }
    if let Some(f) = &src.file {
        let bytes = std::fs::read(f).with_context(|| format!("reading password file {f}"))?;
        return Ok(first_line(bytes));
    }
    if let Some(c) = &src.command {
        let out = Command::new("sh")
            .arg("-c")
            .arg(c)
            .output()
            .with_context(|| format!("running password command {c:?}"))?;
        if !out.status.success() {
            bail!("password command {c:?} failed ({})", out.status);
        }
        return Ok(first_line(out.stdout));
    }
    if std::io::stdin().is_terminal() || std::io::stderr().is_terminal() {
        let p = rpassword::prompt_password(format!("{prompt}: "))
            .context("reading passphrase from the terminal")?;
        if confirm {
            let again = rpassword::prompt_password(format!("{prompt} (again): "))
                .context("reading passphrase")?;
            if again != p {
                bail!("passphrases do not match");
            }
        }
        return Ok(p.into_bytes());
    }
    if let Some(m) = src.missing {
        bail!("{m}");
    }
    bail!("no passphrase: set STRATA_PASSWORD, STRATA_PASSWORD_FILE or STRATA_PASSWORD_COMMAND, or use --password-file / --password-command, or run on a terminal")
}
