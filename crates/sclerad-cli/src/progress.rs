//! Progress on stderr for work that can take more than a second; hidden
//! when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A numbered list of steps shown as a progress bar.
pub struct Steps(ProgressBar);

impl Steps {
    /// A bar of `n` steps.
    pub fn new(n: u64) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(n),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Steps(bar)
    }

    /// Starts the next step.
    pub fn step(&self, message: &'static str) {
        self.0.inc(1);
        self.0.set_message(message);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
