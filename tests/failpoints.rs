//! Fault injection: a real worker process aborted at each named failpoint, then the
//! reconciler, then the next request driven to success (invariant 11); and an in-process
//! compose failure followed by a retry. Built only with the
//! `failpoints` feature (`cargo test --all-features`).
#![cfg(feature = "failpoints")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{operator, TestDb};
use runproof::app::App;
use runproof::clock::{Clock, ManualClock, SystemClock};
use runproof::lifecycle::RUN_AGGREGATE;
use runproof::reconciliation;
use runproof::reviews::worker::Executed;
use runproof::reviews::Feedback;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::reconciliation::{DecisionKind, ReconciliationSource};
use runproof_domain::review::ReviewStatus;
use runproof_domain::ReasonCode;
use runproof_projections::{environment_reviews, log, operation_runs};
use serde_json::json;
use uuid::Uuid;

struct Setup {
    db: TestDb,
    app: App,
    workspace: Uuid,
    environment: Uuid,
    actor: Uuid,
}

async fn setup() -> Setup {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let ctx = operator();
    let (workspace, actor) = common::workspace_with_member(&app).await;
    let environment = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "prod", &ctx)
        .await
        .unwrap();
    let doc = json!({"findings": [{"severity": "high", "category": "identity"}, {"severity": "low", "category": "network"}]});
    app.directory
        .capture_evidence(environment, doc, &ctx)
        .await
        .unwrap();
    Setup {
        db,
        app,
        workspace,
        environment,
        actor,
    }
}

impl Setup {
    async fn queue(&self) -> Uuid {
        match self
            .app
            .reviews
            .create_or_refresh(self.actor, self.workspace, self.environment, &operator())
            .await
            .unwrap()
        {
            Feedback::Queued { run_id } => run_id,
            other => panic!("{other:?}"),
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }
}

/// Runs `runproof worker --once` with one failpoint armed and expects the process to die.
fn crashed_worker(url: &str, failpoints: &str) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("runproof"))
        .env("FAILPOINTS", failpoints)
        .env_remove("RUST_LOG")
        .args(["--database-url", url, "worker", "--once"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the worker should have been aborted at {failpoints}"
    );
}

/// The reconciler, one hour after now: past every compose threshold.
async fn reconcile_an_hour_later(s: &Setup) -> runproof_adapters::PassReport {
    // Other tests' open transactions on the server can hold the read horizon back.
    common::wait_projected(&s.db, &s.app.projector).await;
    let later = App::from_pool(
        s.db.pool.clone(),
        Arc::new(ManualClock::new(SystemClock.now() + Duration::hours(1))),
    );
    reconciliation::reconciler(&later)
        .unwrap()
        .pass(later.clock.now())
        .await
        .unwrap()
}

