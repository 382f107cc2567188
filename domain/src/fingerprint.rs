//! Fingerprints: `sha256:` hashes that name what a review is composed from.

use std::fmt;

use serde::{Deserialize, Serialize};

use uuid::Uuid;

use crate::identity::{is_sha256, sha256_hex, InvalidHash};

/// A validated `sha256:<64 lowercase hex>` fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a review: `sha256:` over the workspace, the environment, the
    /// evidence snapshot's content hash and the composer version. Same inputs, same
    /// fingerprint — across processes and releases (a test pins a value).
    pub fn compute(
        workspace_id: Uuid,
        environment_id: Uuid,
        content_hash: &str,
        composer_version: &str,
    ) -> Self {
        let input = format!(
            "runproof.review-fingerprint.v1\n{workspace_id}\n{environment_id}\n{content_hash}\n{composer_version}"
        );
        Fingerprint(sha256_hex(input.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = InvalidHash;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if is_sha256(&s) {
            Ok(Fingerprint(s))
        } else {
            Err(InvalidHash(s))
        }
    }
}

impl TryFrom<&str> for Fingerprint {
    type Error = InvalidHash;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Fingerprint::try_from(s.to_string())
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_pinned_across_processes_and_releases() {
        let f = Fingerprint::compute(
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "review-composer/1.0.0",
        );
        assert_eq!(
            f.as_str(),
            "sha256:64191912d9039e04e38aada5188ca1ee69578551b612cf49ef681c0b4f26b88f"
        );
    }

    #[test]
    fn every_input_changes_the_fingerprint() {
        let h = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let base = Fingerprint::compute(Uuid::from_u128(1), Uuid::from_u128(2), h, "v1");
        assert_ne!(
            base,
            Fingerprint::compute(Uuid::from_u128(9), Uuid::from_u128(2), h, "v1")
        );
        assert_ne!(
            base,
            Fingerprint::compute(Uuid::from_u128(1), Uuid::from_u128(9), h, "v1")
        );
        assert_ne!(
            base,
            Fingerprint::compute(Uuid::from_u128(1), Uuid::from_u128(2), "sha256:1", "v1")
        );
        assert_ne!(
            base,
            Fingerprint::compute(Uuid::from_u128(1), Uuid::from_u128(2), h, "v2")
        );
    }
}
