//! The reconciler against PostgreSQL: the restore mapping, the stale rules, scope,
//! idempotence, races, several processes, replayable decisions, and "every run ends".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use common::{app, operator, worker, TestDb};
use proptest::prelude::*;
use runproof::app::App;
use runproof::clock::{Clock, ManualClock};
use runproof::lifecycle::{EnsureRun, RUN_AGGREGATE};
use runproof::reconciliation;
use runproof::restore::RestoreScope;
use runproof_adapters::reconciler::Handled;
use runproof_adapters::{LoadedRun, Reconciler, RecordError, RunLedger};
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{OperationRunEvent, RunOutcome, RunStatus, TerminalOutcome};
use runproof_domain::reconciliation::{Reconciliation, ReconciliationSource, RecordStatus};
use runproof_domain::ReasonCode;
use runproof_projections::log;
use runproof_projections::operation_runs;
use serde_json::json;
use uuid::Uuid;

struct Fixture {
    db: TestDb,
    app: App,
    clock: Arc<ManualClock>,
    reconciler: Reconciler,
}

async fn fixture() -> Fixture {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let reconciler = reconciliation::reconciler(&app).unwrap();
    Fixture {
        db,
        app,
        clock,
        reconciler,
    }
}

fn restore_run(ws: Uuid, env: Uuid, restore_id: Uuid) -> EnsureRun {
    EnsureRun {
        workspace_id: ws,
        environment_id: Some(env),
        run_type: "restore.execute".into(),
        identity_inputs: json!({ "restore_id": restore_id }),
        context: json!({ "restore_id": restore_id }),
    }
}

fn plain_run(run_type: &str, key: u32) -> EnsureRun {
    EnsureRun {
        workspace_id: Uuid::from_u128(0xA),
        environment_id: Some(Uuid::from_u128(0xE)),
        run_type: run_type.into(),
        identity_inputs: json!({ "k": key }),
        context: json!({ "k": key }),
    }
}

impl Fixture {
    /// A running restore run whose restore record (in `record_scope`) ended as given.
    async fn restore_with_record(
        &self,
        record_ws: Option<Uuid>,
        record_env: Option<Uuid>,
        finish: Option<(bool, u64)>,
    ) -> (Uuid, Uuid) {
        let (ws, env, restore_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let run = self
            .app
            .lifecycle
            .ensure(restore_run(ws, env, restore_id), &operator())
            .await
            .unwrap()
            .run_id();
        self.app.lifecycle.start(run, &worker()).await.unwrap();
        let scope = RestoreScope {
            restore_id,
            run_id: run,
            workspace_id: record_ws.unwrap_or(ws),
            environment_id: record_env.unwrap_or(env),
        };
        self.app.restores.request(scope, &worker()).await.unwrap();
        self.app
            .restores
            .start(restore_id, &worker())
            .await
            .unwrap();
        if let Some((failed, bad)) = finish {
            self.app
                .restores
                .finish(restore_id, failed, 10, bad, &worker())
                .await
                .unwrap();
        }
        (run, restore_id)
    }

    async fn row(&self, run: Uuid) -> operation_runs::RunRow {
        let mut conn = self.db.pool.acquire().await.unwrap();
        operation_runs::get(&mut conn, run).await.unwrap().unwrap()
    }

    async fn pass(&self) -> runproof_adapters::PassReport {
        self.reconciler.pass(self.clock.now()).await.unwrap()
    }

    async fn reconciled_events(&self) -> Vec<(Uuid, Reconciliation)> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT aggregate_id, payload::text FROM events WHERE event_type = 'RunReconciled' ORDER BY position",
        )
        .fetch_all(&self.db.pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(
                |(id, payload)| match serde_json::from_str(&payload).unwrap() {
                    OperationRunEvent::RunReconciled(e) => (id.parse().unwrap(), e.reconciliation),
                    other => panic!("unexpected {other:?}"),
                },
            )
            .collect()
    }
}

// --- the restore mapping, row by row ---