/// Crashes the worker at `failpoints`; reconciles past the thresholds (the crashed run is
/// blocked: its draft was never finished); then the next request for the same evidence
/// queues a new run, whose worker takes the orphaned draft over and composes it. Ends with
/// exactly one review for the fingerprint, ready, and the second run succeeded; the
/// histories show the crash, the decision and the handover.
async fn crash_then_converge(failpoints: &str) {
    let s = setup().await;
    let run = s.queue().await;
    crashed_worker(&s.db.url(), failpoints);

    let report = reconcile_an_hour_later(&s).await;
    assert_eq!(report.decided().count(), 1, "{:?}", report.runs);
    let mut conn = s.db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, run).await.unwrap().unwrap();
    assert_eq!(row.state.status, RunStatus::Completed);
    assert_eq!(row.state.outcome, RunOutcome::Blocked);
    let r = row.state.reconciliation.unwrap();
    assert_eq!(
        (r.decision, r.reason_code, r.source),
        (
            DecisionKind::Blocked,
            ReasonCode::ReviewDraftStale,
            ReconciliationSource::Adapter
        )
    );
    let history = log::read_stream(&mut conn, RUN_AGGREGATE, &run.to_string())
        .await
        .unwrap();
    let types: Vec<&str> = history.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["RunQueued", "RunStarted", "RunReconciled"]);
    let actors: Vec<String> = history
        .iter()
        .map(|e| {
            runproof::event_store::metadata_of(e)
                .unwrap()
                .actor
                .to_string()
        })
        .collect();
    assert_eq!(actors[1], "system:worker");
    assert_eq!(actors[2], "system:reconciler");

    // The next request makes progress: a new run takes the orphaned draft over.
    let second = s.queue().await;
    assert_ne!(second, run);
    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(executed_run, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    assert_eq!(*executed_run, second);
    let second_row = operation_runs::get(&mut conn, second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (second_row.state.status, second_row.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
    assert_eq!(
        s.count("SELECT count(*) FROM environment_reviews").await,
        1,
        "the draft was taken over, not duplicated"
    );
    let review = environment_reviews::get(&mut conn, *review_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(review.state.status, ReviewStatus::Ready);
    assert_eq!(review.state.run_id, second);
    assert_eq!(review.state.previous_run_ids, vec![run], "attempt history");
    let review_history = log::read_stream(&mut conn, "environment_review", &review_id.to_string())
        .await
        .unwrap();
    let handover = review_history
        .iter()
        .find(|e| e.event_type == "ReviewDraftTakenOver")
        .expect("the handover is recorded");
    let payload: serde_json::Value = serde_json::from_str(&handover.payload).unwrap();
    assert_eq!(
        payload["ReviewDraftTakenOver"]["previous_run_id"],
        json!(run.to_string())
    );
    assert_eq!(
        s.count("SELECT count(*) FROM operation_runs WHERE status <> 'completed'")
            .await,
        0,
        "no run left active"
    );
    // And a third request reuses the ready review.
    assert!(matches!(
        s.app
            .reviews
            .create_or_refresh(s.actor, s.workspace, s.environment, &operator())
            .await
            .unwrap(),
        Feedback::AlreadyAvailable { review_id: r } if r == *review_id
    ));
}

#[tokio::test]
async fn a_worker_that_dies_after_the_slot_claim_leaves_a_draft_the_next_request_takes_over() {
    crash_then_converge("compose.after_slot_claim=return").await;
}

#[tokio::test]
async fn a_worker_that_dies_after_the_draft_is_created_leaves_a_draft_the_next_request_takes_over()
{
    crash_then_converge("compose.after_draft_created=return").await;
}

#[tokio::test]
async fn a_worker_that_dies_inside_compose_leaves_a_draft_the_next_request_takes_over() {
    crash_then_converge("compose.inside_compose=return(abort)").await;
}

#[tokio::test]
async fn a_worker_that_dies_before_the_final_write_leaves_a_draft_the_next_request_takes_over() {
    crash_then_converge("compose.before_run_complete=return").await;
}

impl Setup {
    /// A new environment of the workspace with evidence of its own (`k` findings).
    async fn environment_with_evidence(&self, k: usize) -> Uuid {
        let findings: Vec<_> = (0..k)
            .map(|_| json!({"severity": "medium", "category": "storage"}))
            .collect();
        common::environment_with_evidence(
            &self.app,
            self.workspace,
            &format!("env {k}"),
            json!({ "findings": findings }),
        )
        .await
    }

    async fn queue_in(&self, environment: Uuid) -> Feedback {
        self.app
            .reviews
            .create_or_refresh(self.actor, self.workspace, environment, &operator())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_worker_that_dies_inside_a_batch_strands_its_runs_and_the_next_requests_compose_them() {
    // Three runs of new evidence start in one commit; the worker dies composing the
    // first. All three are left running with their drafts; the reconciler blocks them
    // once stale, and the next request for each environment composes it, taking the
    // orphaned draft over — one review per environment, every run ended.
    let s = setup().await;
    let mut environments = Vec::new();
    for k in 1..=3 {
        environments.push(s.environment_with_evidence(k).await);
    }
    let mut first_runs = Vec::new();
    for environment in &environments {
        let Feedback::Queued { run_id } = s.queue_in(*environment).await else {
            panic!("expected a queued run")
        };
        first_runs.push(run_id);
    }
    crashed_worker(&s.db.url(), "compose.inside_compose=return(abort)");
    assert_eq!(
        s.count(
            "SELECT count(DISTINCT transaction_id) FROM events WHERE event_type = 'RunStarted'"
        )
        .await,
        1,
        "the three started in one commit"
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'ReviewDrafted'")
            .await,
        3
    );

    let report = reconcile_an_hour_later(&s).await;
    assert_eq!(report.decided().count(), 3, "{:?}", report.runs);
    let mut conn = s.db.pool.acquire().await.unwrap();
    for run in &first_runs {
        let row = operation_runs::get(&mut conn, *run).await.unwrap().unwrap();
        assert_eq!(
            (row.state.status, row.state.outcome),
            (RunStatus::Completed, RunOutcome::Blocked)
        );
    }

    let mut second_runs = Vec::new();
    for environment in &environments {
        let Feedback::Queued { run_id } = s.queue_in(*environment).await else {
            panic!("expected a queued run")
        };
        second_runs.push(run_id);
    }
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    for (run, executed) in &done {
        assert!(second_runs.contains(run));
        let Executed::Composed { review_id } = executed else {
            panic!("{done:?}")
        };
        let review = environment_reviews::get(&mut conn, *review_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(review.state.status, ReviewStatus::Ready);
        assert_eq!(review.state.run_id, *run);
        assert_eq!(review.state.previous_run_ids.len(), 1, "taken over");
        assert!(first_runs.contains(&review.state.previous_run_ids[0]));
    }
    assert_eq!(s.count("SELECT count(*) FROM environment_reviews").await, 3);
    assert_eq!(
        s.count("SELECT count(*) FROM operation_runs WHERE status <> 'completed'")
            .await,
        0,
        "no run left active"
    );
    for environment in &environments {
        assert!(matches!(
            s.queue_in(*environment).await,
            Feedback::AlreadyAvailable { .. }
        ));
    }
}

#[tokio::test]
async fn two_crashed_attempts_are_both_kept_in_the_review_attempt_history() {
    let s = setup().await;
    let first = s.queue().await;
    crashed_worker(&s.db.url(), "compose.after_slot_claim=return");
    reconcile_an_hour_later(&s).await;
    let second = s.queue().await;
    crashed_worker(&s.db.url(), "compose.inside_compose=return(abort)");
    reconcile_an_hour_later(&s).await;
    let third = s.queue().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(_, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    let mut conn = s.db.pool.acquire().await.unwrap();
    let review = environment_reviews::get(&mut conn, *review_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(review.state.run_id, third);
    assert_eq!(review.state.previous_run_ids, vec![first, second]);
    assert_eq!(review.state.status, ReviewStatus::Ready);
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'ReviewDraftTakenOver'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_compose_error_fails_review_and_run_and_a_retry_redrafts_the_same_review() {
    let scenario = fail::FailScenario::setup();
    let s = setup().await;
    let run = s.queue().await;
    fail::cfg("compose.inside_compose", "return").unwrap();
    let done = s.app.worker().run_until_idle().await.unwrap();
    fail::remove("compose.inside_compose");
    let [(_, Executed::Failed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    let mut conn = s.db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, run).await.unwrap().unwrap();
    assert_eq!(row.state.outcome, RunOutcome::Failed);
    assert_eq!(
        row.state.failures[0].reason_code,
        ReasonCode::ReviewComposeFailed
    );

    // A new request: the failed review is not available, so a new run composes — into the
    // same review (failed → draft → ready), never a second mutable one.
    let retry = s.queue().await;
    assert_ne!(retry, run);
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Composed { review_id: again })] if *r == retry && again == review_id),
        "{done:?}"
    );
    assert_eq!(s.count("SELECT count(*) FROM environment_reviews").await, 1);
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'ReviewRedrafted'")
            .await,
        1
    );
    scenario.teardown();
}

/// Runs the binary, with failpoints armed if given.
fn runproof_with(url: &str, failpoints: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("runproof"));
    if let Some(failpoints) = failpoints {
        command.env("FAILPOINTS", failpoints);
    }
    command
        .env_remove("RUST_LOG")
        .args(["--database-url", url])
        .args(args)
        .output()
        .unwrap()
}

/// Kills `runproof <args>` after its first batch of copies committed, then waits until
/// the server has ended the dead process's sessions (and with them its rebuild lock).
async fn killed_mid_copy(s: &Setup, args: &[&str]) {
    let out = runproof_with(&s.db.url(), Some("replay.after_copy_batch=return"), args);
    assert!(
        !out.status.success(),
        "the process should have been aborted"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let sessions = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'runproof'",
        )
        .bind(&s.db.name)
        .fetch_one(&s.db.pool)
    };
    while sessions().await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "sessions never ended");
        tokio::task::yield_now().await;
    }
}

/// Copy tables and copy checkpoint rows of a set (`__rebuild`, `__verify`).
async fn copies_of(s: &Setup, suffix: &str) -> (i64, i64) {
    let pattern = format!("%{}", suffix.replace('_', "\\_"));
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE $1")
            .bind(&pattern)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    let checkpoints: i64 =
        sqlx::query_scalar("SELECT count(*) FROM projection_checkpoints WHERE projection LIKE $1")
            .bind(&pattern)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    (tables, checkpoints)
}

#[tokio::test]
async fn a_killed_replay_or_verify_leaves_copies_that_the_next_one_removes_and_says_so() {
    let s = setup().await;
    let url = s.db.url();
    let projections = runproof_projections::all().len() as i64;

    killed_mid_copy(&s, &["replay"]).await;
    assert_eq!(copies_of(&s, "__rebuild").await, (projections, projections));
    let filled: i64 = s.count("SELECT count(*) FROM workspaces__rebuild").await;
    assert_eq!(filled, 1, "the copies hold what the dead process projected");

    let verify = runproof_with(&url, None, &["replay", "--verify"]);
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{stdout}");
    assert!(
        stdout.contains("Removed actors__rebuild, api_tokens__rebuild, environment_reviews__rebuild, evidence_snapshots__rebuild, log_leaves__rebuild, managed_environments__rebuild, operation_runs__rebuild, restore_runs__rebuild, workspaces__rebuild, left behind by an interrupted replay or verify."),
        "{stdout}"
    );
    assert_eq!(copies_of(&s, "__rebuild").await, (0, 0));
    assert_eq!(copies_of(&s, "__verify").await, (0, 0));

    killed_mid_copy(&s, &["replay", "--verify"]).await;
    assert_eq!(copies_of(&s, "__verify").await, (projections, projections));
    let replay = runproof_with(&url, None, &["--lang", "de", "replay"]);
    let stdout = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{stdout}");
    assert!(
        stdout.contains("workspaces__verify entfernt, zurückgelassen von einem abgebrochenen replay oder verify."),
        "{stdout}"
    );
    assert_eq!(copies_of(&s, "__verify").await, (0, 0));
    assert_eq!(copies_of(&s, "__rebuild").await, (0, 0));

    // Nothing left behind now: nothing to say.
    let clean = runproof_with(&url, None, &["replay", "--verify"]);
    assert!(clean.status.success());
    assert!(!String::from_utf8_lossy(&clean.stdout).contains("Removed"));
}
