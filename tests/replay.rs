//! Rebuild and verify: `operation_runs` is a projection of the log, and rebuilding it
//! yields identical rows (invariant 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as Span;
use common::{app, operator, worker, TestDb};
use proptest::prelude::*;
use runproof::app::App;
use runproof::clock::{Clock, ManualClock, SystemClock};
use runproof::lifecycle::EnsureRun;
use runproof_domain::operation_run::{Failure, TerminalOutcome};
use runproof_domain::reconciliation::{
    AdapterRef, DecisionKind, Evidence, Reconciliation, ReconciliationSource,
};
use runproof_domain::ReasonCode;
use runproof_projections::rebuild::{self, Difference};
use runproof_projections::sql::quote_ident;
use runproof_projections::{NoProgress, Progress, Projector, ProjectorError};
use serde_json::{json, Value};
use uuid::Uuid;

fn export(workspace: Uuid, key: u32) -> EnsureRun {
    EnsureRun {
        workspace_id: workspace,
        environment_id: Some(Uuid::from_u128(99)),
        run_type: if key % 2 == 0 {
            "report.export"
        } else {
            "restore.execute"
        }
        .into(),
        identity_inputs: json!({ "n": key }),
        context: json!({ "n": key, "label": format!("run {key}") }),
    }
}

/// Every row of `operation_runs` as JSON, in id order.
async fn snapshot(db: &TestDb) -> Vec<Value> {
    sqlx::query_scalar("SELECT to_jsonb(r) FROM operation_runs r ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn varied_history(app: &App, clock: &ManualClock, workspace: Uuid) {
    for i in 0..9u32 {
        let id = app
            .lifecycle
            .ensure(export(workspace, i), &operator())
            .await
            .unwrap()
            .run_id();
        clock.advance(Span::seconds(1));
        match i % 4 {
            0 => {}
            1 => {
                app.lifecycle.start(id, &worker()).await.unwrap();
            }
            2 => {
                app.lifecycle.start(id, &worker()).await.unwrap();
                app.lifecycle
                    .complete(
                        id,
                        TerminalOutcome::PartiallySucceeded,
                        BTreeMap::from([("total".into(), 10), ("failed".into(), 1)]),
                        vec![Failure {
                            reason_code: ReasonCode::JobItemsFailed,
                            message: Some("1 of 10".into()),
                        }],
                        &worker(),
                    )
                    .await
                    .unwrap();
            }
            _ => {
                let r = Reconciliation {
                    source: ReconciliationSource::Adapter,
                    adapter: Some(AdapterRef::new("restore", "1.0.0").unwrap()),
                    decision: DecisionKind::ProvenSucceeded,
                    reason_code: ReasonCode::JobFailed,
                    evidence: Evidence {
                        workspace_id: Some(workspace),
                        ..Evidence::default()
                    },
                    decided_at: clock.now(),
                };
                app.lifecycle
                    .reconcile(id, 1, r, &operator())
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_rebuild_yields_identical_rows_and_a_verify_finds_no_difference() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let before = snapshot(&db).await;
    assert_eq!(before.len(), 9);

    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);

    let rebuilt = rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(rebuilt.projections.len(), runproof_projections::all().len());
    assert_eq!(snapshot(&db).await, before, "rebuilt rows are identical");

    // The swapped-in table has the live table's indexes under their live names.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'operation_runs' ORDER BY indexname",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "operation_runs_attention_idx",
            "operation_runs_created_idx",
            "operation_runs_environment_created_idx",
            "operation_runs_identity_idx",
            "operation_runs_pkey",
            "operation_runs_stale_queued_idx",
            "operation_runs_stale_running_idx",
            "operation_runs_workspace_created_idx",
        ]
    );
    // And the projector carries on from the swapped-in checkpoint.
    let id = app
        .lifecycle
        .ensure(export(Uuid::new_v4(), 100), &operator())
        .await
        .unwrap()
        .run_id();
    let mut conn = db.pool.acquire().await.unwrap();
    assert!(runproof_projections::operation_runs::get(&mut conn, id)
        .await
        .unwrap()
        .is_some());
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());
}

