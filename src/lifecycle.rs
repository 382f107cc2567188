//! The run lifecycle service: the one place that writes run transitions.
//!
//! Every terminal write (a job's completion, a reconciler's decision) goes through here,
//! so idempotence ("completing a completed run is a no-op") and "an outcome never flips"
//! hold for every writer. Optionally each write waits until the projections show it
//! (read-your-writes).
//!
//! A process remembers each run it wrote, as it wrote it ([`Written`]), and decides the
//! run's next command on that state, appending at the version it remembers: the event
//! store's concurrency check proves the memory still true (any other write since makes
//! the append fail, and the run is then read from its stream and decided again). Only a
//! command that appends is decided this way; a refusal or a no-op is always decided on
//! the stream as read, so no answer comes from memory alone. An `ensure` on an identity
//! this process has not seen claims the slot as if it were empty, in a statement that
//! appends only if the slot's stream is still empty. Requests that ensure one identity at
//! the same moment follow the first and answer with its run ([`ClaimsInFlight`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use cqrs_es::Aggregate;
use runproof_adapters::{LoadedRun, RecordError, RunLedger};
use runproof_domain::identity::IdentityHash;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{
    CompleteRun, CompletionNote, Failure, OperationRun, OperationRunCommand, OperationRunError,
    OperationRunEvent, QueueRun, ReconcileRun, RunState, StartRun, TerminalOutcome,
};
use runproof_domain::reconciliation::Reconciliation;
use runproof_domain::run_slot::{ClaimRunSlot, RunSlot};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use runproof_projections::log;
use serde_json::Value;
use tracing::{debug, info_span, Instrument};
use uuid::Uuid;

use crate::claims_in_flight::{ClaimsInFlight, Turn};
use crate::clock::Clock;
use crate::event_store::{EventStore, Loaded, NewEvent, StoreError};
use crate::writer::Writer;

/// How many times an ensure call re-reads the slot after losing a race.
const ENSURE_ATTEMPTS: usize = 16;

/// Runs (and slot identities) remembered at most; past this a memory starts over (it
/// only saves a read).
const WRITTEN_MAX: usize = 50_000;

/// The active runs this process wrote, each as it stood after its last write here (the
/// aggregate knows its version), and the slot identities this process has seen taken.
/// Nothing here is trusted on its own: see the module documentation.
#[derive(Clone, Default)]
struct Written {
    runs: Arc<Mutex<HashMap<Uuid, OperationRun>>>,
    slots: Arc<Mutex<HashSet<String>>>,
}

impl Written {
    fn run(&self, run_id: Uuid) -> Option<OperationRun> {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&run_id)
            .cloned()
    }

    /// Remembers an active run; forgets one that ended (nothing more is appended to it
    /// by its own job, and a later command on it is decided on its stream).
    fn remember(&self, run_id: Uuid, run: OperationRun) {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if !run.is_active() {
            runs.remove(&run_id);
            return;
        }
        if runs.len() >= WRITTEN_MAX {
            runs.clear();
        }
        runs.insert(run_id, run);
    }

    fn forget(&self, run_id: Uuid) {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&run_id);
    }

    fn slot_taken(&self, identity: &IdentityHash) -> bool {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(identity.as_str())
    }

    fn note_slot_taken(&self, identity: &IdentityHash) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= WRITTEN_MAX {
            slots.clear();
        }
        slots.insert(identity.as_str().to_string());
    }
}

/// Why a lifecycle call failed. Nothing was recorded unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The domain refused the command (see the reason code); fix the input or accept it.
    #[error("run command rejected: {source}")]
    Rejected {
        /// The run addressed (absent when the request was refused before a run existed).
        run_id: Option<Uuid>,
        #[source]
        source: OperationRunError,
    },
    /// A concurrent writer changed the run (or the identity's slot, for ensure) first;
    /// the caller may reload and retry.
    #[error("a concurrent write got there first")]
    Conflict(Option<Uuid>),
    /// The store failed; nothing was written.
    #[error("event store failure")]
    Store(#[source] StoreError),
}

