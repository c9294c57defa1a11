//! `strata schedule`: a systemd service and timer (and the equivalent crontab line) that run
//! `strata backup --level auto` for one backup set.
//!
//! The timer fires at the set's shortest interval (`incr_s` of its policy, SPEC.md
//! § [Policies](../../../SPEC.md#policies)); each run's `--level auto` then picks full,
//! diff or incr from the same policy, so changing the policy later changes the levels
//! without regenerating the units (only a changed incr interval needs a rerun).
//!
//! A second pair, `strata-<set>-forget.service` and `.timer`, runs `strata forget --set <set>
//! --prune` daily: the set's stored retention (`policy set --keep-…`, SPEC.md
//! § [Retention](../../../SPEC.md#retention)) decides what goes, and prune frees the data.
//!
//! When the set's policy names an offsite repository (`policy set --offsite LOC`), a third
//! unit, `strata-<set>-copy.service`, runs `strata -r LOC copy --from-repo <repository> --set
//! <set>`; the backup service starts it on success (`OnSuccess=`), and the crontab line runs
//! it after a successful backup (`&&`). The offsite passphrase is `STRATA_PASSWORD_FILE` or
//! `_COMMAND` of the copy unit's environment (the primary's unless its own env file,
//! `/etc/strata/<name>-copy.env`, sets another), the primary's is `STRATA_FROM_PASSWORD_…`.
//!
//! The passphrase never goes into a unit: the service reads `STRATA_PASSWORD_FILE` or
//! `STRATA_PASSWORD_COMMAND` from `/etc/strata/<name>.env`, or from `Environment=` lines
//! when `schedule` itself ran with `--password-file` / `--password-command`.

mod quote;

use super::policy::format_duration;
use crate::Global;
use anyhow::{bail, Context, Result};
use quote::{cron_schedule, crontab_line, service_text, shell_word};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `schedule` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Backup set to schedule; its policy's incr interval sets the timer.
    #[arg(long)]
    set: String,
    /// Files and directories to back up (made absolute).
    paths: Vec<PathBuf>,
    /// Back up this command's stdout (run through `sh -c`).
    #[arg(long, requires = "stdin_name")]
    command: Option<String>,
    /// File name for `--command` data.
    #[arg(long)]
    stdin_name: Option<String>,
    /// Tag each snapshot (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Skip paths matching this glob (repeatable).
    #[arg(long = "exclude")]
    excludes: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    host: Option<String>,
    /// Write the units into this directory (e.g. /etc/systemd/system); without it they
    /// are printed.
    #[arg(long, value_name = "DIR")]
    systemd: Option<PathBuf>,
}

/// The unit name stem for a set: `strata-` and the set with every byte outside
/// `[A-Za-z0-9_.-]` turned into `-` (runs collapsed), at most 64 characters.
pub fn unit_stem(set: &str) -> String {
    let mut s = String::new();
    for c in set.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            c
        } else {
            '-'
        };
        if !(c == '-' && s.ends_with('-')) {
            s.push(c);
        }
    }
    let s: String = s
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(64)
        .collect();
    if s.is_empty() {
        "set".into()
    } else {
        s
    }
}

/// The `backup` arguments the units run (after the program path).
fn backup_args(a: &Args) -> Result<Vec<String>> {
    let mut v: Vec<String> = ["backup", "--level", "auto", "--set", &a.set]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for t in &a.tags {
        v.extend(["--tag".into(), t.clone()]);
    }
    for e in &a.excludes {
        v.extend(["--exclude".into(), e.clone()]);
    }
    if let Some(h) = &a.host {
        v.extend(["--host".into(), h.clone()]);
    }
    match &a.command {
        Some(c) => {
            if !a.paths.is_empty() {
                bail!("give either paths or --command, not both");
            }
            let name = a.stdin_name.clone().context("--stdin-name is required")?;
            format_spec::tree::validate_name(name.as_bytes())
                .with_context(|| format!("--stdin-name {name:?} must be one file name"))?;
            v.extend(["--command".into(), c.clone(), "--stdin-name".into(), name]);
        }
        None if a.paths.is_empty() => bail!("nothing to schedule: give paths or --command"),
        None => {
            v.push("--".into());
            for p in &a.paths {
                let abs =
                    std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
                v.push(
                    abs.to_str()
                        .with_context(|| format!("{} is not UTF-8", abs.display()))?
                        .into(),
                );
            }
        }
    }
    Ok(v)
}

