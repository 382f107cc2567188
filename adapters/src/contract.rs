//! The adapter contract: gather evidence with scoped reads, then decide purely.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runproof_domain::operation_run::RunState;
use runproof_domain::reconciliation::{AdapterRef, Decision, Evidence};
use runproof_domain::run_type::RunType;

/// The streams of the records an evidence names: its own record and every considered one.
pub fn record_streams(evidence: &Evidence) -> Vec<StreamRef> {
    evidence
        .record
        .iter()
        .chain(evidence.considered.iter())
        .map(|r| StreamRef {
            aggregate_type: r.kind.stream_type(),
            aggregate_id: r.id.to_string(),
        })
        .collect()
}

/// One event stream, by aggregate type and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamRef {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
}

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

    /// The event streams the evidence comes from, besides the run's own: every stream
    /// whose events could change the evidence, **whether or not a record was found** (a
    /// record the projection does not show yet is exactly the case to catch). A decision
    /// is only recorded when the projections read had applied the last event of each of
    /// them. Name them from the run itself (its context), plus any record the evidence
    /// considered. No default: an adapter must say where its truth comes from.
    fn sources(&self, run: &RunState, evidence: &Evidence) -> Vec<StreamRef>;

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
