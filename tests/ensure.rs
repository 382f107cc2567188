//! "Ensure run": one active run per identity, made when events are written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{app, operator, worker, TestDb};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::lifecycle::{EnsureRun, Ensured};
use runproof_domain::identity::IdentityHash;
use runproof_domain::operation_run::TerminalOutcome;
use runproof_domain::run_type::RunType;
use runproof_projections::operation_runs;
use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

fn compose(workspace: Uuid, environment: Uuid) -> EnsureRun {
    common::compose_request(workspace, environment, "sha256:abc")
}

/// One ensure of the identity per app in `apps`, all released together; their answers.
async fn ensure_at_once(apps: Vec<App>, workspace: Uuid, environment: Uuid) -> Vec<Ensured> {
    let barrier = Arc::new(Barrier::new(apps.len()));
    let mut calls = Vec::new();
    for app in apps {
        let barrier = barrier.clone();
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            app.lifecycle
                .ensure(compose(workspace, environment), &operator())
                .await
        }));
    }
    let mut results = Vec::new();
    for c in calls {
        results.push(c.await.unwrap().unwrap());
    }
    results
}

/// Every caller got the same run, exactly one queued it, and the log holds one queued run.
async fn assert_one_run(db: &TestDb, results: &[Ensured]) {
    let ids: HashSet<Uuid> = results.iter().map(|r| r.run_id()).collect();
    assert_eq!(ids.len(), 1, "every caller got the same run");
    let queued = results
        .iter()
        .filter(|r| matches!(r, Ensured::Queued(_)))
        .count();
    assert_eq!(queued, 1, "exactly one caller queued it");
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE event_type = 'RunQueued'")
            .await,
        1,
        "the log holds exactly one queued run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_ensure_calls_for_one_identity_yield_exactly_one_run() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let (ws, env) = (Uuid::new_v4(), Uuid::new_v4());
    let results = ensure_at_once(vec![app; 32], ws, env).await;
    assert_one_run(&db, &results).await;
    let identity = IdentityHash::of(
        ws,
        Some(env),
        RunType::EnvironmentReviewCompose,
        &json!({ "fingerprint": "sha256:abc" }),
    );
    let mut conn = db.pool.acquire().await.unwrap();
    let active = operation_runs::find_active_by_identity(&mut conn, &identity)
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ensure_calls_from_two_processes_also_yield_one_run() {
    let db = TestDb::new().await;
    let (first, _) = app(&db);
    let second = App::from_pool(db.second_pool().await, Arc::new(SystemClock));
    let (ws, env) = (Uuid::new_v4(), Uuid::new_v4());
    let apps = (0..16)
        .map(|i| match i % 2 {
            0 => first.clone(),
            _ => second.clone(),
        })
        .collect();
    let ids: HashSet<Uuid> = ensure_at_once(apps, ws, env)
        .await
        .iter()
        .map(|r| r.run_id())
        .collect();
    assert_eq!(ids.len(), 1);
}

/// Requests of one process that come together follow the first ([`ClaimsInFlight`] in
/// `src/claims_in_flight.rs`), so the race above is mostly won in memory. Here each of
/// 32 callers is a process of its own: all 32 claim the slot, and the store's concurrency
/// check alone leaves one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_processes_claiming_one_identity_at_once_yield_exactly_one_run() {
    let db = TestDb::new().await;
    let (ws, env) = (Uuid::new_v4(), Uuid::new_v4());
    let apps = (0..32)
        .map(|_| App::from_pool(db.pool.clone(), Arc::new(SystemClock)))
        .collect();
    let results = ensure_at_once(apps, ws, env).await;
    assert_one_run(&db, &results).await;
}

#[tokio::test]
async fn an_active_run_is_reused_and_a_completed_one_is_not() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let (ws, env) = (Uuid::new_v4(), Uuid::new_v4());
    let first = app
        .lifecycle
        .ensure(compose(ws, env), &operator())
        .await
        .unwrap();
    assert!(matches!(first, Ensured::Queued(_)));
    let again = app
        .lifecycle
        .ensure(compose(ws, env), &operator())
        .await
        .unwrap();
    assert_eq!(again, Ensured::Existing(first.run_id()));

    app.lifecycle
        .start(first.run_id(), &worker())
        .await
        .unwrap();
    let while_running = app
        .lifecycle
        .ensure(compose(ws, env), &operator())
        .await
        .unwrap();
    assert_eq!(while_running, Ensured::Existing(first.run_id()));

    app.lifecycle
        .complete(
            first.run_id(),
            TerminalOutcome::Succeeded,
            Default::default(),
            vec![],
            &worker(),
        )
        .await
        .unwrap();
    let after = app
        .lifecycle
        .ensure(compose(ws, env), &operator())
        .await
        .unwrap();
    let Ensured::Queued(next) = after else {
        panic!("a completed run is not reused: {after:?}")
    };
    assert_ne!(next, first.run_id());
}

#[tokio::test]
async fn a_different_scope_or_input_is_a_different_identity() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let (ws, env) = (Uuid::new_v4(), Uuid::new_v4());
    let base = app
        .lifecycle
        .ensure(compose(ws, env), &operator())
        .await
        .unwrap()
        .run_id();
    let other_ws = app
        .lifecycle
        .ensure(compose(Uuid::new_v4(), env), &operator())
        .await
        .unwrap();
    let other_env = app
        .lifecycle
        .ensure(compose(ws, Uuid::new_v4()), &operator())
        .await
        .unwrap();
    let other_input = app
        .lifecycle
        .ensure(
            EnsureRun {
                identity_inputs: json!({"fingerprint": "sha256:def"}),
                ..compose(ws, env)
            },
            &operator(),
        )
        .await
        .unwrap();
    for r in [other_ws, other_env, other_input] {
        assert!(matches!(r, Ensured::Queued(id) if id != base));
    }
}

#[tokio::test]
async fn an_invalid_context_records_neither_slot_nor_run() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let bad = EnsureRun {
        context: json!("not an object"),
        ..compose(Uuid::new_v4(), Uuid::new_v4())
    };
    assert!(app.lifecycle.ensure(bad, &operator()).await.is_err());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}
