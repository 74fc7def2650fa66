//! A live progress line for the long commands (`detect`, `regenerate`), so a run
//! over 100k conversations is not a silent minute. Drawn on stderr only when stderr
//! is a terminal; on a pipe, a file or a CI log (not a terminal) nothing is drawn
//! and the output is byte-for-byte what it was without it. `RATCHET_NO_PROGRESS`
//! (any value) or `TERM=dumb` turns it off on a terminal too. It uses no colour,
//! so `NO_COLOR` has nothing to remove. The line is cleared when the work ends:
//! what stays on the screen is the command's own summary.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress line of one phase of work; a no-op when progress is off.
pub struct Progress(Option<ProgressBar>);

/// Whether a progress line may be drawn: stderr is a terminal and nobody asked
/// for quiet.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("RATCHET_NO_PROGRESS").is_none() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

impl Progress {
    /// A counter for a stream of unknown length (detect reads stdin or growing
    /// files): `what` counted so far, the rate, the time, and a message.
    pub fn counter(what: &str) -> Self {
        Self::make(None, &format!("{{spinner}} {{human_pos}} {what} ({{prefix}}/s, {{elapsed}}): {{wide_msg}}"))
    }

    /// A bar over `len` items of known number (regenerate's events).
    pub fn bar(len: u64, what: &str) -> Self {
        Self::make(Some(len), &format!("{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} ({{elapsed}}, ~{{eta}} left) {{wide_msg}}"))
    }

    /// A spinner with a fixed message, for work whose count is not visible here
    /// (`detect --processes`: the children count their own partitions).
    pub fn spinner(message: String) -> Self {
        let p = Self::make(None, "{spinner} {msg} ({elapsed})");
        if let Some(b) = &p.0 {
            b.set_message(message);
        }
        p
    }

    fn make(len: Option<u64>, template: &str) -> Self {
        if !enabled() {
            return Progress(None);
        }
        let bar = match len {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        // The template is ours and fixed; a bad one is a bug caught by the tests.
        let style = ProgressStyle::with_template(template).expect("progress template").progress_chars("=> ");
        bar.set_style(style);
        // Ticks on its own so the spinner and the rate move while one slow batch runs
        // (an LLM-judged scorecard can take seconds per conversation).
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// Move to `pos` with `message` beside it.
    pub fn set(&self, pos: u64, message: String) {
        if let Some(b) = &self.0 {
            // The rate over the whole run, whole numbers (indicatif's own shows four
            // decimals); the position last, so one draw shows one state.
            let secs = b.elapsed().as_secs_f64();
            if secs > 0.0 {
                b.set_prefix(format!("{:.0}", pos as f64 / secs));
            }
            b.set_message(message);
            b.set_position(pos);
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    /// Run `f` (which prints to stderr) with the line hidden, so the printed lines
    /// are not torn by it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
