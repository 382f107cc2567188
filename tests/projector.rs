//! The projector: exactly-once application, crash recovery, catch-up on start,
//! read-your-writes, several processes, dropped connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{app, operator, worker, TestDb};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::lifecycle::EnsureRun;
use runproof_domain::operation_run::{RunOutcome, RunStatus, TerminalOutcome};
use runproof_projections::log::StoredEvent;
use runproof_projections::operation_runs::{self, OperationRunsProjection, RunFilter};
use runproof_projections::{
    checkpoint, LogPosition, Projection, ProjectionError, Projector, TableSet, TableSpec,
};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

fn export(key: u32) -> EnsureRun {
    export_in(7, key)
}

fn export_in(workspace: u128, key: u32) -> EnsureRun {
    EnsureRun {
        workspace_id: Uuid::from_u128(workspace),
        environment_id: None,
        run_type: "report.export".into(),
        identity_inputs: json!({ "n": key }),
        context: json!({ "n": key }),
    }
}

/// Records `n` runs in mixed states without waiting for any projection.
async fn record_runs(app: &App, n: u32) -> Vec<Uuid> {
    record_runs_in(app, 7, n).await
}

async fn record_runs_in(app: &App, workspace: u128, n: u32) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = app
            .lifecycle
            .ensure(export_in(workspace, i), &operator())
            .await
            .unwrap()
            .run_id();
        if i % 3 != 0 {
            app.lifecycle.start(id, &worker()).await.unwrap();
        }
        if i % 3 == 2 {
            let outcome = if i % 2 == 0 {
                TerminalOutcome::Succeeded
            } else {
                TerminalOutcome::Failed
            };
            app.lifecycle
                .complete(id, outcome, BTreeMap::new(), vec![], &worker())
                .await
                .unwrap();
        }
        ids.push(id);
    }
    ids
}

