//! The compose worker: claims queued compose runs and executes each exactly once.
//!
//! A queued run in the log is the work item. A worker claims it by appending its start
//! event; the event store's concurrency check lets exactly one claimant win, so any
//! number of workers may run. Execution:
//!
//! 1. pre-compose check — a ready review with the run's fingerprint already exists:
//!    complete as "duplicate recovered", no new review;
//! 2. claim the fingerprint slot and create the draft (one transaction) — a lost race
//!    goes through the review-compose adapter's decision;
//! 3. compose the content from the snapshot (an error fails review and run);
//! 4. mark the review ready;
//! 5. post-compose check (same workspace, environment, fingerprint, ready) — complete
//!    the run as succeeded through the lifecycle service.
//!
//! Named failpoints (with the `failpoints` feature): `compose.after_slot_claim`,
//! `compose.after_draft_created`, `compose.inside_compose`,
//! `compose.before_run_complete`. See docs/review-compose.md.

use std::sync::Arc;
use std::time::Duration;

use runproof_adapters::review_compose::ReviewComposeAdapter;
use runproof_adapters::{ReconciliationAdapter, RunLedger};
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{CompletionNote, Failure, OperationRunError, TerminalOutcome};
use runproof_domain::reconciliation::{
    Decision, Reconciliation, ReconciliationSource, RecordKind, RecordRef,
};
use runproof_domain::review::ReviewStatus;
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde::Serialize;
use sqlx::PgPool;
use tracing::{info, info_span, warn, Instrument};
use uuid::Uuid;

use super::{Claim, ComposeError, ComposeJob, ReviewService};
use crate::clock::Clock;
use crate::lifecycle::{LifecycleError, RunLifecycle};
use crate::service_error::ServiceError;

/// Runs claimed per poll of the queue.
const CLAIM_BATCH: i64 = 16;

/// What executing one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Executed {
    /// A new (or retried) review was composed and the run succeeded.
    Composed { review_id: Uuid },
    /// A ready review with the fingerprint existed; the run succeeded without a new one.
    DuplicateRecovered { review_id: Uuid },
    /// Composing failed; the review and the run are failed.
    Failed { review_id: Uuid },
    /// Another run held the draft; the adapter decided (or left it for later).
    LostRace { decided: Option<ReasonCode> },
    /// The run's context names no fingerprint or snapshot: failed with that reason.
    Unexecutable { reason: ReasonCode },
    /// Executing failed part-way (the database failed); the run stays running and the
    /// reconciler decides it from what was recorded.
    Interrupted,
}

