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
}
