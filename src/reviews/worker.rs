//! The compose worker: claims queued compose runs and executes each exactly once.
//!
//! A queued run in the log is the work item. A worker claims it by appending its start
//! event; the event store's concurrency check lets exactly one claimant win, so any
//! number of workers may run. When the run's fingerprint has never been claimed (the
//! common case: evidence composed for the first time), the start, the slot claim and the
//! new draft are appended in one transaction — steps 1 and 2 below in the same commit as
//! the claim of the run; any conflict writes nothing and the worker goes the long way.
//! Up to [`COMPOSE_BATCH`] such runs (`--batch`) start in one commit and, once each is
//! composed, complete in one commit ([`ComposeWorker::with_batch`]). Workers side by side
//! keep off each other's runs with claim hints ([`super::claim_hints`]), which steer who
//! tries a run first and never decide it. Execution:
//!
//! 1. read the fingerprint slot from its stream — a ready or published review with the
//!    run's fingerprint exists: complete as "duplicate recovered", no new review; a draft
//!    of another active run holds it: the run is settled like the reconciler would (the
//!    review-compose adapter's decision table, behind the same freshness guard);
//! 2. claim the slot: a new draft with the slot claim (one transaction), or the holder
//!    drafted again when it failed or when its drafting run has ended (an orphaned draft
//!    is taken over, naming the previous run);
//! 3. compose the content from the snapshot, read from the log's own records (never from
//!    a projection that could lag);
//! 4. mark the review ready (or failed) **and** complete the run in one transaction, so no
//!    crash can separate them. If the run or the review moved on meanwhile (the reconciler
//!    ended a run it thought stuck), nothing is written and the run is settled instead.
//!
//! Named failpoints (with the `failpoints` feature): `compose.after_slot_claim`,
//! `compose.after_draft_created`, `compose.inside_compose`,
//! `compose.before_run_complete` (the content is composed; nothing of it is written yet).
//! See docs/review-compose.md.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use runproof_adapters::review_compose::ReviewComposeAdapter;
use runproof_adapters::{AdapterRegistry, Handled, Reconciler};
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{
    CompletionNote, Failure, OperationRun, OperationRunError, RunStatus, TerminalOutcome,
};
use runproof_domain::reconciliation::{RecordKind, RecordRef};
use runproof_domain::review::{EnvironmentReview, ReviewStatus};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde::Serialize;
use sqlx::PgPool;
use tracing::{info, info_span, warn, Instrument};
use uuid::Uuid;

use super::claim_hints::ClaimHints;
use super::{compose_read, Claim, ComposeError, ComposeJob, DocumentRead, Finish, ReviewService};
use crate::clock::Clock;
use crate::event_store::{EventStore, Loaded, NewEvent};
use crate::lifecycle::{LifecycleError, RunLifecycle};
use crate::service_error::ServiceError;

/// Runs read per page of the queue. The worker catches the views up before each page,
/// and a catch-up costs about 5 ms whatever it applies (seven projections): pages of 16
/// spent a sixth of a drain catching up, and two workers twice that (each catches up
/// for its own pages); pages of 64 cost a quarter of it, and two workers meet on a
/// page boundary — where one leaves a page to the other — a quarter as often.
pub const CLAIM_BATCH: i64 = 64;

/// The largest page a worker reads: when runs of its last page were other workers', it
/// reads its own page's worth plus as many more as it did not execute, so that its share — what a
/// catch-up and a page's statements are paid for — stays about [`CLAIM_BATCH`] however
/// many workers drain the queue (bounded for the claim hints it may take at once).
pub const MAX_PAGE: i64 = 4 * CLAIM_BATCH;

/// Runs a worker starts in one commit, and completes in one commit, by default (see
/// [`ComposeWorker::with_batch`]). Each commit waits for a WAL flush, a fixed cost the
/// workers of one server queue for: eight runs per commit take two of a review's two
/// flushes down to a quarter of one. A worker that dies strands the runs of its batch
/// (started, drafted, not completed) until the reconciler decides them, as it would one.
pub const COMPOSE_BATCH: usize = 8;