#[tokio::test]
async fn a_verify_reports_every_row_that_differs_from_the_log() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM operation_runs ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();

    // Someone edits the projection behind the projector's back.
    sqlx::query("UPDATE operation_runs SET initiator = 'system:tampered' WHERE id = $1")
        .bind(ids[0])
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM operation_runs WHERE id = $1")
        .bind(ids[1])
        .execute(&db.pool)
        .await
        .unwrap();
    let phantom = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO operation_runs SELECT $1, workspace_id, managed_environment_id, run_type, status, outcome, \
         initiator, identity_hash, context, summary_counts, failure_summary, created_at, started_at, completed_at, \
         updated_at, version, last_position FROM operation_runs WHERE id = $2",
    )
    .bind(phantom)
    .bind(ids[2])
    .execute(&db.pool)
    .await
    .unwrap();

    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(report.differences.len(), 3, "{:?}", report.differences);
    let find = |key: Uuid| {
        report
            .differences
            .iter()
            .find(|d| d.key == key.to_string())
            .map(|d| d.difference.clone())
            .unwrap_or_else(|| panic!("no difference reported for {key}"))
    };
    assert_eq!(
        find(ids[0]),
        Difference::Columns(vec![(
            "initiator".into(),
            json!("system:tampered"),
            json!("actor:00000000-0000-0000-0000-000000000123")
        )])
    );
    assert_eq!(find(ids[1]), Difference::MissingInLive);
    assert_eq!(find(phantom), Difference::MissingInRebuild);

    // A rebuild repairs all three.
    rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_while_runs_are_being_written_loses_nothing() {
    let db = TestDb::new().await;
    let writer = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let clock = ManualClock::new(common::t0());
    varied_history(&writer, &clock, Uuid::new_v4()).await;
    let writing = {
        let writer = writer.clone();
        tokio::spawn(async move {
            let ws = Uuid::new_v4();
            for i in 0..40 {
                let id = writer
                    .lifecycle
                    .ensure(export(ws, i), &operator())
                    .await
                    .unwrap()
                    .run_id();
                writer.lifecycle.start(id, &worker()).await.unwrap();
            }
        })
    };
    let projector = Projector::new(db.second_pool().await, runproof_projections::all());
    rebuild::rebuild(&projector, &NoProgress).await.unwrap();
    writing.await.unwrap();
    writer.projector.catch_up().await.unwrap();
    let report = rebuild::verify(&projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(snapshot(&db).await.len(), 49);
}

#[tokio::test]
async fn a_rebuild_that_meets_an_undecodable_event_fails_and_keeps_the_live_table() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let before = snapshot(&db).await;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('operation_run', $1, 1, 'RunQueued', '1.0', '{\"RunQueued\": {\"run_id\": 42}}', '{}')",
    )
    .bind(Uuid::new_v4().to_string())
    .execute(&db.pool)
    .await
    .unwrap();
    assert!(rebuild::rebuild(&app.projector, &NoProgress).await.is_err());
    assert_eq!(snapshot(&db).await, before);
    assert_eq!(
        copies_left(&db).await,
        Vec::<String>::new(),
        "a failed rebuild cleans up"
    );
}