/// Why a run could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("reading the queue failed")]
    Queue(#[from] sqlx::Error),
    /// The start event could not be appended: the run was not claimed.
    #[error("the run could not be claimed")]
    NotClaimed(#[source] LifecycleError),
}

/// The compose worker.
#[derive(Clone)]
pub struct ComposeWorker {
    pool: PgPool,
    reviews: ReviewService,
    lifecycle: RunLifecycle,
    adapter: Arc<ReviewComposeAdapter>,
    clock: Arc<dyn Clock>,
}

fn worker_context() -> CommandContext {
    CommandContext::new(Initiator::system("worker"))
}

impl ComposeWorker {
    pub fn new(
        pool: PgPool,
        reviews: ReviewService,
        lifecycle: RunLifecycle,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ComposeWorker {
            adapter: Arc::new(ReviewComposeAdapter::new(pool.clone())),
            pool,
            reviews,
            lifecycle,
            clock,
        }
    }

    /// Claims and executes queued compose runs until none is left.
    pub async fn run_until_idle(&self) -> Result<Vec<(Uuid, Executed)>, WorkerError> {
        self.run_until(&|| false, &mut |_, _| {}).await
    }

    /// Executes queued runs until none is left or `stop()` says so (checked before each
    /// run). A run that fails part-way is reported and left to the reconciler; the round
    /// goes on with the next one.
    async fn run_until(
        &self,
        stop: &(dyn Fn() -> bool + Sync),
        on_run: &mut (dyn FnMut(Uuid, &Executed) + Send),
    ) -> Result<Vec<(Uuid, Executed)>, WorkerError> {
        let mut done = Vec::new();
        loop {
            let mut queued: Vec<Uuid> = sqlx::query_scalar(
                "SELECT id FROM operation_runs WHERE status = 'queued' AND run_type = $1 ORDER BY created_at, id LIMIT $2",
            )
            .bind(RunType::EnvironmentReviewCompose.key())
            .bind(CLAIM_BATCH)
            .fetch_all(&self.pool)
            .await?;
            if queued.is_empty() {
                return Ok(done);
            }
            // Workers polling together would all try the same first run; start each at a
            // different place in the list (a claim that loses costs one failed append).
            let offset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() as usize)
                .unwrap_or(0);
            let len = queued.len();
            queued.rotate_left(offset % len);
            let mut claimed_any = false;
            for run_id in queued {
                if stop() {
                    return Ok(done);
                }
                let executed = match self.claim_and_execute(run_id).await {
                    Ok(Some(executed)) => executed,
                    Ok(None) => continue,
                    Err(WorkerError::NotClaimed(e)) => {
                        warn!(run_id = %run_id, error = %e, "could not claim the run; it stays queued");
                        continue;
                    }
                    Err(e) => {
                        warn!(run_id = %run_id, error = %e, "compose run interrupted; the reconciler will decide it");
                        Executed::Interrupted
                    }
                };
                claimed_any = true;
                on_run(run_id, &executed);
                done.push((run_id, executed));
            }
            if !claimed_any {
                // Every listed run was claimed elsewhere; the projection will catch up.
                return Ok(done);
            }
        }
    }

    /// Polls the queue every `interval` until `stop` resolves; a stop that arrives while
    /// a run executes takes effect after that run.
    pub async fn watch(
        &self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
        mut on_run: impl FnMut(Uuid, &Executed) + Send,
    ) {
        let (tx, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            let _ = tx.send(true);
        });
        loop {
            let flag = stopped.clone();
            let stop_now = move || *flag.borrow();
            if let Err(e) = self.run_until(&stop_now, &mut on_run).await {
                warn!(error = %e, "worker round failed; retrying next round");
            }
            if *stopped.borrow() {
                return;
            }
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Claims `run_id` (appends its start event) and executes it; `None` when another
    /// worker claimed it first.
    pub async fn claim_and_execute(&self, run_id: Uuid) -> Result<Option<Executed>, WorkerError> {
        let ctx = worker_context();
        match self.lifecycle.start(run_id, &ctx).await {
            Ok(_) => {}
            Err(LifecycleError::Conflict(_))
            | Err(LifecycleError::Rejected {
                source: OperationRunError::AlreadyRunning | OperationRunError::AlreadyCompleted,
                ..
            }) => return Ok(None),
            Err(e) => return Err(WorkerError::NotClaimed(e)),
        }
        let span = info_span!("worker.compose", run_id = %run_id);
        let executed = self.execute(run_id, &ctx).instrument(span).await?;
        info!(run_id = %run_id, result = ?executed, "compose run executed");
        Ok(Some(executed))
    }

    async fn execute(&self, run_id: Uuid, ctx: &CommandContext) -> Result<Executed, WorkerError> {
        let job = match self.reviews.job_of(run_id).await {
            Ok(job) => job,
            // A compose run that names no fingerprint or snapshot cannot be executed.
            Err(ServiceError::Refused { reason, .. }) => {
                self.lifecycle
                    .complete(
                        run_id,
                        TerminalOutcome::Failed,
                        Default::default(),
                        vec![Failure {
                            reason_code: reason,
                            message: None,
                        }],
                        ctx,
                    )
                    .await?;
                return Ok(Executed::Unexecutable { reason });
            }
            Err(e) => return Err(e.into()),
        };

        // 1. Pre-compose check.
        if let Some(review_id) = self
            .reviews
            .ready_review(job.workspace_id, job.environment_id, &job.fingerprint)
            .await?
        {
            return self.duplicate_recovered(&job, review_id, ctx).await;
        }

        // 2. Claim the fingerprint slot and create the draft.
        let (review_id, version) = match self.reviews.claim(&job, ctx).await? {
            Claim::Drafted { review_id, version } => (review_id, version),
            Claim::Available(review_id) => {
                return self.duplicate_recovered(&job, review_id, ctx).await
            }
            Claim::HeldElsewhere(_) => return self.settle_by_adapter(run_id, ctx).await,
        };
        fail::fail_point!("compose.after_slot_claim", |_| std::process::abort());
        self.reviews.wait_visible(review_id, version).await;
        fail::fail_point!("compose.after_draft_created", |_| std::process::abort());

        // 3. Compose.
        let content = match self.reviews.compose_content(&job).await {
            Ok(content) => content,
            Err(ComposeError::Failed(_)) => {
                self.reviews.mark_failed(review_id, &job, ctx).await?;
                self.lifecycle
                    .complete_with_note(
                        run_id,
                        TerminalOutcome::Failed,
                        vec![Failure {
                            reason_code: ReasonCode::ReviewComposeFailed,
                            message: None,
                        }],
                        note(
                            ReasonCode::ReviewComposeFailed,
                            review_id,
                            ReviewStatus::Failed,
                        ),
                        ctx,
                    )
                    .await?;
                return Ok(Executed::Failed { review_id });
            }
            Err(ComposeError::Store(e)) => return Err(WorkerError::Queue(e)),
        };

        // 4. Mark the review ready.
        self.reviews
            .mark_ready(review_id, &job, content, ctx)
            .await?;
        fail::fail_point!("compose.before_run_complete", |_| std::process::abort());

        // 5. Post-compose check, then complete the run.
        let review = self.reviews.load(review_id).await?;
        let proven = review.is_some_and(|r| {
            r.workspace_id == job.workspace_id
                && r.environment_id == job.environment_id
                && r.fingerprint == job.fingerprint
                && r.status.is_available()
        });
        if !proven {
            return self.settle_by_adapter(run_id, ctx).await;
        }
        self.lifecycle
            .complete_with_note(
                run_id,
                TerminalOutcome::Succeeded,
                vec![],
                note(ReasonCode::ReviewReady, review_id, ReviewStatus::Ready),
                ctx,
            )
            .await?;
        Ok(Executed::Composed { review_id })
    }

    async fn duplicate_recovered(
        &self,
        job: &ComposeJob,
        review_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        self.lifecycle
            .complete_with_note(
                job.run_id,
                TerminalOutcome::Succeeded,
                vec![],
                note(
                    ReasonCode::ReviewDuplicateRecovered,
                    review_id,
                    ReviewStatus::Ready,
                ),
                ctx,
            )
            .await?;
        Ok(Executed::DuplicateRecovered { review_id })
    }

    /// A lost slot race: the run is decided by the review-compose adapter's decision
    /// table (written as the run's reconcile event), or left for the reconciler when
    /// nothing is provable yet.
    async fn settle_by_adapter(
        &self,
        run_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        let Some(run) = self
            .lifecycle
            .load_for_reconciliation(run_id)
            .await
            .map_err(|e| ServiceError::Store(Box::new(e)))?
        else {
            return Ok(Executed::LostRace { decided: None });
        };
        let now = self.clock.now();
        let decision = self
            .adapter
            .reconcile(&run.state, now)
            .await
            .map_err(|e| ServiceError::Store(Box::new(e)))?;
        let Decision::Decided {
            kind,
            reason,
            evidence,
        } = decision
        else {
            return Ok(Executed::LostRace { decided: None });
        };
        let reconciliation = Reconciliation {
            source: ReconciliationSource::Adapter,
            adapter: Some(self.adapter.identity()),
            decision: kind,
            reason_code: reason,
            evidence,
            decided_at: now,
        };
        match RunLedger::record(&self.lifecycle, run_id, run.version, reconciliation, ctx).await {
            Ok(()) => Ok(Executed::LostRace {
                decided: Some(reason),
            }),
            Err(runproof_adapters::RecordError::Lost) => Ok(Executed::LostRace { decided: None }),
            Err(e) => Err(ServiceError::Store(Box::new(e)).into()),
        }
    }
}

fn note(reason_code: ReasonCode, review_id: Uuid, status: ReviewStatus) -> CompletionNote {
    CompletionNote {
        reason_code,
        record: Some(RecordRef {
            kind: RecordKind::EnvironmentReview,
            id: review_id,
            status: status.record_status(),
        }),
    }
}
