//! Progress for long replays: a bar on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use runproof_domain::Lang;
use runproof_projections::Progress;

use super::text::UiText;

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// Renders progress on stderr.
pub struct CliProgress {
    lang: Lang,
    bar: Mutex<Option<ProgressBar>>,
    plain: Mutex<Plain>,
    terminal: bool,
}

#[derive(Default)]
struct Plain {
    phase: String,
    total: Option<u64>,
    done: u64,
    last: Option<Instant>,
}

impl CliProgress {
    pub fn new(lang: Lang) -> Self {
        CliProgress {
            lang,
            bar: Mutex::new(None),
            plain: Mutex::new(Plain::default()),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn plain_line(&self, p: &Plain) {
        let total = p.total.unwrap_or(p.done).max(p.done);
        let percent = (p.done * 100).checked_div(total).unwrap_or(100);
        eprintln!(
            "{}",
            UiText::ProgressLine.render(
                self.lang,
                &[
                    ("phase", &p.phase),
                    ("done", &p.done.to_string()),
                    ("total", &total.to_string()),
                    ("percent", &percent.to_string()),
                ],
            )
        );
    }
}

impl Progress for CliProgress {
    fn begin(&self, phase: &str, total: Option<u64>) {
        if self.terminal {
            let bar = ProgressBar::new(total.unwrap_or(0));
            if let Ok(style) = ProgressStyle::with_template(
                "{msg:>16} [{bar:40}] {pos}/{len} events ({per_sec}, {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(phase.to_string());
            if let Ok(mut slot) = self.bar.lock() {
                *slot = Some(bar);
            }
        } else if let Ok(mut p) = self.plain.lock() {
            *p = Plain {
                phase: phase.to_string(),
                total,
                done: 0,
                last: Some(Instant::now()),
            };
        }
    }

    fn advance(&self, n: u64) {
        if self.terminal {
            if let Ok(slot) = self.bar.lock() {
                if let Some(bar) = slot.as_ref() {
                    bar.inc(n);
                }
            }
        } else if let Ok(mut p) = self.plain.lock() {
            p.done += n;
            if p.last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
                p.last = Some(Instant::now());
                self.plain_line(&p);
            }
        }
    }

    fn finish(&self) {
        if self.terminal {
            if let Ok(mut slot) = self.bar.lock() {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
            }
        } else if let Ok(p) = self.plain.lock() {
            self.plain_line(&p);
        }
    }
}
