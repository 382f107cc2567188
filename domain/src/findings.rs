//! Evidence snapshots' documents: the findings an environment review is composed from.
//!
//! A document is a JSON object with a `findings` array; each finding has a `severity`
//! and a `category` (other fields are kept in the snapshot but not used by the
//! composer). The content hash is taken over the canonical form of the whole document.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::{sha256_hex, write_canonical};

/// How serious a finding is, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
}

/// One finding, as the composer reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub category: String,
}

/// A validated findings document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsDocument {
    pub findings: Vec<Finding>,
}

/// Bounds on a document.
pub mod limits {
    /// Serialised size of a document.
    pub const DOCUMENT_BYTES: usize = 1024 * 1024;
    /// Findings per document.
    pub const FINDINGS: usize = 10_000;
    /// Length of a category (`[a-z0-9._-]`).
    pub const CATEGORY_CHARS: usize = 64;
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document must be a JSON object with a findings array")]
    NotAFindingsObject,
    #[error("the document is larger than 1 MiB")]
    TooLarge,
    #[error("the document has more than 10000 findings")]
    TooManyFindings,
    #[error("finding {0} needs a severity (critical, high, medium, low, info) and a category")]
    BadFinding(usize),
    #[error("finding {0} has a category that is not a short lowercase word")]
    BadCategory(usize),
}

impl FindingsDocument {
    /// Validates a captured document.
    pub fn parse(value: &Value) -> Result<FindingsDocument, DocumentError> {
        if value.to_string().len() > limits::DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge);
        }
        let Some(items) = value
            .as_object()
            .and_then(|o| o.get("findings"))
            .and_then(Value::as_array)
        else {
            return Err(DocumentError::NotAFindingsObject);
        };
        if items.len() > limits::FINDINGS {
            return Err(DocumentError::TooManyFindings);
        }
        let mut findings = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let finding: Finding =
                serde_json::from_value(item.clone()).map_err(|_| DocumentError::BadFinding(i))?;
            let category_ok = !finding.category.is_empty()
                && finding.category.chars().count() <= limits::CATEGORY_CHARS
                && finding.category.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                });
            if !category_ok {
                return Err(DocumentError::BadCategory(i));
            }
            findings.push(finding);
        }
        Ok(FindingsDocument { findings })
    }
}

/// `sha256:` over the canonical form of a document (key order does not matter).
pub fn content_hash(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    sha256_hex(canonical.as_bytes())
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_valid_document_parses_and_keeps_extra_fields_out_of_the_way() {
        let doc = json!({"findings": [
            {"severity": "high", "category": "identity", "title": "MFA off", "id": 7},
            {"severity": "info", "category": "network"}
        ], "source": "scanner 4.2"});
        let parsed = FindingsDocument::parse(&doc).unwrap();
        assert_eq!(parsed.findings.len(), 2);
        assert_eq!(parsed.findings[0].severity, Severity::High);
    }

    #[test]
    fn malformed_documents_are_refused_with_the_reason() {
        assert_eq!(
            FindingsDocument::parse(&json!([1, 2])),
            Err(DocumentError::NotAFindingsObject)
        );
        assert_eq!(
            FindingsDocument::parse(&json!({"findings": "none"})),
            Err(DocumentError::NotAFindingsObject)
        );
        assert_eq!(
            FindingsDocument::parse(
                &json!({"findings": [{"severity": "apocalyptic", "category": "x"}]})
            ),
            Err(DocumentError::BadFinding(0))
        );
        assert_eq!(
            FindingsDocument::parse(
                &json!({"findings": [{"severity": "low", "category": "DROP TABLE x"}]})
            ),
            Err(DocumentError::BadCategory(0))
        );
    }

    #[test]
    fn the_content_hash_ignores_key_order_but_not_content() {
        let a = content_hash(&json!({"findings": [{"severity": "low", "category": "x"}], "v": 1}));
        let b = content_hash(&json!({"v": 1, "findings": [{"category": "x", "severity": "low"}]}));
        let c = content_hash(&json!({"v": 2, "findings": [{"category": "x", "severity": "low"}]}));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
