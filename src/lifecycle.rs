//! The run lifecycle service: the one place that writes run transitions.
//!
//! Every terminal write (a job's completion, a reconciler's decision) goes through here,
//! so idempotence ("completing a completed run is a no-op") and "an outcome never flips"
//! hold for every writer. Optionally each write waits until the projections show it
//! (read-your-writes).

use std::collections::BTreeMap;
use std::sync::Arc;

use cqrs_es::Aggregate;
use runproof_adapters::{LoadedRun, RecordError, RunLedger};
use runproof_domain::identity::IdentityHash;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{
    CompleteRun, CompletionNote, Failure, OperationRun, OperationRunCommand, OperationRunError,
    OperationRunEvent, QueueRun, ReconcileRun, RunState, StartRun, TerminalOutcome,
};
use runproof_domain::reconciliation::Reconciliation;
use runproof_domain::run_slot::{ClaimRunSlot, RunSlot, RunSlotError};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use runproof_projections::log;
use serde_json::Value;
use tracing::{debug, info_span, Instrument};
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::{NewEvent, StoreError};
use crate::writer::{WriteError, Writer};

/// How many times an ensure call re-reads the slot after losing a race.
const ENSURE_ATTEMPTS: usize = 16;

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

/// The run lifecycle service.
#[derive(Clone)]
pub struct RunLifecycle {
    writer: Writer,
    clock: Arc<dyn Clock>,
}

impl RunLifecycle {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        RunLifecycle { writer, clock }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
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
            for attempt in 1..=ENSURE_ATTEMPTS {
                match self.try_ensure(&req, run_type, &identity, ctx).await? {
                    Some(ensured) => return Ok(ensured),
                    None => debug!(attempt, "lost the slot race; re-reading"),
                }
            }
            Err(LifecycleError::Conflict(None))
        }
        .instrument(span)
        .await
    }

    /// One attempt; `None` when another writer won the slot meanwhile.
    async fn try_ensure(
        &self,
        req: &EnsureRun,
        run_type: RunType,
        identity: &IdentityHash,
        ctx: &CommandContext,
    ) -> Result<Option<Ensured>, LifecycleError> {
        let slot = self
            .writer
            .store()
            .load::<RunSlot>(identity.as_str())
            .await
            .map_err(LifecycleError::Store)?;
        let holder = slot.aggregate.holder();
        let holder_run = match holder {
            Some(run_id) => Some(self.load(run_id).await?),
            None => None,
        };
        let holder_active = holder_run.as_ref().is_some_and(OperationRun::is_active);
        let now = self.clock.now();
        let run_id = Uuid::new_v4();
        let claim = ClaimRunSlot {
            run_id,
            identity_hash: identity.clone(),
            observed_holder: holder,
            observed_holder_active: holder_active,
            claimed_at: now,
        };
        let slot_events = match slot.aggregate.decide(claim) {
            Ok(events) => events,
            Err(RunSlotError::Held(active)) => {
                // The run handed back is shown by the views too (read-your-writes holds
                // for the answer, not only for the caller that queued it).
                let version = holder_run.as_ref().map_or(1, OperationRun::version);
                self.writer
                    .wait_visible::<OperationRun>(&active.to_string(), version)
                    .await;
                return Ok(Some(Ensured::Existing(active)));
            }
            Err(RunSlotError::ObservationOutdated) => return Ok(None),
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
        match self.writer.append_atomically(&writes).await {
            Ok(()) => {
                self.writer
                    .wait_visible::<OperationRun>(&run_id.to_string(), run_events.len() as u64)
                    .await;
                Ok(Some(Ensured::Queued(run_id)))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(LifecycleError::Store(e)),
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
            let loaded = self
                .writer
                .store()
                .load::<OperationRun>(&run_id.to_string())
                .await
                .map_err(LifecycleError::Store)?;
            let now = self.clock.now();
            let rejected = |source| LifecycleError::Rejected {
                run_id: Some(run_id),
                source,
            };
            let events = loaded
                .aggregate
                .decide(OperationRunCommand::Complete(CompleteRun {
                    outcome,
                    summary: BTreeMap::new(),
                    failures,
                    completed_at: now,
                    note: Some(note),
                }))
                .map_err(rejected)?;
            if events.is_empty() {
                return Err(rejected(OperationRunError::AlreadyCompleted));
            }
            let mut writes = together;
            writes.extend(
                NewEvent::for_stream::<OperationRun>(
                    &run_id.to_string(),
                    loaded.version,
                    &events,
                    ctx,
                    now,
                )
                .map_err(LifecycleError::Store)?,
            );
            match self.writer.append_atomically(&writes).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => return Err(LifecycleError::Conflict(Some(run_id))),
                Err(e) => return Err(LifecycleError::Store(e)),
            }
            let version = loaded.version + events.len() as u64;
            self.writer
                .wait_visible::<OperationRun>(&run_id.to_string(), version)
                .await;
            Ok(Receipt {
                run_id,
                version,
                changed: true,
            })
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
            let now = self.clock.now();
            let committed = self
                .writer
                .execute::<OperationRun>(&run_id.to_string(), command, ctx, now)
                .await
                .map_err(|e| match e {
                    WriteError::Rejected(source) => LifecycleError::Rejected {
                        run_id: Some(run_id),
                        source,
                    },
                    WriteError::Conflict => LifecycleError::Conflict(Some(run_id)),
                    WriteError::Store(e) => LifecycleError::Store(e),
                })?;
            Ok(Receipt {
                run_id,
                version: committed.version,
                changed: committed.events > 0,
            })
        }
        .instrument(span)
        .await
    }
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