/// What executing one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Executed {
    /// A new (or retried) review was composed and the run succeeded.
    Composed { review_id: Uuid },
    /// A ready or published review with the fingerprint existed; the run succeeded
    /// without a new one.
    DuplicateRecovered { review_id: Uuid },
    /// Composing failed; the review and the run are failed.
    Failed { review_id: Uuid },
    /// The run could not finish by itself (another active run held the draft, or the run
    /// was ended meanwhile); it was decided like a reconciler pass would (or left for
    /// later).
    LostRace { decided: Option<ReasonCode> },
    /// The run's context names no fingerprint or snapshot: failed with that reason.
    Unexecutable { reason: ReasonCode },
    /// Executing failed part-way (the database failed); the run stays running and the
    /// reconciler decides it from what was recorded.
    Interrupted,
}

impl Executed {
    /// The result's name, as in `--json` (`composed`, `duplicate_recovered`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Executed::Composed { .. } => "composed",
            Executed::DuplicateRecovered { .. } => "duplicate_recovered",
            Executed::Failed { .. } => "failed",
            Executed::LostRace { .. } => "lost_race",
            Executed::Unexecutable { .. } => "unexecutable",
            Executed::Interrupted => "interrupted",
        }
    }
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
    /// Settles runs the worker cannot finish, exactly as a reconciler pass would.
    reconciler: Reconciler,
    clock: Arc<dyn Clock>,
    /// Runs started together, and completed together (1: each run on its own).
    batch: usize,
    /// Runs this worker (and its clones) tried to start after another writer had.
    claims_lost: Arc<AtomicU64>,
    /// Runs this worker (and its clones) left to another worker holding their hint.
    left_to_others: Arc<AtomicU64>,
}

/// How executing (part of) a page ended.
enum PageEnd {
    /// Every run was tried.
    Done,
    /// A claim was lost and the rest of the page left to the worker that won it.
    Left,
    /// `stop()` said so.
    Stopped,
}