#[tokio::test]
async fn a_completed_restore_record_proves_the_run_succeeded() {
    let f = fixture().await;
    let (run, restore_id) = f.restore_with_record(None, None, Some((false, 0))).await;
    let report = f.pass().await;
    assert_eq!(report.counts().decided_by_adapter, 1);
    let row = f.row(run).await;
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
    let r = row.state.reconciliation.clone().unwrap();
    assert_eq!(r.source, ReconciliationSource::Adapter);
    assert_eq!(r.adapter.unwrap().to_string(), "restore@1.0.0");
    assert_eq!(r.reason_code, ReasonCode::RestoreCompleted);
    let record = r.evidence.record.unwrap();
    assert_eq!(
        (record.id, record.status),
        (restore_id, RecordStatus::Completed)
    );
    assert_eq!(
        row.context_column()["reconciliation"]["reason_code"],
        "restore.completed"
    );
}

#[tokio::test]
async fn a_restore_completed_with_errors_proves_the_run_partially_succeeded() {
    let f = fixture().await;
    let (run, _) = f.restore_with_record(None, None, Some((false, 3))).await;
    f.pass().await;
    let row = f.row(run).await;
    assert_eq!(row.state.outcome, RunOutcome::PartiallySucceeded);
    assert_eq!(
        row.state.reconciliation.unwrap().reason_code,
        ReasonCode::RestoreCompletedWithErrors
    );
}

#[tokio::test]
async fn a_failed_restore_record_proves_the_run_failed() {
    let f = fixture().await;
    let (run, _) = f.restore_with_record(None, None, Some((true, 10))).await;
    f.pass().await;
    let row = f.row(run).await;
    assert_eq!(row.state.outcome, RunOutcome::Failed);
    assert_eq!(
        row.state.reconciliation.unwrap().reason_code,
        ReasonCode::RestoreFailed
    );
}

#[tokio::test]
async fn an_unfinished_restore_leaves_a_fresh_run_alone_and_a_stale_one_to_the_stale_path() {
    let f = fixture().await;
    let (run, _) = f.restore_with_record(None, None, None).await;
    let report = f.pass().await;
    assert!(
        matches!(&report.runs[..], [Handled::NotProvable(e)] if e.decision.reason() == ReasonCode::RestoreNotFinished)
    );
    assert_eq!(f.row(run).await.state.status, RunStatus::Running);

    f.clock.advance(Duration::hours(4));
    f.pass().await;
    let row = f.row(run).await;
    assert_eq!(row.state.outcome, RunOutcome::Failed);
    let r = row.state.reconciliation.unwrap();
    assert_eq!(
        (r.source, r.reason_code),
        (ReconciliationSource::Stale, ReasonCode::RunStaleRunning)
    );
    assert!(r.adapter.is_none());
    assert_eq!(
        r.evidence.record.unwrap().status,
        RecordStatus::Running,
        "what the adapter saw is kept"
    );
}

// --- scope: records of another workspace, environment or run are never used ---

#[tokio::test]
async fn a_restore_record_of_another_workspace_is_never_used() {
    let f = fixture().await;
    let (run, _) = f
        .restore_with_record(Some(Uuid::new_v4()), None, Some((false, 0)))
        .await;
    let report = f.pass().await;
    assert!(
        matches!(&report.runs[..], [Handled::NotProvable(e)] if e.decision.reason() == ReasonCode::RestoreRecordMissing)
    );
    assert_eq!(f.row(run).await.state.status, RunStatus::Running);
    f.clock.advance(Duration::hours(5));
    f.pass().await;
    let r = f.row(run).await.state.reconciliation.unwrap();
    assert_eq!(
        r.source,
        ReconciliationSource::Stale,
        "never proven from the foreign record"
    );
    assert!(r.evidence.record.is_none());
}

#[tokio::test]
async fn a_restore_record_of_another_environment_is_never_used() {
    let f = fixture().await;
    let (run, _) = f
        .restore_with_record(None, Some(Uuid::new_v4()), Some((false, 0)))
        .await;
    f.pass().await;
    assert_eq!(f.row(run).await.state.status, RunStatus::Running);
}