/// Copy tables and copy checkpoint rows that exist right now.
async fn copies_left(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relname LIKE '%\\_\\_rebuild%' OR relname LIKE '%\\_\\_verify%' \
         UNION ALL SELECT projection FROM projection_checkpoints WHERE projection LIKE '%\\_\\_%' \
         ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// Every projection table's columns, constraints and indexes, as the catalog has them.
async fn catalog(db: &TestDb) -> Vec<String> {
    let mut out = Vec::new();
    for p in runproof_projections::all() {
        for spec in p.tables() {
            let table = quote_ident(spec.name).unwrap();
            let columns: Vec<String> = sqlx::query_scalar(
                "SELECT format('column %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod), \
                        CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, \
                        COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')) \
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            )
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .unwrap();
            let constraints: Vec<String> = sqlx::query_scalar(
                "SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) \
                 FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname",
            )
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .unwrap();
            let indexes: Vec<String> = sqlx::query_scalar(
                "SELECT format('index %s', pg_get_indexdef(indexrelid)) \
                 FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1",
            )
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .unwrap();
            out.push(format!("table {}", spec.name));
            out.extend(columns);
            out.extend(constraints);
            out.extend(indexes);
        }
    }
    out
}

#[tokio::test]
async fn the_owned_schema_creates_every_projection_table_exactly_as_the_migrations_do() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let migrated = catalog(&db).await;
    assert!(
        migrated.iter().any(|l| l.starts_with(
            "index CREATE UNIQUE INDEX environment_reviews_fingerprint_mutable_unique"
        )),
        "{migrated:#?}"
    );
    for expected in [
        "table api_tokens",
        "index CREATE INDEX api_tokens_actor_idx ON public.api_tokens USING btree (actor_id, issued_at DESC, id)",
        "column kind text not null",
        "constraint actors_kind_check CHECK ((kind = ANY (ARRAY['member'::text, 'service'::text])))",
    ] {
        assert!(migrated.iter().any(|l| l == expected), "{expected}: {migrated:#?}");
    }
    let rows = snapshot(&db).await;

    // Copies are created from the owned schema and take the live names when swapped in.
    rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(catalog(&db).await, migrated);

    // Every live table gone: the rebuild creates each from the owned schema.
    for p in runproof_projections::all() {
        for spec in p.tables() {
            sqlx::query(&format!("DROP TABLE {}", quote_ident(spec.name).unwrap()))
                .execute(&db.pool)
                .await
                .unwrap();
        }
    }
    let report = rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    let all_tables: Vec<&str> = runproof_projections::all()
        .iter()
        .flat_map(|p| p.tables().iter().map(|t| t.name))
        .collect();
    assert_eq!(report.created, all_tables);
    assert_eq!(catalog(&db).await, migrated);
    assert_eq!(snapshot(&db).await, rows);
    assert_eq!(copies_left(&db).await, Vec::<String>::new());
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());
}

#[tokio::test]
async fn a_verify_reports_a_missing_live_table_and_a_rebuild_creates_it() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let rows = snapshot(&db).await;
    sqlx::query("DROP TABLE operation_runs")
        .execute(&db.pool)
        .await
        .unwrap();

    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(report.missing_tables, ["operation_runs"]);
    assert!(!report.is_clean());
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert_eq!(
        report.tables.len(),
        runproof_projections::all().len() - 1,
        "the other tables are still compared"
    );

    let rebuilt = rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(rebuilt.created, ["operation_runs"]);
    assert_eq!(snapshot(&db).await, rows);
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());
}

/// Leaves behind what a process killed mid-replay leaves: filled copies of either set
/// and their checkpoint rows.
async fn leave_interrupted_copies(db: &TestDb) {
    for statement in [
        "CREATE TABLE operation_runs__rebuild (LIKE operation_runs)",
        "INSERT INTO operation_runs__rebuild SELECT * FROM operation_runs",
        "CREATE TABLE restore_runs__verify (LIKE restore_runs)",
        "INSERT INTO projection_checkpoints (projection, position) VALUES \
         ('operation_runs__rebuild', 3), ('restore_runs__verify', 2), ('workspaces__rebuild', 1)",
    ] {
        sqlx::query(statement).execute(&db.pool).await.unwrap();
    }
}

#[tokio::test]
async fn a_rebuild_and_a_verify_remove_what_an_interrupted_one_left_behind_and_say_so() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let rows = snapshot(&db).await;

    leave_interrupted_copies(&db).await;
    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert_eq!(
        report.removed_leftovers,
        [
            "operation_runs__rebuild",
            "restore_runs__verify",
            "workspaces__rebuild"
        ]
    );
    assert_eq!(copies_left(&db).await, Vec::<String>::new());

    leave_interrupted_copies(&db).await;
    let report = rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(
        report.removed_leftovers,
        [
            "operation_runs__rebuild",
            "restore_runs__verify",
            "workspaces__rebuild"
        ]
    );
    assert_eq!(copies_left(&db).await, Vec::<String>::new());
    assert_eq!(snapshot(&db).await, rows);

    // Nothing left: nothing to say.
    let report = rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert!(report.removed_leftovers.is_empty());
}

