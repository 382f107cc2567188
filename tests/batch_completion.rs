//! A batch whose completion commit loses: one of its runs is ended from outside while the
//! batch composes. Nothing of the batch's completion may be written together; the other
//! runs complete each on their own, the ended run is settled as a lost race, and the next
//! request for its evidence composes it (invariant 11).
//!
//! A test binary of its own: it configures a failpoint callback, and the failpoint
//! registry is global to the process (it would run in other tests' workers too). Built
//! only with the `failpoints` feature (`cargo test --all-features`).
#![cfg(feature = "failpoints")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{operator, TestDb};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::reviews::worker::Executed;
use runproof::reviews::Feedback;
use runproof_domain::operation_run::{Failure, RunOutcome, TerminalOutcome};
use runproof_domain::ReasonCode;
use serde_json::{json, Value};
use uuid::Uuid;

fn findings(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"severity": "high", "category": "identity", "title": format!("finding {i}")}))
        .collect();
    json!({ "findings": items })
}

/// Ends `run` (failed, as an operator would) from a thread and runtime of its own, on a
/// pool of its own: the failpoint's callback is synchronous and runs inside the worker.
fn end_from_outside(url: String, run: Uuid) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let app = App::from_pool(pool, Arc::new(SystemClock)).without_read_your_writes();
            app.lifecycle
                .complete(
                    run,
                    TerminalOutcome::Failed,
                    Default::default(),
                    vec![Failure {
                        reason_code: ReasonCode::ReviewComposeFailed,
                        message: None,
                    }],
                    &operator(),
                )
                .await
                .unwrap();
        });
    })
    .join()
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_completion_loses_completes_each_run_alone_and_the_ended_one_is_composed_next(
) {
    let scenario = fail::FailScenario::setup();
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let ctx = operator();
    let (workspace, actor) = common::workspace_with_member(&app).await;
    let mut environments = Vec::new();
    let mut runs = Vec::new();
    for k in 0..3 {
        let environment = common::environment_with_evidence(
            &app,
            workspace,
            &format!("env {k}"),
            findings(k + 1),
        )
        .await;
        match app
            .reviews
            .create_or_refresh(actor, workspace, environment, &ctx)
            .await
            .unwrap()
        {
            Feedback::Queued { run_id } => runs.push(run_id),
            other => panic!("expected a queued run, got {other:?}"),
        }
        environments.push(environment);
    }
    let ended = runs[2];

    // The batch has started (one commit) and its first run is composed: run 3 is ended
    // from outside before the batch's completion commit.
    let fired = Arc::new(AtomicBool::new(false));
    let (once, url) = (fired.clone(), db.url());
    fail::cfg_callback("compose.before_run_complete", move || {
        if !once.swap(true, Ordering::SeqCst) {
            end_from_outside(url.clone(), ended);
        }
    })
    .unwrap();
    let done = app.worker().run_until_idle().await.unwrap();
    fail::remove("compose.before_run_complete");
    assert!(fired.load(Ordering::SeqCst), "the failpoint ran");

    assert_eq!(done.len(), 3, "{done:?}");
    for (run, executed) in &done {
        if *run == ended {
            assert!(matches!(executed, Executed::LostRace { .. }), "{done:?}");
        } else {
            assert!(matches!(executed, Executed::Composed { .. }), "{done:?}");
        }
    }
    // The three starts went in one commit; the completions did not: the two composed
    // runs each completed in a transaction of its own, with their reviews.
    let start_commits: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT transaction_id) FROM events \
         WHERE event_type = 'RunStarted' AND aggregate_id = ANY($1)",
    )
    .bind(runs.iter().map(Uuid::to_string).collect::<Vec<_>>())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(start_commits, 1);
    let completion_commits: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, count(*) OVER (PARTITION BY transaction_id) FROM events \
         WHERE event_type = 'RunCompleted' AND aggregate_id = ANY($1) ORDER BY aggregate_id",
    )
    .bind(runs[..2].iter().map(Uuid::to_string).collect::<Vec<_>>())
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        completion_commits
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>(),
        vec![1, 1],
        "each composed run completed alone: {completion_commits:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE event_type = 'ReviewComposed'")
            .await,
        2,
        "the ended run's review was not composed"
    );
    common::wait_projected(&db, &app.projector).await;
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM operation_runs WHERE id = $1")
        .bind(ended)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::Failed.as_str());

    // The next request for the ended run's evidence composes it: the orphaned draft is
    // taken over.
    let Feedback::Queued { run_id: next } = app
        .reviews
        .create_or_refresh(actor, workspace, environments[2], &ctx)
        .await
        .unwrap()
    else {
        panic!("expected a queued run")
    };
    let done = app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Composed { .. })] if *r == next),
        "{done:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE event_type = 'ReviewDraftTakenOver'")
            .await,
        1
    );
    scenario.teardown();
}