#[tokio::test]
async fn a_restore_record_of_another_run_is_never_used() {
    let f = fixture().await;
    let (ws, env, restore_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let run = f
        .app
        .lifecycle
        .ensure(restore_run(ws, env, restore_id), &operator())
        .await
        .unwrap()
        .run_id();
    let scope = RestoreScope {
        restore_id,
        run_id: Uuid::new_v4(),
        workspace_id: ws,
        environment_id: env,
    };
    f.app.restores.request(scope, &worker()).await.unwrap();
    f.app.restores.start(restore_id, &worker()).await.unwrap();
    f.app
        .restores
        .finish(restore_id, false, 1, 0, &worker())
        .await
        .unwrap();
    f.pass().await;
    assert_eq!(f.row(run).await.state.status, RunStatus::Queued);
}

// --- the stale rules ---

#[tokio::test]
async fn runs_without_an_adapter_end_by_the_stale_rules_and_only_past_their_thresholds() {
    let f = fixture().await;
    // inventory.sync: queued 15 min, running 60 min.
    let queued = f
        .app
        .lifecycle
        .ensure(plain_run("inventory.sync", 1), &operator())
        .await
        .unwrap()
        .run_id();
    let running = f
        .app
        .lifecycle
        .ensure(plain_run("inventory.sync", 2), &operator())
        .await
        .unwrap()
        .run_id();
    f.app.lifecycle.start(running, &worker()).await.unwrap();

    f.clock.advance(Duration::minutes(14));
    assert!(
        f.pass().await.decided().next().is_none(),
        "nothing is stale yet"
    );

    f.clock.advance(Duration::minutes(1));
    f.pass().await;
    let q = f.row(queued).await;
    assert_eq!(
        (q.state.status, q.state.outcome),
        (RunStatus::Completed, RunOutcome::Failed)
    );
    let r = q.state.reconciliation.unwrap();
    assert_eq!(
        (r.source, r.reason_code),
        (ReconciliationSource::Stale, ReasonCode::RunStaleQueued)
    );
    assert_eq!(
        r.evidence.thresholds,
        Some(runproof_domain::run_type::RunType::InventorySync.thresholds())
    );
    assert_eq!(
        f.row(running).await.state.status,
        RunStatus::Running,
        "running has 60 minutes"
    );

    f.clock.advance(Duration::minutes(45));
    f.pass().await;
    let r = f.row(running).await.state.reconciliation.unwrap();
    assert_eq!(r.reason_code, ReasonCode::RunStaleRunning);
}

#[tokio::test]
async fn a_second_pass_changes_nothing() {
    let f = fixture().await;
    f.restore_with_record(None, None, Some((false, 0))).await;
    f.app
        .lifecycle
        .ensure(plain_run("report.export", 1), &operator())
        .await
        .unwrap();
    f.clock.advance(Duration::hours(1));
    let first = f.pass().await;
    assert_eq!(first.decided().count(), 2);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let second = f.pass().await;
    assert_eq!(second.decided().count(), 0);
    assert!(second.runs.is_empty(), "no candidate is left");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(events, after);
}

/// A ledger whose run is completed by its own job right after the reconciler read it.
struct JobFinishesFirst {
    app: App,
}

#[async_trait]
impl RunLedger for JobFinishesFirst {
    async fn load(&self, run_id: Uuid) -> Result<Option<LoadedRun>, RecordError> {
        let loaded = self.app.lifecycle.load_for_reconciliation(run_id).await?;
        self.app
            .lifecycle
            .complete(
                run_id,
                TerminalOutcome::Succeeded,
                BTreeMap::new(),
                vec![],
                &worker(),
            )
            .await
            .unwrap();
        Ok(loaded)
    }

    async fn record(
        &self,
        run_id: Uuid,
        version: u64,
        r: Reconciliation,
        ctx: &CommandContext,
    ) -> Result<(), RecordError> {
        RunLedger::record(&self.app.lifecycle, run_id, version, r, ctx).await
    }
}

#[tokio::test]
async fn a_run_completed_by_its_job_between_scan_and_write_is_not_overwritten() {
    let f = fixture().await;
    let run = f
        .app
        .lifecycle
        .ensure(plain_run("inventory.sync", 1), &operator())
        .await
        .unwrap()
        .run_id();
    f.app.lifecycle.start(run, &worker()).await.unwrap();
    f.clock.advance(Duration::hours(2));
    let racing = Reconciler::new(
        f.db.pool.clone(),
        f.app.projector.clone(),
        Arc::new(reconciliation::registry(&f.app).unwrap()),
        Arc::new(JobFinishesFirst { app: f.app.clone() }),
    );
    let report = racing.pass(f.clock.now()).await.unwrap();
    assert!(
        matches!(&report.runs[..], [Handled::Lost(_)]),
        "{:?}",
        report.runs
    );
    let row = f.row(run).await;
    assert_eq!(row.state.outcome, RunOutcome::Succeeded);
    assert!(row.state.reconciliation.is_none());
    assert!(
        f.reconciled_events().await.is_empty(),
        "nothing was recorded"
    );
}

// --- several processes ---

async fn seed_stale(f: &Fixture, n: u32) -> Vec<Uuid> {
    let writer = f.app.clone().without_read_your_writes();
    let mut ids = Vec::new();
    for k in 0..n {
        ids.push(
            writer
                .lifecycle
                .ensure(plain_run("report.export", k), &operator())
                .await
                .unwrap()
                .run_id(),
        );
    }
    // Other tests' open transactions on the server can hold the read horizon back.
    common::wait_projected(&f.db, &f.app.projector).await;
    f.clock.advance(Duration::hours(1));
    ids
}

async fn two_reconcilers(f: &Fixture, leader_election: bool) {
    let second_app = App::from_pool(f.db.second_pool().await, f.clock.clone());
    let mut a = reconciliation::reconciler(&f.app).unwrap();
    let mut b = reconciliation::reconciler(&second_app).unwrap();
    if !leader_election {
        a = a.without_leader_election();
        b = b.without_leader_election();
    }
    let now = f.clock.now();
    let (ra, rb) = tokio::join!(a.pass(now), b.pass(now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // Whatever the interleaving, one more pass finishes anything a non-leader skipped.
    a.pass(now).await.unwrap();
    let decided = ra.decided().count() + rb.decided().count();
    assert!(decided > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reconcilers_without_a_leader_record_exactly_one_decision_per_run() {
    let f = fixture().await;
    let ids = seed_stale(&f, 1_000).await;
    two_reconcilers(&f, false).await;
    let events = f.reconciled_events().await;
    assert_eq!(
        events.len(),
        ids.len(),
        "exactly one reconcile event per run"
    );
    let distinct: std::collections::HashSet<Uuid> = events.iter().map(|(id, _)| *id).collect();
    assert_eq!(distinct.len(), ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reconcilers_with_leader_election_also_record_one_decision_per_run() {
    let f = fixture().await;
    let ids = seed_stale(&f, 200).await;
    two_reconcilers(&f, true).await;
    assert_eq!(f.reconciled_events().await.len(), ids.len());
}

#[tokio::test]
async fn a_pass_does_nothing_while_another_process_leads() {
    let f = fixture().await;
    seed_stale(&f, 3).await;
    let mut leader = f.db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(x'7265636f6e63696c'::bigint)")
        .execute(&mut *leader)
        .await
        .unwrap();
    let report = f.pass().await;
    assert!(!report.leader);
    assert!(report.runs.is_empty());
    sqlx::query("SELECT pg_advisory_unlock(x'7265636f6e63696c'::bigint)")
        .execute(&mut *leader)
        .await
        .unwrap();
    let report = f.pass().await;
    assert_eq!(report.decided().count(), 3, "{:?}", report.runs);
}

// --- decisions are replayable, evidence is bounded ---

#[tokio::test]
async fn every_recorded_decision_is_decided_again_from_its_recorded_evidence() {
    let f = fixture().await;
    f.restore_with_record(None, None, Some((false, 0))).await;
    f.restore_with_record(None, None, Some((false, 2))).await;
    f.restore_with_record(None, None, Some((true, 10))).await;
    f.restore_with_record(None, None, None).await;
    f.restore_with_record(Some(Uuid::new_v4()), None, Some((false, 0)))
        .await;
    f.app
        .lifecycle
        .ensure(plain_run("report.export", 1), &operator())
        .await
        .unwrap();
    let running = f
        .app
        .lifecycle
        .ensure(plain_run("inventory.sync", 2), &operator())
        .await
        .unwrap()
        .run_id();
    f.app.lifecycle.start(running, &worker()).await.unwrap();
    f.pass().await;
    f.clock.advance(Duration::hours(5));
    f.pass().await;

    let recorded = f.reconciled_events().await;
    assert_eq!(recorded.len(), 7);
    for (run, r) in &recorded {
        let again = f
            .reconciler
            .registry()
            .redecide(r)
            .expect("the deciding function is registered");
        assert_eq!(again.kind(), Some(r.decision), "run {run}");
        assert_eq!(again.reason(), r.reason_code, "run {run}");
        // Evidence holds identifiers, states, hashes and times only.
        let text = serde_json::to_string(&r.evidence).unwrap().to_lowercase();
        for word in [
            "select ", "insert ", "sqlstate", "violat", "password", "token", "http", "payload",
        ] {
            assert!(
                !text.contains(word),
                "evidence of {run} contains {word}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn explain_says_what_would_be_decided_and_writes_nothing() {
    let f = fixture().await;
    let (run, _) = f.restore_with_record(None, None, Some((false, 0))).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let (loaded, evaluation) = f
        .reconciler
        .explain(run, f.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.state.status, RunStatus::Running);
    let e = evaluation.unwrap();
    assert_eq!(e.decision.reason(), ReasonCode::RestoreCompleted);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert!(f
        .reconciler
        .explain(Uuid::new_v4(), f.clock.now())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn watch_stops_after_the_current_pass_when_told_to() {
    let f = fixture().await;
    seed_stale(&f, 2).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut stop_tx = Some(stop_tx);
    let mut passes = Vec::new();
    let clock = f.clock.clone();
    f.reconciler
        .watch(
            std::time::Duration::from_secs(3600),
            move || clock.now(),
            async move {
                let _ = stop_rx.await;
            },
            |r| {
                passes.push(r.unwrap());
                if let Some(tx) = stop_tx.take() {
                    let _ = tx.send(());
                }
            },
        )
        .await;
    assert_eq!(
        passes.len(),
        1,
        "stopped after the pass in progress, without waiting an hour"
    );
    assert_eq!(passes[0].decided().count(), 2, "{:?}", passes[0].runs);
}

// --- every run ends ---

#[derive(Debug, Clone)]
enum Seeded {
    Plain { run_type: u8, started: bool },
    Restore { started: bool, record: Option<u8> },
}

fn seeded() -> impl Strategy<Value = Seeded> {
    prop_oneof![
        ((0u8..3), any::<bool>())
            .prop_map(|(run_type, started)| Seeded::Plain { run_type, started }),
        (any::<bool>(), prop::option::of(0u8..5))
            .prop_map(|(started, record)| Seeded::Restore { started, record }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever state runs are left in, once the clock passes every threshold the
    /// reconciler leaves no run queued or running (invariant 3).
    #[test]
    fn no_run_stays_queued_or_running_forever(runs in prop::collection::vec(seeded(), 1..25), early_passes in 0usize..3) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let f = fixture().await;
            for (k, seed) in runs.iter().enumerate() {
                match seed {
                    Seeded::Plain { run_type, started } => {
                        let t = ["report.export", "inventory.sync", "environment.review.compose"][usize::from(*run_type)];
                        let id = f.app.lifecycle.ensure(plain_run(t, k as u32), &operator()).await.unwrap().run_id();
                        if *started {
                            f.app.lifecycle.start(id, &worker()).await.unwrap();
                        }
                    }
                    Seeded::Restore { started, record } => {
                        let (ws, env, restore_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
                        let id = f.app.lifecycle.ensure(restore_run(ws, env, restore_id), &operator()).await.unwrap().run_id();
                        if *started {
                            f.app.lifecycle.start(id, &worker()).await.unwrap();
                        }
                        if let Some(r) = record {
                            let scope = RestoreScope { restore_id, run_id: id, workspace_id: ws, environment_id: env };
                            f.app.restores.request(scope, &worker()).await.unwrap();
                            if *r >= 1 {
                                f.app.restores.start(restore_id, &worker()).await.unwrap();
                            }
                            if *r >= 2 {
                                f.app.restores.finish(restore_id, *r == 4, 5, u64::from(*r == 3), &worker()).await.unwrap();
                            }
                        }
                    }
                }
                f.clock.advance(Duration::minutes(3));
            }
            for _ in 0..early_passes {
                f.pass().await;
                f.clock.advance(Duration::minutes(20));
            }
            // Past the longest threshold of the catalogue.
            f.clock.advance(Duration::hours(5));
            f.pass().await;
            let active: i64 = sqlx::query_scalar("SELECT count(*) FROM operation_runs WHERE status <> 'completed'")
                .fetch_one(&f.db.pool)
                .await
                .unwrap();
            assert_eq!(active, 0, "every run ended after one pass past the thresholds");
            let events: Vec<String> = sqlx::query_scalar(
                "SELECT aggregate_id FROM events WHERE aggregate_type = $1 AND event_type = 'RunReconciled'",
            )
            .bind(RUN_AGGREGATE)
            .fetch_all(&f.db.pool)
            .await
            .unwrap();
            let distinct: std::collections::HashSet<&String> = events.iter().collect();
            assert_eq!(distinct.len(), events.len(), "never reconciled twice");
        });
    }
}

#[tokio::test]
async fn history_shows_each_decision_with_its_evidence() {
    let f = fixture().await;
    let (run, _) = f.restore_with_record(None, None, Some((false, 0))).await;
    f.pass().await;
    let mut conn = f.db.pool.acquire().await.unwrap();
    let events = log::read_stream(&mut conn, RUN_AGGREGATE, &run.to_string())
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event_type, "RunReconciled");
    let meta = runproof::event_store::metadata_of(last).unwrap();
    assert_eq!(meta.actor.to_string(), "system:reconciler");
}

#[tokio::test]
async fn a_completed_restore_the_projection_does_not_show_yet_never_fails_the_run() {
    let f = fixture().await;
    let (ws, env, restore_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let run = f
        .app
        .lifecycle
        .ensure(restore_run(ws, env, restore_id), &operator())
        .await
        .unwrap()
        .run_id();
    f.app.lifecycle.start(run, &worker()).await.unwrap();
    common::wait_projected(&f.db, &f.app.projector).await;
    // The restore completes while an open transaction holds the read horizon: committed,
    // but beyond what restore_runs can show. Then the job dies before completing the run.
    let mut holder = f.db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap();
    let direct = f.app.clone().without_read_your_writes();
    let scope = RestoreScope {
        restore_id,
        run_id: run,
        workspace_id: ws,
        environment_id: env,
    };
    direct.restores.request(scope, &worker()).await.unwrap();
    direct.restores.start(restore_id, &worker()).await.unwrap();
    direct
        .restores
        .finish(restore_id, false, 10, 0, &worker())
        .await
        .unwrap();
    f.clock.advance(Duration::days(2));
    let report = f.reconciler.pass(f.clock.now()).await.unwrap();
    let handled = report
        .runs
        .iter()
        .find(|h| matches!(h, Handled::ProjectionBehind { run_id } if *run_id == run));
    assert!(handled.is_some(), "{:?}", report.runs);
    holder.rollback().await.unwrap();
    // Once the record is visible, the adapter proves the run.
    common::wait_projected(&f.db, &f.app.projector).await;
    f.reconciler.pass(f.clock.now()).await.unwrap();
    let state = f.app.lifecycle.load(run).await.unwrap();
    let state = state.state().unwrap();
    assert_eq!(
        (state.status, state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
}
