//! The run lifecycle against PostgreSQL: transitions, idempotence, "an outcome never
//! flips" (invariant 7), the version check of reconcile writes, and the event metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use common::{app, operator, worker, TestDb};
use runproof::clock::Clock;
use runproof::lifecycle::{EnsureRun, Ensured, LifecycleError, RUN_AGGREGATE};
use runproof_domain::metadata::EventMetadata;
use runproof_domain::operation_run::{OperationRunError, RunOutcome, RunStatus, TerminalOutcome};
use runproof_domain::reconciliation::{
    DecisionKind, Evidence, Reconciliation, ReconciliationSource,
};
use runproof_domain::ReasonCode;
use runproof_projections::log;
use runproof_projections::operation_runs;
use serde_json::json;
use uuid::Uuid;

fn export(workspace: Uuid, key: &str) -> EnsureRun {
    EnsureRun {
        workspace_id: workspace,
        environment_id: None,
        run_type: "report.export".into(),
        identity_inputs: json!({ "report": key }),
        context: json!({ "report": key }),
    }
}

fn stale(decided_at: chrono::DateTime<chrono::Utc>) -> Reconciliation {
    Reconciliation {
        source: ReconciliationSource::Stale,
        adapter: None,
        decision: DecisionKind::ProvenFailed,
        reason_code: ReasonCode::JobTimedOut,
        evidence: Evidence::default(),
        decided_at,
    }
}

#[tokio::test]
async fn a_run_goes_from_queued_to_running_to_completed_and_the_projection_follows() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ws = Uuid::new_v4();
    let run = app
        .lifecycle
        .ensure(export(ws, "monthly"), &operator())
        .await
        .unwrap();
    let Ensured::Queued(id) = run else {
        panic!("expected a new run, got {run:?}")
    };

    let mut conn = db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Queued, RunOutcome::Pending)
    );
    assert_eq!(row.version, 1);

    clock.advance(Duration::seconds(3));
    app.lifecycle.start(id, &worker()).await.unwrap();
    clock.advance(Duration::seconds(60));
    let receipt = app
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::from([("rows".into(), 7)]),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    assert!(receipt.changed);
    assert_eq!(receipt.version, 3);

    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
    assert_eq!(row.state.created_at, common::t0());
    assert_eq!(
        row.state.started_at,
        Some(common::t0() + Duration::seconds(3))
    );
    assert_eq!(
        row.state.completed_at,
        Some(common::t0() + Duration::seconds(63))
    );
    assert_eq!(row.state.summary.get("rows"), Some(&7));
    assert_eq!(row.version, 3);
}

#[tokio::test]
async fn completing_a_completed_run_with_the_same_outcome_records_nothing() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    app.lifecycle.start(id, &worker()).await.unwrap();
    app.lifecycle
        .complete(
            id,
            TerminalOutcome::Failed,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();

    let again = app
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Failed,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    assert!(!again.changed);
    let mut conn = db.pool.acquire().await.unwrap();
    let events = log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string())
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn an_outcome_never_flips() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    app.lifecycle.start(id, &worker()).await.unwrap();
    app.lifecycle
        .complete(
            id,
            TerminalOutcome::Failed,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();

    let err = app
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.reason(), ReasonCode::RunOutcomeConflict);
    let mut conn = db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(row.state.outcome, RunOutcome::Failed);
}

#[tokio::test]
async fn invalid_transitions_are_rejected_with_reason_codes_and_record_nothing() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();

    let not_started = app
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap_err();
    assert_eq!(not_started.reason(), ReasonCode::RunNotStarted);

    let missing = app
        .lifecycle
        .start(Uuid::new_v4(), &worker())
        .await
        .unwrap_err();
    assert_eq!(missing.reason(), ReasonCode::RunNotFound);

    let unknown = app
        .lifecycle
        .ensure(
            EnsureRun {
                run_type: "backup.nightly".into(),
                ..export(Uuid::new_v4(), "x")
            },
            &operator(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        LifecycleError::Rejected { source: OperationRunError::UnknownRunType(ref t), .. } if t == "backup.nightly"
    ));

    app.lifecycle.start(id, &worker()).await.unwrap();
    app.lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    let restart = app.lifecycle.start(id, &worker()).await.unwrap_err();
    assert_eq!(restart.reason(), ReasonCode::RunAlreadyCompleted);

    let mut conn = db.pool.acquire().await.unwrap();
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'operation_run'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(count, 3, "only queue, start and complete were recorded");
}

