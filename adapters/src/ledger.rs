//! The port through which the reconciler reads runs from their streams and records its
//! decisions. The root package implements it with the run lifecycle service, so every
//! terminal write goes through the one lifecycle service.

use async_trait::async_trait;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::RunState;
use runproof_domain::reconciliation::Reconciliation;
use runproof_domain::ReasonCode;
use runproof_projections::LogPosition;
use uuid::Uuid;

/// A run as recorded in its own stream (not a projection).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRun {
    pub state: RunState,
    /// The stream's version (last sequence): the expected version of a decision.
    pub version: u64,
    /// The log position of the run's last event.
    pub last_event: LogPosition,
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The run moved on after it was read (its job completed it, another reconciler
    /// decided it). Nothing was recorded; this is the expected loser's path.
    #[error("the run changed since it was read")]
    Lost,
    /// The domain refused the decision for another reason.
    #[error("decision refused: {0}")]
    Refused(ReasonCode),
    /// The store failed; nothing was recorded.
    #[error("recording failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Reads runs and records reconciliation decisions.
#[async_trait]
pub trait RunLedger: Send + Sync {
    /// The run from its stream; `None` when it has no history.
    async fn load(&self, run_id: Uuid) -> Result<Option<LoadedRun>, RecordError>;

    /// Records `reconciliation` as the run's terminal event, decided at `expected_version`.
    async fn record(
        &self,
        run_id: Uuid,
        expected_version: u64,
        reconciliation: Reconciliation,
        ctx: &CommandContext,
    ) -> Result<(), RecordError>;
}
