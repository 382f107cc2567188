//! The operation run: one execution of a run type in a scope, from queued to completed.

mod aggregate;
mod commands;
mod error;
mod events;
mod state;
mod status;

pub use aggregate::OperationRun;
pub use commands::{
    limits, CompleteRun, OperationRunCommand, QueueRun, ReconcileRun, StartRun,
    RESERVED_CONTEXT_KEYS,
};
pub use error::OperationRunError;
pub use events::{
    CompletionNote, Failure, OperationRunEvent, RunCompleted, RunQueued, RunReconciled, RunStarted,
    RUN_EVENT_VERSION,
};
pub use state::RunState;
pub use status::{RunOutcome, RunStatus, TerminalOutcome, UnknownValue};

#[cfg(test)]
mod tests;
