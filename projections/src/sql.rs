//! Identifiers in SQL text: the one way runproof puts a name into a statement.
//!
//! Values are always bound; names (tables, indexes, constraints, databases) cannot be,
//! so every name that reaches `format!`-built SQL goes through [`quote_ident`]: wrapped
//! in double quotes, embedded quotes doubled, exactly as PostgreSQL's own
//! `quote_ident()` does. A name PostgreSQL would not keep as given is refused rather than
//! quoted: an empty name, one with a NUL character (the protocol cannot carry it), and
//! one longer than 63 bytes — PostgreSQL silently truncates those, so a long name could
//! otherwise end up naming a *different*, existing object.

/// The longest identifier PostgreSQL keeps unchanged (`NAMEDATALEN - 1`).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Why a name cannot be used as an SQL identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIdentifier {
    /// The name is empty.
    #[error("an identifier cannot be empty")]
    Empty,
    /// The name contains a NUL character.
    #[error("an identifier cannot contain a NUL character")]
    Nul,
    /// The name is longer than PostgreSQL keeps (it would be truncated).
    #[error("an identifier cannot be longer than 63 bytes")]
    TooLong,
}

/// `name` as a quoted SQL identifier: `a"b` becomes `"a""b"`.
pub fn quote_ident(name: &str) -> Result<String, InvalidIdentifier> {
    if name.is_empty() {
        return Err(InvalidIdentifier::Empty);
    }
    if name.contains('\0') {
        return Err(InvalidIdentifier::Nul);
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(InvalidIdentifier::TooLong);
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok(quoted)
}

/// A name that cannot be quoted never reaches the database; to sqlx it is a value that
/// could not be encoded (not transient: retrying cannot help).
impl From<InvalidIdentifier> for sqlx::Error {
    fn from(e: InvalidIdentifier) -> Self {
        sqlx::Error::Encode(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_name_is_wrapped_in_quotes() {
        assert_eq!(
            quote_ident("operation_runs").as_deref(),
            Ok("\"operation_runs\"")
        );
    }

    #[test]
    fn an_embedded_quote_is_doubled_so_the_name_stays_one_identifier() {
        assert_eq!(
            quote_ident("victim\" WITH (FORCE) --").as_deref(),
            Ok("\"victim\"\" WITH (FORCE) --\"")
        );
        assert_eq!(quote_ident("\"").as_deref(), Ok("\"\"\"\""));
    }

    #[test]
    fn names_postgres_would_not_keep_as_given_are_refused() {
        assert_eq!(quote_ident(""), Err(InvalidIdentifier::Empty));
        assert_eq!(quote_ident("a\0b"), Err(InvalidIdentifier::Nul));
        assert_eq!(
            quote_ident(&"x".repeat(MAX_IDENTIFIER_BYTES + 1)),
            Err(InvalidIdentifier::TooLong)
        );
        assert!(quote_ident(&"x".repeat(MAX_IDENTIFIER_BYTES)).is_ok());
        // Bytes, not characters: PostgreSQL truncates by bytes.
        assert_eq!(
            quote_ident(&"ä".repeat(32)),
            Err(InvalidIdentifier::TooLong)
        );
    }
}
