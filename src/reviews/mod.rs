//! The review service: the feedback of a compose request, the steps of composing a
//! review (used by the compose worker), and publishing and archiving.

pub mod claim_hints;
mod publish;
pub mod worker;

use std::sync::Arc;

use cqrs_es::Aggregate;

use runproof_domain::environment::ManagedEnvironment;
use runproof_domain::findings::FindingsDocument;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::OperationRun;
use runproof_domain::review::{
    choose, compose, slot_key, ClaimReviewSlot, DraftReview, EnvironmentReview, Holder,
    ReviewCommand, ReviewContent, ReviewError, ReviewSlot, ReviewState, ReviewStatus, SlotChoice,
    COMPOSER_VERSION,
};
use runproof_domain::run_type::RunType;
use runproof_domain::workspace::Workspace;
use runproof_domain::ReasonCode;
use serde_json::json;
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::{EventStore, Loaded, NewEvent, StoreError};
use crate::evidence_documents::{self, DocumentReadError};
use crate::lifecycle::{Decided, EnsureRun, Ensured, LifecycleError, RunLifecycle};
use crate::service_error::ServiceError;
use crate::writer::Writer;

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
    /// A ready or published review of the same evidence exists; nothing was started.
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
    /// The evidence document's content hash: its address in the document store.
    pub content_hash: String,
}

/// The outcome of claiming the fingerprint slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This run holds a draft (new, or a failed or orphaned one drafted again): the
    /// review as this claim wrote it, at its version.
    Drafted(Box<Loaded<EnvironmentReview>>),
    /// A ready or published review with the fingerprint exists.
    Available(Uuid),
    /// Another run holds the draft.
    HeldElsewhere(Uuid),
}

/// A fingerprint slot as read from its stream, with its holder.
pub struct SlotView {
    key: String,
    slot: Loaded<ReviewSlot>,
    holder: Option<HolderView>,
}

/// The review holding a slot, as read from its stream.
struct HolderView {
    review: Loaded<EnvironmentReview>,
    state: ReviewState,
    drafting_run_active: bool,
}

impl SlotView {
    /// What a compose run for this fingerprint may do (the one standing rule).
    pub fn choice(&self) -> SlotChoice {
        choose(self.holder.as_ref().map(|h| Holder {
            review: &h.state,
            drafting_run_active: h.drafting_run_active,
        }))
    }
}

/// How a compose run finishes its draft.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Composed: the review is ready with this content.
    Ready(ReviewContent),
    /// Composing failed: the review is failed (`review.compose_failed`).
    Failed,
}

/// Composing the content failed; the review becomes `failed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the review could not be composed from its snapshot")]
pub struct ComposeFailure;

