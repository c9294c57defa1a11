//! Progress bars on stderr with indicatif, only when stderr is a terminal and not
//! `--quiet` or `--json`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use strata_repo::progress::Progress;

/// A byte counter bar.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar that draws only when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool, what: &str) -> Self {
        let pb = if enabled && std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} {bytes} ({binary_bytes_per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_message(what.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        Self(pb)
    }

    /// Runs `f` (which prints a result line) with the bar hidden meanwhile.
    pub fn suspend(&self, f: impl FnOnce()) {
        self.0.suspend(f);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn bytes(&self, n: u64) {
        self.0.inc(n);
    }

    /// With a total, the bar shows how far along it is and an estimate of what is left.
    fn total(&self, n: u64) {
        self.0.set_length(n);
        self.0.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    }
}
