//! The `OperationRun` aggregate: a thin cqrs-es shell over the pure [`OperationRun::decide`].

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::operation_run::commands::{
    limits, CompleteRun, OperationRunCommand, QueueRun, ReconcileRun, StartRun,
    RESERVED_CONTEXT_KEYS,
};
use crate::operation_run::error::OperationRunError;
use crate::operation_run::events::{
    CompletionNote, Failure, OperationRunEvent, RunCompleted, RunQueued, RunReconciled, RunStarted,
};
use crate::operation_run::state::RunState;
use crate::operation_run::status::{RunOutcome, RunStatus, TerminalOutcome};
use crate::reason::Detail;
use crate::reconciliation::ReconciliationSource;
use crate::run_type::RunType;
use crate::text_input::contains_nul;

/// One operation run, as far as its stream has been read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationRun {
    state: Option<RunState>,
    /// The number of events applied: the stream's last sequence number.
    version: u64,
}

impl OperationRun {
    /// The folded state; `None` when the run has no history.
    pub fn state(&self) -> Option<&RunState> {
        self.state.as_ref()
    }

    /// The version (last sequence) of the stream this aggregate was loaded at.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Queued or running.
    pub fn is_active(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.status.is_active())
    }

    /// Decides what a command means for this run: the events to record, or why not.
    /// Pure: no I/O, no clock.
    pub fn decide(
        &self,
        command: OperationRunCommand,
    ) -> Result<Vec<OperationRunEvent>, OperationRunError> {
        match command {
            OperationRunCommand::Queue(cmd) => self.queue(cmd),
            OperationRunCommand::Start(cmd) => self.start(cmd),
            OperationRunCommand::Complete(cmd) => self.complete(cmd),
            OperationRunCommand::Reconcile(cmd) => self.reconcile(cmd),
        }
    }

    fn existing(&self) -> Result<&RunState, OperationRunError> {
        self.state.as_ref().ok_or(OperationRunError::NotFound)
    }

    fn queue(&self, cmd: QueueRun) -> Result<Vec<OperationRunEvent>, OperationRunError> {
        if self.state.is_some() {
            return Err(OperationRunError::AlreadyExists);
        }
        let run_type: RunType = cmd
            .run_type
            .parse()
            .map_err(|_| OperationRunError::UnknownRunType(cmd.run_type.clone()))?;
        let Value::Object(context) = cmd.context else {
            return Err(OperationRunError::InvalidInput(Detail::RunContextNotObject));
        };
        if RESERVED_CONTEXT_KEYS
            .iter()
            .any(|k| context.contains_key(*k))
        {
            return Err(OperationRunError::InvalidInput(
                Detail::RunContextReservedKey,
            ));
        }
        if contains_nul(&Value::Object(context.clone())) {
            return Err(OperationRunError::InvalidInput(
                Detail::RunContextNulCharacter,
            ));
        }
        if Value::Object(context.clone()).to_string().len() > limits::CONTEXT_BYTES {
            return Err(OperationRunError::InvalidInput(Detail::RunContextTooLarge));
        }
        Ok(vec![OperationRunEvent::RunQueued(RunQueued {
            run_id: cmd.run_id,
            workspace_id: cmd.workspace_id,
            environment_id: cmd.environment_id,
            run_type,
            initiator: cmd.initiator,
            identity_hash: cmd.identity_hash,
            context,
            queued_at: cmd.queued_at,
        })])
    }

    fn start(&self, cmd: StartRun) -> Result<Vec<OperationRunEvent>, OperationRunError> {
        match self.existing()?.status {
            RunStatus::Queued => Ok(vec![OperationRunEvent::RunStarted(RunStarted {
                started_at: cmd.started_at,
            })]),
            RunStatus::Running => Err(OperationRunError::AlreadyRunning),
            RunStatus::Completed => Err(OperationRunError::AlreadyCompleted),
        }
    }

    fn complete(&self, cmd: CompleteRun) -> Result<Vec<OperationRunEvent>, OperationRunError> {
        let state = self.existing()?;
        match state.status {
            RunStatus::Queued => Err(OperationRunError::NotStarted),
            RunStatus::Completed => {
                if state.outcome == RunOutcome::from(cmd.outcome) {
                    // Idempotent: the run already ended this way.
                    Ok(vec![])
                } else {
                    Err(OperationRunError::OutcomeConflict {
                        current: terminal(state.outcome),
                        requested: cmd.outcome,
                    })
                }
            }
            RunStatus::Running => {
                validate_summary(&cmd)?;
                let note = cmd
                    .note
                    .unwrap_or_else(|| CompletionNote::implied(&cmd.failures));
                Ok(vec![OperationRunEvent::RunCompleted(RunCompleted {
                    outcome: cmd.outcome,
                    summary: cmd.summary,
                    failures: cmd.failures,
                    completed_at: cmd.completed_at,
                    note,
                })])
            }
        }
    }

    fn reconcile(&self, cmd: ReconcileRun) -> Result<Vec<OperationRunEvent>, OperationRunError> {
        let state = self.existing()?;
        if state.status == RunStatus::Completed {
            return Err(OperationRunError::AlreadyCompleted);
        }
        if cmd.expected_version != self.version {
            return Err(OperationRunError::VersionMismatch {
                expected: cmd.expected_version,
                actual: self.version,
            });
        }
        let r = &cmd.reconciliation;
        match (r.source, &r.adapter) {
            (ReconciliationSource::Adapter, None) => {
                return Err(OperationRunError::InvalidInput(Detail::RunAdapterMissing))
            }
            (ReconciliationSource::Stale, Some(_)) => {
                return Err(OperationRunError::InvalidInput(Detail::RunStaleWithAdapter))
            }
            _ => {}
        }
        Ok(vec![OperationRunEvent::RunReconciled(RunReconciled {
            outcome: r.decision.outcome(),
            completed_at: r.decided_at,
            reconciliation: cmd.reconciliation,
        })])
    }
}