/// A compose run's start, decided with the claim of its fingerprint's never-claimed slot
/// and a new draft ([`ReviewService::decide_start_and_claim_new`]), not yet appended.
pub struct NewCompose {
    pub job: ComposeJob,
    /// The review as the draft leaves it, at its version.
    pub review: Box<Loaded<EnvironmentReview>>,
    /// The slot's stream: two starts that claim the same slot cannot commit together.
    pub slot_key: String,
    pub decided: Decided,
}

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

    /// The same service whose writes do not wait for the projections (for the compose
    /// worker; see [`Writer::without_read_your_writes`]).
    pub fn without_read_your_writes(&self) -> Self {
        ReviewService {
            writer: self.writer.without_read_your_writes(),
            lifecycle: self.lifecycle.without_read_your_writes(),
            clock: self.clock.clone(),
        }
    }

    /// The same service on `store` (see [`Writer::on_store`]).
    pub fn on_store(&self, store: EventStore) -> Self {
        ReviewService {
            writer: self.writer.on_store(store.clone()),
            lifecycle: self.lifecycle.on_store(store),
            clock: self.clock.clone(),
        }
    }

    /// Create or refresh the review of an environment for `actor`: "already available"
    /// when a ready or published review of the current evidence exists, "already
    /// running" when a compose run for it is active, otherwise one queued compose run.
    /// Everything is read from the streams, so a lagging or stopped projection cannot
    /// change the answer. A workspace the
    /// actor does not belong to, and anything in it, answers "not found".
    pub async fn create_or_refresh(
        &self,
        actor_id: Uuid,
        workspace_id: Uuid,
        environment_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Feedback, ServiceError> {
        // The workspace and the environment, in one statement.
        let (workspace, env) = self
            .writer
            .store()
            .load_with_cached::<Workspace, ManagedEnvironment>(
                &workspace_id.to_string(),
                &environment_id.to_string(),
            )
            .await?;
        if !workspace.aggregate.has_member(actor_id) {
            return Err(not_found(
                ReasonCode::WorkspaceNotFound,
                "workspace",
                workspace_id,
            ));
        }
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
        let slot = self
            .read_slot(workspace_id, environment_id, &fingerprint)
            .await?;
        if let SlotChoice::Available(review_id) = slot.choice() {
            return Ok(Feedback::AlreadyAvailable { review_id });
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

    /// The fingerprint slot and its holder, read from their streams (never from a
    /// projection): the holder review, and — for a draft — whether the run drafting it is
    /// still active.
    pub async fn read_slot(
        &self,
        workspace_id: Uuid,
        environment_id: Uuid,
        fingerprint: &Fingerprint,
    ) -> Result<SlotView, ServiceError> {
        let key = slot_key(workspace_id, environment_id, fingerprint);
        let store = self.writer.store();
        let slot = store.load::<ReviewSlot>(&key).await?;
        let holder = match slot.aggregate.holder() {
            Some(h) => {
                let review = store.load::<EnvironmentReview>(&h.to_string()).await?;
                match review.aggregate.state().cloned() {
                    Some(state) => {
                        let drafting_run_active = state.status == ReviewStatus::Draft
                            && self
                                .lifecycle
                                .load(state.run_id)
                                .await
                                .map_err(|e| ServiceError::Store(Box::new(e)))?
                                .is_active();
                        Some(HolderView {
                            review,
                            state,
                            drafting_run_active,
                        })
                    }
                    None => None,
                }
            }
            None => None,
        };
        Ok(SlotView { key, slot, holder })
    }

    /// The compose job of a run, from the run's own stream (or from the run as this
    /// process last wrote it: the job is in what a run records when it is queued, which
    /// never changes).
    pub async fn job_of(&self, run_id: Uuid) -> Result<ComposeJob, ServiceError> {
        let run = self
            .lifecycle
            .current(run_id)
            .await
            .map_err(|e| ServiceError::Store(Box::new(e)))?;
        job_from(run_id, &run)
    }

    /// Starts the compose run and claims its fingerprint's never-claimed slot with a new
    /// draft, in one transaction: a fingerprint composed for the first time — the common
    /// case — costs one commit instead of two. `None` when that cannot be done (the run
    /// cannot start, its context names no valid job, the slot has a history, or another
    /// write came first): nothing was written, and the caller starts the run and claims
    /// the slot one after the other ([`RunLifecycle::start`], [`ReviewService::claim`]),
    /// each decided on its stream. Does not wait for the projections.
    ///
    /// `read`: the run as the caller read it (a worker reads a page of its queue in one
    /// statement); the run as this process last wrote it comes first, and without
    /// either the run is read here. A run read before another write only makes the
    /// append conflict.
    pub async fn start_and_claim_new(
        &self,
        run_id: Uuid,
        read: Option<OperationRun>,
        ctx: &CommandContext,
    ) -> Result<Option<(ComposeJob, Box<Loaded<EnvironmentReview>>)>, LifecycleError> {
        let run = match self.lifecycle.as_written(run_id).or(read) {
            Some(run) => run,
            None => self.lifecycle.load(run_id).await?,
        };
        let Some(start) = self.decide_start_and_claim_new(run_id, run, ctx) else {
            return Ok(None);
        };
        match self.lifecycle.commit(vec![start.decided]).await {
            Ok(_) => Ok(Some((start.job, start.review))),
            Err(LifecycleError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`ReviewService::start_and_claim_new`] decided on `run` without appending: the
    /// start, the slot claim and the draft, for a worker that starts several runs in one
    /// commit ([`RunLifecycle::commit`]). `None` when it cannot be done that way
    /// (the run cannot start, its context names no valid job).
    pub fn decide_start_and_claim_new(
        &self,
        run_id: Uuid,
        run: OperationRun,
        ctx: &CommandContext,
    ) -> Option<NewCompose> {
        let job = job_from(run_id, &run).ok()?;
        let key = slot_key(job.workspace_id, job.environment_id, &job.fingerprint);
        let (_, review, writes) = self
            .draft_writes(&job, &key, &ReviewSlot::default(), 0, ctx)
            .ok()?;
        let decided = self
            .lifecycle
            .decide_start_together(run_id, run, writes, ctx)
            .ok()??;
        Some(NewCompose {
            job,
            review: Box::new(review),
            slot_key: key,
            decided,
        })
    }

    /// Claims the fingerprint slot for the job's run: a new draft appended together with
    /// the slot claim in one transaction, or the holder drafted again when it failed or
    /// its drafting run has ended (an orphaned draft is taken over, naming the previous
    /// run). Every write is appended at the versions read, so concurrent claims conflict
    /// in the event store; the loser re-reads the slot and sees the winner. Does not wait
    /// for the projections.
    pub async fn claim(
        &self,
        job: &ComposeJob,
        ctx: &CommandContext,
    ) -> Result<Claim, ServiceError> {
        // A fingerprint composed for the first time has an empty slot: claim it as such,
        // in a statement that appends only while the slot's stream is still empty.
        let key = slot_key(job.workspace_id, job.environment_id, &job.fingerprint);
        let (review_id, review, writes) =
            self.draft_writes(job, &key, &ReviewSlot::default(), 0, ctx)?;
        match self
            .writer
            .append_to_new_stream::<ReviewSlot>(&key, &writes)
            .await
        {
            Ok(Some(_)) => {
                tracing::debug!(%review_id, "drafted on a new slot");
                return Ok(Claim::Drafted(Box::new(review)));
            }
            // The slot has a history, or another claim took it at the same moment.
            Ok(None) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        for _ in 0..CLAIM_ATTEMPTS {
            let view = self
                .read_slot(job.workspace_id, job.environment_id, &job.fingerprint)
                .await?;
            let now = self.clock.now();
            let writes = match view.choice() {
                SlotChoice::ClaimNew => {
                    let Ok((_, review, writes)) = self.draft_writes(
                        job,
                        &view.key,
                        &view.slot.aggregate,
                        view.slot.version,
                        ctx,
                    ) else {
                        continue;
                    };
                    (review, writes)
                }
                SlotChoice::Redraft { review_id, .. } => {
                    let Some(h) = &view.holder else { continue };
                    let events = match h.review.aggregate.decide(ReviewCommand::Redraft {
                        run_id: job.run_id,
                        previous_run_ended: !h.drafting_run_active,
                        drafted_at: now,
                    }) {
                        Ok(events) => events,
                        Err(_) => continue,
                    };
                    let writes = NewEvent::for_stream::<EnvironmentReview>(
                        &review_id.to_string(),
                        h.review.version,
                        &events,
                        ctx,
                        now,
                    )?;
                    let mut review = Loaded {
                        aggregate: h.review.aggregate.clone(),
                        version: h.review.version,
                    };
                    for e in events {
                        review.aggregate.apply(e);
                        review.version += 1;
                    }
                    (review, writes)
                }
                SlotChoice::Available(review_id) => return Ok(Claim::Available(review_id)),
                SlotChoice::HeldByActiveRun(review_id) => {
                    return Ok(Claim::HeldElsewhere(review_id))
                }
            };
            let (review, writes) = writes;
            match self.writer.append_atomically(&writes).await {
                Ok(_) => return Ok(Claim::Drafted(Box::new(review))),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(ReasonCode::ReviewConcurrentChange))
    }

    /// The writes of a new draft claiming the slot `key` (read at `version`), and the
    /// review as they make it. Fails when the slot is not free for a new draft.
    fn draft_writes(
        &self,
        job: &ComposeJob,
        key: &str,
        slot: &ReviewSlot,
        version: u64,
        ctx: &CommandContext,
    ) -> Result<(Uuid, Loaded<EnvironmentReview>, Vec<NewEvent>), ServiceError> {
        let now = self.clock.now();
        let review_id = Uuid::new_v4();
        let slot_events = slot
            .decide(ClaimReviewSlot {
                slot_key: key.to_string(),
                review_id,
                observed_holder: slot.holder(),
                claimed_at: now,
            })
            .map_err(|_| ServiceError::Conflict(ReasonCode::ReviewConcurrentChange))?;
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
            .map_err(|_| ServiceError::Conflict(ReasonCode::ReviewConcurrentChange))?;
        let mut writes = NewEvent::for_stream::<ReviewSlot>(key, version, &slot_events, ctx, now)?;
        writes.extend(NewEvent::for_stream::<EnvironmentReview>(
            &review_id.to_string(),
            0,
            &review_events,
            ctx,
            now,
        )?);
        let mut review = Loaded {
            aggregate: EnvironmentReview::default(),
            version: 0,
        };
        for e in review_events {
            review.aggregate.apply(e);
            review.version += 1;
        }
        Ok((review_id, review, writes))
    }

    /// Waits (with read-your-writes on) until the review's draft is visible.
    pub async fn wait_visible(&self, review_id: Uuid, version: u64) {
        self.writer
            .wait_visible::<EnvironmentReview>(&review_id.to_string(), version)
            .await
    }

    /// Composes the content from the job's evidence document, read from the document
    /// store by the job's workspace and content hash (never from a projection, which
    /// could lag or be stopped; the store is written with the capture event).
    pub async fn compose_content(&self, job: &ComposeJob) -> Result<ReviewContent, ComposeError> {
        let read = self
            .read_documents(&[job])
            .await
            .map_err(ComposeError::Store)?
            .pop()
            .unwrap_or(Ok(None));
        compose_read(job, read)
    }

    /// The evidence documents of `jobs`, in their order, read from the document store in
    /// one statement (for a batch of runs), each to be composed with [`compose_read`].
    pub async fn read_documents(
        &self,
        jobs: &[&ComposeJob],
    ) -> Result<Vec<DocumentRead>, sqlx::Error> {
        let addresses: Vec<(Uuid, &str)> = jobs
            .iter()
            .map(|job| (job.workspace_id, job.content_hash.as_str()))
            .collect();
        let mut conn = self.writer.store().connection().await?;
        evidence_documents::get_many(&mut conn, &addresses).await
    }

    /// The events that finish the run's draft — ready with its content, or failed —
    /// decided on the review as the claim drafted it (`loaded`), to be appended in one
    /// transaction with the run's completion (so no crash can separate the two) at the
    /// review's version: if anyone wrote to the review since, that append fails and
    /// nothing is written. A review that is no longer this run's draft, or not of the
    /// job's scope and fingerprint, is refused.
    pub fn finishing_events(
        &self,
        loaded: &Loaded<EnvironmentReview>,
        job: &ComposeJob,
        finish: Finish,
        ctx: &CommandContext,
    ) -> Result<Vec<NewEvent>, ServiceError> {
        let review_id = loaded.aggregate.state().map_or(Uuid::nil(), |r| r.id);
        let of_job = loaded.aggregate.state().is_some_and(|r| {
            r.workspace_id == job.workspace_id
                && r.environment_id == job.environment_id
                && r.fingerprint == job.fingerprint
        });
        if !of_job {
            return Err(ServiceError::refused(
                ReasonCode::ReviewHeldElsewhere,
                vec![],
            ));
        }
        let now = self.clock.now();
        let command = match finish {
            Finish::Ready(content) => ReviewCommand::Compose {
                run_id: job.run_id,
                content,
                composed_at: now,
            },
            Finish::Failed => ReviewCommand::Fail {
                run_id: job.run_id,
                reason_code: ReasonCode::ReviewComposeFailed,
                failed_at: now,
            },
        };
        let events = loaded
            .aggregate
            .decide(command)
            .map_err(refuse_review(review_id))?;
        Ok(NewEvent::for_stream::<EnvironmentReview>(
            &review_id.to_string(),
            loaded.version,
            &events,
            ctx,
            now,
        )?)
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

/// The compose job `run` records (in what it was queued with, which never changes), or
/// `review.compose_context_invalid` when it names no valid one.
fn job_from(run_id: Uuid, run: &OperationRun) -> Result<ComposeJob, ServiceError> {
    let state = run
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
    let content_hash = field("content_hash");
    let job = match (fingerprint, snapshot_id, content_hash, state.environment_id) {
        (Some(fingerprint), Some(snapshot_id), Some(content_hash), Some(environment_id)) => {
            ComposeJob {
                run_id,
                workspace_id: state.workspace_id,
                environment_id,
                fingerprint,
                snapshot_id,
                content_hash,
            }
        }
        _ => {
            return Err(ServiceError::refused(
                ReasonCode::ReviewComposeContextInvalid,
                vec![],
            ))
        }
    };
    // The fingerprint must be the one of this scope and evidence: the document a run
    // composes from is exactly the one its fingerprint names.
    let expected = Fingerprint::compute(
        job.workspace_id,
        job.environment_id,
        &job.content_hash,
        COMPOSER_VERSION,
    );
    if expected != job.fingerprint {
        return Err(ServiceError::refused(
            ReasonCode::ReviewComposeContextInvalid,
            vec![],
        ));
    }
    Ok(job)
}

/// A job's evidence document as read from the document store ([`ReviewService::read_documents`]).
pub type DocumentRead = Result<Option<serde_json::Value>, DocumentReadError>;

/// Composes the content of `job` from its evidence document as `read`: a document that
/// is missing, no longer matches its hash or is not a findings document fails the
/// compose.
pub fn compose_read(job: &ComposeJob, read: DocumentRead) -> Result<ReviewContent, ComposeError> {
    let document = read
        .map_err(|e| match e {
            DocumentReadError::Read(e) => ComposeError::Store(e),
            DocumentReadError::Tampered => ComposeError::Failed(ComposeFailure),
        })?
        .ok_or(ComposeError::Failed(ComposeFailure))?;
    fail::fail_point!("compose.inside_compose", |arg: Option<String>| {
        if arg.as_deref() == Some("abort") {
            std::process::abort()
        }
        Err(ComposeError::Failed(ComposeFailure))
    });
    let document =
        FindingsDocument::parse(&document).map_err(|_| ComposeError::Failed(ComposeFailure))?;
    Ok(compose(&document, &job.content_hash))
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