/// The environment the backup needs, as (name, value): the repository and, when this run
/// was given one, where the passphrase comes from (never the passphrase itself).
fn environment(g: &Global) -> Result<Vec<(&'static str, String)>> {
    let loc = g
        .repo
        .clone()
        .context("no repository: use -r/--repo or set STRATA_REPOSITORY")?;
    let loc = if loc.contains("://") {
        loc
    } else {
        let abs = std::path::absolute(&loc).with_context(|| format!("resolving {loc}"))?;
        abs.to_str()
            .with_context(|| format!("{} is not UTF-8", abs.display()))?
            .into()
    };
    let mut env = vec![("STRATA_REPOSITORY", loc)];
    if let Some(f) = &g.password_file {
        let abs = std::path::absolute(f).with_context(|| format!("resolving {f}"))?;
        env.push(("STRATA_PASSWORD_FILE", abs.to_string_lossy().into_owned()));
    } else if let Some(c) = &g.password_command {
        env.push(("STRATA_PASSWORD_COMMAND", c.clone()));
    }
    Ok(env)
}

/// Replaces what would break a one-line comment or `Description=`.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect::<String>()
        .replace('%', "%%")
}

struct Units {
    stem: String,
    service: String,
    timer: String,
    crontab: String,
    forget_service: String,
    forget_timer: String,
    forget_crontab: String,
    /// The offsite copy service, when the policy names an offsite repository.
    copy_service: Option<String>,
}

/// When the daily forget runs: systemd `OnCalendar=` and the crontab fields.
const FORGET_CALENDAR: &str = "*-*-* 03:30:00";
const FORGET_CRON: &str = "30 3 * * *";