/// The terminal outcome of a completed run (pending cannot occur once completed).
fn terminal(outcome: RunOutcome) -> TerminalOutcome {
    match outcome {
        RunOutcome::Succeeded => TerminalOutcome::Succeeded,
        RunOutcome::PartiallySucceeded => TerminalOutcome::PartiallySucceeded,
        RunOutcome::Blocked => TerminalOutcome::Blocked,
        RunOutcome::Failed | RunOutcome::Pending => TerminalOutcome::Failed,
    }
}

fn validate_summary(cmd: &CompleteRun) -> Result<(), OperationRunError> {
    if cmd.summary.len() > limits::SUMMARY_ENTRIES {
        return Err(OperationRunError::InvalidInput(
            Detail::RunTooManySummaryCounts,
        ));
    }
    let key_ok = |k: &String| {
        !k.is_empty()
            && k.len() <= limits::SUMMARY_KEY_CHARS
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !cmd.summary.keys().all(key_ok) {
        return Err(OperationRunError::InvalidInput(Detail::RunSummaryKey));
    }
    if cmd.failures.len() > limits::FAILURES {
        return Err(OperationRunError::InvalidInput(Detail::RunTooManyFailures));
    }
    if !cmd.failures.iter().all(failure_is_safe) {
        return Err(OperationRunError::InvalidInput(Detail::RunFailureMessage));
    }
    Ok(())
}

fn failure_is_safe(f: &Failure) -> bool {
    f.message.as_deref().is_none_or(|m| {
        !m.trim().is_empty()
            && m.chars().count() <= limits::FAILURE_MESSAGE_CHARS
            && !m.chars().any(char::is_control)
    })
}

impl Aggregate for OperationRun {
    const TYPE: &'static str = "operation_run";
    type Command = OperationRunCommand;
    type Event = OperationRunEvent;
    type Error = OperationRunError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        self.state = RunState::fold(self.state.take(), event);
    }
}