#[tokio::test]
async fn a_reconcile_decided_on_an_old_version_loses_cleanly_when_the_job_completed_meanwhile() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    app.lifecycle.start(id, &worker()).await.unwrap();
    // The reconciler reads the run at version 2 ...
    let seen = app.lifecycle.load(id).await.unwrap().version();
    assert_eq!(seen, 2);
    // ... the job completes it ...
    app.lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    // ... and the reconciler's write, made on version 2, records nothing.
    clock.advance(Duration::hours(2));
    let err = app
        .lifecycle
        .reconcile(id, seen, stale(clock.now()), &operator())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), ReasonCode::RunAlreadyCompleted);

    let mut conn = db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(row.state.outcome, RunOutcome::Succeeded);
    assert!(row.state.reconciliation.is_none());
    assert_eq!(
        log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn a_reconcile_decided_on_an_older_version_of_an_active_run_is_refused() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    let seen = app.lifecycle.load(id).await.unwrap().version();
    app.lifecycle.start(id, &worker()).await.unwrap();
    let err = app
        .lifecycle
        .reconcile(id, seen, stale(clock.now()), &operator())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), ReasonCode::RunVersionMismatch);
}

#[tokio::test]
async fn a_reconciliation_lands_in_the_run_context() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    clock.advance(Duration::hours(1));
    let decision = stale(clock.now());
    app.lifecycle
        .reconcile(id, 1, decision.clone(), &operator())
        .await
        .unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Completed, RunOutcome::Failed)
    );
    assert_eq!(row.state.reconciliation, Some(decision));
    let context = row.context_column();
    assert_eq!(context["reconciliation"]["source"], "stale");
    assert_eq!(context["reconciliation"]["reason_code"], "job.timed_out");
    assert_eq!(context["report"], "a");
}

#[tokio::test]
async fn every_event_carries_actor_correlation_causation_time_and_schema_version() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let op = operator();
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &op)
        .await
        .unwrap()
        .run_id();
    let w = worker();
    app.lifecycle.start(id, &w).await.unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    let events = log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string())
        .await
        .unwrap();
    let metas: Vec<EventMetadata> = events
        .iter()
        .map(|e| runproof::event_store::metadata_of(e).expect("typed metadata"))
        .collect();
    assert_eq!(metas[0].actor, op.actor);
    assert_eq!(metas[0].correlation_id, op.correlation_id);
    assert_eq!(metas[0].causation_id, op.causation_id);
    assert_eq!(metas[0].occurred_at, common::t0());
    assert_eq!(metas[0].schema_version, "1.0");
    assert_eq!(metas[1].actor, w.actor);
    assert_eq!(metas[1].correlation_id, w.correlation_id);
    assert_eq!(events[1].event_version, metas[1].schema_version);
}

#[tokio::test]
async fn the_event_log_refuses_updates_and_deletes() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    app.lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap();
    let update = sqlx::query("UPDATE events SET event_type = 'Tampered'")
        .execute(&db.pool)
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM events").execute(&db.pool).await;
    assert!(delete.is_err());
    let truncate = sqlx::query("TRUNCATE events").execute(&db.pool).await;
    assert!(truncate.is_err());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "slot claim and run queued are still there");
}

#[tokio::test]
async fn the_projection_refuses_a_status_outside_its_family() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), "a"), &operator())
        .await
        .unwrap()
        .run_id();
    for (status, outcome) in [
        ("cancelled", "pending"),
        ("queued", "stale"),
        ("completed", "pending"),
        ("running", "failed"),
    ] {
        let r = sqlx::query("UPDATE operation_runs SET status = $2, outcome = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(outcome)
            .execute(&db.pool)
            .await;
        assert!(r.is_err(), "{status}/{outcome} must be refused");
    }
}

/// A second process over the same database: its own services, its own memory of the runs
/// it wrote.
fn other_process(pool: sqlx::PgPool) -> runproof::app::App {
    runproof::app::App::from_pool(pool, std::sync::Arc::new(runproof::clock::SystemClock))
}

/// A run process A queued and started (so A remembers it running) and process B then
/// completed as succeeded: the database, A, and the run.
async fn started_here_completed_elsewhere() -> (TestDb, runproof::app::App, Uuid) {
    let db = TestDb::new().await;
    let (a, _) = app(&db);
    let b = other_process(db.second_pool().await);
    let id = a
        .lifecycle
        .ensure(export(Uuid::new_v4(), "remembered"), &operator())
        .await
        .unwrap()
        .run_id();
    a.lifecycle.start(id, &worker()).await.unwrap();
    b.lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    (db, a, id)
}

