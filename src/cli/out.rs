//! Writing to stdout without panicking when the reader goes away (`| head`).

use std::io::Write;

use runproof_domain::reason::Phrase;
use runproof_domain::Lang;
use serde::Serialize;

use super::text::UiText;

/// Where a command's output goes, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
    pub lang: Lang,
}

impl Out {
    /// One line of text.
    pub fn line(&self, text: impl std::fmt::Display) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// A value as pretty JSON.
    pub fn json(&self, value: &impl Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(s) => self.line(s),
            Err(e) => tracing::error!(error = %e, "cannot serialise output"),
        }
    }

    /// A catalogued phrase with placeholders filled.
    pub fn say(&self, text: impl Phrase, args: &[(&str, &str)]) {
        self.line(text.render(self.lang, args));
    }

    /// A catalogued phrase in this output's language.
    pub fn t(&self, text: UiText) -> String {
        text.text(self.lang)
    }
}
