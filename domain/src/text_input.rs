//! Text that comes from outside: names people give things (workspaces, environments,
//! actors) — one visible line, bounded — and strings inside JSON documents.

use serde_json::Value;

/// A name is 1–100 characters after trimming, with no control characters.
pub fn valid_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    let ok = !trimmed.is_empty()
        && trimmed.chars().count() <= 100
        && !trimmed.chars().any(char::is_control);
    ok.then(|| trimmed.to_string())
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
}
