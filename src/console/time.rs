//! Times as a page shows them: relative ("5 min ago") with the exact UTC time beside it
//! (in a `title`, shown on hover).

use chrono::{DateTime, Utc};
use runproof_domain::Lang;

use super::text::ConsoleText;

/// A time relative to `now`, in `lang`. A time in the future (clocks of two processes
/// disagreeing) reads "just now".
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let seconds = (now - t).num_seconds();
    let (text, n) = match seconds {
        s if s < 60 => return ConsoleText::JustNow.text(lang),
        s if s < 3600 => (ConsoleText::MinutesAgo, s / 60),
        s if s < 86_400 => (ConsoleText::HoursAgo, s / 3600),
        s => (ConsoleText::DaysAgo, s / 86_400),
    };
    text.render(lang, &[("n", &n.to_string())])
}

/// The exact time, UTC, to the second (as the CLI prints it).
pub fn exact(t: DateTime<Utc>) -> String {
    crate::explain::when(t)
}

/// A time for a `<time datetime="…">` attribute (RFC 3339, UTC).
pub fn machine(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_reads_relative_to_now_in_both_languages() {
        let now = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let ago = |s: i64| now - chrono::Duration::seconds(s);
        assert_eq!(relative(ago(-30), now, Lang::En), "just now");
        assert_eq!(relative(ago(59), now, Lang::De), "gerade eben");
        assert_eq!(relative(ago(5 * 60 + 3), now, Lang::En), "5 min ago");
        assert_eq!(relative(ago(2 * 3600), now, Lang::De), "vor 2 Std.");
        assert_eq!(relative(ago(3 * 86_400), now, Lang::En), "3 d ago");
        assert_eq!(exact(now), "2026-01-01 00:00:00 UTC");
        assert_eq!(machine(now), "2026-01-01T00:00:00Z");
    }
}
