//! Run identity: the deterministic hash that says "these two ensure calls ask for the
//! same run" — scope, run type and the type's identity inputs.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::run_type::RunType;

/// `sha256:<64 hex digits>` over a run's scope, type and identity inputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdentityHash(String);

/// A string that is not `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha256 hash: `{0}`")]
pub struct InvalidHash(pub String);

impl IdentityHash {
    /// Hashes the identity of a run. Object keys are sorted at every level, so the
    /// same inputs give the same hash regardless of how they were built.
    pub fn of(
        workspace_id: Uuid,
        environment_id: Option<Uuid>,
        run_type: RunType,
        inputs: &Value,
    ) -> Self {
        let mut canonical = String::new();
        canonical.push_str("runproof.run-identity.v1\n");
        canonical.push_str(&workspace_id.to_string());
        canonical.push('\n');
        canonical.push_str(&environment_id.map(|e| e.to_string()).unwrap_or_default());
        canonical.push('\n');
        canonical.push_str(run_type.key());
        canonical.push('\n');
        write_canonical(inputs, &mut canonical);
        IdentityHash(sha256_hex(canonical.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `sha256:` + the lowercase hex digest of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Whether `s` has the `sha256:<64 hex>` form.
pub fn is_sha256(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Serialises JSON with object keys sorted, independent of serde_json's map order.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl TryFrom<String> for IdentityHash {
    type Error = InvalidHash;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if is_sha256(&s) {
            Ok(IdentityHash(s))
        } else {
            Err(InvalidHash(s))
        }
    }
}

impl From<IdentityHash> for String {
    fn from(h: IdentityHash) -> String {
        h.0
    }
}

impl fmt::Display for IdentityHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let ws = Uuid::nil();
        let a = IdentityHash::of(
            ws,
            None,
            RunType::ReportExport,
            &json!({"a": 1, "b": [1, {"y": 2, "x": 1}]}),
        );
        let b = IdentityHash::of(
            ws,
            None,
            RunType::ReportExport,
            &json!({"b": [1, {"x": 1, "y": 2}], "a": 1}),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn scope_type_and_inputs_all_change_the_hash() {
        let ws = Uuid::nil();
        let env = Some(Uuid::from_u128(7));
        let base = IdentityHash::of(ws, env, RunType::ReportExport, &json!({"k": 1}));
        assert_ne!(
            base,
            IdentityHash::of(
                Uuid::from_u128(1),
                env,
                RunType::ReportExport,
                &json!({"k": 1})
            )
        );
        assert_ne!(
            base,
            IdentityHash::of(ws, None, RunType::ReportExport, &json!({"k": 1}))
        );
        assert_ne!(
            base,
            IdentityHash::of(ws, env, RunType::InventorySync, &json!({"k": 1}))
        );
        assert_ne!(
            base,
            IdentityHash::of(ws, env, RunType::ReportExport, &json!({"k": 2}))
        );
    }

    #[test]
    fn the_hash_is_pinned_across_releases() {
        let hash = IdentityHash::of(
            Uuid::from_u128(1),
            Some(Uuid::from_u128(2)),
            RunType::RestoreExecute,
            &json!({"restore_id": "00000000-0000-0000-0000-000000000003"}),
        );
        assert!(is_sha256(hash.as_str()));
        assert_eq!(
            hash.as_str(),
            "sha256:049747494dce150f7d18f1f73abbc7b9984533fb38be55b2d869de8aa1e31f06"
        );
    }

    #[test]
    fn malformed_hashes_are_rejected() {
        assert!(IdentityHash::try_from("sha256:abc".to_string()).is_err());
        assert!(IdentityHash::try_from(format!("md5:{}", "0".repeat(64))).is_err());
        assert!(IdentityHash::try_from(format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