/// Holds a rebuild inside its bulk phase until released: `begin` tells the test it is
/// there, then waits for the test's go.
struct HeldProgress {
    entered: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    go: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Progress for HeldProgress {
    fn begin(&self, _phase: &str, _total: Option<u64>) {
        if let Some(entered) = self.entered.lock().unwrap().take() {
            let _ = entered.send(());
        }
        // Blocks this worker thread (the runtime has others) until the test says go or
        // drops its sender.
        let _ = self.go.lock().unwrap().recv();
    }
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_rebuild_or_verify_while_one_runs_is_refused_as_busy() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let (entered_tx, entered) = tokio::sync::oneshot::channel();
    let (go, go_rx) = std::sync::mpsc::channel();
    let progress = Arc::new(HeldProgress {
        entered: Mutex::new(Some(entered_tx)),
        go: Mutex::new(go_rx),
    });
    let first = {
        let projector = app.projector.clone();
        let progress = progress.clone();
        tokio::spawn(async move { rebuild::rebuild(&projector, progress.as_ref()).await })
    };
    entered.await.unwrap();

    let second = Projector::new(db.second_pool().await, runproof_projections::all());
    assert!(matches!(
        rebuild::rebuild(&second, &NoProgress).await,
        Err(ProjectorError::RebuildBusy)
    ));
    assert!(matches!(
        rebuild::verify(&second, &NoProgress).await,
        Err(ProjectorError::RebuildBusy)
    ));
    // The refused ones touched nothing of the running one.
    assert!(copies_left(&db)
        .await
        .contains(&"operation_runs__rebuild".to_string()));

    go.send(()).unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(copies_left(&db).await, Vec::<String>::new());
    rebuild::rebuild(&second, &NoProgress).await.unwrap();
}

/// A session that reads `table` in a transaction it keeps open, holding its lock.
async fn long_reader(db: &TestDb, table: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut reader = db.pool.begin().await.unwrap();
    sqlx::query(&format!(
        "SELECT count(*) FROM {}",
        quote_ident(table).unwrap()
    ))
    .execute(&mut *reader)
    .await
    .unwrap();
    reader
}

#[tokio::test]
async fn a_long_reader_makes_the_swap_give_up_within_the_lock_timeout_and_leaves_the_table_as_it_was(
) {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let rows = snapshot(&db).await;
    let projector = app
        .projector
        .clone()
        .with_lock_timeout(Duration::from_millis(100))
        .with_swap_attempts(2);

    let reader = long_reader(&db, "operation_runs").await;
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        rebuild::rebuild(&projector, &NoProgress),
    )
    .await
    .expect("the rebuild gives up instead of waiting behind the reader");
    match outcome {
        Err(ProjectorError::LockTimeout {
            projection,
            attempts,
            ..
        }) => {
            assert_eq!(projection, "operation_runs");
            assert_eq!(attempts, 2);
        }
        other => panic!("expected a lock timeout, got {other:?}"),
    }
    assert_eq!(snapshot(&db).await, rows, "the live table is unchanged");
    assert_eq!(copies_left(&db).await, Vec::<String>::new());

