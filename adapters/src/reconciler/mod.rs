//! The stale-run reconciler: each pass finds candidate runs, asks their type's adapter
//! for a proof, ends stale runs nobody can prove through the generic stale path, and
//! records every decision through the run lifecycle (via [`RunLedger`]).
//!
//! Safe with any number of processes: one leader per pass (a PostgreSQL advisory lock),
//! and even without a leader a run is never reconciled twice, because every decision
//! carries the run version it was made on and the lifecycle refuses a newer run.

mod scan;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::TerminalOutcome;
use runproof_domain::reconciliation::{
    stale, AdapterRef, Decision, DecisionKind, Reconciliation, ReconciliationSource,
};
use runproof_domain::run_type::RunType;
use runproof_projections::{LogPosition, Projector, ProjectorError};
use serde::Serialize;
use sqlx::PgPool;
use tracing::{debug, info, info_span, warn, Instrument};
use uuid::Uuid;

use crate::contract::AdapterError;
use crate::ledger::{LoadedRun, RecordError, RunLedger};
use crate::registry::AdapterRegistry;

/// Advisory lock key of the reconciler leader ("reconcil").
const LEADER_LOCK: i64 = 0x7265_636f_6e63_696c;

/// Runs examined at the same time within one pass.
const CONCURRENCY: usize = 8;

/// Why a pass could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("database error in the reconciler")]
    Database(#[from] sqlx::Error),
    #[error("the projections could not catch up")]
    Projector(#[from] ProjectorError),
    #[error("the run could not be read")]
    Ledger(#[from] RecordError),
    #[error("an adapter could not gather its evidence")]
    Adapter(#[from] AdapterError),
}

/// What was (or would be) decided about one run, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub run_id: Uuid,
    pub run_type: RunType,
    /// The run version the decision was made on.
    pub version: u64,
    pub source: ReconciliationSource,
    pub adapter: Option<AdapterRef>,
    pub decision: Decision,
}

impl Evaluation {
    /// The outcome the run ends with, when decided.
    pub fn outcome(&self) -> Option<TerminalOutcome> {
        self.decision.kind().map(DecisionKind::outcome)
    }
}

/// What happened to one candidate in a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Handled {
    /// The decision was recorded; the run is completed.
    Decided(Evaluation),
    /// Nothing could be proven and the run is not stale; left alone.
    NotProvable(Evaluation),
    /// The run had already ended when it was read from its stream.
    AlreadyEnded { run_id: Uuid },
    /// The projections had not caught up with the run's last event; decided nothing.
    ProjectionBehind { run_id: Uuid },
    /// The run moved on between reading and writing; nothing was recorded.
    Lost(Evaluation),
    /// Reading or deciding failed; nothing was recorded, the next pass retries.
    Failed { run_id: Uuid },
}

/// The result of one pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// False when another process held the leader lock and this pass did nothing.
    pub leader: bool,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub runs: Vec<Handled>,
}

impl PassReport {
    pub fn decided(&self) -> impl Iterator<Item = &Evaluation> {
        self.runs.iter().filter_map(|h| match h {
            Handled::Decided(e) => Some(e),
            _ => None,
        })
    }

    /// (decided, not provable, already ended, behind, lost, failed)
    pub fn counts(&self) -> PassCounts {
        let mut c = PassCounts::default();
        for h in &self.runs {
            match h {
                Handled::Decided(e) if e.source == ReconciliationSource::Adapter => {
                    c.decided_by_adapter += 1
                }
                Handled::Decided(_) => c.decided_stale += 1,
                Handled::NotProvable(_) => c.not_provable += 1,
                Handled::AlreadyEnded { .. } => c.already_ended += 1,
                Handled::ProjectionBehind { .. } => c.projection_behind += 1,
                Handled::Lost(_) => c.lost += 1,
                Handled::Failed { .. } => c.failed += 1,
            }
        }
        c
    }
}

/// Counts of a pass, by what happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassCounts {
    pub decided_by_adapter: usize,
    pub decided_stale: usize,
    pub not_provable: usize,
    pub already_ended: usize,
    pub projection_behind: usize,
    pub lost: usize,
    pub failed: usize,
}

/// What the projections showed at the start of a pass.
struct Views {
    checkpoints: HashMap<&'static str, LogPosition>,
    stopped: Vec<&'static str>,
}

/// Every run's state is read from `operation_runs` too.
const RUNS_PROJECTION: &str = "operation_runs";

impl Views {
    /// Whether `operation_runs` and every projection in `reads` have applied the event at
    /// `last_event`, and none of them is stopped.
    fn caught_up(&self, reads: &[&str], last_event: LogPosition) -> bool {
        std::iter::once(RUNS_PROJECTION)
            .chain(reads.iter().copied())
            .all(|name| {
                !self.stopped.contains(&name)
                    && self
                        .checkpoints
                        .get(name)
                        .is_some_and(|at| *at >= last_event)
            })
    }
}

