//! Composing a review's content from a findings document: sections per category with
//! counts per severity. Deterministic: the same document gives the same content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::findings::{FindingsDocument, Severity};

/// The composer's version; part of every fingerprint.
pub const COMPOSER_VERSION: &str = "review-composer/1.0.0";

/// Counts per severity, every severity present.
pub type SeverityCounts = BTreeMap<Severity, u64>;

/// One section of a review: one category of findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub category: String,
    pub total: u64,
    pub by_severity: SeverityCounts,
}

/// What a composed review says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewContent {
    pub composer_version: String,
    pub snapshot_content_hash: String,
    pub total_findings: u64,
    pub by_severity: SeverityCounts,
    /// Sorted by category.
    pub sections: Vec<Section>,
}

fn zeroes() -> SeverityCounts {
    Severity::ALL.into_iter().map(|s| (s, 0)).collect()
}

/// Composes the content of a review of `document` (whose content hash is given).
pub fn compose(document: &FindingsDocument, snapshot_content_hash: &str) -> ReviewContent {
    let mut by_severity = zeroes();
    let mut sections: BTreeMap<&str, SeverityCounts> = BTreeMap::new();
    for f in &document.findings {
        *by_severity.entry(f.severity).or_default() += 1;
        *sections
            .entry(f.category.as_str())
            .or_insert_with(zeroes)
            .entry(f.severity)
            .or_default() += 1;
    }
    ReviewContent {
        composer_version: COMPOSER_VERSION.to_string(),
        snapshot_content_hash: snapshot_content_hash.to_string(),
        total_findings: document.findings.len() as u64,
        by_severity,
        sections: sections
            .into_iter()
            .map(|(category, counts)| Section {
                category: category.to_string(),
                total: counts.values().sum(),
                by_severity: counts,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sections_count_findings_per_category_and_severity_in_a_stable_order() {
        let doc = FindingsDocument::parse(&json!({"findings": [
            {"severity": "high", "category": "network"},
            {"severity": "low", "category": "identity"},
            {"severity": "high", "category": "identity"},
            {"severity": "high", "category": "identity"}
        ]}))
        .unwrap();
        let c = compose(&doc, "sha256:x");
        assert_eq!(c.total_findings, 4);
        assert_eq!(c.by_severity[&Severity::High], 3);
        assert_eq!(c.by_severity[&Severity::Critical], 0);
        let categories: Vec<&str> = c.sections.iter().map(|s| s.category.as_str()).collect();
        assert_eq!(categories, ["identity", "network"]);
        assert_eq!(c.sections[0].total, 3);
        assert_eq!(c.sections[0].by_severity[&Severity::High], 2);
    }

    #[test]
    fn the_same_findings_in_another_order_compose_the_same_content() {
        let a = FindingsDocument::parse(&json!({"findings": [
            {"severity": "high", "category": "b"}, {"severity": "low", "category": "a"}
        ]}))
        .unwrap();
        let b = FindingsDocument::parse(&json!({"findings": [
            {"severity": "low", "category": "a"}, {"severity": "high", "category": "b"}
        ]}))
        .unwrap();
        assert_eq!(compose(&a, "h"), compose(&b, "h"));
        assert_eq!(
            serde_json::to_string(&compose(&a, "h")).unwrap(),
            serde_json::to_string(&compose(&b, "h")).unwrap()
        );
    }
}