impl LifecycleError {
    /// The catalogued reason for this failure.
    pub fn reason(&self) -> ReasonCode {
        match self {
            LifecycleError::Rejected { source, .. } => source.reason(),
            LifecycleError::Conflict(_) => ReasonCode::RunConcurrentChange,
            LifecycleError::Store(_) => ReasonCode::DbInternal,
        }
    }
}

/// Ask for a run of `run_type` in a scope; identical requests share one active run.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsureRun {
    pub workspace_id: Uuid,
    pub environment_id: Option<Uuid>,
    pub run_type: String,
    /// What makes two requests "the same run" (hashed into the run identity).
    pub identity_inputs: Value,
    /// Type-specific context recorded on the run (a JSON object).
    pub context: Value,
}

/// The answer to an ensure call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// A new run was queued.
    Queued(Uuid),
    /// An active run with the same identity already existed; it is returned instead.
    Existing(Uuid),
}

impl Ensured {
    pub fn run_id(self) -> Uuid {
        match self {
            Ensured::Queued(id) | Ensured::Existing(id) => id,
        }
    }
}

/// What a run's own job reports when it completes the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub outcome: TerminalOutcome,
    /// Counts by name (`[a-z0-9_]`, at most 32 entries).
    pub summary: BTreeMap<String, u64>,
    /// What failed, each with a catalogued reason (at most 50).
    pub failures: Vec<Failure>,
    /// Why the run ended this way; without one, the first failure's reason (or
    /// `job.no_reason`) is recorded.
    pub note: Option<CompletionNote>,
}

/// What a transition wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub run_id: Uuid,
    /// The run's stream version after the call.
    pub version: u64,
    /// False when the call was an idempotent no-op.
    pub changed: bool,
}

/// A slot claim decided: the run it queues, the run as queued, and the events to append.
struct ClaimWrites {
    run_id: Uuid,
    run: OperationRun,
    writes: Vec<NewEvent>,
}

/// The run lifecycle service.
#[derive(Clone)]
pub struct RunLifecycle {
    writer: Writer,
    clock: Arc<dyn Clock>,
    written: Written,
    claims: ClaimsInFlight,
}

