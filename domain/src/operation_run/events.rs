//! The facts of a run's life, in the past tense. Each carries every value a reader
//! needs, so replay never recomputes anything.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::identity::IdentityHash;
use crate::initiator::Initiator;
use crate::operation_run::status::TerminalOutcome;
use crate::reason::ReasonCode;
use crate::reconciliation::{Reconciliation, RecordRef};
use crate::run_type::RunType;

/// The schema version of every run event at this release.
pub const RUN_EVENT_VERSION: &str = "1.0";

/// An event of the `operation_run` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperationRunEvent {
    RunQueued(RunQueued),
    RunStarted(RunStarted),
    RunCompleted(RunCompleted),
    RunReconciled(RunReconciled),
}

/// A run was created in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunQueued {
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Option<Uuid>,
    pub run_type: RunType,
    pub initiator: Initiator,
    pub identity_hash: IdentityHash,
    /// Type-specific context (fingerprint, review id, restore id, …).
    pub context: Map<String, Value>,
    pub queued_at: DateTime<Utc>,
}

/// A worker claimed the run and began executing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStarted {
    pub started_at: DateTime<Utc>,
}

/// The run's own job completed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCompleted {
    pub outcome: TerminalOutcome,
    pub summary: BTreeMap<String, u64>,
    pub failures: Vec<Failure>,
    pub completed_at: DateTime<Utc>,
    /// Why the job ended this way and which record it produced, when it says so
    /// (optional field added in 1.0; absent in older events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<CompletionNote>,
}

/// What a job says about how it ended: a catalogued reason and the record it produced
/// or found (e.g. the review a compose run recovered as a duplicate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletionNote {
    pub reason_code: ReasonCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordRef>,
}

/// Something other than the run's job decided its terminal state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReconciled {
    pub outcome: TerminalOutcome,
    pub reconciliation: Reconciliation,
    pub completed_at: DateTime<Utc>,
}

/// One entry of a run's failure summary: a catalogued reason and an optional short,
/// single-line message the job vouches is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub reason_code: ReasonCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl OperationRunEvent {
    /// The event's type name as stored in the log.
    pub fn name(&self) -> &'static str {
        match self {
            OperationRunEvent::RunQueued(_) => "RunQueued",
            OperationRunEvent::RunStarted(_) => "RunStarted",
            OperationRunEvent::RunCompleted(_) => "RunCompleted",
            OperationRunEvent::RunReconciled(_) => "RunReconciled",
        }
    }

    /// When the fact happened, as recorded in the event itself.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            OperationRunEvent::RunQueued(e) => e.queued_at,
            OperationRunEvent::RunStarted(e) => e.started_at,
            OperationRunEvent::RunCompleted(e) => e.completed_at,
            OperationRunEvent::RunReconciled(e) => e.completed_at,
        }
    }
}

impl DomainEvent for OperationRunEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        RUN_EVENT_VERSION.to_string()
    }
}
