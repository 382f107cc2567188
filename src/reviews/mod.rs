//! The review service: the feedback of a compose request, the steps of composing a
//! review (used by the compose worker), and publishing and archiving.

mod publish;
pub mod worker;

use std::sync::Arc;

use runproof_domain::environment::ManagedEnvironment;
use runproof_domain::findings::FindingsDocument;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::OperationRun;
use runproof_domain::reason::Detail;
use runproof_domain::review::{
    choose, compose, slot_key, ClaimReviewSlot, DraftReview, EnvironmentReview, ReviewCommand,
    ReviewContent, ReviewError, ReviewSlot, ReviewState, ReviewStatus, SlotChoice,
    COMPOSER_VERSION,
};
use runproof_domain::run_type::RunType;
use runproof_domain::workspace::Workspace;
use runproof_domain::ReasonCode;
use runproof_projections::{environment_reviews, evidence_snapshots};
use serde_json::json;
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::{NewEvent, StoreError};
use crate::lifecycle::{EnsureRun, Ensured, RunLifecycle};
use crate::service_error::ServiceError;
use crate::writer::{WriteError, Writer};

/// How many times a slot claim re-reads after losing a race.
const CLAIM_ATTEMPTS: usize = 8;

/// The answer to a compose request. Each names what to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "feedback", rename_all = "snake_case")]
pub enum Feedback {
    /// A compose run was queued.
    Queued { run_id: Uuid },
    /// A compose run for the same evidence is already queued or running.
    AlreadyRunning { run_id: Uuid },
    /// A ready review of the same evidence exists; nothing was started.
    AlreadyAvailable { review_id: Uuid },
}

/// What a compose run is asked to do, from its recorded context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeJob {
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub fingerprint: Fingerprint,
    pub snapshot_id: Uuid,
}

/// The outcome of claiming the fingerprint slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This run holds a draft (new, retried or its own from before).
    Drafted { review_id: Uuid, version: u64 },
    /// A ready review with the fingerprint exists.
    Available(Uuid),
    /// Another run holds the draft.
    HeldElsewhere(Uuid),
}

/// Composing the content failed; the review becomes `failed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the review could not be composed from its snapshot")]
pub struct ComposeFailure;

/// The review service.
#[derive(Clone)]
pub struct ReviewService {
    writer: Writer,
    lifecycle: RunLifecycle,
    clock: Arc<dyn Clock>,
}

fn not_found(reason: ReasonCode, key: &'static str, id: Uuid) -> ServiceError {
    ServiceError::refused(reason, vec![(key, id.to_string())])
}

impl ReviewService {
    pub fn new(writer: Writer, lifecycle: RunLifecycle, clock: Arc<dyn Clock>) -> Self {
        ReviewService {
            writer,
            lifecycle,
            clock,
        }
    }

