//! The review-compose adapter: proves an `environment.review.compose` run from the
//! reviews of its own workspace, environment and fingerprint — nothing else is read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::operation_run::{RunState, RunStatus};
use runproof_domain::reconciliation::{
    review_compose, stale, AdapterRef, Decision, Evidence, ReadScope, RecordKind, RecordRef,
    RecordStatus,
};
use runproof_domain::review::{slot_stream, ReviewStatus};
use runproof_domain::run_type::RunType;
use runproof_projections::{environment_reviews, operation_runs};
use sqlx::PgPool;

use crate::contract::{record_streams, AdapterError, ReconciliationAdapter, StreamRef};

pub const NAME: &str = "review-compose";
pub const VERSION: &str = "1.0.0";

/// The context key under which a compose run names the fingerprint it composes.
pub const FINGERPRINT_KEY: &str = "fingerprint";

/// Proves compose runs from `environment_reviews`.
#[derive(Clone)]
pub struct ReviewComposeAdapter {
    pool: PgPool,
}

impl ReviewComposeAdapter {
    pub fn new(pool: PgPool) -> Self {
        ReviewComposeAdapter { pool }
    }
}

#[async_trait]
impl ReconciliationAdapter for ReviewComposeAdapter {
    fn run_type(&self) -> RunType {
        RunType::EnvironmentReviewCompose
    }

    fn identity(&self) -> AdapterRef {
        AdapterRef {
            name: NAME.to_string(),
            version: VERSION.to_string(),
        }
    }

    fn reads(&self) -> &'static [&'static str] {
        &["environment_reviews", "operation_runs"]
    }

    /// Candidates are the reviews with the run's workspace **and** environment **and**
    /// fingerprint; for a draft held by another run, that run's status is added. The
    /// evidence's scope names that workspace and environment and every record read.
    async fn gather(&self, run: &RunState, now: DateTime<Utc>) -> Result<Evidence, AdapterError> {
        let mut evidence = stale::base_evidence(run, now);
        let fingerprint = run
            .context
            .get(FINGERPRINT_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| Fingerprint::try_from(s).ok());
        let (Some(fingerprint), Some(environment_id)) = (fingerprint, run.environment_id) else {
            return Ok(evidence);
        };
        let mut conn = self.pool.acquire().await?;
        let candidates = environment_reviews::candidates(
            &mut conn,
            run.workspace_id,
            environment_id,
            &fingerprint,
        )
        .await?;
        for c in &candidates {
            let review = RecordRef {
                kind: RecordKind::EnvironmentReview,
                id: c.state.id,
                status: c.state.status.record_status(),
            };
            evidence.considered.push(review);
            if c.state.run_id == run.id {
                evidence.record = Some(review);
            } else if c.state.status == ReviewStatus::Draft {
                let holder = operation_runs::get(&mut conn, c.state.run_id)
                    .await?
                    .filter(|r| {
                        r.state.workspace_id == run.workspace_id
                            && r.state.environment_id == run.environment_id
                    });
                if let Some(h) = holder {
                    evidence.considered.push(RecordRef {
                        kind: RecordKind::OperationRun,
                        id: h.state.id,
                        status: match h.state.status {
                            RunStatus::Queued => RecordStatus::Queued,
                            RunStatus::Running => RecordStatus::Running,
                            RunStatus::Completed => RecordStatus::Completed,
                        },
                    });
                }
            }
        }
        evidence.fingerprint = Some(fingerprint);
        evidence.scope = Some(ReadScope::new(
            run.workspace_id,
            Some(environment_id),
            evidence.considered.iter().map(|r| r.id),
        ));
        Ok(evidence)
    }

    fn decide(&self, evidence: &Evidence) -> Decision {
        review_compose::decide(evidence)
    }

    /// Every considered review and run, and the fingerprint's slot stream: a review is
    /// drafted together with its slot claim, so a draft the projection does not show yet
    /// has moved the slot past the projection's checkpoint.
    fn sources(&self, run: &RunState, evidence: &Evidence) -> Vec<StreamRef> {
        let mut sources = record_streams(evidence);
        let fingerprint = run
            .context
            .get(FINGERPRINT_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| Fingerprint::try_from(s).ok());
        if let (Some(fingerprint), Some(environment_id)) = (&fingerprint, run.environment_id) {
            let (aggregate_type, aggregate_id) =
                slot_stream(run.workspace_id, environment_id, fingerprint);
            sources.push(StreamRef {
                aggregate_type,
                aggregate_id,
            });
        }
        sources
    }
}
