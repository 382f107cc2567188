//! The adapter contract: gather evidence with scoped reads, then decide purely.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runproof_domain::operation_run::RunState;
use runproof_domain::reconciliation::{AdapterRef, Decision, Evidence};
use runproof_domain::run_type::RunType;

/// Why an adapter could not gather its evidence. The run is left alone this pass.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A scoped read failed; the next pass tries again.
    #[error("adapter read failed")]
    Read(#[from] sqlx::Error),
}

/// Proves a stuck run's real outcome from domain truth.
///
/// An adapter supports exactly one run type. `gather` reads only projection tables, and
/// only records of the run's own scope (its workspace and environment, and whatever
/// identifies its own record). `decide` is a pure function of the evidence — it does no
/// I/O and reads no clock — so every recorded decision can be decided again from its
/// recorded evidence.
#[async_trait]
pub trait ReconciliationAdapter: Send + Sync {
    /// The run type this adapter supports.
    fn run_type(&self) -> RunType;

    /// The adapter's name and version, recorded with each decision.
    fn identity(&self) -> AdapterRef;

    /// The projections `gather` reads. A run is only decided when each of them has
    /// caught up to the run's last event (and none of them is stopped).
    fn reads(&self) -> &'static [&'static str];

    /// Gathers bounded evidence about `run` as of `now` (start from
    /// [`runproof_domain::reconciliation::stale::base_evidence`]).
    async fn gather(&self, run: &RunState, now: DateTime<Utc>) -> Result<Evidence, AdapterError>;

    /// Decides on the evidence alone.
    fn decide(&self, evidence: &Evidence) -> Decision;

    /// Gathers, then decides.
    async fn reconcile(
        &self,
        run: &RunState,
        now: DateTime<Utc>,
    ) -> Result<Decision, AdapterError> {
        let evidence = self.gather(run, now).await?;
        Ok(self.decide(&evidence))
    }
}
