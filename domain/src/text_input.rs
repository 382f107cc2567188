//! Text that comes from outside: names people give things (workspaces, environments,
//! actors) — one visible line, bounded — and strings inside JSON documents.

use serde_json::Value;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A name is 1–100 characters after trimming, all of them visible on one line: no
/// control characters, no line or paragraph separators, and no invisible format
/// characters (Unicode general category Cf: bidirectional overrides and isolates such as
/// U+202E, zero-width spaces and joiners, U+FEFF, the soft hyphen, …), which would let a
/// name read differently from what it is.
pub fn valid_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    let ok = !trimmed.is_empty()
        && trimmed.chars().count() <= 100
        && trimmed.chars().all(visible_on_one_line);
    ok.then(|| trimmed.to_string())
}

fn visible_on_one_line(c: char) -> bool {
    !matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Surrogate
    )
}

/// Whether any key or string of `value` contains U+0000. PostgreSQL refuses it in
/// `jsonb` (and `text`), so a document carrying it cannot be stored and is refused as
/// input instead.
pub fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_are_trimmed_single_lines_of_bounded_length() {
        assert_eq!(valid_name("  Contoso  "), Some("Contoso".into()));
        assert_eq!(valid_name(""), None);
        assert_eq!(valid_name("   "), None);
        assert_eq!(valid_name("a\nb"), None);
        assert_eq!(valid_name(&"x".repeat(101)), None);
    }

    #[test]
    fn names_refuse_invisible_format_characters_that_make_them_read_differently() {
        for sneaky in [
            "invoice\u{202E}fdp.exe", // right-to-left override
            "a\u{202A}b",             // left-to-right embedding
            "a\u{2066}b\u{2069}",     // isolates
            "a\u{200B}b",             // zero-width space
            "a\u{200D}b",             // zero-width joiner
            "a\u{200F}b",             // right-to-left mark
            "\u{FEFF}Contoso",        // byte-order mark
            "Con\u{00AD}toso",        // soft hyphen
            "a\u{2028}b",             // line separator
            "a\u{2029}b",             // paragraph separator
            "a\u{0085}b",             // next line (a control character)
        ] {
            assert_eq!(valid_name(sneaky), None, "{sneaky:?}");
        }
    }

    #[test]
    fn names_keep_letters_marks_and_symbols_of_any_script() {
        for fine in [
            "Müller & Söhne",
            "東京 prod",
            "שלום",
            "café",
            "Ops 🚀",
            "a-b_c.d",
        ] {
            assert_eq!(valid_name(fine), Some(fine.to_string()), "{fine:?}");
        }
    }
}
