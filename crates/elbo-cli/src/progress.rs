//! A spinner on stderr showing the iteration and the current bound, drawn
//! only when stderr is a terminal (so logs and tests see nothing).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of one or more fits.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    label: String,
}

impl Progress {
    /// A spinner labelled `label`, hidden unless stderr is a terminal.
    pub fn new(label: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // The template is a literal known to be valid; fall back to the
            // default style rather than unwrap.
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        let p = Self {
            bar,
            label: label.to_string(),
        };
        p.bar.set_message(p.label.clone());
        p
    }

    /// Change the label (e.g. the degree being fitted).
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.label = label.into();
        self.bar.set_message(self.label.clone());
    }

    /// Report the bound after iteration `iter`.
    pub fn update(&self, iter: usize, bound: f64) {
        if !self.bar.is_hidden() {
            self.bar.set_message(format!(
                "{}  iteration {iter}  bound {bound:.6}",
                self.label
            ));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