/// The reconciler.
#[derive(Clone)]
pub struct Reconciler {
    pool: PgPool,
    projector: Projector,
    registry: Arc<AdapterRegistry>,
    ledger: Arc<dyn RunLedger>,
    leader_election: bool,
}

impl Reconciler {
    pub fn new(
        pool: PgPool,
        projector: Projector,
        registry: Arc<AdapterRegistry>,
        ledger: Arc<dyn RunLedger>,
    ) -> Self {
        Reconciler {
            pool,
            projector,
            registry,
            ledger,
            leader_election: true,
        }
    }

    /// Turns leader election off (every process runs every pass; the version check
    /// alone keeps decisions unique). For tests and for single-process set-ups.
    pub fn without_leader_election(mut self) -> Self {
        self.leader_election = false;
        self
    }

    pub fn registry(&self) -> &AdapterRegistry {
        &self.registry
    }

    /// One pass as of `now`.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport, ReconcileError> {
        let span = info_span!("reconciler.pass", now = %now);
        async {
            let mut leader_conn = None;
            if self.leader_election {
                let mut conn = self.pool.acquire().await?;
                let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK)
                    .fetch_one(&mut *conn)
                    .await?;
                if !won {
                    debug!("another process leads this pass");
                    return Ok(PassReport {
                        leader: false,
                        evaluated_at: Some(now),
                        runs: Vec::new(),
                    });
                }
                leader_conn = Some(conn);
            }
            let result = self.pass_as_leader(now).await;
            if let Some(mut conn) = leader_conn {
                if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(LEADER_LOCK)
                    .execute(&mut *conn)
                    .await
                {
                    // The lock ends with the session; make sure the session ends too.
                    warn!("could not release the leader lock; closing the connection");
                    tracing::debug!(cause = %e, "leader unlock failure");
                    let _ = conn.detach();
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    /// What the projections show now, after catching them up as far as the log allows.
    /// A stopped projection does not stop the caller: runs whose decision reads it are
    /// skipped, the others go on.
    async fn views(&self) -> Result<Views, ReconcileError> {
        let stopped = self.projector.catch_up_report().await?.stopped;
        for projection in &stopped {
            warn!(
                projection,
                "a projection is stopped; runs that depend on it are skipped"
            );
        }
        Ok(Views {
            checkpoints: self.projector.checkpoints().await?.into_iter().collect(),
            stopped,
        })
    }

    /// Decides one run now, exactly as a pass would (freshness guard, adapter, stale
    /// path, version-checked write) — for a worker that must settle a run it executes.
    pub async fn decide_run(
        &self,
        run_id: Uuid,
        now: DateTime<Utc>,
        ctx: &CommandContext,
    ) -> Result<Handled, ReconcileError> {
        let views = self.views().await?;
        Ok(self.handle(run_id, now, &views, ctx).await)
    }

    async fn pass_as_leader(&self, now: DateTime<Utc>) -> Result<PassReport, ReconcileError> {
        // Decide on the freshest view the log allows.
        let views = self.views().await?;
        let adapter_types: Vec<RunType> = self.registry.supported_types().collect();
        let ids = {
            let mut conn = self.pool.acquire().await?;
            scan::candidates(&mut conn, &adapter_types, now).await?
        };
        let ctx = CommandContext::new(Initiator::system("reconciler"));
        let runs: Vec<Handled> = stream::iter(ids)
            .map(|id| {
                let ctx = ctx.follow_up();
                let views = &views;
                async move { self.handle(id, now, views, &ctx).await }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let report = PassReport {
            leader: true,
            evaluated_at: Some(now),
            runs,
        };
        let c = report.counts();
        info!(
            decided_by_adapter = c.decided_by_adapter,
            decided_stale = c.decided_stale,
            not_provable = c.not_provable,
            lost = c.lost,
            behind = c.projection_behind,
            failed = c.failed,
            "reconciler pass done"
        );
        Ok(report)
    }

    async fn handle(
        &self,
        run_id: Uuid,
        now: DateTime<Utc>,
        views: &Views,
        ctx: &CommandContext,
    ) -> Handled {
        let span = info_span!("reconciler.run", run_id = %run_id);
        async {
            let loaded = match self.ledger.load(run_id).await {
                Ok(Some(run)) => run,
                Ok(None) => return Handled::AlreadyEnded { run_id },
                Err(e) => {
                    warn!(error = %e, "cannot read the run");
                    return Handled::Failed { run_id };
                }
            };
            if !loaded.state.status.is_active() {
                return Handled::AlreadyEnded { run_id };
            }
            // Never decide on a stale view: every projection the decision reads must have
            // caught up to the run's last event.
            let reads = self
                .registry
                .for_type(loaded.state.run_type)
                .map(|a| a.reads())
                .unwrap_or(&[]);
            if !views.caught_up(reads, loaded.last_event) {
                return Handled::ProjectionBehind { run_id };
            }
            let evaluation = match self.evaluate(&loaded, now).await {
                Ok(e) => e,
                Err(e) => {
                    warn!(error = %e, "cannot evaluate the run");
                    return Handled::Failed { run_id };
                }
            };
            // The evidence came from other streams too (reviews, runs, slots, records):
            // each of them must have been applied by the projections read, or another
            // transaction's change could be missing from the evidence.
            match self
                .sources_caught_up(&loaded, reads, &evaluation, views)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Handled::ProjectionBehind { run_id },
                Err(e) => {
                    warn!(error = %e, "cannot check the evidence's streams");
                    return Handled::Failed { run_id };
                }
            }
            let Decision::Decided {
                kind,
                reason,
                evidence,
            } = &evaluation.decision
            else {
                return Handled::NotProvable(evaluation);
            };
            let reconciliation = Reconciliation {
                source: evaluation.source,
                adapter: evaluation.adapter.clone(),
                decision: *kind,
                reason_code: *reason,
                evidence: evidence.clone(),
                decided_at: now,
            };
            match self
                .ledger
                .record(run_id, loaded.version, reconciliation, ctx)
                .await
            {
                Ok(()) => Handled::Decided(evaluation),
                Err(RecordError::Lost) => Handled::Lost(evaluation),
                Err(e) => {
                    warn!(error = %e, "cannot record the decision");
                    Handled::Failed { run_id }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Whether the projections in `reads` (and `operation_runs`) had applied the last
    /// event of every stream the evaluation's evidence came from.
    async fn sources_caught_up(
        &self,
        run: &LoadedRun,
        reads: &[&str],
        evaluation: &Evaluation,
        views: &Views,
    ) -> Result<bool, sqlx::Error> {
        let Some(adapter) = self.registry.for_type(run.state.run_type) else {
            return Ok(true);
        };
        let sources = adapter.sources(&run.state, evaluation.decision.evidence());
        if sources.is_empty() {
            return Ok(true);
        }
        let streams: Vec<(&str, &str)> = sources
            .iter()
            .map(|s| (s.aggregate_type, s.aggregate_id.as_str()))
            .collect();
        let mut conn = self.pool.acquire().await?;
        let latest = runproof_projections::log::last_position_of_streams(&mut conn, &streams)
            .await?
            .unwrap_or_default();
        Ok(views.caught_up(reads, latest.max(run.last_event)))
    }

    /// What would be decided about `run` as of `now`: its adapter first; when the
    /// adapter proves nothing and the run is stale, the generic stale path.
    pub async fn evaluate(
        &self,
        run: &LoadedRun,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, AdapterError> {
        let state = &run.state;
        let evaluation = |source, adapter, decision| Evaluation {
            run_id: state.id,
            run_type: state.run_type,
            version: run.version,
            source,
            adapter,
            decision,
        };
        let Some(adapter) = self.registry.for_type(state.run_type) else {
            let decision = stale::decide(&stale::base_evidence(state, now));
            return Ok(evaluation(ReconciliationSource::Stale, None, decision));
        };
        let proof = adapter.reconcile(state, now).await?;
        // A proof, or "another active run holds the truth": the adapter's word stands.
        if proof.kind().is_some() || !proof.allows_stale_path() {
            return Ok(evaluation(
                ReconciliationSource::Adapter,
                Some(adapter.identity()),
                proof,
            ));
        }
        // The adapter could not prove anything: a stale run ends through the generic
        // path, keeping what the adapter saw as evidence.
        let fallback = stale::decide(proof.evidence());
        if fallback.kind().is_some() {
            return Ok(evaluation(ReconciliationSource::Stale, None, fallback));
        }
        Ok(evaluation(
            ReconciliationSource::Adapter,
            Some(adapter.identity()),
            proof,
        ))
    }

    /// Explains what a pass would decide about `run_id` now, writing nothing.
    pub async fn explain(
        &self,
        run_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<(LoadedRun, Option<Evaluation>)>, ReconcileError> {
        self.projector.catch_up().await?;
        let Some(run) = self.ledger.load(run_id).await? else {
            return Ok(None);
        };
        if !run.state.status.is_active() {
            return Ok(Some((run, None)));
        }
        let evaluation = self.evaluate(&run, now).await?;
        Ok(Some((run, Some(evaluation))))
    }

    /// Runs passes every `interval` until `stop` resolves. A stop signal that arrives
    /// during a pass ends the loop after that pass, never in the middle of one.
    pub async fn watch<F>(
        &self,
        interval: Duration,
        now: impl Fn() -> DateTime<Utc>,
        stop: F,
        mut on_pass: impl FnMut(Result<PassReport, ReconcileError>),
    ) where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            let _ = tx.send(true);
        });
        loop {
            on_pass(self.pass(now()).await);
            if *stopped.borrow() {
                return;
            }
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
