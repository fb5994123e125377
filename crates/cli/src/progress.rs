//! Progress on stderr: an indicatif bar on a terminal; plain lines at an interval otherwise, so
//! tests, CI logs and `2> file` get readable text instead of redraw escapes.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    every: Duration,
    last_line: Instant,
}

impl Progress {
    /// A bar of `length` steps; without a terminal a line every `every`.
    pub fn new(length: u64, every: Duration) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            every,
            last_line: Instant::now(),
        }
    }

    /// Moves to `position` and shows `message` (the line is built only when it is shown).
    pub fn update(&mut self, position: u64, message: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(message());
            }
            None if self.last_line.elapsed() >= self.every => {
                self.last_line = Instant::now();
                eprintln!("{}", message());
            }
            None => {}
        }
    }

    /// Runs `write` with the bar hidden, so that a line printed meanwhile does not tear it.
    pub fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Removes the bar, leaving the terminal for the summary.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
