//! Rebuild and verify: `operation_runs` is a projection of the log, and rebuilding it
//! yields identical rows (invariant 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
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
use runproof_projections::{NoProgress, Projector};
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
