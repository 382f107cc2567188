//! Why a run command was rejected. Each variant says what a caller should do.

use crate::lang::Lang;
use crate::operation_run::status::TerminalOutcome;
use crate::reason::{Detail, ReasonCode};

/// A domain rejection of a run command. Nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationRunError {
    /// The run type is not in the catalogue: fix the input.
    #[error("unknown run type `{0}`")]
    UnknownRunType(String),
    /// Queue for an id that has a history: use a new id, or ensure instead of queue.
    #[error("run already exists")]
    AlreadyExists,
    /// The run has no history: check the id.
    #[error("run not found")]
    NotFound,
    /// Start for a run that is running: another worker owns it; leave it.
    #[error("run is already running")]
    AlreadyRunning,
    /// The run is completed: nothing more can happen to it.
    #[error("run is already completed")]
    AlreadyCompleted,
    /// Complete for a queued run: start it first (or let the reconciler end it).
    #[error("run was never started")]
    NotStarted,
    /// A second completion asked for another outcome: outcomes never flip.
    #[error("run already completed as {current}, not {requested}")]
    OutcomeConflict {
        current: TerminalOutcome,
        requested: TerminalOutcome,
    },
    /// The decision was made on an older version: re-read the run and decide again.
    #[error("run changed since the decision (expected version {expected}, found {actual})")]
    VersionMismatch { expected: u64, actual: u64 },
    /// Input outside its bounds: fix the input. The detail says which bound.
    #[error("invalid run input: {}", .0.text(Lang::En))]
    InvalidInput(Detail),
}

impl OperationRunError {
    /// The catalogued reason for this rejection.
    pub fn reason(&self) -> ReasonCode {
        match self {
            OperationRunError::UnknownRunType(_) => ReasonCode::RunUnknownType,
            OperationRunError::AlreadyExists => ReasonCode::RunAlreadyExists,
            OperationRunError::NotFound => ReasonCode::RunNotFound,
            OperationRunError::AlreadyRunning => ReasonCode::RunAlreadyRunning,
            OperationRunError::AlreadyCompleted => ReasonCode::RunAlreadyCompleted,
            OperationRunError::NotStarted => ReasonCode::RunNotStarted,
            OperationRunError::OutcomeConflict { .. } => ReasonCode::RunOutcomeConflict,
            OperationRunError::VersionMismatch { .. } => ReasonCode::RunVersionMismatch,
            OperationRunError::InvalidInput(_) => ReasonCode::RunInvalidInput,
        }
    }
}