/// The `forget` arguments the daily units run (after the program path).
fn forget_args(set: &str) -> Vec<String> {
    ["forget", "--set", set, "--prune"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The `copy` arguments of the offsite unit: to `offsite`, from the primary repository.
fn copy_args(offsite: &str, primary: &str, set: &str) -> Vec<String> {
    ["-r", offsite, "copy", "--from-repo", primary, "--set", set]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn render(
    g: &Global,
    a: &Args,
    exe: &str,
    interval_s: u64,
    offsite: Option<&str>,
) -> Result<Units> {
    let stem = format!("strata-{}", unit_stem(&a.set));
    let env_file = format!("/etc/strata/{}.env", unit_stem(&a.set));
    let args = backup_args(a)?;
    let env = environment(g)?;
    let marker = marker(&a.set);
    let every = format_duration(interval_s);

    let service = service_text(
        &marker,
        &format!("strata backup of set {}", one_line(&a.set)),
        &env,
        &env_file,
        exe,
        &args,
        "Exit 3 (committed, some source files unreadable) marks the run failed on purpose.",
    );
    let forget = forget_args(&a.set);
    let forget_service = service_text(
        &marker,
        &format!("strata forget and prune of set {}", one_line(&a.set)),
        &env,
        &env_file,
        exe,
        &forget,
        "Applies the set's stored retention, then prune frees the data of forgotten snapshots.",
    );
    let forget_timer = format!(
        "{marker}\n[Unit]\nDescription=strata forget and prune of set {} daily\n\n[Timer]\n\
         # Daily; the set's stored retention (strata policy set --keep-...) decides what goes.\n\
         OnCalendar={FORGET_CALENDAR}\nAccuracySec=1m\nPersistent=true\n\n\
         [Install]\nWantedBy=timers.target\n",
        one_line(&a.set)
    );

    let timer = format!(
        "{marker}\n[Unit]\nDescription=strata backup of set {} every {every}\n\n[Timer]\n\
         # The policy's shortest interval (incr {every}); --level auto picks the level each run.\n\
         OnBootSec={interval_s}s\nOnUnitActiveSec={interval_s}s\nAccuracySec=1s\nPersistent=true\n\n\
         [Install]\nWantedBy=timers.target\n",
        one_line(&a.set)
    );

    let mut service = service;
    let mut crontab = crontab_line(&cron_schedule(interval_s), &env, exe, &args);
    let copy_service = match offsite {
        None => None,
        Some(off) => {
            let primary = env
                .iter()
                .find(|(k, _)| *k == "STRATA_REPOSITORY")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let cargs = copy_args(off, &primary, &a.set);
            // The primary's passphrase is the source's; the offsite's defaults to it.
            let mut cenv = env.clone();
            for (k, v) in &env {
                match *k {
                    "STRATA_PASSWORD_FILE" => cenv.push(("STRATA_FROM_PASSWORD_FILE", v.clone())),
                    "STRATA_PASSWORD_COMMAND" => {
                        cenv.push(("STRATA_FROM_PASSWORD_COMMAND", v.clone()))
                    }
                    _ => {}
                }
            }
            service = service.replacen(
                "\n\n[Service]",
                &format!("\nOnSuccess={stem}-copy.service\n\n[Service]"),
                1,
            );
            let copy_cron = crontab_line("", &cenv, exe, &cargs);
            crontab = format!("{crontab} && {}", copy_cron.trim_start());
            Some(service_text(
                &marker,
                &format!(
                    "strata offsite copy of set {} to {}",
                    one_line(&a.set),
                    one_line(off)
                ),
                &cenv,
                &format!("/etc/strata/{}-copy.env", unit_stem(&a.set)),
                exe,
                &cargs,
                "Started by the backup service on success; copies what the offsite lacks.",
            ))
        }
    };
    let forget_crontab = crontab_line(FORGET_CRON, &env, exe, &forget);
    Ok(Units {
        stem,
        service,
        timer,
        crontab,
        forget_service,
        forget_timer,
        forget_crontab,
        copy_service,
    })
}

/// The first line of both units; it names the set so a rerun never overwrites the units
/// of another set whose name sanitizes to the same file name.
fn marker(set: &str) -> String {
    format!(
        "# Generated by `strata schedule` for backup set {}; rerun it rather than edit.",
        one_line(&format!("{set:?}"))
    )
}

fn write_unit(path: &Path, text: &str, set: &str) -> Result<()> {
    if let Ok(old) = std::fs::read_to_string(path) {
        if old.lines().next() != Some(marker(set).as_str()) {
            bail!(
                "{} exists and was not generated for set {set:?}; remove it or choose another --systemd directory",
                path.display()
            );
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Runs `schedule`.
pub fn run(g: &Global, a: &Args) -> Result<i32> {
    let repo = super::open(g)?;
    let (policy, stored) = repo.policy_for(&a.set)?;
    let exe = std::env::current_exe().context("finding the strata binary")?;
    let exe = exe
        .to_str()
        .context("the strata binary's path is not UTF-8")?;
    let u = render(g, a, exe, policy.incr_s, policy.offsite.as_deref())?;
    let (service_path, timer_path) = match &a.systemd {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let s = dir.join(format!("{}.service", u.stem));
            let t = dir.join(format!("{}.timer", u.stem));
            write_unit(&s, &u.service, &a.set)?;
            write_unit(&t, &u.timer, &a.set)?;
            write_unit(
                &dir.join(format!("{}-forget.service", u.stem)),
                &u.forget_service,
                &a.set,
            )?;
            write_unit(
                &dir.join(format!("{}-forget.timer", u.stem)),
                &u.forget_timer,
                &a.set,
            )?;
            if let Some(c) = &u.copy_service {
                write_unit(&dir.join(format!("{}-copy.service", u.stem)), c, &a.set)?;
            }
            (Some(s), Some(t))
        }
        None => (None, None),
    };
    let forget_paths = |ext: &str| {
        a.systemd
            .as_ref()
            .map(|d| d.join(format!("{}-forget.{ext}", u.stem)))
    };
    let mut enable = Vec::new();
    if let Some(dir) = &a.systemd {
        if std::path::absolute(dir).ok().as_deref() != Some(Path::new("/etc/systemd/system")) {
            let mut files: Vec<String> = ["", "-forget"]
                .iter()
                .flat_map(|x| {
                    ["service", "timer"].map(|ext| {
                        shell_word(&dir.join(format!("{}{x}.{ext}", u.stem)).to_string_lossy())
                    })
                })
                .collect();
            if u.copy_service.is_some() {
                files.push(shell_word(
                    &dir.join(format!("{}-copy.service", u.stem))
                        .to_string_lossy(),
                ));
            }
            enable.push(format!("sudo cp {} /etc/systemd/system/", files.join(" ")));
        }
    }
    enable.push("sudo systemctl daemon-reload".into());
    enable.push(format!(
        "sudo systemctl enable --now {}.timer {}-forget.timer",
        u.stem, u.stem
    ));
    let env_file = format!("/etc/strata/{}.env", unit_stem(&a.set));
    if g.json {
        crate::output::print_json(&json!({
            "set": a.set,
            "interval_s": policy.incr_s,
            "policy_stored": stored,
            "service": { "name": format!("{}.service", u.stem), "path": service_path, "text": u.service },
            "timer": { "name": format!("{}.timer", u.stem), "path": timer_path, "text": u.timer },
            "environment_file": env_file,
            "enable": enable,
            "crontab": u.crontab,
            "copy": u.copy_service.as_ref().map(|c| json!({
                "name": format!("{}-copy.service", u.stem),
                "path": a.systemd.as_ref().map(|d| d.join(format!("{}-copy.service", u.stem))),
                "text": c,
                "offsite": policy.offsite,
            })),
            "forget": {
                "service": { "name": format!("{}-forget.service", u.stem), "path": forget_paths("service"), "text": u.forget_service },
                "timer": { "name": format!("{}-forget.timer", u.stem), "path": forget_paths("timer"), "text": u.forget_timer },
                "crontab": u.forget_crontab,
            },
        }));
        return Ok(0);
    }
    match (&service_path, &timer_path) {
        (Some(s), Some(t)) => {
            println!("wrote {}\nwrote {}", s.display(), t.display());
            for p in [forget_paths("service"), forget_paths("timer")].iter().flatten() {
                println!("wrote {}", p.display());
            }
            if u.copy_service.is_some() {
                if let Some(d) = &a.systemd {
                    println!("wrote {}", d.join(format!("{}-copy.service", u.stem)).display());
                }
            }
        }
        _ => println!(
            "# {stem}.service\n{}\n# {stem}.timer\n{}\n# {stem}-forget.service\n{}\n# {stem}-forget.timer\n{}",
            u.service,
            u.timer,
            u.forget_service,
            u.forget_timer,
            stem = u.stem
        ),
    }
    if let (None, Some(c)) = (&service_path, &u.copy_service) {
        println!("# {}-copy.service\n{c}", u.stem);
    }
    println!(
        "\nruns `strata backup --level auto` for set {} every {} (incr interval of its {} policy)",
        a.set,
        format_duration(policy.incr_s),
        if stored { "stored" } else { "default" }
    );
    println!("\nenable it:");
    for c in &enable {
        println!("  {c}");
    }
    println!("passphrase: put STRATA_PASSWORD_FILE=/path/to/passphrase in {env_file} (mode 0600)");
    println!("\nor with cron (the passphrase variable set in the crontab's environment):");
    println!("  {}", u.crontab);
    println!("  {}", u.forget_crontab);
    println!(
        "\nthe daily `forget --set {} --prune` applies the set's stored retention \
         (strata policy set --set {} --keep-...); without one it exits 2 and removes nothing",
        a.set, a.set
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_file_names() {
        assert_eq!(unit_stem("pg:main"), "pg-main");
        assert_eq!(unit_stem("host:/var/lib,/etc"), "host-var-lib-etc");
        assert_eq!(unit_stem("::"), "set");
        assert_eq!(unit_stem(&"x".repeat(300)).len(), 64);
    }
}
