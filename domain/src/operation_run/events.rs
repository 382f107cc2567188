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
use crate::upcasting::{self, Body};

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
///
/// Version 1.1: `note` is always present, so every terminal event carries its reason
/// (as `RunReconciled` always did). In 1.0 it was optional; the upcaster
/// `run_completed_1_1` gives a 1.0 event without one the note its completion implied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCompleted {
    pub outcome: TerminalOutcome,
    pub summary: BTreeMap<String, u64>,
    pub failures: Vec<Failure>,
    pub completed_at: DateTime<Utc>,
    /// Why the job ended this way and which record it produced or found.
    pub note: CompletionNote,
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

impl CompletionNote {
    /// The note a completion implies when its job names no reason: the first failure's
    /// reason, or `job.no_reason` when it reported none. The aggregate records it for
    /// such completions, and the 1.1 upcaster gives it to 1.0 events.
    pub fn implied(failures: &[Failure]) -> CompletionNote {
        CompletionNote {
            reason_code: failures
                .first()
                .map_or(ReasonCode::JobNoReason, |f| f.reason_code),
            record: None,
        }
    }

    /// Whether the note names a reason (rather than "the job gave none").
    pub fn has_reason(&self) -> bool {
        self.reason_code != ReasonCode::JobNoReason
    }
}

/// Upcaster `RunCompleted` 1.0 → 1.1: a completion without a note gets the note it
/// implied ([`CompletionNote::implied`]); a note that is there stays as it is.
pub(crate) fn run_completed_1_1(mut body: Body) -> Result<Body, &'static str> {
    if body.contains_key("note") {
        return Ok(body);
    }
    let failures: Vec<Failure> = match body.get("failures") {
        Some(v) => Vec::<Failure>::deserialize(v).map_err(|_| "`failures` is malformed")?,
        None => return Err("`failures` is missing"),
    };
    let note = serde_json::to_value(CompletionNote::implied(&failures))
        .map_err(|_| "the note cannot be written")?;
    body.insert("note".into(), note);
    Ok(body)
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

    /// Each run event's version comes from the upcasting registry: a new version is
    /// one entry there.
    fn event_version(&self) -> String {
        upcasting::current_version(self.name()).to_string()
    }
}
