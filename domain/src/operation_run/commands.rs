//! What can be asked of a run. Commands carry every value the decision needs,
//! including the time: the aggregate never reads a clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::identity::IdentityHash;
use crate::initiator::Initiator;
use crate::operation_run::events::{CompletionNote, Failure};
use crate::operation_run::status::TerminalOutcome;
use crate::reconciliation::Reconciliation;

/// A command to the `operation_run` aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationRunCommand {
    Queue(QueueRun),
    Start(StartRun),
    Complete(CompleteRun),
    Reconcile(ReconcileRun),
}

/// Create the run in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRun {
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Option<Uuid>,
    /// Checked against the catalogue; an unknown key is rejected.
    pub run_type: String,
    pub initiator: Initiator,
    pub identity_hash: IdentityHash,
    /// Must be a JSON object; `reconciliation` is reserved.
    pub context: Value,
    pub queued_at: DateTime<Utc>,
}

/// A worker claims the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRun {
    pub started_at: DateTime<Utc>,
}

/// The run's own job reports how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteRun {
    pub outcome: TerminalOutcome,
    pub summary: BTreeMap<String, u64>,
    pub failures: Vec<Failure>,
    pub completed_at: DateTime<Utc>,
    pub note: Option<CompletionNote>,
}

/// A reconciler ends the run on a decision made at `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileRun {
    /// The run version the decision was made on; a newer run rejects the command.
    pub expected_version: u64,
    pub reconciliation: Reconciliation,
}

impl CompleteRun {
    /// A completion with no counts and no failures.
    pub fn with_outcome(outcome: TerminalOutcome, completed_at: DateTime<Utc>) -> Self {
        CompleteRun {
            outcome,
            summary: BTreeMap::new(),
            failures: Vec::new(),
            completed_at,
            note: None,
        }
    }
}

/// Keys the run context may not use: they are filled by the projection.
pub const RESERVED_CONTEXT_KEYS: &[&str] = &["reconciliation", "completion"];

/// Bounds on what a run may carry, so a run row stays small and safe to show.
pub mod limits {
    /// Serialised context size.
    pub const CONTEXT_BYTES: usize = 16 * 1024;
    /// Entries in the summary counts.
    pub const SUMMARY_ENTRIES: usize = 32;
    /// Length of a summary key (`[a-z0-9_]`).
    pub const SUMMARY_KEY_CHARS: usize = 48;
    /// Entries in the failure summary.
    pub const FAILURES: usize = 50;
    /// Length of a failure message (one line, no control characters).
    pub const FAILURE_MESSAGE_CHARS: usize = 240;
}
