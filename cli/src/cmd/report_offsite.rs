//! The offsite part of `strata report`: for each set whose policy names an offsite
//! repository (SPEC.md § [Policies](../../../SPEC.md#policies), `offsite`), the newest
//! snapshot of the set present there, and whether its age is within the set's RPO (the incr
//! interval). Copies keep their set and time (`strata copy`), so this reads the offsite
//! repository's snapshots, nothing else.
//!
//! The offsite passphrase comes from `STRATA_OFFSITE_PASSWORD`, `--offsite-password-file`
//! or `--offsite-password-command`, else it is the primary repository's. A repository that
//! cannot be opened is reported with the error and counts as missed: an offsite copy that
//! cannot be read does not protect anyone.

use crate::password::{self, Sources};
use crate::{output, Global};
use format_spec::policy::Policy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use strata_repo::backend::cache::CachePolicy;
use strata_repo::repository::Repository;

/// Where the offsite passphrase comes from (`report` options).
#[derive(clap::Args, Debug, Clone)]
pub struct OffsiteArgs {
    /// Read the offsite repositories' passphrase from this file (default: the primary's).
    #[arg(long)]
    offsite_password_file: Option<String>,
    /// Read the offsite repositories' passphrase from this command's output.
    #[arg(long)]
    offsite_password_command: Option<String>,
}

/// The newest copy of a set in its offsite repository.
pub struct OffsiteRow {
    pub location: String,
    /// (snapshot ID, time ns) of the newest snapshot of the set there.
    pub newest: Option<(String, i64)>,
    pub rpo_s: u64,
    pub met: bool,
    /// Why the offsite repository could not be read.
    pub error: Option<String>,
}

/// (set, snapshot ID, time ns) of each snapshot in an offsite repository.
type Listing = Vec<(String, String, i64)>;

/// Opened offsite repositories by location (sets often share one), or why not.
pub struct Offsites<'a> {
    g: &'a Global,
    a: &'a OffsiteArgs,
    open: BTreeMap<String, Result<Listing, String>>,
}

impl<'a> Offsites<'a> {
    pub fn new(g: &'a Global, a: &'a OffsiteArgs) -> Self {
        Self {
            g,
            a,
            open: BTreeMap::new(),
        }
    }

    fn sources(&self) -> Sources {
        let own = Sources {
            env: std::env::var("STRATA_OFFSITE_PASSWORD").ok(),
            file: self.a.offsite_password_file.clone(),
            command: self.a.offsite_password_command.clone(),
            missing: None,
        };
        if own.env.is_some() || own.file.is_some() || own.command.is_some() {
            own
        } else {
            super::password_sources(self.g)
        }
    }

    /// (set, snapshot ID, time) of every snapshot in the repository at `loc`.
    fn load(&self, loc: &str) -> anyhow::Result<Listing> {
        let backend = super::with_cache(
            self.g,
            super::backend_at(self.g, loc)?,
            Some(CachePolicy::Metadata),
        )?;
        if !Repository::exists(backend.as_ref())? {
            anyhow::bail!("no repository at {loc}");
        }
        let pw = password::read(&self.sources(), "offsite repository passphrase", false)?;
        let repo = Repository::open(backend, &pw)?;
        Ok(repo
            .snapshots()?
            .into_iter()
            .map(|(id, s)| (s.set, id.to_hex(), s.time_ns))
            .collect())
    }

    /// The offsite row of a set, if its policy names an offsite repository.
    pub fn row(&mut self, set: &str, p: &Policy, now: i64) -> Option<OffsiteRow> {
        let loc = p.offsite.clone()?;
        if !self.open.contains_key(&loc) {
            let got = self.load(&loc).map_err(|e| format!("{e:#}"));
            self.open.insert(loc.clone(), got);
        }
        let (newest, error) = match self.open.get(&loc) {
            Some(Ok(snaps)) => (
                snaps
                    .iter()
                    .filter(|(s, _, _)| s == set)
                    .max_by_key(|(_, id, t)| (*t, id.clone()))
                    .map(|(_, id, t)| (id.clone(), *t)),
                None,
            ),
            Some(Err(e)) => (None, Some(e.clone())),
            None => (None, Some("not opened".into())),
        };
        let limit = i64::try_from(p.incr_s)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        let met = newest
            .as_ref()
            .is_some_and(|(_, t)| now.saturating_sub(*t).max(0) < limit);
        Some(OffsiteRow {
            location: loc,
            newest,
            rpo_s: p.incr_s,
            met,
            error,
        })
    }
}

fn age_s(now: i64, t: i64) -> u64 {
    u64::try_from(now.saturating_sub(t).max(0) / 1_000_000_000).unwrap_or(0)
}

/// The `offsite` object of a set in `report --json`.
pub fn row_json(now: i64, r: &OffsiteRow) -> Value {
    json!({
        "location": r.location,
        "id": r.newest.as_ref().map(|(id, _)| id.clone()),
        "time": r.newest.as_ref().map(|(_, t)| output::rfc3339(*t)),
        "age_s": r.newest.as_ref().map(|(_, t)| age_s(now, *t)),
        "rpo_s": r.rpo_s,
        "met": r.met,
        "error": r.error,
    })
}

/// The offsite line of a set in the text report.
pub fn row_text(now: i64, r: &OffsiteRow) -> String {
    let newest = match (&r.newest, &r.error) {
        (_, Some(e)) => format!("cannot read: {e}"),
        (Some((id, t)), None) => format!(
            "{}  {}  age {}",
            id.get(..8).unwrap_or(id),
            output::short_time(*t),
            super::policy::format_duration(age_s(now, *t))
        ),
        (None, None) => "no copy of this set".into(),
    };
    format!(
        "  offsite {}: {newest}  RPO {}  {}",
        r.location,
        super::policy::format_duration(r.rpo_s),
        if r.met { "met" } else { "MISSED" }
    )
}