    /// Create or refresh the review of an environment for `actor`: "already available"
    /// when a ready review of the current evidence exists, "already running" when a
    /// compose run for it is active, otherwise one queued compose run. A workspace the
    /// actor does not belong to, and anything in it, answers "not found".
    pub async fn create_or_refresh(
        &self,
        actor_id: Uuid,
        workspace_id: Uuid,
        environment_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Feedback, ServiceError> {
        let workspace = self
            .writer
            .store()
            .load::<Workspace>(&workspace_id.to_string())
            .await?;
        if !workspace.aggregate.has_member(actor_id) {
            return Err(not_found(
                ReasonCode::WorkspaceNotFound,
                "workspace",
                workspace_id,
            ));
        }
        let env = self
            .writer
            .store()
            .load::<ManagedEnvironment>(&environment_id.to_string())
            .await?;
        let Some(env) = env
            .aggregate
            .state()
            .filter(|e| e.workspace_id == workspace_id)
        else {
            return Err(not_found(
                ReasonCode::EnvironmentNotFound,
                "environment",
                environment_id,
            ));
        };
        let Some(snapshot) = &env.latest_snapshot else {
            return Err(ServiceError::refused(ReasonCode::EvidenceMissing, vec![]));
        };
        let fingerprint = Fingerprint::compute(
            workspace_id,
            environment_id,
            &snapshot.content_hash,
            COMPOSER_VERSION,
        );
        if let Some(ready) = self
            .ready_review(workspace_id, environment_id, &fingerprint)
            .await?
        {
            return Ok(Feedback::AlreadyAvailable { review_id: ready });
        }
        let ensured = self
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id,
                    environment_id: Some(environment_id),
                    run_type: RunType::EnvironmentReviewCompose.key().to_string(),
                    identity_inputs: json!({ "fingerprint": fingerprint }),
                    context: json!({
                        "fingerprint": fingerprint,
                        "snapshot_id": snapshot.snapshot_id,
                        "content_hash": snapshot.content_hash,
                    }),
                },
                ctx,
            )
            .await
            .map_err(|e| ServiceError::Store(Box::new(e)))?;
        Ok(match ensured {
            Ensured::Queued(run_id) => Feedback::Queued { run_id },
            Ensured::Existing(run_id) => Feedback::AlreadyRunning { run_id },
        })
    }

    /// The ready review of this scope and fingerprint, if any (newest first).
    pub async fn ready_review(
        &self,
        workspace_id: Uuid,
        environment_id: Uuid,
        fingerprint: &Fingerprint,
    ) -> Result<Option<Uuid>, ServiceError> {
        let mut conn = self.writer.store().pool().acquire().await?;
        let candidates =
            environment_reviews::candidates(&mut conn, workspace_id, environment_id, fingerprint)
                .await?;
        Ok(candidates
            .iter()
            .rev()
            .find(|r| r.state.status == ReviewStatus::Ready)
            .map(|r| r.state.id))
    }

    /// The compose job of a run, from the run's own stream.
    pub async fn job_of(&self, run_id: Uuid) -> Result<ComposeJob, ServiceError> {
        let run = self
            .writer
            .store()
            .load::<OperationRun>(&run_id.to_string())
            .await?;
        let state = run
            .aggregate
            .state()
            .filter(|s| s.run_type == RunType::EnvironmentReviewCompose)
            .ok_or_else(|| not_found(ReasonCode::RunNotFound, "run", run_id))?;
        let field = |key: &str| {
            state
                .context
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let fingerprint = field("fingerprint").and_then(|f| Fingerprint::try_from(f).ok());
        let snapshot_id = field("snapshot_id").and_then(|s| Uuid::parse_str(&s).ok());
        match (fingerprint, snapshot_id, state.environment_id) {
            (Some(fingerprint), Some(snapshot_id), Some(environment_id)) => Ok(ComposeJob {
                run_id,
                workspace_id: state.workspace_id,
                environment_id,
                fingerprint,
                snapshot_id,
            }),
            _ => Err(ServiceError::refused(
                ReasonCode::RunInvalidInput,
                vec![Detail::RunComposeContext.arg()],
            )),
        }
    }

    /// Claims the fingerprint slot for the job's run: a new draft appended together with
    /// the slot claim in one transaction, or a failed review drafted again, or the run's
    /// own draft from before. Concurrent claims conflict in the event store; the loser
    /// re-reads the slot and sees the winner. Does not wait for the projections.
    pub async fn claim(
        &self,
        job: &ComposeJob,
        ctx: &CommandContext,
    ) -> Result<Claim, ServiceError> {
        let key = slot_key(job.workspace_id, job.environment_id, &job.fingerprint);
        let store = self.writer.store();
        for _ in 0..CLAIM_ATTEMPTS {
            let slot = store.load::<ReviewSlot>(&key).await?;
            let holder = match slot.aggregate.holder() {
                Some(h) => {
                    let loaded = store.load::<EnvironmentReview>(&h.to_string()).await?;
                    loaded
                        .aggregate
                        .state()
                        .cloned()
                        .map(|s| (s, loaded.version))
                }
                None => None,
            };
            let now = self.clock.now();
            match choose(holder.as_ref().map(|(s, _)| s), job.run_id) {
                SlotChoice::ClaimNew => {
                    let review_id = Uuid::new_v4();
                    let Ok(slot_events) = slot.aggregate.decide(ClaimReviewSlot {
                        slot_key: key.clone(),
                        review_id,
                        observed_holder: slot.aggregate.holder(),
                        claimed_at: now,
                    }) else {
                        continue;
                    };
                    let review_events = EnvironmentReview::default()
                        .decide(ReviewCommand::Draft(DraftReview {
                            review_id,
                            workspace_id: job.workspace_id,
                            environment_id: job.environment_id,
                            fingerprint: job.fingerprint.clone(),
                            snapshot_id: job.snapshot_id,
                            run_id: job.run_id,
                            drafted_at: now,
                        }))
                        .map_err(|_| ServiceError::Conflict)?;
                    let mut writes = NewEvent::for_stream::<ReviewSlot>(
                        &key,
                        slot.version,
                        &slot_events,
                        ctx,
                        now,
                    )?;
                    writes.extend(NewEvent::for_stream::<EnvironmentReview>(
                        &review_id.to_string(),
                        0,
                        &review_events,
                        ctx,
                        now,
                    )?);
                    match self.writer.append_atomically(&writes).await {
                        Ok(()) => {
                            return Ok(Claim::Drafted {
                                review_id,
                                version: 1,
                            })
                        }
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                SlotChoice::RetryFailed(review_id) => {
                    let result = self
                        .writer
                        .execute::<EnvironmentReview>(
                            &review_id.to_string(),
                            ReviewCommand::Redraft {
                                run_id: job.run_id,
                                drafted_at: now,
                            },
                            ctx,
                            now,
                        )
                        .await;
                    match result {
                        Ok(c) => {
                            return Ok(Claim::Drafted {
                                review_id,
                                version: c.version,
                            })
                        }
                        Err(WriteError::Conflict | WriteError::Rejected(_)) => continue,
                        Err(e) => {
                            return Err(ServiceError::from_write(e, |_| ServiceError::Conflict))
                        }
                    }
                }
                SlotChoice::ResumeOwnDraft(review_id) => {
                    let version = holder.map(|(_, v)| v).unwrap_or(1);
                    return Ok(Claim::Drafted { review_id, version });
                }
                SlotChoice::Available(review_id) => return Ok(Claim::Available(review_id)),
                SlotChoice::HeldByOtherDraft(review_id) => {
                    return Ok(Claim::HeldElsewhere(review_id))
                }
            }
        }
        Err(ServiceError::Conflict)
    }

    /// Waits (with read-your-writes on) until the review's draft is visible.
    pub async fn wait_visible(&self, review_id: Uuid, version: u64) {
        self.writer
            .wait_visible::<EnvironmentReview>(&review_id.to_string(), version)
            .await
    }

    /// Composes the content from the job's snapshot (read in its own scope only).
    pub async fn compose_content(&self, job: &ComposeJob) -> Result<ReviewContent, ComposeError> {
        let mut conn = self
            .writer
            .store()
            .pool()
            .acquire()
            .await
            .map_err(ComposeError::Store)?;
        let snapshot = evidence_snapshots::get(
            &mut conn,
            job.workspace_id,
            job.environment_id,
            job.snapshot_id,
        )
        .await
        .map_err(ComposeError::Store)?
        .ok_or(ComposeError::Failed(ComposeFailure))?;
        fail::fail_point!("compose.inside_compose", |arg: Option<String>| {
            if arg.as_deref() == Some("abort") {
                std::process::abort()
            }
            Err(ComposeError::Failed(ComposeFailure))
        });
        let document = FindingsDocument::parse(&snapshot.document)
            .map_err(|_| ComposeError::Failed(ComposeFailure))?;
        Ok(compose(&document, &snapshot.content_hash))
    }

    /// The draft is composed: the review is ready.
    pub async fn mark_ready(
        &self,
        review_id: Uuid,
        job: &ComposeJob,
        content: ReviewContent,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.review_command(
            review_id,
            ReviewCommand::Compose {
                run_id: job.run_id,
                content,
                composed_at: now,
            },
            ctx,
        )
        .await
    }

    /// The draft could not be composed: the review is failed.
    pub async fn mark_failed(
        &self,
        review_id: Uuid,
        job: &ComposeJob,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.review_command(
            review_id,
            ReviewCommand::Fail {
                run_id: job.run_id,
                reason_code: ReasonCode::ReviewComposeFailed,
                failed_at: now,
            },
            ctx,
        )
        .await
    }

    /// The review as recorded in its own stream.
    pub async fn load(&self, review_id: Uuid) -> Result<Option<ReviewState>, ServiceError> {
        let loaded = self
            .writer
            .store()
            .load::<EnvironmentReview>(&review_id.to_string())
            .await?;
        Ok(loaded.aggregate.state().cloned())
    }

    async fn review_command(
        &self,
        review_id: Uuid,
        command: ReviewCommand,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.writer
            .execute::<EnvironmentReview>(&review_id.to_string(), command, ctx, now)
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::from_write(e, refuse_review(review_id)))
    }
}

/// Why composing failed: the content could not be made, or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Failed(ComposeFailure),
    #[error("reading the snapshot failed")]
    Store(#[source] sqlx::Error),
}

/// Maps a review rejection to the operator's reason.
fn refuse_review(review_id: Uuid) -> impl FnOnce(ReviewError) -> ServiceError {
    move |e| match e {
        ReviewError::NotFound => not_found(ReasonCode::ReviewNotFound, "review", review_id),
        ReviewError::InvalidTransition { from, action } => ServiceError::refused(
            ReasonCode::ReviewInvalidTransition,
            vec![
                ("status", from.as_str().to_string()),
                ("action", action.to_string()),
            ],
        ),
        other => ServiceError::refused(other.reason(), vec![]),
    }
}