async fn last_position(db: &TestDb) -> LogPosition {
    let row: (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    LogPosition {
        transaction_id: row.0,
        position: row.1,
    }
}

/// Waits until `target` is below the read horizon (open transactions of other tests on
/// the same server can hold it back for a moment).
async fn wait_readable(db: &TestDb, target: LogPosition) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut conn = db.pool.acquire().await.unwrap();
    loop {
        let readable = runproof_projections::log::horizon(&mut conn)
            .await
            .unwrap()
            .last_readable;
        if readable >= Some(target) || std::time::Instant::now() > deadline {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// The live projection's checkpoint (the start of the log when it has none yet).
async fn live_checkpoint(db: &TestDb) -> checkpoint::Checkpoint {
    let mut conn = db.pool.acquire().await.unwrap();
    checkpoint::read(&mut conn, "operation_runs")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn all_rows(db: &TestDb) -> Vec<operation_runs::RunRow> {
    let mut conn = db.pool.acquire().await.unwrap();
    let mut rows = operation_runs::list(
        &mut conn,
        &RunFilter {
            limit: runproof_projections::LIST_LIMIT_MAX,
            ..RunFilter::default()
        },
    )
    .await
    .unwrap();
    rows.sort_by_key(|r| r.state.id);
    rows
}

async fn event_count(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn events_committed_without_a_projection_update_are_applied_by_the_next_projector() {
    let db = TestDb::new().await;
    // The writer commits events and "crashes" before any projection update.
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let ids = record_runs(&writer, 12).await;
    assert!(all_rows(&db).await.is_empty(), "nothing was projected yet");

    // A new projector (a restarted process) catches up from its checkpoint.
    let fresh = Projector::new(db.second_pool().await, runproof_projections::all());
    fresh
        .wait_for(last_position(&db).await, Duration::from_secs(20))
        .await
        .unwrap();

    let rows = all_rows(&db).await;
    assert_eq!(rows.len(), ids.len());
    for row in &rows {
        let truth = writer.lifecycle.load(row.state.id).await.unwrap();
        assert_eq!(
            Some(&row.state),
            truth.state(),
            "the row equals the state folded from the log"
        );
        assert_eq!(row.version as u64, truth.version());
    }
    let cp = live_checkpoint(&db).await;
    assert_eq!(
        cp.events_applied,
        event_count(&db).await,
        "every event applied exactly once"
    );
}

/// A projection that applies the batch and then fails, like a process dying mid-way.
struct CrashAfterApply;

#[async_trait]
impl Projection for CrashAfterApply {
    fn name(&self) -> &'static str {
        "operation_runs"
    }
    fn tables(&self) -> &'static [TableSpec] {
        OperationRunsProjection.tables()
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        OperationRunsProjection.apply(conn, set, events).await?;
        Err(ProjectionError::Invariant {
            at: events[0].at,
            table: "operation_runs",
            reason: "simulated crash after the rows were written".into(),
        })
    }
}

#[tokio::test]
async fn a_crash_while_projecting_leaves_rows_and_checkpoint_unchanged() {
    let db = TestDb::new().await;
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    record_runs(&writer, 5).await;
    let target = last_position(&db).await;

    wait_readable(&db, target).await;
    let crashing = Projector::new(db.pool.clone(), vec![Arc::new(CrashAfterApply)]);
    assert!(crashing.catch_up().await.is_err());
    assert!(
        all_rows(&db).await.is_empty(),
        "the rows rolled back with the checkpoint"
    );
    let cp = live_checkpoint(&db).await;
    assert_eq!(cp.at, LogPosition::START);

    let healthy = Projector::new(db.pool.clone(), runproof_projections::all());
    healthy
        .wait_for(target, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(all_rows(&db).await.len(), 5);
    let cp = live_checkpoint(&db).await;
    assert_eq!(cp.events_applied, event_count(&db).await);
}

#[tokio::test]
async fn a_write_with_read_your_writes_is_visible_when_the_call_returns() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    for i in 0..5 {
        let id = app
            .lifecycle
            .ensure(export(i), &operator())
            .await
            .unwrap()
            .run_id();
        let mut conn = db.pool.acquire().await.unwrap();
        let row = operation_runs::get(&mut conn, id)
            .await
            .unwrap()
            .expect("visible right away");
        assert_eq!(row.state.status, RunStatus::Queued);
        app.lifecycle.start(id, &worker()).await.unwrap();
        let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(row.state.status, RunStatus::Running);
    }
}

#[tokio::test]
async fn a_wait_reports_lag_when_an_open_transaction_holds_the_horizon_back() {
    let db = TestDb::new().await;
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    // An open transaction with a transaction id, started before the write.
    let mut blocker = db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *blocker)
        .await
        .unwrap();
    writer
        .lifecycle
        .ensure(export(1), &operator())
        .await
        .unwrap();
    let target = last_position(&db).await;

    let err = writer
        .projector
        .wait_for(target, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        runproof_projections::ProjectorError::Lagging { .. }
    ));
    let (_, horizon) = writer.projector.status().await.unwrap();
    assert!(
        horizon.events_above_horizon > 0,
        "the held-back events are reported"
    );

    blocker.rollback().await.unwrap();
    writer
        .projector
        .wait_for(target, Duration::from_secs(20))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_projector_processes_apply_every_event_exactly_once() {
    let db = TestDb::new().await;
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let first = Projector::new(db.pool.clone(), runproof_projections::all()).with_batch(3);
    let second = Projector::new(db.second_pool().await, runproof_projections::all()).with_batch(3);
    let write = tokio::spawn(async move { record_runs(&writer, 30).await });
    let a = {
        let p = first.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                p.catch_up().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let b = {
        let p = second.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                p.catch_up().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let ids = write.await.unwrap();
    a.await.unwrap();
    b.await.unwrap();
    first
        .wait_for(last_position(&db).await, Duration::from_secs(20))
        .await
        .unwrap();

    let cp = live_checkpoint(&db).await;
    assert_eq!(cp.events_applied, event_count(&db).await);
    let rows = all_rows(&db).await;
    assert_eq!(rows.len(), ids.len());
    let completed = rows
        .iter()
        .filter(|r| r.state.outcome != RunOutcome::Pending)
        .count();
    assert_eq!(completed, 10);
}

#[tokio::test]
async fn the_projector_survives_dropped_connections() {
    let db = TestDb::new().await;
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    record_runs(&writer, 3).await;
    let projector = Projector::new(db.second_pool().await, runproof_projections::all());
    projector.catch_up().await.unwrap();

    // Kill every connection of the projector's pool behind its back.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let other =
        App::from_pool(db.second_pool().await, Arc::new(SystemClock)).without_read_your_writes();
    record_runs_in(&other, 8, 2).await;
    let target = last_position(&db).await;
    projector
        .wait_for(target, Duration::from_secs(20))
        .await
        .unwrap();
    let cp = live_checkpoint(&db).await;
    assert_eq!(cp.events_applied, event_count(&db).await);
}

#[tokio::test]
async fn an_event_that_cannot_be_decoded_stops_the_projection_instead_of_being_skipped() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    app.lifecycle.ensure(export(1), &operator()).await.unwrap();
    // Everything before the bad event is projected first (another test's open
    // transaction may hold the read horizon back for a moment: catch up until it is).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while all_rows(&db).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run was never projected"
        );
        app.projector.catch_up().await.unwrap();
        tokio::task::yield_now().await;
    }
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('operation_run', $1, 1, 'RunQueued', '9.0', '{\"RunQueued\": {\"shape\": \"from the future\"}}', '{}')",
    )
    .bind(Uuid::new_v4().to_string())
    .execute(&db.pool)
    .await
    .unwrap();
    let before = live_checkpoint(&db).await;
    // The bad event is read once the horizon passes it: then the projection stops.
    let err = common::wait_until_stopped(&app.projector).await;
    assert!(
        matches!(err, runproof_projections::ProjectorError::Stopped { .. }),
        "{err:?}"
    );
    let after = live_checkpoint(&db).await;
    assert_eq!(
        before, after,
        "the checkpoint did not move past the bad event"
    );
}
