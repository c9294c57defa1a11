//! Fault injection for the crash and error tests; compiled in only with the `failpoints`
//! feature (the integration tests enable it; release builds never contain it).
//!
//! `STRATA_FAILPOINTS` holds comma-separated rules `NAME[@N]=ACTION`: the N-th time (default
//! the first) this process reaches the point NAME, ACTION happens: `error` returns an I/O
//! error from that step, `kill` sends SIGKILL to the process (a crash at exactly that
//! step). Names are `<step>:<file type dir>`, e.g. `write:data`, `rename:index`,
//! `remove:data`, `write:snapshots`, `remove:pending`, plus the phase points of prune
//! (`prune:after-repack`, `prune:after-notice`, `prune:after-index`, `prune:after-delete`).
//! The backend steps are: `write` before a file's temporary copy is written, `rename`
//! after it is synced and before it is renamed into place, `remove` before a delete,
//! `list` before a directory is listed.

/// Reaches the point `name`: returns an error or kills the process when a rule says so.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) -> std::io::Result<()> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static COUNTS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);
    let Ok(rules) = std::env::var("STRATA_FAILPOINTS") else {
        return Ok(());
    };
    let n = {
        let mut guard = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
        let counts = guard.get_or_insert_with(HashMap::new);
        let c = counts.entry(name.to_string()).or_insert(0);
        *c += 1;
        *c
    };
    for rule in rules.split(',') {
        let Some((point, action)) = rule.trim().split_once('=') else {
            continue;
        };
        let (point, nth) = match point.split_once('@') {
            Some((p, k)) => (p, k.parse::<u32>().unwrap_or(1)),
            None => (point, 1),
        };
        if point != name || nth != n {
            continue;
        }
        match action {
            "kill" => {
                eprintln!("failpoint {name}@{n}: SIGKILL");
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            }
            _ => {
                return Err(std::io::Error::other(format!(
                    "failpoint {name}@{n}: injected error"
                )))
            }
        }
    }
    Ok(())
}

/// Without the `failpoints` feature every point is a no-op.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) -> std::io::Result<()> {
    Ok(())
}

/// The point name of a backend step on a file type: `write:data`, `remove:index`.
pub fn name(step: &str, t: crate::backend::FileType) -> String {
    let dir = t.dir();
    format!("{step}:{}", if dir.is_empty() { "config" } else { dir })
}
