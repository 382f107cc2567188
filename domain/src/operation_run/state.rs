//! The state of one run, folded from its events. The aggregate decides on it and the
//! `operation_runs` projection stores it: both use this one fold.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::identity::IdentityHash;
use crate::initiator::Initiator;
use crate::operation_run::events::{CompletionNote, Failure, OperationRunEvent, RunQueued};
use crate::operation_run::status::{RunOutcome, RunStatus};
use crate::reconciliation::Reconciliation;
use crate::run_type::RunType;

/// Everything recorded about a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Option<Uuid>,
    pub run_type: RunType,
    pub status: RunStatus,
    pub outcome: RunOutcome,
    pub initiator: Initiator,
    pub identity_hash: IdentityHash,
    pub context: Map<String, Value>,
    pub summary: BTreeMap<String, u64>,
    pub failures: Vec<Failure>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub reconciliation: Option<Reconciliation>,
    /// What the run's own job said when it completed it (always set once its job
    /// completed it; `None` while active or when a reconciler decided it).
    pub completion: Option<CompletionNote>,
}

impl RunState {
    /// The state right after the run was queued.
    pub fn queued(e: RunQueued) -> Self {
        RunState {
            id: e.run_id,
            workspace_id: e.workspace_id,
            environment_id: e.environment_id,
            run_type: e.run_type,
            status: RunStatus::Queued,
            outcome: RunOutcome::Pending,
            initiator: e.initiator,
            identity_hash: e.identity_hash,
            context: e.context,
            summary: BTreeMap::new(),
            failures: Vec::new(),
            created_at: e.queued_at,
            started_at: None,
            completed_at: None,
            reconciliation: None,
            completion: None,
        }
    }

    /// Folds one later event into the state. A second `RunQueued` is ignored: the
    /// aggregate never emits one, and the fold must stay total for replay.
    pub fn apply(&mut self, event: OperationRunEvent) {
        match event {
            OperationRunEvent::RunQueued(_) => {}
            OperationRunEvent::RunStarted(e) => {
                self.status = RunStatus::Running;
                self.started_at = Some(e.started_at);
            }
            OperationRunEvent::RunCompleted(e) => {
                self.status = RunStatus::Completed;
                self.outcome = e.outcome.into();
                self.summary = e.summary;
                self.failures = e.failures;
                self.completed_at = Some(e.completed_at);
                self.completion = Some(e.note);
            }
            OperationRunEvent::RunReconciled(e) => {
                self.status = RunStatus::Completed;
                self.outcome = e.outcome.into();
                self.completed_at = Some(e.completed_at);
                self.reconciliation = Some(e.reconciliation);
            }
        }
    }

    /// Folds an event into an optional state (`None` before the run was queued).
    pub fn fold(state: Option<RunState>, event: OperationRunEvent) -> Option<RunState> {
        match (state, event) {
            (None, OperationRunEvent::RunQueued(e)) => Some(RunState::queued(e)),
            (None, _) => None,
            (Some(mut s), e) => {
                s.apply(e);
                Some(s)
            }
        }
    }
}
