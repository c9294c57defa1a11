//! `strata unlock`: remove stale locks only.

use crate::{output, Global};
use anyhow::Result;
use serde_json::json;

/// `unlock` options.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `unlock`.
pub fn run(g: &Global, _a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let n = strata_repo::lock::remove_stale(&repo)?;
    if g.json {
        output::print_json(&json!({ "removed": n }));
    } else {
        println!("removed {n} stale lock(s)");
    }
    Ok(0)
}
