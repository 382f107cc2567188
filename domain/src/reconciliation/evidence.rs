//! Bounded evidence: the only facts a reconciliation may record.
//!
//! Every field is an identifier, a closed enumeration, a hash or a timestamp. There is
//! no free-text field, so a raw payload, a URL, a token, an SQL statement or a driver
//! error cannot be expressed — not by a careless adapter and not by a crafted event
//! (unknown fields are rejected when an event is read).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::fingerprint::Fingerprint;
use crate::operation_run::RunStatus;
use crate::run_type::StaleThresholds;

/// The kind of domain record that was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    EnvironmentReview,
    Restore,
    /// Another run (for example the one holding a draft).
    OperationRun,
}

impl RecordKind {
    /// The event stream (aggregate type) a record of this kind is folded from; a record's
    /// stream id is its id.
    pub fn stream_type(self) -> &'static str {
        use cqrs_es::Aggregate;
        match self {
            RecordKind::EnvironmentReview => crate::review::EnvironmentReview::TYPE,
            RecordKind::Restore => crate::restore::Restore::TYPE,
            RecordKind::OperationRun => crate::operation_run::OperationRun::TYPE,
        }
    }
}

/// The state a considered record was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Draft,
    Ready,
    Published,
    Archived,
    Superseded,
    Queued,
    Running,
    Completed,
    CompletedWithErrors,
    Failed,
}

/// A record that was considered, by kind, id and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    pub kind: RecordKind,
    pub id: Uuid,
    pub status: RecordStatus,
}

/// Which moment a recorded timestamp marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLabel {
    RunQueuedAt,
    RunStartedAt,
    StaleSince,
    EvaluatedAt,
    RecordUpdatedAt,
}

/// What an adapter's reads were confined to: the workspace and environment it read in
/// and the records its reads were keyed on or returned. Recorded so that an auditor can
/// check that a proof came from the run's own scope (`runproof audit redecide`).
///
/// An addition to the evidence schema, versioned on its own ([`ReadScope::VERSION`]):
/// evidence recorded before it has no `scope` and still decodes; the decision functions
/// never read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadScope {
    /// The shape of this scope ([`ReadScope::VERSION`] when written now).
    pub version: u32,
    pub workspace_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<Uuid>,
    /// The ids of the records the reads were keyed on or returned, in id order, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_ids: Vec<Uuid>,
}

impl ReadScope {
    /// The version of the scope written now.
    pub const VERSION: u32 = 1;

    /// A scope of the current version; `record_ids` are sorted and made unique.
    pub fn new(
        workspace_id: Uuid,
        environment_id: Option<Uuid>,
        record_ids: impl IntoIterator<Item = Uuid>,
    ) -> Self {
        let mut record_ids: Vec<Uuid> = record_ids.into_iter().collect();
        record_ids.sort_unstable();
        record_ids.dedup();
        ReadScope {
            version: Self::VERSION,
            workspace_id,
            environment_id,
            record_ids,
        }
    }
}

