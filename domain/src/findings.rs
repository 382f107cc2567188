//! Evidence snapshots' documents: the findings an environment review is composed from.
//!
//! A document is a JSON object with a `findings` array; each finding has a `severity`
//! and a `category` (other fields are kept in the snapshot but not used by the
//! composer). The content hash is taken over the canonical form of the whole document.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::{sha256_hex, write_canonical};
use crate::lang::Lang;
use crate::reason::Detail;
use crate::text_input::contains_nul;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    NotAFindingsObject,
    TooLarge,
    TooManyFindings,
    /// The finding at this index lacks a known severity or a category.
    BadFinding(usize),
    /// The finding at this index has a category that is not a short lowercase word.
    BadCategory(usize),
    /// A key or string contains U+0000, which PostgreSQL refuses in `jsonb`.
    NulCharacter,
}

impl DocumentError {
    /// The catalogued detail of this refusal.
    pub fn detail(&self) -> Detail {
        match self {
            DocumentError::NotAFindingsObject => Detail::DocumentNotFindings,
            DocumentError::TooLarge => Detail::DocumentTooLarge,
            DocumentError::TooManyFindings => Detail::DocumentTooManyFindings,
            DocumentError::BadFinding(_) => Detail::DocumentBadFinding,
            DocumentError::BadCategory(_) => Detail::DocumentBadCategory,
            DocumentError::NulCharacter => Detail::DocumentNulCharacter,
        }
    }

    /// The arguments of [`ReasonCode::EvidenceInvalid`](crate::ReasonCode::EvidenceInvalid)
    /// for this refusal: the detail and, for a finding, its number counted from 1.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        let mut args = vec![self.detail().arg()];
        if let DocumentError::BadFinding(i) | DocumentError::BadCategory(i) = self {
            args.push(("finding", (i + 1).to_string()));
        }
        args
    }
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args = self.args();
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        f.write_str(&self.detail().render(Lang::En, &args))
    }
}

impl std::error::Error for DocumentError {}

impl FindingsDocument {
    /// Validates a captured document.
    pub fn parse(value: &Value) -> Result<FindingsDocument, DocumentError> {
        if value.to_string().len() > limits::DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge);
        }
        if contains_nul(value) {
            return Err(DocumentError::NulCharacter);
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
    fn a_nul_character_anywhere_is_refused_before_anything_is_stored() {
        for doc in [
            json!({"findings": [{"severity": "low", "category": "x", "title": "a\u{0}b"}]}),
            json!({"findings": [], "source\u{0}": 1}),
            json!({"findings": [], "nested": [{"deep": ["\u{0}"]}]}),
        ] {
            assert_eq!(
                FindingsDocument::parse(&doc),
                Err(DocumentError::NulCharacter),
                "{doc}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_finding_counted_from_one_in_english_for_the_log() {
        let e = DocumentError::BadCategory(0);
        assert_eq!(
            e.args(),
            vec![
                ("detail", "detail.document.bad_category".to_string()),
                ("finding", "1".to_string())
            ]
        );
        assert_eq!(
            e.to_string(),
            "finding 1 has a category that is not a short lowercase word"
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