impl RunLifecycle {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        RunLifecycle {
            writer,
            clock,
            written: Written::default(),
            claims: ClaimsInFlight::default(),
        }
    }

    /// The same service (sharing what this process remembers of its runs) whose writes
    /// do not wait for the projections; see [`Writer::without_read_your_writes`].
    pub fn without_read_your_writes(&self) -> Self {
        RunLifecycle {
            writer: self.writer.without_read_your_writes(),
            clock: self.clock.clone(),
            written: self.written.clone(),
            // A follower answers when its leader did, and that one waits for the views
            // only with read-your-writes: requests of the two modes do not follow each
            // other.
            claims: ClaimsInFlight::default(),
        }
    }

    /// The run as this process last wrote it, if it is still active and remembered: the
    /// state after this process's last write, which a later write by anyone else makes
    /// stale. For what never changes once queued (type, scope, context) or as the
    /// expectation of an append; [`RunLifecycle::load`] reads the stream.
    pub fn as_written(&self, run_id: Uuid) -> Option<OperationRun> {
        self.written.run(run_id)
    }

    /// The runs `run_ids` as recorded in their streams, read in one statement (a run
    /// without events is left out): for a worker about to claim a page of its queue.
    pub async fn load_many(
        &self,
        run_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, OperationRun>, LifecycleError> {
        let ids: Vec<String> = run_ids.iter().map(Uuid::to_string).collect();
        let loaded = self
            .writer
            .store()
            .load_many::<OperationRun>(&ids)
            .await
            .map_err(LifecycleError::Store)?;
        Ok(loaded
            .into_iter()
            .filter_map(|(id, run)| Some((Uuid::parse_str(&id).ok()?, run.aggregate)))
            .collect())
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The same lifecycle (sharing what it remembers of the runs it wrote) on `store`
    /// (see [`Writer::on_store`]).
    pub fn on_store(&self, store: EventStore) -> Self {
        RunLifecycle {
            writer: self.writer.on_store(store),
            ..self.clone()
        }
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Returns the active run for this identity, or queues one. Holds under any
    /// concurrency: the slot claim and the queued run are appended in one transaction,
    /// and concurrent claims of one slot conflict in the event store; the losers re-read
    /// the slot and return the winner's run.
    pub async fn ensure(
        &self,
        req: EnsureRun,
        ctx: &CommandContext,
    ) -> Result<Ensured, LifecycleError> {
        let run_type: RunType = req.run_type.parse().map_err(|_| LifecycleError::Rejected {
            run_id: None,
            source: OperationRunError::UnknownRunType(req.run_type.clone()),
        })?;
        let identity = IdentityHash::of(
            req.workspace_id,
            req.environment_id,
            run_type,
            &req.identity_inputs,
        );
        let span = info_span!("lifecycle.ensure", identity = %identity, run_type = %run_type);
        async {
            // One request of this process ensures the identity at a time; the others
            // that come meanwhile answer with its run ([`ClaimsInFlight`]).
            let lead = match self.claims.turn(identity.as_str()) {
                Turn::Lead(lead) => Some(lead),
                Turn::Follow(follow) => match follow.answer().await {
                    Some(run_id) => {
                        debug!(%run_id, "answered by the request ensuring the identity");
                        metrics::counter!("runproof_ensure_followed_total").increment(1);
                        return Ok(Ensured::Existing(run_id));
                    }
                    None => None,
                },
            };
            fail::fail_point!("lifecycle.ensure_lead");
            let ensured = self.ensure_here(&req, run_type, &identity, ctx).await;
            if let (Some(lead), Ok(ensured)) = (lead, &ensured) {
                lead.answer(ensured.run_id());
            }
            ensured
        }
        .instrument(span)
        .await
    }

    /// Ensures the identity's run from its slot: claims the slot as if it were empty the
    /// first time this process sees the identity, and reads it otherwise (or after the
    /// claim found it taken).
    async fn ensure_here(
        &self,
        req: &EnsureRun,
        run_type: RunType,
        identity: &IdentityHash,
        ctx: &CommandContext,
    ) -> Result<Ensured, LifecycleError> {
        if !self.written.slot_taken(identity) {
            if let Some(queued) = self.try_claim_new(req, run_type, identity, ctx).await? {
                return Ok(queued);
            }
            self.written.note_slot_taken(identity);
        }
        for attempt in 1..=ENSURE_ATTEMPTS {
            match self.try_ensure(req, run_type, identity, ctx).await? {
                Some(ensured) => return Ok(ensured),
                None => debug!(attempt, "lost the slot race; re-reading"),
            }
        }
        Err(LifecycleError::Conflict(None))
    }

    /// The first claim of a slot this process has not seen taken: decided on the empty
    /// slot, appended only if the slot's stream is still empty (one statement). `None`
    /// when the slot has a history (or another writer claimed it at the same moment):
    /// the caller reads it then.
    async fn try_claim_new(
        &self,
        req: &EnsureRun,
        run_type: RunType,
        identity: &IdentityHash,
        ctx: &CommandContext,
    ) -> Result<Option<Ensured>, LifecycleError> {
        let slot = Loaded {
            aggregate: RunSlot::default(),
            version: 0,
        };
        let Some(ClaimWrites {
            run_id,
            run,
            writes,
        }) = self.claim_writes(&slot, None, req, run_type, identity, ctx)?
        else {
            return Ok(None);
        };
        match self
            .writer
            .append_to_new_stream::<RunSlot>(identity.as_str(), &writes)
            .await
        {
            Ok(Some(at)) => {
                self.written.note_slot_taken(identity);
                self.written.remember(run_id, run);
                self.writer.wait_shown(at).await;
                Ok(Some(Ensured::Queued(run_id)))
            }
            Ok(None) => Ok(None),
            Err(StoreError::Conflict) => self.lost_first_claim(identity).await,
            Err(e) => Err(LifecycleError::Store(e)),
        }
    }

    /// The first claim of a slot lost to a concurrent one: the winner's claim was not yet
    /// committed when this claim's statement began, and was when it failed, so it
    /// committed during this request — and queued its run in the same transaction. When
    /// the slot holds just that claim, its run was active at that moment and is this
    /// request's answer, without reading the run (the request is ordered right after the
    /// winner's commit). Otherwise (`None`) the caller reads the slot as usual.
    async fn lost_first_claim(
        &self,
        identity: &IdentityHash,
    ) -> Result<Option<Ensured>, LifecycleError> {
        let slot = self.load_slot(identity).await?;
        match (slot.version, slot.aggregate.holder()) {
            (1, Some(winner)) => {
                self.writer
                    .wait_visible::<OperationRun>(&winner.to_string(), 1)
                    .await;
                Ok(Some(Ensured::Existing(winner)))
            }
            _ => Ok(None),
        }
    }

    /// The writes of a slot claim and the run it queues, decided on `slot` as read (and
    /// its holder run, if it has one); `None` when the slot is held by an active run or
    /// the observation is outdated — see [`RunLifecycle::try_ensure`].
    fn claim_writes(
        &self,
        slot: &Loaded<RunSlot>,
        holder_run: Option<&OperationRun>,
        req: &EnsureRun,
        run_type: RunType,
        identity: &IdentityHash,
        ctx: &CommandContext,
    ) -> Result<Option<ClaimWrites>, LifecycleError> {
        let holder = slot.aggregate.holder();
        let now = self.clock.now();
        let run_id = Uuid::new_v4();
        let claim = ClaimRunSlot {
            run_id,
            identity_hash: identity.clone(),
            observed_holder: holder,
            observed_holder_active: holder_run.is_some_and(OperationRun::is_active),
            claimed_at: now,
        };
        let Ok(slot_events) = slot.aggregate.decide(claim) else {
            return Ok(None);
        };
        let run_events = OperationRun::default()
            .decide(OperationRunCommand::Queue(QueueRun {
                run_id,
                workspace_id: req.workspace_id,
                environment_id: req.environment_id,
                run_type: run_type.key().to_string(),
                initiator: ctx.actor.clone(),
                identity_hash: identity.clone(),
                context: req.context.clone(),
                queued_at: now,
            }))
            .map_err(|source| LifecycleError::Rejected {
                run_id: None,
                source,
            })?;
        let mut writes = NewEvent::for_stream::<RunSlot>(
            identity.as_str(),
            slot.version,
            &slot_events,
            ctx,
            now,
        )
        .map_err(LifecycleError::Store)?;
        writes.extend(
            NewEvent::for_stream::<OperationRun>(&run_id.to_string(), 0, &run_events, ctx, now)
                .map_err(LifecycleError::Store)?,
        );
        let mut run = OperationRun::default();
        for e in run_events {
            run.apply(e);
        }
        Ok(Some(ClaimWrites {
            run_id,
            run,
            writes,
        }))
    }

    /// The identity's slot as recorded in its stream.
    async fn load_slot(&self, identity: &IdentityHash) -> Result<Loaded<RunSlot>, LifecycleError> {
        self.writer
            .store()
            .load::<RunSlot>(identity.as_str())
            .await
            .map_err(LifecycleError::Store)
    }

    /// One attempt; `None` when another writer won the slot meanwhile.
    async fn try_ensure(
        &self,
        req: &EnsureRun,
        run_type: RunType,
        identity: &IdentityHash,
        ctx: &CommandContext,
    ) -> Result<Option<Ensured>, LifecycleError> {
        let slot = self.load_slot(identity).await?;
        let holder = slot.aggregate.holder();
        let holder_run = match holder {
            Some(run_id) => Some(self.load(run_id).await?),
            None => None,
        };
        if let (Some(active), Some(run)) = (holder, &holder_run) {
            if run.is_active() {
                // The run handed back is shown by the views too (read-your-writes holds
                // for the answer, not only for the caller that queued it).
                self.writer
                    .wait_visible::<OperationRun>(&active.to_string(), run.version().max(1))
                    .await;
                return Ok(Some(Ensured::Existing(active)));
            }
        }
        let Some(ClaimWrites {
            run_id,
            run,
            writes,
        }) = self.claim_writes(&slot, holder_run.as_ref(), req, run_type, identity, ctx)?
        else {
            return Ok(None);
        };
        match self.writer.append_atomically(&writes).await {
            Ok(at) => {
                self.written.remember(run_id, run);
                self.writer.wait_shown(at).await;
                Ok(Some(Ensured::Queued(run_id)))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(LifecycleError::Store(e)),
        }
    }

    /// The run as this process last wrote it, or else as read from its stream: what a
    /// caller decides a command on when a lost race is cheap (the append then fails, and
    /// the caller decides again on the stream).
    pub async fn current(&self, run_id: Uuid) -> Result<OperationRun, LifecycleError> {
        match self.written.run(run_id) {
            Some(run) => Ok(run),
            None => self.load(run_id).await,
        }
    }

    /// A worker claims a queued run. Of concurrent claimants exactly one succeeds; the
    /// others get `run.already_running` (or a conflict when they collided in the store).
    pub async fn start(
        &self,
        run_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        let now = self.clock.now();
        self.execute(
            run_id,
            OperationRunCommand::Start(StartRun { started_at: now }),
            ctx,
        )
        .await
    }

    /// The run's job reports its outcome. Repeating a completion with the same outcome
    /// is a no-op; asking for another outcome is rejected (`run.outcome_conflict`).
    pub async fn complete(
        &self,
        run_id: Uuid,
        outcome: TerminalOutcome,
        summary: BTreeMap<String, u64>,
        failures: Vec<Failure>,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        self.complete_with(
            run_id,
            Completion {
                outcome,
                summary,
                failures,
                note: None,
            },
            ctx,
        )
        .await
    }

    /// Like [`RunLifecycle::complete`], with the job's note on why it ended this way and
    /// which record it produced or found.
    pub async fn complete_with_note(
        &self,
        run_id: Uuid,
        outcome: TerminalOutcome,
        failures: Vec<Failure>,
        note: CompletionNote,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        self.complete_with(
            run_id,
            Completion {
                outcome,
                summary: BTreeMap::new(),
                failures,
                note: Some(note),
            },
            ctx,
        )
        .await
    }

    /// The run's job reports everything it has to say about how the run ended (the
    /// other completions are shorthands of this one). The same rules hold: a repeat with
    /// the same outcome records nothing (`Receipt::changed` is false), another outcome
    /// is rejected.
    pub async fn complete_with(
        &self,
        run_id: Uuid,
        completion: Completion,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        let now = self.clock.now();
        self.execute(
            run_id,
            OperationRunCommand::Complete(CompleteRun {
                outcome: completion.outcome,
                summary: completion.summary,
                failures: completion.failures,
                completed_at: now,
                note: completion.note,
            }),
            ctx,
        )
        .await
    }

    /// Completes the run with its job's note in the same transaction as `together` —
    /// events of other streams that record the job's result (a review marked ready or
    /// failed), built at the versions their writer read. Both are written or neither, so
    /// no crash can leave the result without the completion or the other way round. If
    /// the run or any other stream moved on meanwhile, nothing is written and the answer
    /// is [`LifecycleError::Conflict`]; a run that is already completed is refused
    /// (`run.already_completed`) and nothing is written either.
    pub async fn complete_together(
        &self,
        run_id: Uuid,
        outcome: TerminalOutcome,
        failures: Vec<Failure>,
        note: CompletionNote,
        together: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        let span = info_span!("lifecycle.command", run_id = %run_id, command = "complete");
        async {
            let command = OperationRunCommand::Complete(CompleteRun {
                outcome,
                summary: BTreeMap::new(),
                failures,
                completed_at: self.clock.now(),
                note: Some(note),
            });
            match self
                .decide_on_latest(run_id, command, together, ctx)
                .await?
            {
                (Some(receipt), _) => Ok(receipt),
                (None, _) => Err(LifecycleError::Rejected {
                    run_id: Some(run_id),
                    source: OperationRunError::AlreadyCompleted,
                }),
            }
        }
        .instrument(span)
        .await
    }

    /// Records a reconciliation decision made on the run at `expected_version`. If the
    /// run moved on meanwhile (its job completed it, another reconciler decided), the
    /// write loses cleanly and nothing is recorded.
    pub async fn reconcile(
        &self,
        run_id: Uuid,
        expected_version: u64,
        reconciliation: Reconciliation,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        self.execute(
            run_id,
            OperationRunCommand::Reconcile(ReconcileRun {
                expected_version,
                reconciliation,
            }),
            ctx,
        )
        .await
    }

    /// The run as recorded in its stream (the authoritative state, not a projection).
    pub async fn load(&self, run_id: Uuid) -> Result<OperationRun, LifecycleError> {
        // The aggregate counts the events it applied: its version is the stream's.
        self.writer
            .store()
            .load::<OperationRun>(&run_id.to_string())
            .await
            .map(|loaded| loaded.aggregate)
            .map_err(LifecycleError::Store)
    }

    async fn execute(
        &self,
        run_id: Uuid,
        command: OperationRunCommand,
        ctx: &CommandContext,
    ) -> Result<Receipt, LifecycleError> {
        let span =
            info_span!("lifecycle.command", run_id = %run_id, command = command_name(&command));
        async {
            let (receipt, version) = self
                .decide_on_latest(run_id, command, Vec::new(), ctx)
                .await?;
            Ok(receipt.unwrap_or(Receipt {
                run_id,
                version,
                changed: false,
            }))
        }
        .instrument(span)
        .await
    }

    /// Decides `command` (with `together`, see [`RunLifecycle::decide_and_append`]) on the
    /// run as this process remembers it; when that records nothing, is refused, or loses
    /// to another write, forgets it and decides again on the run as read from its stream.
    /// Returns what was written (`None`: nothing) and the version of the run as read.
    async fn decide_on_latest(
        &self,
        run_id: Uuid,
        command: OperationRunCommand,
        together: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<(Option<Receipt>, u64), LifecycleError> {
        if let Some(remembered) = self.written.run(run_id) {
            let version = remembered.version();
            match self
                .decide_and_append(
                    run_id,
                    remembered,
                    command.clone(),
                    together.clone(),
                    Vec::new(),
                    ctx,
                )
                .await
            {
                Ok(Some(receipt)) => return Ok((Some(receipt), version)),
                Ok(None) | Err(LifecycleError::Conflict(_) | LifecycleError::Rejected { .. }) => {
                    self.written.forget(run_id)
                }
                Err(e) => return Err(e),
            }
        }
        let loaded = self.load(run_id).await?;
        let version = loaded.version();
        let receipt = self
            .decide_and_append(run_id, loaded, command, together, Vec::new(), ctx)
            .await?;
        Ok((receipt, version))
    }

    /// Decides `command` on `run` (the run at its own version) and appends the events
    /// in one transaction at that version, between `before` and `after` (events of other
    /// streams, in log order). `Ok(None)` when the command records nothing (an idempotent
    /// repeat); a refusal is `Rejected`, a concurrent write `Conflict`.
    async fn decide_and_append(
        &self,
        run_id: Uuid,
        run: OperationRun,
        command: OperationRunCommand,
        before: Vec<NewEvent>,
        after: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<Option<Receipt>, LifecycleError> {
        let Some(decided) = self.decide(run_id, run, command, before, after, ctx)? else {
            return Ok(None);
        };
        Ok(self.commit(vec![decided]).await?.pop())
    }

    /// Decides `command` on `run` (the run at its own version) without appending: the
    /// run's events at that version between `before` and `after`. `Ok(None)` when the
    /// command records nothing; a refusal is `Rejected`.
    fn decide(
        &self,
        run_id: Uuid,
        run: OperationRun,
        command: OperationRunCommand,
        before: Vec<NewEvent>,
        after: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<Option<Decided>, LifecycleError> {
        let now = self.clock.now();
        let events = run
            .decide(command)
            .map_err(|source| LifecycleError::Rejected {
                run_id: Some(run_id),
                source,
            })?;
        if events.is_empty() {
            return Ok(None);
        }
        let mut writes = before;
        writes.extend(
            NewEvent::for_stream::<OperationRun>(
                &run_id.to_string(),
                run.version(),
                &events,
                ctx,
                now,
            )
            .map_err(LifecycleError::Store)?,
        );
        writes.extend(after);
        let mut run = run;
        for e in events {
            run.apply(e);
        }
        Ok(Some(Decided {
            run_id,
            writes,
            run,
        }))
    }

    /// A worker's claim of the queued `run` (as this process last wrote it, or as read)
    /// with `together` after its start — the job's first writes, built from the run as it
    /// was decided on — decided without appending: [`RunLifecycle::commit`] writes both
    /// or neither, for one run or several. A run that cannot start is `Rejected`,
    /// decided on `run` as given (which may be behind its stream); a stream that moved on
    /// makes the commit a `Conflict`. The caller then goes the long way —
    /// [`RunLifecycle::start`], which decides on the stream, and the job's writes after it.
    pub fn decide_start_together(
        &self,
        run_id: Uuid,
        run: OperationRun,
        together: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<Option<Decided>, LifecycleError> {
        let command = OperationRunCommand::Start(StartRun {
            started_at: self.clock.now(),
        });
        self.decide(run_id, run, command, Vec::new(), together, ctx)
    }

    /// Like [`RunLifecycle::complete_together`], decided without appending on the run as
    /// this process last wrote it: `Ok(None)` when it does not remember the run or the
    /// completion records nothing there (the caller then completes it alone, decided on
    /// its stream). A worker completes several runs in one commit ([`RunLifecycle::commit`]).
    pub fn decide_complete_together(
        &self,
        run_id: Uuid,
        outcome: TerminalOutcome,
        failures: Vec<Failure>,
        note: CompletionNote,
        together: Vec<NewEvent>,
        ctx: &CommandContext,
    ) -> Result<Option<Decided>, LifecycleError> {
        let Some(run) = self.written.run(run_id) else {
            return Ok(None);
        };
        let command = OperationRunCommand::Complete(CompleteRun {
            outcome,
            summary: BTreeMap::new(),
            failures,
            completed_at: self.clock.now(),
            note: Some(note),
        });
        self.decide(run_id, run, command, together, Vec::new(), ctx)
    }

    /// Appends what was decided, for one run or several, in one transaction, in the
    /// order given: all of it or — when any of the streams moved on since it was decided
    /// on (`Conflict`) or the store fails — none of it. Each run is then remembered as
    /// its decision left it. The receipts are in the order given.
    pub async fn commit(&self, decided: Vec<Decided>) -> Result<Vec<Receipt>, LifecycleError> {
        let conflict = match &decided[..] {
            [one] => Some(one.run_id),
            _ => None,
        };
        let mut writes = Vec::new();
        let mut runs = Vec::with_capacity(decided.len());
        for d in decided {
            writes.extend(d.writes);
            runs.push((d.run_id, d.run));
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let at = match self.writer.append_atomically(&writes).await {
            Ok(at) => at,
            Err(StoreError::Conflict) => return Err(LifecycleError::Conflict(conflict)),
            Err(e) => return Err(LifecycleError::Store(e)),
        };
        let receipts = runs
            .into_iter()
            .map(|(run_id, run)| {
                let receipt = Receipt {
                    run_id,
                    version: run.version(),
                    changed: true,
                };
                self.written.remember(run_id, run);
                receipt
            })
            .collect();
        self.writer.wait_shown(at).await;
        Ok(receipts)
    }
}

/// A run's command decided on the run as known, with the other streams' events that go
/// with it, not yet appended ([`RunLifecycle::commit`] appends it, with others).
#[derive(Debug, Clone)]
pub struct Decided {
    run_id: Uuid,
    writes: Vec<NewEvent>,
    /// The run as the decision leaves it.
    run: OperationRun,
}

fn command_name(command: &OperationRunCommand) -> &'static str {
    match command {
        OperationRunCommand::Queue(_) => "queue",
        OperationRunCommand::Start(_) => "start",
        OperationRunCommand::Complete(_) => "complete",
        OperationRunCommand::Reconcile(_) => "reconcile",
    }
}

// The aggregate type names, re-exported for callers that read streams directly.
pub const RUN_AGGREGATE: &str = <OperationRun as Aggregate>::TYPE;
pub const SLOT_AGGREGATE: &str = <RunSlot as Aggregate>::TYPE;

/// The reconciler reads runs and records its decisions through the lifecycle service.
#[async_trait::async_trait]
impl RunLedger for RunLifecycle {
    async fn load(&self, run_id: Uuid) -> Result<Option<LoadedRun>, RecordError> {
        self.load_for_reconciliation(run_id).await
    }

    async fn record(
        &self,
        run_id: Uuid,
        expected_version: u64,
        reconciliation: Reconciliation,
        ctx: &CommandContext,
    ) -> Result<(), RecordError> {
        match self
            .reconcile(run_id, expected_version, reconciliation, ctx)
            .await
        {
            Ok(_) => Ok(()),
            Err(LifecycleError::Conflict(_))
            | Err(LifecycleError::Rejected {
                source:
                    OperationRunError::VersionMismatch { .. } | OperationRunError::AlreadyCompleted,
                ..
            }) => Err(RecordError::Lost),
            Err(LifecycleError::Rejected { source, .. }) => {
                Err(RecordError::Refused(source.reason()))
            }
            Err(e) => Err(RecordError::Failed(Box::new(e))),
        }
    }
}

impl RunLifecycle {
    /// The run folded from its own stream, with its version and the log position of its
    /// last event (what the reconciler decides on).
    pub async fn load_for_reconciliation(
        &self,
        run_id: Uuid,
    ) -> Result<Option<LoadedRun>, RecordError> {
        let mut conn = self
            .writer
            .store()
            .pool()
            .acquire()
            .await
            .map_err(|e| RecordError::Failed(Box::new(e)))?;
        let events = log::read_stream(&mut conn, RUN_AGGREGATE, &run_id.to_string())
            .await
            .map_err(|e| RecordError::Failed(Box::new(e)))?;
        let Some(last) = events.last() else {
            return Ok(None);
        };
        // The version is the last sequence; the last event in commit order can be an
        // earlier sequence written by an older transaction, so take the greatest position.
        let version = last.sequence;
        let last_event = events.iter().map(|e| e.at).max().unwrap_or(last.at);
        let mut state = None;
        for e in &events {
            let event: OperationRunEvent = e
                .decode()
                .map_err(|err| RecordError::Failed(Box::new(err)))?;
            state = RunState::fold(state, event);
        }
        Ok(state.map(|state| LoadedRun {
            state,
            version: u64::try_from(version).unwrap_or(0),
            last_event,
        }))
    }
}
