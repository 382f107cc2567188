//! Names people give things (workspaces, environments, actors): one line, bounded.

/// A name is 1–100 characters after trimming, with no control characters.
pub fn valid_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    let ok = !trimmed.is_empty()
        && trimmed.chars().count() <= 100
        && !trimmed.chars().any(char::is_control);
    ok.then(|| trimmed.to_string())
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