/// Evidence behind a reconciliation decision.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<Uuid>,
    /// The run's status when it was evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_status: Option<RunStatus>,
    /// The record whose state decided the run (its own review or restore record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordRef>,
    /// The fingerprint the candidates were matched on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// Every candidate record that was considered, in id order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub considered: Vec<RecordRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timestamps: BTreeMap<TimeLabel, DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<StaleThresholds>,
    /// What the adapter's reads were confined to; absent in evidence recorded before it
    /// was kept, and when the adapter read nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ReadScope>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_type::RunType;
    use serde_json::{json, Value};

    fn full() -> Evidence {
        let mut e = Evidence {
            workspace_id: Some(Uuid::from_u128(1)),
            environment_id: Some(Uuid::from_u128(2)),
            run_status: Some(RunStatus::Running),
            record: Some(RecordRef {
                kind: RecordKind::EnvironmentReview,
                id: Uuid::from_u128(3),
                status: RecordStatus::Ready,
            }),
            fingerprint: Some(Fingerprint::try_from(format!("sha256:{}", "a".repeat(64))).unwrap()),
            considered: vec![RecordRef {
                kind: RecordKind::EnvironmentReview,
                id: Uuid::from_u128(4),
                status: RecordStatus::Published,
            }],
            thresholds: Some(RunType::RestoreExecute.thresholds()),
            scope: Some(ReadScope::new(
                Uuid::from_u128(1),
                Some(Uuid::from_u128(2)),
                [Uuid::from_u128(4), Uuid::from_u128(3), Uuid::from_u128(4)],
            )),
            ..Evidence::default()
        };
        e.timestamps.insert(
            TimeLabel::EvaluatedAt,
            DateTime::from_timestamp(0, 0).unwrap(),
        );
        e
    }

    /// Every leaf of the JSON, with its path.
    fn leaves(path: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| leaves(&format!("{path}.{k}"), v, out)),
            Value::Array(a) => a.iter().for_each(|v| leaves(&format!("{path}[]"), v, out)),
            other => out.push((path.to_string(), other.clone())),
        }
    }

    #[test]
    fn evidence_has_only_the_allowed_fields() {
        let json = serde_json::to_value(full()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let allowed = [
            "workspace_id",
            "environment_id",
            "run_status",
            "record",
            "fingerprint",
            "considered",
            "timestamps",
            "thresholds",
            "scope",
        ];
        assert!(keys.iter().all(|k| allowed.contains(k)), "{keys:?}");
    }

    #[test]
    fn every_value_in_evidence_is_an_id_an_enumeration_a_hash_a_time_or_a_number() {
        let mut out = Vec::new();
        leaves("", &serde_json::to_value(full()).unwrap(), &mut out);
        for (path, value) in out {
            match value {
                Value::Number(_) => {}
                Value::String(s) => {
                    let ok = Uuid::parse_str(&s).is_ok()
                        || crate::identity::is_sha256(&s)
                        || chrono::DateTime::parse_from_rfc3339(&s).is_ok()
                        || s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                    assert!(ok, "{path} holds free text: {s}");
                }
                other => panic!("{path} holds {other}"),
            }
        }
    }

    #[test]
    fn forbidden_fields_cannot_be_smuggled_in() {
        for field in [
            "payload", "sql", "error", "token", "url", "snapshot", "message",
        ] {
            let mut v = serde_json::to_value(full()).unwrap();
            v[field] = json!("SELECT * FROM secrets; https://x/?sig=abc");
            assert!(
                serde_json::from_value::<Evidence>(v).is_err(),
                "{field} was accepted"
            );
        }
        let mut nested = serde_json::to_value(full()).unwrap();
        nested["record"]["note"] = json!("duplicate key value violates unique constraint");
        assert!(serde_json::from_value::<Evidence>(nested).is_err());
    }

    #[test]
    fn a_fingerprint_must_be_a_hash_and_a_status_must_be_known() {
        let mut v = serde_json::to_value(full()).unwrap();
        v["fingerprint"] = json!("DROP TABLE environment_reviews");
        assert!(serde_json::from_value::<Evidence>(v).is_err());
        let mut v = serde_json::to_value(full()).unwrap();
        v["record"]["status"] = json!("ERROR: connection reset");
        assert!(serde_json::from_value::<Evidence>(v).is_err());
        let mut v = serde_json::to_value(full()).unwrap();
        v["timestamps"]["raw_sql"] = json!("2026-01-01T00:00:00Z");
        assert!(serde_json::from_value::<Evidence>(v).is_err());
    }

    #[test]
    fn evidence_recorded_before_the_scope_was_kept_still_decodes() {
        let mut v = serde_json::to_value(full()).unwrap();
        v.as_object_mut().unwrap().remove("scope");
        let old: Evidence = serde_json::from_value(v).unwrap();
        assert_eq!(old.scope, None);
        assert_eq!(old.workspace_id, full().workspace_id);
    }

    #[test]
    fn a_scope_lists_each_record_once_in_id_order_and_rejects_unknown_fields() {
        let scope = full().scope.unwrap();
        assert_eq!(scope.version, ReadScope::VERSION);
        assert_eq!(
            scope.record_ids,
            vec![Uuid::from_u128(3), Uuid::from_u128(4)]
        );
        let mut v = serde_json::to_value(full()).unwrap();
        v["scope"]["query"] = json!("SELECT * FROM restore_runs");
        assert!(serde_json::from_value::<Evidence>(v).is_err());
    }

    #[test]
    fn evidence_round_trips() {
        let e = full();
        let back: Evidence = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