/// The worker's services for a stretch of work (a page of the queue), every statement
/// on one connection held for the stretch ([`EventStore::hold`]): a review's statements
/// — its start (with the draft, for a new fingerprint), the document's read and the
/// completion; the runs of a page are read in one statement — then cost one round trip each instead of two (sqlx pings
/// every connection that goes back to its pool). After a run that could not be claimed or was interrupted
/// the worker holds a new connection: the one held may have broken.
struct OnConnection {
    reviews: ReviewService,
    lifecycle: RunLifecycle,
    /// The claim hints of the page's runs this worker is on.
    hints: ClaimHints,
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
        // The worker's own transitions are read back by nobody right after they are
        // written: they do not wait for the projections one by one; the worker catches
        // the projections up once per page of the queue and when a round ends.
        let lifecycle = lifecycle.without_read_your_writes();
        let reviews = reviews.without_read_your_writes();
        let registry = AdapterRegistry::single(Arc::new(ReviewComposeAdapter::new(pool.clone())));
        let reconciler = Reconciler::new(
            pool.clone(),
            lifecycle.writer().projector().clone(),
            Arc::new(registry),
            Arc::new(lifecycle.clone()),
        )
        .without_leader_election();
        ComposeWorker {
            reconciler,
            pool,
            reviews,
            lifecycle,
            clock,
            batch: COMPOSE_BATCH,
            claims_lost: Arc::new(AtomicU64::new(0)),
            left_to_others: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many runs this worker (and its clones) tried to start after another writer
    /// had started them: the claims it lost to other workers (or to a reconciler that
    /// ended the run first). Also counted in `runproof_worker_claims_lost_total`.
    pub fn claims_lost(&self) -> u64 {
        self.claims_lost.load(Ordering::Relaxed)
    }

    /// How many times this worker (and its clones) left a queued run to another worker
    /// that held its claim hint ([`super::claim_hints`]), in sweeps that may. Also
    /// counted in `runproof_worker_runs_left_total`.
    pub fn runs_left_to_others(&self) -> u64 {
        self.left_to_others.load(Ordering::Relaxed)
    }

    fn left_to_others(&self, runs: u64) {
        self.left_to_others.fetch_add(runs, Ordering::Relaxed);
        metrics::counter!("runproof_worker_runs_left_total").increment(runs);
    }

    fn lost_claim(&self) {
        self.claims_lost.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("runproof_worker_claims_lost_total").increment(1);
    }

    /// The same worker starting (and completing) up to `runs` runs per commit, at least
    /// 1 and at most a page of the queue ([`CLAIM_BATCH`]). More runs per commit cost
    /// fewer WAL flushes per run; a worker that dies strands up to that many runs until
    /// the reconciler decides them.
    pub fn with_batch(mut self, runs: usize) -> Self {
        self.batch = runs.clamp(1, CLAIM_BATCH as usize);
        self
    }

    /// The worker's services on one connection held from now on.
    async fn hold(&self) -> Result<OnConnection, WorkerError> {
        let store: EventStore = self
            .lifecycle
            .writer()
            .store()
            .hold()
            .await
            .map_err(|e| WorkerError::Service(e.into()))?;
        Ok(OnConnection {
            reviews: self.reviews.on_store(store.clone()),
            hints: ClaimHints::on(store.clone()),
            lifecycle: self.lifecycle.on_store(store),
        })
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
        let done = self.sweep(stop, on_run).await;
        // When a round returns, the views show everything it did (read-your-writes for
        // the round, instead of for each of its writes).
        self.lifecycle.writer().wait_for_own_writes().await;
        done
    }

    /// Brings the projections up to date (the queue is read from one); a failure is
    /// logged, not returned: the queue is then read as the views stand, and a run they
    /// show queued that the log shows started is paged past.
    async fn catch_up(&self) {
        if let Err(e) = self.lifecycle.writer().projector().catch_up_report().await {
            warn!(error = %e, "the worker could not catch the projections up");
        }
    }

    async fn sweep(
        &self,
        stop: &(dyn Fn() -> bool + Sync),
        on_run: &mut (dyn FnMut(Uuid, &Executed) + Send),
    ) -> Result<Vec<(Uuid, Executed)>, WorkerError> {
        let mut done = Vec::new();
        // Sweep the queue page by page in (created_at, id) order. Rows that cannot be
        // claimed (another worker got them, or the log shows them started while the view
        // lags) are paged past, so they never hide the queued runs behind them. A sweep
        // that executed something starts again from the front (new runs may have come).
        //
        // Workers share one queue. A worker takes the claim hints of the page's runs
        // before it reads them ([`super::claim_hints`]) and leaves the runs whose hint
        // another worker holds to that worker; and a claim that loses says another worker
        // is on this page, so the loser leaves the rest of the page to it. Workers then
        // spread over the queue instead of trying the same runs. A sweep that left runs
        // behind that way and executed nothing is followed by one that tries every run it
        // sees, another worker's last — so a round ends only after a sweep found nothing
        // it could claim, as without the hints, and a hint held by a worker that stopped
        // moving strands nothing.
        let mut after: Option<(DateTime<Utc>, Uuid)> = None;
        let mut executed_in_sweep = false;
        let mut yield_on_loss = true;
        let mut left_in_sweep = false;
        let mut page_size = CLAIM_BATCH;
        loop {
            self.catch_up().await;
            let page = self.queued_after(after, page_size).await?;
            let Some(&(last_id, last_at)) = page.last() else {
                match (executed_in_sweep, left_in_sweep && yield_on_loss) {
                    (true, _) => yield_on_loss = true,
                    (false, true) => yield_on_loss = false,
                    (false, false) => return Ok(done),
                }
                after = None;
                executed_in_sweep = false;
                left_in_sweep = false;
                continue;
            };
            after = Some((last_at, last_id));
            let mut queued: Vec<Uuid> = page.into_iter().map(|(id, _)| id).collect();
            // Workers polling together would all try the same first run; each starts at a
            // random place in the page.
            let len = queued.len();
            queued.rotate_left(random_below(len));
            let mut on = self.hold().await?;
            let (mine, theirs): (Vec<Uuid>, Vec<Uuid>) = match on.hints.take(&queued).await {
                Ok(taken) => {
                    let taken: HashSet<Uuid> = taken.into_iter().collect();
                    queued.into_iter().partition(|run| taken.contains(run))
                }
                Err(e) => {
                    warn!(error = %e, "could not take the page's claim hints; trying every run");
                    on = self.hold().await?;
                    (queued, Vec::new())
                }
            };
            if yield_on_loss && !theirs.is_empty() {
                self.left_to_others(theirs.len() as u64);
                left_in_sweep = true;
            }
            let done_before = done.len();
            let mut page_end = self
                .execute_page(&mut on, mine, yield_on_loss, stop, on_run, &mut done)
                .await;
            if !yield_on_loss && !theirs.is_empty() && matches!(page_end, Ok(PageEnd::Done)) {
                // A round's last sweep: the runs other workers held, read again now,
                // after this worker's own (their holders have had that long).
                page_end = self
                    .execute_page(&mut on, theirs, yield_on_loss, stop, on_run, &mut done)
                    .await;
            }
            self.release_hints(&mut on).await;
            let executed = done.len() - done_before;
            executed_in_sweep |= executed > 0;
            // The next page: a page's worth plus as many runs as this one had that were
            // not this worker's, so its own share of the next stays about a page.
            page_size = next_page(len.saturating_sub(executed));
            match page_end? {
                PageEnd::Done => {}
                PageEnd::Left => left_in_sweep = true,
                PageEnd::Stopped => return Ok(done),
            }
        }
    }

    /// Executes `runs` of a page: reads them (in one statement), passes those the log
    /// shows started (another worker got there first) and claims the others, in
    /// batches where it can. A lost claim ends the page early when `yield_on_loss`.
    async fn execute_page(
        &self,
        on: &mut OnConnection,
        runs: Vec<Uuid>,
        yield_on_loss: bool,
        stop: &(dyn Fn() -> bool + Sync),
        on_run: &mut (dyn FnMut(Uuid, &Executed) + Send),
        done: &mut Vec<(Uuid, Executed)>,
    ) -> Result<PageEnd, WorkerError> {
        if runs.is_empty() {
            return Ok(PageEnd::Done);
        }
        // The runs, read in one statement (instead of one per run), after their hints
        // were taken: a run another worker started since it was paged is passed here,
        // and one started after this read only makes its claim conflict.
        let mut read = match on.lifecycle.load_many(&runs).await {
            Ok(read) => read,
            Err(e) => {
                warn!(error = %e, "could not read the page's runs; reading each by itself");
                *on = self.hold().await?;
                HashMap::new()
            }
        };
        let (runs, started): (Vec<Uuid>, Vec<Uuid>) = runs.into_iter().partition(|run| {
            read.get(run)
                .and_then(OperationRun::state)
                .is_none_or(|state| state.status == RunStatus::Queued)
        });
        if !started.is_empty() {
            self.left_to_others(started.len() as u64);
        }
        let mut pending = runs.into_iter();
        loop {
            if stop() {
                return Ok(PageEnd::Stopped);
            }
            let chunk: Vec<Uuid> = pending.by_ref().take(self.batch).collect();
            if chunk.is_empty() {
                return Ok(PageEnd::Done);
            }
            // Runs of a fingerprint composed for the first time, started together and
            // completed together; the others (and all of them, when another write came
            // first) one by one.
            let alone = if chunk.len() > 1 {
                let (executed, alone) = self.execute_together(on, &chunk, &read).await?;
                for (run_id, executed) in executed {
                    on_run(run_id, &executed);
                    done.push((run_id, executed));
                }
                alone
            } else {
                chunk
            };
            for run_id in alone {
                if stop() {
                    return Ok(PageEnd::Stopped);
                }
                let executed = match self.execute_claimed(on, run_id, read.remove(&run_id)).await {
                    Ok(Some(executed)) => executed,
                    Ok(None) if yield_on_loss => return Ok(PageEnd::Left),
                    Ok(None) => continue,
                    Err(WorkerError::NotClaimed(e)) => {
                        warn!(run_id = %run_id, error = %e, "could not claim the run; it stays queued");
                        *on = self.hold().await?;
                        continue;
                    }
                    Err(e) => self.interrupted(on, run_id, &e).await?,
                };
                on_run(run_id, &executed);
                done.push((run_id, executed));
            }
        }
    }

    /// Lets go of the page's claim hints before the held connection goes back to the
    /// pool. A failure is logged: the connection is then closed instead (see
    /// [`super::claim_hints`]), which releases them.
    async fn release_hints(&self, on: &mut OnConnection) {
        if let Err(e) = on.hints.release().await {
            warn!(error = %e, "could not release the page's claim hints; closing the connection");
        }
    }

    /// Executes `runs` (of one page, `read` with it) together where it can: the runs
    /// whose fingerprint is composed for the first time are started, each with its slot
    /// claim and new draft, in one commit; composed one after the other; and completed,
    /// each with its review's result, in one commit. Every run's start is durable before
    /// its content is composed, and its result with its completion after; each stream is
    /// appended at the version it was decided on, so any other write since makes the
    /// commit write nothing. Returns what was executed and, in their order, the runs left
    /// to execute one by one: those that cannot go this way, and all of them when the
    /// start commit wrote nothing.
    async fn execute_together(
        &self,
        on: &mut OnConnection,
        runs: &[Uuid],
        read: &HashMap<Uuid, OperationRun>,
    ) -> Result<(Vec<(Uuid, Executed)>, Vec<Uuid>), WorkerError> {
        let ctx = worker_context();
        let started_at = std::time::Instant::now();
        let mut starts = Vec::new();
        let mut alone = Vec::new();
        let mut slots = HashSet::new();
        for &run_id in runs {
            let start = on
                .lifecycle
                .as_written(run_id)
                .or_else(|| read.get(&run_id).cloned())
                .and_then(|run| on.reviews.decide_start_and_claim_new(run_id, run, &ctx));
            match start {
                Some(start) if slots.insert(start.slot_key.clone()) => starts.push(start),
                _ => alone.push(run_id),
            }
        }
        if starts.is_empty() {
            return Ok((Vec::new(), runs.to_vec()));
        }
        let (starts, decided): (Vec<_>, Vec<_>) = starts
            .into_iter()
            .map(|s| ((s.job, s.review), s.decided))
            .unzip();
        match on.lifecycle.commit(decided).await {
            Ok(_) => {}
            Err(LifecycleError::Conflict(_)) => return Ok((Vec::new(), runs.to_vec())),
            Err(e) => {
                warn!(error = %e, "could not claim the runs together; trying each alone");
                *on = self.hold().await?;
                return Ok((Vec::new(), runs.to_vec()));
            }
        }
        // The batch's evidence documents, read in one statement; on a failure, each is
        // read when its run is composed, on a new connection.
        let jobs: Vec<&ComposeJob> = starts.iter().map(|(job, _)| job).collect();
        let mut documents = match on.reviews.read_documents(&jobs).await {
            Ok(documents) => documents.into_iter().map(Some).collect(),
            Err(e) => {
                warn!(error = %e, "could not read the batch's evidence documents; reading each by itself");
                *on = self.hold().await?;
                Vec::new()
            }
        }
        .into_iter();
        let mut executed = Vec::with_capacity(starts.len());
        let mut composed = Vec::with_capacity(starts.len());
        for (job, review) in starts {
            let run_id = job.run_id;
            let read = documents.next().flatten();
            let result = match self.compose(on, job, review, read, &ctx).await {
                Ok(Composing::Complete(c)) => {
                    composed.push(c);
                    continue;
                }
                Ok(Composing::Settle) => self.settle(run_id, &ctx).await,
                Err(e) => Err(e),
            };
            let result = match result {
                Ok(result) => result,
                Err(e) => self.interrupted(on, run_id, &e).await?,
            };
            executed.push((run_id, result));
        }
        let mut together = Vec::with_capacity(composed.len());
        let mut complete_alone = Vec::new();
        for c in composed {
            match on.lifecycle.decide_complete_together(
                c.job.run_id,
                c.outcome,
                c.failures.clone(),
                c.note.clone(),
                c.events.clone(),
                &ctx,
            ) {
                Ok(Some(decided)) => together.push((c, decided)),
                _ => complete_alone.push(c),
            }
        }
        let (together, decided): (Vec<Composed>, Vec<_>) = together.into_iter().unzip();
        match on.lifecycle.commit(decided).await {
            Ok(_) => executed.extend(together.iter().map(|c| (c.job.run_id, c.executed()))),
            // A run or a review moved on: each is completed (or settled) on its own.
            Err(LifecycleError::Conflict(_)) => complete_alone.extend(together),
            Err(e) => {
                warn!(error = %e, "compose runs interrupted; the reconciler will decide them");
                *on = self.hold().await?;
                executed.extend(
                    together
                        .iter()
                        .map(|c| (c.job.run_id, Executed::Interrupted)),
                );
            }
        }
        for c in complete_alone {
            let run_id = c.job.run_id;
            let result = match self.complete(on, c, &ctx).await {
                Ok(result) => result,
                Err(e) => self.interrupted(on, run_id, &e).await?,
            };
            executed.push((run_id, result));
        }
        for (run_id, result) in &executed {
            finished(*run_id, result, started_at);
        }
        Ok((executed, alone))
    }

    /// A run whose execution failed part-way (the database failed): it stays running for
    /// the reconciler to decide, and the worker holds a new connection, since the one
    /// held may have broken.
    async fn interrupted(
        &self,
        on: &mut OnConnection,
        run_id: Uuid,
        e: &WorkerError,
    ) -> Result<Executed, WorkerError> {
        warn!(run_id = %run_id, error = %e, "compose run interrupted; the reconciler will decide it");
        *on = self.hold().await?;
        Ok(Executed::Interrupted)
    }

    /// A page of the queue: up to `size` queued compose runs after the cursor
    /// `after` (from the front without one), in (created_at, id) order — read from the
    /// cursor on through `operation_runs_stale_queued_idx`, so a page costs the same
    /// however long the queue before it.
    async fn queued_after(
        &self,
        after: Option<(DateTime<Utc>, Uuid)>,
        size: i64,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let run_type = RunType::EnvironmentReviewCompose.key();
        match after {
            Some((at, id)) => {
                sqlx::query_as(
                    "SELECT id, created_at FROM operation_runs \
                     WHERE status = 'queued' AND run_type = $1 AND (created_at, id) > ($2, $3) \
                     ORDER BY created_at, id LIMIT $4",
                )
                .bind(run_type)
                .bind(at)
                .bind(id)
                .bind(size)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query_as(
                    "SELECT id, created_at FROM operation_runs \
                     WHERE status = 'queued' AND run_type = $1 \
                     ORDER BY created_at, id LIMIT $2",
                )
                .bind(run_type)
                .bind(size)
                .fetch_all(&self.pool)
                .await
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
    /// worker claimed it first. When it returns, the views show what it wrote.
    pub async fn claim_and_execute(&self, run_id: Uuid) -> Result<Option<Executed>, WorkerError> {
        let on = self.hold().await?;
        let executed = self.execute_claimed(&on, run_id, None).await;
        drop(on);
        self.lifecycle.writer().wait_for_own_writes().await;
        executed
    }

    /// [`ComposeWorker::claim_and_execute`] without waiting for the views.
    /// `read`: the run as the caller read it, if it did.
    async fn execute_claimed(
        &self,
        on: &OnConnection,
        run_id: Uuid,
        read: Option<OperationRun>,
    ) -> Result<Option<Executed>, WorkerError> {
        let ctx = worker_context();
        // A fingerprint composed for the first time: the start and the draft in one
        // commit. Otherwise (or after a lost race) the start alone, then the claim.
        let drafted = match on.reviews.start_and_claim_new(run_id, read, &ctx).await {
            Ok(drafted) => drafted,
            Err(e) => return Err(WorkerError::NotClaimed(e)),
        };
        if drafted.is_none() {
            match on.lifecycle.start(run_id, &ctx).await {
                Ok(_) => {}
                Err(LifecycleError::Conflict(_))
                | Err(LifecycleError::Rejected {
                    source: OperationRunError::AlreadyRunning | OperationRunError::AlreadyCompleted,
                    ..
                }) => {
                    self.lost_claim();
                    return Ok(None);
                }
                Err(e) => return Err(WorkerError::NotClaimed(e)),
            }
        }
        let span = info_span!("worker.compose", run_id = %run_id);
        let started = std::time::Instant::now();
        let executed = self
            .execute(on, run_id, drafted, &ctx)
            .instrument(span)
            .await?;
        finished(run_id, &executed, started);
        Ok(Some(executed))
    }

    /// Executes the started run `run_id`; `drafted`: its job and the draft it claimed
    /// together with its start, if it did.
    async fn execute(
        &self,
        on: &OnConnection,
        run_id: Uuid,
        drafted: Option<(ComposeJob, Box<Loaded<EnvironmentReview>>)>,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        if let Some((job, review)) = drafted {
            return self.compose_drafted(on, job, review, ctx).await;
        }
        let job = match on.reviews.job_of(run_id).await {
            Ok(job) => job,
            // A compose run that names no fingerprint or snapshot cannot be executed.
            Err(ServiceError::Refused { reason, .. }) => {
                on.lifecycle
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

        // 1 + 2. Read the slot and claim it.
        let review = match on.reviews.claim(&job, ctx).await? {
            Claim::Drafted(review) => review,
            Claim::Available(review_id) => {
                return self.duplicate_recovered(on, &job, review_id, ctx).await
            }
            Claim::HeldElsewhere(_) => return self.settle(run_id, ctx).await,
        };
        self.compose_drafted(on, job, review, ctx).await
    }

    /// Composes the run's review from its draft and finishes both.
    async fn compose_drafted(
        &self,
        on: &OnConnection,
        job: ComposeJob,
        review: Box<Loaded<EnvironmentReview>>,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        let run_id = job.run_id;
        match self.compose(on, job, review, None, ctx).await? {
            Composing::Complete(c) => self.complete(on, c, ctx).await,
            Composing::Settle => self.settle(run_id, ctx).await,
        }
    }

    /// Steps 3 and the decision of 4: the content composed from the draft's snapshot
    /// (or the compose failed), and the events that finish the review with it.
    async fn compose(
        &self,
        on: &OnConnection,
        job: ComposeJob,
        review: Box<Loaded<EnvironmentReview>>,
        read: Option<DocumentRead>,
        ctx: &CommandContext,
    ) -> Result<Composing, WorkerError> {
        let review_id = review.aggregate.state().map_or(Uuid::nil(), |r| r.id);
        fail::fail_point!("compose.after_slot_claim", |_| std::process::abort());
        fail::fail_point!("compose.after_draft_created", |_| std::process::abort());

        // 3. Compose (from the document read with the batch's, or read now).
        let content = match read {
            Some(read) => compose_read(&job, read),
            None => on.reviews.compose_content(&job).await,
        };
        let finish = match content {
            Ok(content) => Finish::Ready(content),
            Err(ComposeError::Failed(_)) => Finish::Failed,
            Err(ComposeError::Store(e)) => return Err(WorkerError::Queue(e)),
        };
        fail::fail_point!("compose.before_run_complete", |_| std::process::abort());

        let (outcome, failures, reason, status) = match &finish {
            Finish::Ready(_) => (
                TerminalOutcome::Succeeded,
                vec![],
                ReasonCode::ReviewReady,
                ReviewStatus::Ready,
            ),
            Finish::Failed => (
                TerminalOutcome::Failed,
                vec![Failure {
                    reason_code: ReasonCode::ReviewComposeFailed,
                    message: None,
                }],
                ReasonCode::ReviewComposeFailed,
                ReviewStatus::Failed,
            ),
        };
        let ready = matches!(finish, Finish::Ready(_));
        let events = match on.reviews.finishing_events(&review, &job, finish, ctx) {
            Ok(events) => events,
            // The draft is no longer this run's (taken over after the run was ended).
            Err(ServiceError::Refused { .. }) => return Ok(Composing::Settle),
            Err(e) => return Err(e.into()),
        };
        Ok(Composing::Complete(Composed {
            job,
            review_id,
            ready,
            outcome,
            failures,
            note: note(reason, review_id, status),
            events,
        }))
    }

    /// Step 4: the review's result and the run's completion, in one transaction.
    async fn complete(
        &self,
        on: &OnConnection,
        c: Composed,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        let run_id = c.job.run_id;
        let executed = c.executed();
        match on
            .lifecycle
            .complete_together(run_id, c.outcome, c.failures, c.note, c.events, ctx)
            .await
        {
            Ok(_) => Ok(executed),
            // The run or the review moved on (the reconciler ended the run meanwhile):
            // nothing was written; settle the run from what the log shows.
            Err(LifecycleError::Conflict(_))
            | Err(LifecycleError::Rejected {
                source:
                    OperationRunError::AlreadyCompleted | OperationRunError::OutcomeConflict { .. },
                ..
            }) => self.settle(run_id, ctx).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn duplicate_recovered(
        &self,
        on: &OnConnection,
        job: &ComposeJob,
        review_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Executed, WorkerError> {
        let status = on
            .reviews
            .load(review_id)
            .await?
            .map_or(ReviewStatus::Ready, |r| r.status);
        match on
            .lifecycle
            .complete_with_note(
                job.run_id,
                TerminalOutcome::Succeeded,
                vec![],
                note(ReasonCode::ReviewDuplicateRecovered, review_id, status),
                ctx,
            )
            .await
        {
            Ok(_) => Ok(Executed::DuplicateRecovered { review_id }),
            // A reconciler decided the run meanwhile: its decision stands.
            Err(LifecycleError::Conflict(_))
            | Err(LifecycleError::Rejected {
                source:
                    OperationRunError::AlreadyCompleted | OperationRunError::OutcomeConflict { .. },
                ..
            }) => self.settle(job.run_id, ctx).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The run cannot finish by itself (another run holds the draft, or the run was
    /// ended meanwhile): it is decided exactly as a reconciler pass would decide it —
    /// the freshness guard first, then the review-compose adapter's decision table —
    /// or left for a later pass when nothing is provable yet or the views lag.
    async fn settle(&self, run_id: Uuid, ctx: &CommandContext) -> Result<Executed, WorkerError> {
        let handled = self
            .reconciler
            .decide_run(run_id, self.clock.now(), ctx)
            .await
            .map_err(|e| ServiceError::Store(Box::new(e)))?;
        Ok(match handled {
            Handled::Decided(e) => Executed::LostRace {
                decided: Some(e.decision.reason()),
            },
            Handled::Failed { .. } => Executed::Interrupted,
            _ => Executed::LostRace { decided: None },
        })
    }
}

/// Where composing a drafted run got to.
enum Composing {
    /// Composed (or failed to): the completion to write.
    Complete(Composed),
    /// The draft is no longer the run's: the run is settled as a reconciler would.
    Settle,
}

/// A drafted run composed: its completion and its review's result, not yet written.
struct Composed {
    job: ComposeJob,
    review_id: Uuid,
    /// Ready (else failed).
    ready: bool,
    outcome: TerminalOutcome,
    failures: Vec<Failure>,
    note: CompletionNote,
    /// The review's result, at the version the draft left it.
    events: Vec<NewEvent>,
}

impl Composed {
    /// What the run executed once its completion is written.
    fn executed(&self) -> Executed {
        match self.ready {
            true => Executed::Composed {
                review_id: self.review_id,
            },
            false => Executed::Failed {
                review_id: self.review_id,
            },
        }
    }
}

/// Records an executed run in the metrics and the log; `since`: when its execution began.
fn finished(run_id: Uuid, executed: &Executed, since: std::time::Instant) {
    metrics::histogram!(
        "runproof_worker_compose_duration_seconds",
        "result" => executed.kind()
    )
    .record(since.elapsed().as_secs_f64());
    info!(run_id = %run_id, result = ?executed, "compose run executed");
}

/// The size of the page after one where `left` runs were not this worker's (other
/// workers held or had started them, or won their claims): a page's worth plus those, at
/// most [`MAX_PAGE`].
fn next_page(left: usize) -> i64 {
    i64::try_from(left)
        .map_or(MAX_PAGE, |left| CLAIM_BATCH.saturating_add(left))
        .min(MAX_PAGE)
}

/// A number in `0..n` (0 when `n` is 0), random enough to spread workers over a page.
fn random_below(n: usize) -> usize {
    match n {
        0 => 0,
        n => (Uuid::new_v4().as_u128() % n as u128) as usize,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_whose_page_was_shared_reads_its_share_plus_the_others_next_time() {
        // Alone: a page.
        assert_eq!(next_page(0), CLAIM_BATCH);
        // Half of a page was another worker's: the next page holds a page of its own.
        assert_eq!(next_page(32), CLAIM_BATCH + 32);
        assert_eq!(next_page(64), 2 * CLAIM_BATCH);
        // Never more than MAX_PAGE, however many were left.
        assert_eq!(next_page(10_000), MAX_PAGE);
        assert_eq!(next_page(usize::MAX), MAX_PAGE);
    }
}
