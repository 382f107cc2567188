//! The operation run: one execution of a run type in a scope, from queued to completed.

mod aggregate;
pub mod attention;
pub mod changes;
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
pub(crate) use events::run_completed_1_1;
pub use events::{
    CompletionNote, Failure, OperationRunEvent, RunCompleted, RunQueued, RunReconciled, RunStarted,
};
pub use state::RunState;
pub use status::{RunOutcome, RunStatus, TerminalOutcome, UnknownValue};

#[cfg(test)]
mod tests;
