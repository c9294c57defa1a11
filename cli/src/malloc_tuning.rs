//! glibc malloc tuning, applied by re-executing once with `MALLOC_MMAP_THRESHOLD_` set.
//!
//! glibc raises its mmap threshold after the first large free, so later 1-4 MiB chunk
//! buffers come from heap arenas that fragment and are not returned. Measured on a 1.08 GB
//! hex dump (2 cores): default 99 MB peak RSS, 3.5 s; fixed 1 MiB threshold 83 MB, 3.7 s
//! (chunks above 1 MiB are mmapped; 128 KiB gave 76 MB but 4.0 s from mmap churn); the
//! 1 GB file tree: 115 MB and 7.8 s by default, 100 MB and 5.3 s tuned. (mimalloc: 199 MB,
//! jemalloc: 139 MB, both worse.) Delta chunks changed the balance: each changed chunk
//! needs a fresh zstd context (its prefix borrows the bases) whose ~2.5 MiB workspace was
//! mmapped and page-faulted anew at 1 MiB, so sys time exceeded user time. At 4 MiB
//! (measured on the same dump, busy machine): full 4.1 s / 98 MB (1 MiB: 6.1 s / 92 MB),
//! delta incr 2.7 s (3.8 s), tree 5.0 s / 126 MB (4.8 s / 113 MB). glibc reads the setting only at start-up, and
//! setting it from inside needs `unsafe` (`mallopt`), which this workspace forbids; so the
//! process re-executes itself once. `STRATA_NO_MALLOC_TUNING=1` turns this off.

use std::os::unix::process::CommandExt;

const VAR: &str = "MALLOC_MMAP_THRESHOLD_";

/// Re-executes the process with the tuned environment, unless already tuned or disabled.
/// Returns only when no re-execution happened (or `exec` failed, which is harmless).
pub fn apply() {
    if !cfg!(target_env = "gnu")
        || std::env::var_os(VAR).is_some()
        || std::env::var_os("STRATA_NO_MALLOC_TUNING").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(VAR, "4194304")
        .exec();
    tracing::debug!(error = %err, "malloc tuning re-exec failed; continuing untuned");
}