#[tokio::test]
async fn a_refusal_is_decided_on_the_stream_not_on_what_the_process_remembers_of_the_run() {
    let (_db, a, id) = started_here_completed_elsewhere().await;
    // A's memory says "running" (a second start: already running); the stream says
    // completed, and that is the answer.
    let refused = a.lifecycle.start(id, &worker()).await.unwrap_err();
    assert!(
        matches!(
            refused,
            LifecycleError::Rejected {
                source: OperationRunError::AlreadyCompleted,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_write_on_a_remembered_run_that_another_process_moved_on_is_decided_again_on_the_stream()
{
    let (db, a, id) = started_here_completed_elsewhere().await;
    // A completes with the same outcome on its memory of a running run: the append at
    // the remembered version fails, the run is read again, and the repeat is a no-op.
    let repeat = a
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    assert!(!repeat.changed);
    assert_eq!(repeat.version, 3);
    // Another outcome is refused from the stream, and nothing was recorded twice.
    let flipped = a
        .lifecycle
        .complete(
            id,
            TerminalOutcome::Failed,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            flipped,
            LifecycleError::Rejected {
                source: OperationRunError::OutcomeConflict { .. },
                ..
            }
        ),
        "{flipped:?}"
    );
    let completions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'RunCompleted'",
    )
    .bind(id.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(completions, 1);
}

/// One queued export run per key, in one workspace.
async fn queued(app: &runproof::app::App, keys: &[&str]) -> Vec<Uuid> {
    let ws = Uuid::new_v4();
    let mut ids = Vec::new();
    for key in keys {
        ids.push(
            app.lifecycle
                .ensure(export(ws, key), &operator())
                .await
                .unwrap()
                .run_id(),
        );
    }
    ids
}

#[tokio::test]
async fn runs_read_together_are_the_runs_each_read_alone() {
    // A worker reads a page of its queue in one statement; each run must fold exactly as
    // a load of its own stream folds it, whatever its state, and an id without events is
    // left out.
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let ids = queued(&app, &["queued", "running", "completed"]).await;
    app.lifecycle.start(ids[1], &worker()).await.unwrap();
    app.lifecycle.start(ids[2], &worker()).await.unwrap();
    app.lifecycle
        .complete(
            ids[2],
            TerminalOutcome::Succeeded,
            BTreeMap::new(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    let unknown = Uuid::new_v4();
    let mut asked = ids.clone();
    asked.push(unknown);
    let read = app.lifecycle.load_many(&asked).await.unwrap();
    assert_eq!(read.len(), 3);
    assert!(!read.contains_key(&unknown));
    for id in ids {
        assert_eq!(read[&id], app.lifecycle.load(id).await.unwrap(), "run {id}");
    }
    assert_eq!(
        read.values()
            .map(|r| r.version())
            .collect::<std::collections::BTreeSet<_>>(),
        [1, 2, 3].into()
    );
}

#[tokio::test]
async fn runs_decided_together_are_committed_together_or_not_at_all() {
    // A worker starts several runs in one commit. If any of them moved on since it was
    // read, the commit writes nothing — not even the starts of the runs nobody touched —
    // and each can then be started on its own.
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let ids = queued(&app, &["a", "b", "c"]).await;
    let read = app.lifecycle.load_many(&ids).await.unwrap();
    let decide = |id: Uuid| {
        app.lifecycle
            .decide_start_together(id, read[&id].clone(), vec![], &worker())
            .unwrap()
            .unwrap()
    };
    let together: Vec<_> = ids.iter().map(|id| decide(*id)).collect();
    // Another worker starts the second run first.
    app.lifecycle.start(ids[1], &worker()).await.unwrap();
    let lost = app.lifecycle.commit(together).await;
    assert!(
        matches!(lost, Err(LifecycleError::Conflict(None))),
        "{lost:?}"
    );
    let mut conn = db.pool.acquire().await.unwrap();
    for (id, events) in [(ids[0], 1), (ids[1], 2), (ids[2], 1)] {
        let stream = log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string())
            .await
            .unwrap();
        assert_eq!(stream.len(), events, "run {id}: {stream:?}");
    }
    // The two nobody touched, decided again, commit together: one transaction.
    let receipts = app
        .lifecycle
        .commit(vec![decide(ids[0]), decide(ids[2])])
        .await
        .unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|r| (r.run_id, r.version))
            .collect::<Vec<_>>(),
        [(ids[0], 2), (ids[2], 2)]
    );
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT transaction_id) FROM events \
         WHERE event_type = 'RunStarted' AND aggregate_id = ANY($1)",
    )
    .bind(vec![ids[0].to_string(), ids[2].to_string()])
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(transactions, 1);
    // Each is remembered as its start left it: the completion decided on that memory.
    for id in [ids[0], ids[2]] {
        let receipt = app
            .lifecycle
            .complete(
                id,
                TerminalOutcome::Succeeded,
                BTreeMap::new(),
                vec![],
                &worker(),
            )
            .await
            .unwrap();
        assert_eq!((receipt.version, receipt.changed), (3, true));
    }
}