    // Once the reader is done, the same rebuild goes through.
    reader.commit().await.unwrap();
    rebuild::rebuild(&projector, &NoProgress).await.unwrap();
    assert_eq!(snapshot(&db).await, rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_of_a_swapped_projection_do_not_wait_while_a_later_one_waits_for_its_lock() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    varied_history(&app, &clock, Uuid::new_v4()).await;
    let rows = snapshot(&db).await;
    // environment_reviews is swapped last; a reader holds it.
    let last = runproof_projections::all().last().unwrap().tables()[0].name;
    let reader = long_reader(&db, last).await;
    let rebuilding = {
        let projector = app
            .projector
            .clone()
            .with_lock_timeout(Duration::from_secs(60));
        tokio::spawn(async move { rebuild::rebuild(&projector, &NoProgress).await })
    };

    // Wait until the swap queues for the reader's table.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = $1::regclass \
             AND mode = 'AccessExclusiveLock' AND NOT granted)",
        )
        .bind(last)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if waiting {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the swap never waited"
        );
        tokio::task::yield_now().await;
    }

    // operation_runs was swapped before: reading it does not wait for anything.
    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("SET lock_timeout = '2s'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let read: Vec<Value> =
        sqlx::query_scalar("SELECT to_jsonb(r) FROM operation_runs r ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .expect("a swapped projection is readable while a later one waits");
    assert_eq!(read, rows);

    reader.commit().await.unwrap();
    rebuilding.await.unwrap().unwrap();
    assert_eq!(snapshot(&db).await, rows);
}

#[derive(Debug, Clone)]
enum Op {
    Ensure(u8),
    Start(u8),
    Complete(u8, u8),
    Reconcile(u8),
    Tick(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6).prop_map(Op::Ensure),
        (0u8..6).prop_map(Op::Start),
        ((0u8..6), (0u8..4)).prop_map(|(k, o)| Op::Complete(k, o)),
        (0u8..6).prop_map(Op::Reconcile),
        (1u8..120).prop_map(Op::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever happened, in whatever order, and however the projector batched it: the
    /// live table equals a rebuild from the log.
    #[test]
    fn replay_is_deterministic_for_any_history(ops in prop::collection::vec(op(), 1..40), batch in 1i64..8) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let db = TestDb::new().await;
            let clock = Arc::new(ManualClock::new(common::t0()));
            let app = App::from_pool(db.pool.clone(), clock.clone()).without_read_your_writes();
            let ws = Uuid::new_v4();
            let mut runs: BTreeMap<u8, Uuid> = BTreeMap::new();
            for op in ops {
                // Rejections are part of the history too: they must record nothing.
                match op {
                    Op::Ensure(k) => {
                        let id = app.lifecycle.ensure(export(ws, u32::from(k)), &operator()).await.unwrap().run_id();
                        runs.insert(k, id);
                    }
                    Op::Start(k) => if let Some(id) = runs.get(&k) {
                        let _ = app.lifecycle.start(*id, &worker()).await;
                    },
                    Op::Complete(k, o) => if let Some(id) = runs.get(&k) {
                        let outcome = TerminalOutcome::ALL[usize::from(o) % 4];
                        let _ = app.lifecycle.complete(*id, outcome, BTreeMap::new(), vec![], &worker()).await;
                    },
                    Op::Reconcile(k) => if let Some(id) = runs.get(&k) {
                        let version = app.lifecycle.load(*id).await.unwrap().version();
                        let r = Reconciliation {
                            source: ReconciliationSource::Stale,
                            adapter: None,
                            decision: DecisionKind::ProvenFailed,
                            reason_code: ReasonCode::JobTimedOut,
                            evidence: Evidence::default(),
                            decided_at: clock.now(),
                        };
                        let _ = app.lifecycle.reconcile(*id, version, r, &operator()).await;
                    },
                    Op::Tick(s) => clock.advance(Span::seconds(i64::from(s))),
                }
            }
            let projector = Projector::new(db.pool.clone(), runproof_projections::all()).with_batch(batch);
            let target = sqlx::query_as::<_, (i64, i64)>(
                "SELECT transaction_id::text::bigint, position FROM events ORDER BY 1 DESC, 2 DESC LIMIT 1",
            )
            .fetch_optional(&db.pool)
            .await
            .unwrap()
            .unwrap_or_default();
            projector
                .wait_for(runproof_projections::LogPosition { transaction_id: target.0, position: target.1 }, Duration::from_secs(20))
                .await
                .unwrap();
            let live = snapshot(&db).await;
            let report = rebuild::verify(&projector, &NoProgress).await.unwrap();
            assert!(report.is_clean(), "{:?}", report.differences);
            rebuild::rebuild(&projector, &NoProgress).await.unwrap();
            assert_eq!(snapshot(&db).await, live);
            // Status and outcome stay in their families whatever the history.
            let pairs: Vec<(String, String)> = sqlx::query_as("SELECT status, outcome FROM operation_runs")
                .fetch_all(&db.pool)
                .await
                .unwrap();
            for (status, outcome) in pairs {
                assert!(["queued", "running", "completed"].contains(&status.as_str()));
                assert_eq!(status == "completed", outcome != "pending");
            }
        });
    }
}
