//! Fingerprints: `sha256:` hashes that name what a review is composed from.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{is_sha256, InvalidHash};

/// A validated `sha256:<64 lowercase hex>` fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
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
