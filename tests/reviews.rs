//! Environment review compose against PostgreSQL: feedback, the worker, the fingerprint
//! slot under concurrency, the decision table row by row, scope, supersession, and the
//! projection's second line of defence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Duration;
use common::{app, operator, TestDb};
use runproof::app::App;
use runproof::clock::{Clock, ManualClock};
use runproof::event_store::NewEvent;
use runproof::lifecycle::EnsureRun;
use runproof::reconciliation;
use runproof::reviews::claim_hints;
use runproof::reviews::worker::Executed;
use runproof::reviews::{Claim, ComposeJob, Feedback, Finish};
use runproof::service_error::ServiceError;
use runproof_adapters::reconciler::Handled;
use runproof_domain::findings::FindingsDocument;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::reconciliation::{DecisionKind, ReconciliationSource, RecordKind};
use runproof_domain::review::{
    compose, DraftReview, EnvironmentReview, ReviewCommand, ReviewStatus, COMPOSER_VERSION,
};
use runproof_domain::ReasonCode;
use runproof_projections::{environment_reviews, operation_runs};
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

struct Scene {
    db: TestDb,
    app: App,
    clock: Arc<ManualClock>,
    workspace: Uuid,
    environment: Uuid,
    actor: Uuid,
}

fn findings(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let severity = ["critical", "high", "medium", "low", "info"][i % 5];
            let category = ["identity", "network", "backup"][i % 3];
            json!({"severity": severity, "category": category, "title": format!("finding {i}")})
        })
        .collect();
    json!({ "findings": items })
}

async fn scene() -> Scene {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ctx = operator();
    let (workspace, actor) = common::workspace_with_member(&app).await;
    let environment = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "prod", &ctx)
        .await
        .unwrap();
    app.directory
        .capture_evidence(environment, findings(7), &ctx)
        .await
        .unwrap();
    Scene {
        db,
        app,
        clock,
        workspace,
        environment,
        actor,
    }
}

impl Scene {
    async fn request(&self) -> Feedback {
        self.app
            .reviews
            .create_or_refresh(self.actor, self.workspace, self.environment, &operator())
            .await
            .unwrap()
    }

    async fn run_id(&self) -> Uuid {
        match self.request().await {
            Feedback::Queued { run_id } | Feedback::AlreadyRunning { run_id } => run_id,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    /// `n` compose runs queued, each for evidence of a new environment.
    async fn queue_in_new_environments(&self, n: usize) -> Vec<Uuid> {
        let ctx = operator();
        let mut runs = Vec::new();
        for k in 0..n {
            let environment = common::environment_with_evidence(
                &self.app,
                self.workspace,
                &format!("env {k}"),
                findings(k + 1),
            )
            .await;
            match self
                .app
                .reviews
                .create_or_refresh(self.actor, self.workspace, environment, &ctx)
                .await
                .unwrap()
            {
                Feedback::Queued { run_id } => runs.push(run_id),
                other => panic!("expected a queued run, got {other:?}"),
            }
        }
        runs
    }

    fn fingerprint(&self, content_hash: &str) -> Fingerprint {
        Fingerprint::compute(
            self.workspace,
            self.environment,
            content_hash,
            COMPOSER_VERSION,
        )
    }

    async fn run(&self, id: Uuid) -> operation_runs::RunRow {
        let mut conn = self.db.pool.acquire().await.unwrap();
        operation_runs::get(&mut conn, id).await.unwrap().unwrap()
    }

    async fn review(&self, id: Uuid) -> environment_reviews::ReviewRow {
        let mut conn = self.db.pool.acquire().await.unwrap();
        environment_reviews::get(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// Starts the run and composes its review up to `ready`, without completing the
    /// run. The worker writes both in one transaction, so only a build that wrote them
    /// separately (or a write around the services) leaves this behind; the decision
    /// table still covers it.
    async fn compose_without_completing(&self, run: Uuid) -> Uuid {
        let w = CommandContext::new(Initiator::system("worker"));
        self.app.lifecycle.start(run, &w).await.unwrap();
        let review = self.draft(run).await;
        let job = self.app.reviews.job_of(run).await.unwrap();
        let content = self.app.reviews.compose_content(&job).await.unwrap();
        self.finish_without_completing(review, &job, Finish::Ready(content))
            .await;
        review
    }

    /// Appends the review's ready or failed event alone, without the run's completion.
    async fn finish_without_completing(&self, review: Uuid, job: &ComposeJob, finish: Finish) {
        let w = CommandContext::new(Initiator::system("worker"));
        let drafted = self
            .app
            .store
            .load::<EnvironmentReview>(&review.to_string())
            .await
            .unwrap();
        let events = self
            .app
            .reviews
            .finishing_events(&drafted, job, finish, &w)
            .unwrap();
        self.app.store.append_atomically(&events).await.unwrap();
        common::wait_projected(&self.db, &self.app.projector).await;
    }

    /// Claims the slot for a started run and returns the draft.
    async fn draft(&self, run: Uuid) -> Uuid {
        let w = CommandContext::new(Initiator::system("worker"));
        let job = self.app.reviews.job_of(run).await.unwrap();
        let Claim::Drafted(drafted) = self.app.reviews.claim(&job, &w).await.unwrap() else {
            panic!("expected a draft")
        };
        let review_id = drafted.aggregate.state().unwrap().id;
        self.app
            .reviews
            .wait_visible(review_id, drafted.version)
            .await;
        review_id
    }

    /// A compose run for the current evidence queued directly (bypassing the
    /// availability check, like a second integration would).
    async fn stray_run(&self) -> Uuid {
        let env = self
            .app
            .store
            .load::<runproof_domain::environment::ManagedEnvironment>(&self.environment.to_string())
            .await
            .unwrap();
        let snapshot = env
            .aggregate
            .state()
            .unwrap()
            .latest_snapshot
            .clone()
            .unwrap();
        let f = self.fingerprint(&snapshot.content_hash);
        self.app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: self.workspace,
                    environment_id: Some(self.environment),
                    run_type: "environment.review.compose".into(),
                    identity_inputs: json!({ "fingerprint": f, "stray": Uuid::new_v4() }),
                    context: json!({ "fingerprint": f, "snapshot_id": snapshot.snapshot_id, "content_hash": snapshot.content_hash }),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id()
    }

    async fn pass(&self) -> runproof_adapters::PassReport {
        reconciliation::reconciler(&self.app)
            .unwrap()
            .pass(self.clock.now())
            .await
            .unwrap()
    }

    fn handled(report: &runproof_adapters::PassReport, run: Uuid) -> Handled {
        report
            .runs
            .iter()
            .find(|h| match h {
                Handled::Decided(e) | Handled::NotProvable(e) | Handled::Lost(e) => e.run_id == run,
                Handled::AlreadyEnded { run_id }
                | Handled::ProjectionBehind { run_id }
                | Handled::Failed { run_id } => *run_id == run,
            })
            .cloned()
            .unwrap_or_else(|| panic!("run {run} was not a candidate"))
    }
}

fn decided(h: &Handled) -> (DecisionKind, ReasonCode) {
    match h {
        Handled::Decided(e) => (e.decision.kind().unwrap(), e.decision.reason()),
        other => panic!("expected a decision, got {other:?}"),
    }
}

fn waiting(h: &Handled) -> ReasonCode {
    match h {
        Handled::NotProvable(e) => e.decision.reason(),
        other => panic!("expected nothing provable, got {other:?}"),
    }
}

// --- feedback and the worker ---

#[tokio::test]
async fn two_triggers_give_one_run_and_one_review_then_already_available() {
    let s = scene().await;
    let Feedback::Queued { run_id } = s.request().await else {
        panic!()
    };
    assert_eq!(s.request().await, Feedback::AlreadyRunning { run_id });

    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(ran, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    assert_eq!(*ran, run_id);

    let run = s.run(run_id).await;
    assert_eq!(
        (run.state.status, run.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
    let note = run.state.completion.unwrap();
    assert_eq!(
        (note.reason_code, note.record.unwrap().id),
        (ReasonCode::ReviewReady, *review_id)
    );
    let review = s.review(*review_id).await;
    assert_eq!(review.state.status, ReviewStatus::Ready);
    let content = review.state.content.unwrap();
    assert_eq!(content.total_findings, 7);
    assert_eq!(
        content
            .sections
            .iter()
            .map(|s| s.category.as_str())
            .collect::<Vec<_>>(),
        ["backup", "identity", "network"]
    );

    // Repeated triggers after ready: already available, no new run.
    assert_eq!(
        s.request().await,
        Feedback::AlreadyAvailable {
            review_id: *review_id
        }
    );
    assert_eq!(
        s.request().await,
        Feedback::AlreadyAvailable {
            review_id: *review_id
        }
    );
    assert_eq!(s.count("SELECT count(*) FROM operation_runs").await, 1);
}

impl Scene {
    /// What the transaction that started `run` appended, in log order.
    async fn written_with_start(&self, run: Uuid) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT aggregate_type, event_type FROM events WHERE transaction_id = \
               (SELECT transaction_id FROM events \
                WHERE aggregate_id = $1 AND event_type = 'RunStarted') \
             ORDER BY position",
        )
        .bind(run.to_string())
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_first_compose_starts_its_run_and_drafts_in_one_commit_and_a_known_fingerprint_does_not()
{
    let s = scene().await;
    let first = s.run_id().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(_, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    let pair = |a: &str, e: &str| (a.to_string(), e.to_string());
    assert_eq!(
        s.written_with_start(first).await,
        [
            pair("operation_run", "RunStarted"),
            pair("review_slot", "ReviewSlotClaimed"),
            pair("environment_review", "ReviewDrafted"),
        ]
    );
    // A second run for the same evidence finds the slot taken: its start is its own
    // commit, and it recovers the ready review instead of drafting.
    let second = s.stray_run().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert_eq!(
        done,
        [(
            second,
            Executed::DuplicateRecovered {
                review_id: *review_id
            }
        )]
    );
    assert_eq!(
        s.written_with_start(second).await,
        [pair("operation_run", "RunStarted")]
    );
}

/// The transactions that wrote `event_type` for `runs`, each with its events' types in
/// log order, in log order.
async fn transactions_of(s: &Scene, event_type: &str, runs: &[Uuid]) -> Vec<Vec<String>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, event_type FROM events WHERE transaction_id IN \
           (SELECT transaction_id FROM events WHERE event_type = $1 AND aggregate_id = ANY($2)) \
         ORDER BY position",
    )
    .bind(event_type)
    .bind(runs.iter().map(Uuid::to_string).collect::<Vec<_>>())
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    let mut transactions: Vec<(i64, Vec<String>)> = Vec::new();
    for (tx, event) in rows {
        match transactions.last_mut() {
            Some((last, events)) if *last == tx => events.push(event),
            _ => transactions.push((tx, vec![event])),
        }
    }
    transactions.into_iter().map(|(_, events)| events).collect()
}

#[tokio::test]
async fn a_worker_starts_a_batch_of_first_composes_in_one_commit_and_completes_them_in_one() {
    // Eight runs of new fingerprints: one commit holds their eight starts, each with its
    // slot claim and draft, and — after all eight are composed — one commit their eight
    // completions, each with its review's result. With a batch of one, every run has a
    // commit of its own for each. Either way every review is ready and every run
    // succeeded, and each start is durable before its completion.
    let s = scene().await;
    let batch = runproof::reviews::worker::COMPOSE_BATCH;
    assert_eq!(batch, 8);
    let runs = s.queue_in_new_environments(batch).await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert_eq!(done.len(), batch, "{done:?}");
    assert!(done
        .iter()
        .all(|(_, e)| matches!(e, Executed::Composed { .. })));
    let times = |one: &[&str], n: usize| -> Vec<String> {
        one.iter()
            .cycle()
            .take(one.len() * n)
            .map(|e| e.to_string())
            .collect()
    };
    let one_start = ["RunStarted", "ReviewSlotClaimed", "ReviewDrafted"];
    let one_completion = ["ReviewComposed", "RunCompleted"];
    assert_eq!(
        transactions_of(&s, "RunStarted", &runs).await,
        [times(&one_start, batch)],
        "one commit of eight starts"
    );
    assert_eq!(
        transactions_of(&s, "RunCompleted", &runs).await,
        [times(&one_completion, batch)],
        "one commit of eight completions"
    );
    for (run, executed) in &done {
        let Executed::Composed { review_id } = executed else {
            unreachable!()
        };
        assert_eq!(s.review(*review_id).await.state.status, ReviewStatus::Ready);
        let row = s.run(*run).await;
        assert_eq!(
            (row.state.status, row.state.outcome),
            (RunStatus::Completed, RunOutcome::Succeeded)
        );
    }

    let alone = s.queue_in_new_environments(3).await;
    let done = s.app.worker().with_batch(1).run_until_idle().await.unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    assert_eq!(
        transactions_of(&s, "RunStarted", &alone).await,
        vec![times(&one_start, 1); 3]
    );
    assert_eq!(
        transactions_of(&s, "RunCompleted", &alone).await,
        vec![times(&one_completion, 1); 3]
    );
    assert_eq!(
        s.count("SELECT count(*) FROM operation_runs WHERE status <> 'completed'")
            .await,
        0
    );
}

#[tokio::test]
async fn outsiders_and_foreign_environments_get_not_found_and_nothing_is_recorded() {
    let s = scene().await;
    let before = s.count("SELECT count(*) FROM events").await;
    let refused = |r: Result<Feedback, ServiceError>| match r {
        Err(ServiceError::Refused { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    let stranger = Uuid::new_v4();
    assert_eq!(
        refused(
            s.app
                .reviews
                .create_or_refresh(stranger, s.workspace, s.environment, &operator())
                .await
        ),
        ReasonCode::WorkspaceNotFound
    );
    assert_eq!(
        refused(
            s.app
                .reviews
                .create_or_refresh(s.actor, Uuid::new_v4(), s.environment, &operator())
                .await
        ),
        ReasonCode::WorkspaceNotFound
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events").await,
        before,
        "nothing recorded"
    );
    // An environment of another workspace, seen from this one.
    let other_ws = s
        .app
        .directory
        .create_workspace(Uuid::new_v4(), "Fabrikam", &operator())
        .await
        .unwrap();
    let other_env = s
        .app
        .directory
        .create_environment(other_ws, Uuid::new_v4(), "eu", &operator())
        .await
        .unwrap();
    let before = s.count("SELECT count(*) FROM events").await;
    assert_eq!(
        refused(
            s.app
                .reviews
                .create_or_refresh(s.actor, s.workspace, other_env, &operator())
                .await
        ),
        ReasonCode::EnvironmentNotFound
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events").await,
        before,
        "nothing recorded"
    );
    // An environment without evidence.
    let bare = s
        .app
        .directory
        .create_environment(s.workspace, Uuid::new_v4(), "dev", &operator())
        .await
        .unwrap();
    let before = s.count("SELECT count(*) FROM events").await;
    assert_eq!(
        refused(
            s.app
                .reviews
                .create_or_refresh(s.actor, s.workspace, bare, &operator())
                .await
        ),
        ReasonCode::EvidenceMissing
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events").await,
        before,
        "nothing recorded"
    );
    assert_eq!(s.count("SELECT count(*) FROM operation_runs").await, 0);
}

#[tokio::test]
async fn invalid_evidence_or_an_unknown_environment_records_nothing() {
    let s = scene().await;
    let before = s.count("SELECT count(*) FROM events").await;
    for doc in [
        json!({"findings": "x"}),
        json!([1]),
        json!({"findings": [{"severity": "apocalyptic", "category": "x"}]}),
    ] {
        let r = s
            .app
            .directory
            .capture_evidence(s.environment, doc, &operator())
            .await;
        assert!(
            matches!(
                r,
                Err(ServiceError::Refused {
                    reason: ReasonCode::EvidenceInvalid,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    let r = s
        .app
        .directory
        .capture_evidence(Uuid::new_v4(), findings(1), &operator())
        .await;
    assert!(
        matches!(
            r,
            Err(ServiceError::Refused {
                reason: ReasonCode::EnvironmentNotFound,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(s.count("SELECT count(*) FROM events").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_requests_give_one_run_and_after_the_worker_one_review() {
    let s = scene().await;
    let barrier = Arc::new(Barrier::new(32));
    let mut calls = Vec::new();
    for _ in 0..32 {
        let (app, barrier) = (s.app.clone(), barrier.clone());
        let (a, w, e) = (s.actor, s.workspace, s.environment);
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            app.reviews
                .create_or_refresh(a, w, e, &operator())
                .await
                .unwrap()
        }));
    }
    let mut runs = HashSet::new();
    let mut queued = 0;
    for c in calls {
        match c.await.unwrap() {
            Feedback::Queued { run_id } => {
                queued += 1;
                runs.insert(run_id);
            }
            Feedback::AlreadyRunning { run_id } => {
                runs.insert(run_id);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((runs.len(), queued), (1, 1));
    s.app.worker().run_until_idle().await.unwrap();
    assert_eq!(s.count("SELECT count(*) FROM environment_reviews").await, 1);
    assert_eq!(s.count("SELECT count(*) FROM operation_runs").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_racing_on_one_run_execute_it_once() {
    let s = scene().await;
    let run = s.run_id().await;
    let other = App::from_pool(s.db.second_pool().await, s.clock.clone());
    let (a, b) = (s.app.worker(), other.worker());
    let (ra, rb) = tokio::join!(a.claim_and_execute(run), b.claim_and_execute(run));
    let results = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_some()).count(),
        1,
        "{results:?}"
    );
    // The loser counted its lost claim (runproof_worker_claims_lost_total), the winner none.
    assert_eq!(
        (
            a.claims_lost() + b.claims_lost(),
            a.claims_lost() * b.claims_lost()
        ),
        (1, 0)
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'RunStarted'")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'ReviewDrafted'")
            .await,
        1
    );
    assert_eq!(s.run(run).await.state.outcome, RunOutcome::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_draining_one_queue_execute_every_run_once_and_leave_none_queued() {
    // Workers that lose a claim leave the page to the winner; the round must still end
    // only when nothing claimable is left, and no run may be executed twice. More than
    // one page of the queue, so that leaving a page leaves runs behind.
    let s = scene().await;
    let queued = runproof::reviews::worker::CLAIM_BATCH as usize + 16;
    let mut runs = s.queue_in_new_environments(queued).await;
    let other = App::from_pool(s.db.second_pool().await, s.clock.clone());
    let (a, b) = (s.app.worker(), other.worker());
    let (da, db) = tokio::join!(a.run_until_idle(), b.run_until_idle());
    let (da, db) = (da.unwrap(), db.unwrap());
    let mut executed: Vec<Uuid> = da.iter().chain(db.iter()).map(|(run, _)| *run).collect();
    assert!(
        da.iter()
            .chain(db.iter())
            .all(|(_, e)| matches!(e, Executed::Composed { .. })),
        "{da:?} {db:?}"
    );
    executed.sort();
    runs.sort();
    assert_eq!(executed, runs, "every run executed exactly once");
    assert_eq!(
        s.count("SELECT count(*) FROM operation_runs WHERE status = 'queued'")
            .await,
        0
    );
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'RunStarted'")
            .await,
        queued as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_slot_claims_for_one_fingerprint_write_one_draft_and_the_loser_recovers() {
    let s = scene().await;
    let first = s.run_id().await;
    let second = s.stray_run().await;
    let w = CommandContext::new(Initiator::system("worker"));
    s.app.lifecycle.start(first, &w).await.unwrap();
    s.app.lifecycle.start(second, &w).await.unwrap();
    let (ja, jb) = (
        s.app.reviews.job_of(first).await.unwrap(),
        s.app.reviews.job_of(second).await.unwrap(),
    );
    let (ca, cb) = tokio::join!(s.app.reviews.claim(&ja, &w), s.app.reviews.claim(&jb, &w));
    let claims = [ca.unwrap(), cb.unwrap()];
    let drafted = claims
        .iter()
        .filter(|c| matches!(c, Claim::Drafted(_)))
        .count();
    let held = claims
        .iter()
        .filter(|c| matches!(c, Claim::HeldElsewhere(_)))
        .count();
    assert_eq!((drafted, held), (1, 1), "{claims:?}");
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'ReviewDrafted'")
            .await,
        1
    );
}

// --- the decision table, row by row ---

#[tokio::test]
async fn own_ready_or_published_review_proves_the_run_succeeded() {
    let s = scene().await;
    let run = s.run_id().await;
    let review = s.compose_without_completing(run).await;
    let h = Scene::handled(&s.pass().await, run);
    assert_eq!(
        decided(&h),
        (DecisionKind::ProvenSucceeded, ReasonCode::ReviewReady)
    );
    let r = s.run(run).await.state.reconciliation.unwrap();
    assert_eq!(r.adapter.unwrap().to_string(), "review-compose@1.0.0");
    assert_eq!(r.evidence.record.unwrap().id, review);
    assert_eq!(
        r.evidence.fingerprint.unwrap().as_str(),
        s.review(review).await.state.fingerprint.as_str()
    );

    let s = scene().await;
    let run = s.run_id().await;
    let review = s.compose_without_completing(run).await;
    s.app
        .reviews
        .publish(review, None, &operator())
        .await
        .unwrap();
    assert_eq!(
        decided(&Scene::handled(&s.pass().await, run)),
        (DecisionKind::ProvenSucceeded, ReasonCode::ReviewReady)
    );
}

#[tokio::test]
async fn own_archived_review_proves_success_from_the_lineage() {
    let s = scene().await;
    let run = s.run_id().await;
    let review = s.compose_without_completing(run).await;
    s.app
        .reviews
        .publish(review, None, &operator())
        .await
        .unwrap();
    s.app
        .reviews
        .archive(review, None, &operator())
        .await
        .unwrap();
    assert_eq!(
        decided(&Scene::handled(&s.pass().await, run)),
        (DecisionKind::ProvenSucceeded, ReasonCode::ReviewHistorical)
    );
}

#[tokio::test]
async fn own_failed_review_proves_the_run_failed() {
    let s = scene().await;
    let run = s.run_id().await;
    s.app.lifecycle.start(run, &operator()).await.unwrap();
    let review = s.draft(run).await;
    let job = s.app.reviews.job_of(run).await.unwrap();
    s.finish_without_completing(review, &job, Finish::Failed)
        .await;
    assert_eq!(
        decided(&Scene::handled(&s.pass().await, run)),
        (DecisionKind::ProvenFailed, ReasonCode::ReviewFailed)
    );
    assert_eq!(s.run(run).await.state.outcome, RunOutcome::Failed);
}

#[tokio::test]
async fn own_draft_waits_while_fresh_and_blocks_once_stale() {
    let s = scene().await;
    let run = s.run_id().await;
    s.app.lifecycle.start(run, &operator()).await.unwrap();
    s.draft(run).await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, run)),
        ReasonCode::ReviewDraftInProgress
    );
    s.clock.advance(Duration::minutes(31));
    assert_eq!(
        decided(&Scene::handled(&s.pass().await, run)),
        (DecisionKind::Blocked, ReasonCode::ReviewDraftStale)
    );
    assert_eq!(s.run(run).await.state.outcome, RunOutcome::Blocked);
}

#[tokio::test]
async fn exactly_one_ready_candidate_recovers_a_duplicate_run() {
    let s = scene().await;
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    let stray = s.stray_run().await;
    let h = Scene::handled(&s.pass().await, stray);
    assert_eq!(
        decided(&h),
        (
            DecisionKind::ProvenSucceeded,
            ReasonCode::ReviewDuplicateRecovered
        )
    );
    assert_eq!(
        s.count("SELECT count(*) FROM environment_reviews").await,
        1,
        "no second review"
    );
}

#[tokio::test]
async fn the_worker_recovers_a_duplicate_before_composing() {
    let s = scene().await;
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    let stray = s.stray_run().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::DuplicateRecovered { .. })] if *r == stray),
        "{done:?}"
    );
    let note = s.run(stray).await.state.completion.unwrap();
    assert_eq!(note.reason_code, ReasonCode::ReviewDuplicateRecovered);
    assert_eq!(s.count("SELECT count(*) FROM environment_reviews").await, 1);
}

#[tokio::test]
async fn two_available_candidates_are_ambiguous_and_block_naming_both() {
    let s = scene().await;
    // Review A: composed and published.
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    let a = s.count_reviews_with(ReviewStatus::Ready).await[0];
    s.app.reviews.publish(a, None, &operator()).await.unwrap();
    // Review B: a ready review of the same evidence beside the published one. The services
    // reuse a published review instead, so only a write around them (or an older build)
    // leaves two available candidates; the table still fails closed on them.
    let f = s.review(a).await.state.fingerprint;
    let b = planted_ready_review(&s, s.workspace, s.environment, f).await;
    // A stray run without its own review now sees two candidates.
    let stray = s.stray_run().await;
    let h = Scene::handled(&s.pass().await, stray);
    assert_eq!(
        decided(&h),
        (DecisionKind::Blocked, ReasonCode::ReviewAmbiguous)
    );
    let Handled::Decided(e) = h else {
        unreachable!()
    };
    let named: HashSet<Uuid> = e
        .decision
        .evidence()
        .considered
        .iter()
        .filter(|r| r.kind == RecordKind::EnvironmentReview)
        .map(|r| r.id)
        .collect();
    assert_eq!(named, HashSet::from([a, b]), "the candidates are listed");
}

#[tokio::test]
async fn a_refresh_after_publishing_reuses_the_published_review_whoever_gets_there_first() {
    let s = scene().await;
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    let a = s.count_reviews_with(ReviewStatus::Ready).await[0];
    s.app.reviews.publish(a, None, &operator()).await.unwrap();
    for _ in 0..4 {
        // A compose run for the same evidence from a legacy integration, then a refresh,
        // the worker and a reconciler pass all at once.
        let stray = s.stray_run().await;
        let worker = s.app.worker();
        let (refresh, worked, _) = tokio::join!(s.request(), worker.run_until_idle(), s.pass());
        worked.unwrap();
        assert_eq!(refresh, Feedback::AlreadyAvailable { review_id: a });
        // Whoever decided the stray run, it is a duplicate of the published review.
        let mut row = s.run(stray).await;
        if row.state.status != RunStatus::Completed {
            s.pass().await;
            row = s.run(stray).await;
        }
        assert_eq!(row.state.outcome, RunOutcome::Succeeded, "{row:?}");
        let named = match (&row.state.completion, &row.state.reconciliation) {
            (Some(note), _) => {
                assert_eq!(note.reason_code, ReasonCode::ReviewDuplicateRecovered);
                note.record.map(|r| r.id)
            }
            (None, Some(r)) => {
                assert_eq!(r.reason_code, ReasonCode::ReviewDuplicateRecovered);
                r.evidence
                    .considered
                    .iter()
                    .find(|c| c.kind == RecordKind::EnvironmentReview)
                    .map(|c| c.id)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(named, Some(a));
    }
    assert_eq!(s.count("SELECT count(*) FROM environment_reviews").await, 1);
}

#[tokio::test]
async fn a_draft_held_by_another_active_run_proves_nothing_yet() {
    let s = scene().await;
    let holder = s.run_id().await;
    s.app.lifecycle.start(holder, &operator()).await.unwrap();
    s.draft(holder).await;
    let stray = s.stray_run().await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, stray)),
        ReasonCode::ReviewDraftHeldElsewhere
    );
}

#[tokio::test]
async fn nothing_found_leaves_a_stale_run_to_the_stale_path() {
    let s = scene().await;
    let run = s.run_id().await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, run)),
        ReasonCode::ReviewNoneFound
    );
    s.clock.advance(Duration::minutes(16));
    let h = Scene::handled(&s.pass().await, run);
    assert_eq!(
        decided(&h),
        (DecisionKind::ProvenFailed, ReasonCode::RunStaleQueued)
    );
    let r = s.run(run).await.state.reconciliation.unwrap();
    assert_eq!(r.source, ReconciliationSource::Stale);
}

// --- scope: nothing outside W, E and F ever proves a run ---

/// Writes a ready review straight into the log, for a scope the services would never
/// produce (the same fingerprint string in another workspace or environment).
async fn planted_ready_review(
    s: &Scene,
    workspace: Uuid,
    environment: Uuid,
    fingerprint: Fingerprint,
) -> Uuid {
    let review_id = Uuid::new_v4();
    let now = s.clock.now();
    let run_id = Uuid::new_v4();
    let ctx = operator();
    let mut review = EnvironmentReview::default();
    let mut events = review
        .decide(ReviewCommand::Draft(DraftReview {
            review_id,
            workspace_id: workspace,
            environment_id: environment,
            fingerprint,
            snapshot_id: Uuid::new_v4(),
            run_id,
            drafted_at: now,
        }))
        .unwrap();
    for e in &events {
        cqrs_es::Aggregate::apply(&mut review, e.clone());
    }
    let content = compose(&FindingsDocument::parse(&findings(1)).unwrap(), "sha256:x");
    events.extend(
        review
            .decide(ReviewCommand::Compose {
                run_id,
                content,
                composed_at: now,
            })
            .unwrap(),
    );
    let writes =
        NewEvent::for_stream::<EnvironmentReview>(&review_id.to_string(), 0, &events, &ctx, now)
            .unwrap();
    s.app.store.append_atomically(&writes).await.unwrap();
    common::wait_projected(&s.db, &s.app.projector).await;
    review_id
}

async fn current_fingerprint(s: &Scene) -> Fingerprint {
    let run = s.stray_run().await;
    let job = s.app.reviews.job_of(run).await.unwrap();
    job.fingerprint
}

#[tokio::test]
async fn a_ready_review_with_the_same_fingerprint_in_another_workspace_never_proves_a_run() {
    let s = scene().await;
    let f = current_fingerprint(&s).await;
    planted_ready_review(&s, Uuid::new_v4(), s.environment, f).await;
    let run = s.run_id().await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, run)),
        ReasonCode::ReviewNoneFound
    );
}

#[tokio::test]
async fn a_ready_review_with_the_same_fingerprint_in_another_environment_never_proves_a_run() {
    let s = scene().await;
    let f = current_fingerprint(&s).await;
    planted_ready_review(&s, s.workspace, Uuid::new_v4(), f).await;
    let run = s.run_id().await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, run)),
        ReasonCode::ReviewNoneFound
    );
}

#[tokio::test]
async fn a_ready_review_of_other_evidence_in_the_same_environment_never_proves_a_run() {
    let s = scene().await;
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    s.app
        .directory
        .capture_evidence(s.environment, findings(3), &operator())
        .await
        .unwrap();
    let run = s.run_id().await;
    assert_eq!(
        waiting(&Scene::handled(&s.pass().await, run)),
        ReasonCode::ReviewNoneFound
    );
}

// --- supersession ---

#[tokio::test]
async fn new_evidence_gives_a_new_review_whose_publication_supersedes_the_old_one() {
    let s = scene().await;
    // The old run composed its review but died before completing.
    let old_run = s.run_id().await;
    let old = s.compose_without_completing(old_run).await;
    let first = s.app.reviews.publish(old, None, &operator()).await.unwrap();
    assert_eq!(first.superseded, None);

    s.app
        .directory
        .capture_evidence(s.environment, findings(11), &operator())
        .await
        .unwrap();
    let Feedback::Queued { run_id: new_run } = s.request().await else {
        panic!("new evidence, new fingerprint")
    };
    let done = s.app.worker().run_until_idle().await.unwrap();
    let new = done.iter().find_map(|(r, e)| match e {
        Executed::Composed { review_id } if *r == new_run => Some(*review_id),
        _ => None,
    });
    let new = new.unwrap();
    assert_ne!(
        s.review(new).await.state.fingerprint,
        s.review(old).await.state.fingerprint
    );

    let second = s.app.reviews.publish(new, None, &operator()).await.unwrap();
    assert_eq!(second.superseded, Some(old));
    assert_eq!(s.review(old).await.state.status, ReviewStatus::Superseded);
    assert_eq!(s.review(old).await.state.superseded_by, Some(new));
    assert_eq!(s.review(new).await.state.status, ReviewStatus::Published);

    // The adapter still proves the old run from the superseded lineage.
    let h = Scene::handled(&s.pass().await, old_run);
    assert_eq!(
        decided(&h),
        (DecisionKind::ProvenSucceeded, ReasonCode::ReviewHistorical)
    );
}

#[tokio::test]
async fn publishing_is_refused_for_reviews_that_are_not_ready_and_for_outsiders() {
    let s = scene().await;
    let run = s.run_id().await;
    s.app.lifecycle.start(run, &operator()).await.unwrap();
    let draft = s.draft(run).await;
    let r = s.app.reviews.publish(draft, None, &operator()).await;
    assert!(
        matches!(
            r,
            Err(ServiceError::Refused {
                reason: ReasonCode::ReviewInvalidTransition,
                ..
            })
        ),
        "{r:?}"
    );
    let r = s
        .app
        .reviews
        .publish(draft, Some(Uuid::new_v4()), &operator())
        .await;
    assert!(
        matches!(
            r,
            Err(ServiceError::Refused {
                reason: ReasonCode::ReviewNotFound,
                ..
            })
        ),
        "{r:?}"
    );
    let r = s
        .app
        .reviews
        .publish(Uuid::new_v4(), None, &operator())
        .await;
    assert!(
        matches!(
            r,
            Err(ServiceError::Refused {
                reason: ReasonCode::ReviewNotFound,
                ..
            })
        ),
        "{r:?}"
    );
}

// --- the projection's second line of defence ---

#[tokio::test]
async fn a_second_mutable_review_for_one_fingerprint_stops_the_projection_loudly() {
    let s = scene().await;
    let f = current_fingerprint(&s).await;
    planted_ready_review(&s, s.workspace, s.environment, f.clone()).await;
    // A second mutable review for the same scope and fingerprint, bypassing the slot.
    common::plant_review_draft(&s.app, s.workspace, s.environment, f).await;
    // Another projection's event after it must still be applied.
    let ws = s
        .app
        .clone()
        .without_read_your_writes()
        .directory
        .create_workspace(Uuid::new_v4(), "Later", &operator())
        .await
        .unwrap();

    let err = common::wait_until_stopped(&s.app.projector).await;
    let runproof_projections::ProjectorError::Stopped { projection, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*projection, "environment_reviews");
    assert!(
        matches!(
            source,
            runproof_projections::ProjectionError::Invariant { .. }
        ),
        "{source:?}"
    );
    assert_eq!(
        s.count("SELECT count(*) FROM environment_reviews").await,
        1,
        "the second draft was not written"
    );
    // The other projections carry on past the stopped one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let _ = s.app.projector.catch_up().await;
        let mut conn = s.db.pool.acquire().await.unwrap();
        if runproof_projections::directory::workspace(&mut conn, ws)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other projections carried on"
        );
        tokio::task::yield_now().await;
    }
}

impl Scene {
    async fn count_reviews_with(&self, status: ReviewStatus) -> Vec<Uuid> {
        sqlx::query_scalar(
            "SELECT id FROM environment_reviews WHERE status = $1 ORDER BY drafted_at DESC",
        )
        .bind(status.as_str())
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }
}

/// Every recorded review-compose (and stale) decision is decided again, from its
/// recorded evidence, by the same pure function.
async fn assert_replayable(s: &Scene) {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload::text FROM events WHERE event_type = 'RunReconciled'")
            .fetch_all(&s.db.pool)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    let registry = reconciliation::registry(&s.app).unwrap();
    for payload in rows {
        let runproof_domain::operation_run::OperationRunEvent::RunReconciled(e) =
            serde_json::from_str(&payload).unwrap()
        else {
            panic!("not a reconcile event")
        };
        let again = registry.redecide(&e.reconciliation).expect("registered");
        assert_eq!(
            (again.kind(), again.reason()),
            (
                Some(e.reconciliation.decision),
                e.reconciliation.reason_code
            )
        );
    } // `audit redecide` over the whole log agrees with every one, in its run's scope.
    let report = runproof::audit::redecide_log::redecide_log(
        &s.db.pool,
        &registry,
        runproof::audit::redecide_log::Since::Start,
        runproof::audit::redecide::RedecideFilter::default(),
    )
    .await
    .unwrap();
    assert!(report.all_agree(), "{report:?}");
    assert!(report.decisions > 0);
    assert_eq!(
        report
            .deciders
            .values()
            .map(|t| t.scope_unchecked)
            .sum::<u64>(),
        0
    );
}

#[tokio::test]
async fn review_compose_decisions_are_decided_again_from_their_recorded_evidence() {
    let s = scene().await;
    // own ready → succeeded
    let a = s.run_id().await;
    s.compose_without_completing(a).await;
    s.pass().await;
    // duplicate recovered
    let dup = s.stray_run().await;
    s.pass().await;
    assert_eq!(s.run(dup).await.state.outcome, RunOutcome::Succeeded);
    // own draft, stale → blocked; nothing, stale → failed (stale path, with the adapter's evidence)
    s.app
        .directory
        .capture_evidence(s.environment, findings(2), &operator())
        .await
        .unwrap();
    let drafting = s.run_id().await;
    s.app.lifecycle.start(drafting, &operator()).await.unwrap();
    s.draft(drafting).await;
    s.app
        .directory
        .capture_evidence(s.environment, findings(3), &operator())
        .await
        .unwrap();
    let lonely = s.run_id().await;
    s.clock.advance(Duration::hours(1));
    s.pass().await;
    assert_eq!(s.run(drafting).await.state.outcome, RunOutcome::Blocked);
    assert_eq!(s.run(lonely).await.state.outcome, RunOutcome::Failed);
    assert_replayable(&s).await;
}

#[tokio::test]
async fn a_stale_run_waits_while_another_active_run_holds_the_draft() {
    let s = scene().await;
    let stray = s.stray_run().await;
    s.clock.advance(Duration::minutes(20));
    // A fresh run now holds the draft for the same fingerprint.
    let holder = s.run_id().await;
    s.app.lifecycle.start(holder, &operator()).await.unwrap();
    s.draft(holder).await;
    let h = Scene::handled(&s.pass().await, stray);
    assert_eq!(waiting(&h), ReasonCode::ReviewDraftHeldElsewhere);
    let Handled::NotProvable(e) = h else {
        unreachable!()
    };
    assert_eq!(e.decision.as_str(), "deferred");
    assert_eq!(
        s.run(stray).await.state.status,
        RunStatus::Queued,
        "the stale path left it alone"
    );
}

#[tokio::test]
async fn a_stopped_projection_skips_only_the_runs_that_depend_on_it() {
    let s = scene().await;
    let compose = s.run_id().await;
    let export = s
        .app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: s.workspace,
                environment_id: None,
                run_type: "report.export".into(),
                identity_inputs: json!({}),
                context: json!({}),
            },
            &operator(),
        )
        .await
        .unwrap()
        .run_id();
    // Two mutable reviews for one fingerprint, written around the services, stop the
    // environment_reviews projection.
    let f = Fingerprint::compute(s.workspace, s.environment, "sha256:0", "x");
    common::plant_review_draft(&s.app, s.workspace, s.environment, f.clone()).await;
    common::plant_review_draft(&s.app, s.workspace, s.environment, f).await;
    common::wait_until_stopped(&s.app.projector).await;
    s.clock.advance(Duration::hours(1));
    let report = s.pass().await;
    assert!(
        matches!(
            Scene::handled(&report, compose),
            Handled::ProjectionBehind { .. }
        ),
        "{:?}",
        report.runs
    );
    assert_eq!(
        decided(&Scene::handled(&report, export)),
        (DecisionKind::ProvenFailed, ReasonCode::RunStaleQueued)
    );
    assert_eq!(
        s.run(compose).await.state.status,
        RunStatus::Queued,
        "never decided on a stale view"
    );
}

/// Every row of every projection table, as JSON, in key order.
async fn all_projection_rows(s: &Scene) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for p in runproof_projections::all() {
        for spec in p.tables() {
            let rows: Vec<Value> = sqlx::query_scalar(&format!(
                "SELECT to_jsonb(t) FROM {} t ORDER BY {}",
                spec.name, spec.key
            ))
            .fetch_all(&s.db.pool)
            .await
            .unwrap();
            out.push((spec.name.to_string(), rows));
        }
    }
    out
}

#[tokio::test]
async fn every_projection_rebuilds_to_identical_rows() {
    let s = scene().await;
    // Reviews in every status, a publication that supersedes, a failed compose.
    let old_run = s.run_id().await;
    let old = s.compose_without_completing(old_run).await;
    s.app.reviews.publish(old, None, &operator()).await.unwrap();
    s.app
        .directory
        .capture_evidence(s.environment, findings(4), &operator())
        .await
        .unwrap();
    s.run_id().await;
    s.app.worker().run_until_idle().await.unwrap();
    let newer = s.count_reviews_with(ReviewStatus::Ready).await[0];
    s.app
        .reviews
        .publish(newer, None, &operator())
        .await
        .unwrap();
    s.app
        .reviews
        .archive(newer, None, &operator())
        .await
        .unwrap();
    s.app
        .directory
        .capture_evidence(s.environment, findings(5), &operator())
        .await
        .unwrap();
    let failing = s.run_id().await;
    s.app.lifecycle.start(failing, &operator()).await.unwrap();
    let draft = s.draft(failing).await;
    let job = s.app.reviews.job_of(failing).await.unwrap();
    s.finish_without_completing(draft, &job, Finish::Failed)
        .await;
    // And a restore record.
    let restore_id = Uuid::new_v4();
    let restore_run = s
        .app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: s.workspace,
                environment_id: Some(s.environment),
                run_type: "restore.execute".into(),
                identity_inputs: json!({ "restore_id": restore_id }),
                context: json!({ "restore_id": restore_id }),
            },
            &operator(),
        )
        .await
        .unwrap()
        .run_id();
    let scope = runproof::restore::RestoreScope {
        restore_id,
        run_id: restore_run,
        workspace_id: s.workspace,
        environment_id: s.environment,
    };
    s.app.restores.request(scope, &operator()).await.unwrap();
    // API tokens (one revoked, one expiring) and an actor's roles.
    s.app
        .directory
        .grant_role(s.actor, runproof_domain::actor::Role::Operator, &operator())
        .await
        .unwrap();
    let lifetime = runproof_domain::api_token::TokenLifetime::parse("30d").unwrap();
    let revoked = s
        .app
        .tokens
        .issue(s.actor, Some("ci"), Some(lifetime), &operator())
        .await
        .unwrap();
    s.app
        .tokens
        .revoke(revoked.token_id, &operator())
        .await
        .unwrap();
    s.app
        .tokens
        .issue(s.actor, None, None, &operator())
        .await
        .unwrap();
    s.pass().await;

    let before = all_projection_rows(&s).await;
    assert!(
        before.iter().all(|(_, rows)| !rows.is_empty()),
        "every table has rows"
    );
    let report =
        runproof_projections::rebuild::verify(&s.app.projector, &runproof_projections::NoProgress)
            .await
            .unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
    runproof_projections::rebuild::rebuild(&s.app.projector, &runproof_projections::NoProgress)
        .await
        .unwrap();
    assert_eq!(all_projection_rows(&s).await, before);
}

// --- never decide or fail on a stale view ---

#[tokio::test]
async fn an_undecodable_capture_in_another_environment_never_fails_a_healthy_compose() {
    let s = scene().await;
    // Another environment whose stream holds a capture no build can read: the
    // evidence_snapshots projection stops at it.
    let other = s
        .app
        .directory
        .create_environment(s.workspace, Uuid::new_v4(), "broken", &operator())
        .await
        .unwrap();
    let now = s.clock.now();
    let broken = NewEvent {
        aggregate_type: "managed_environment",
        aggregate_id: other.to_string(),
        sequence: 2,
        event_type: "EvidenceSnapshotCaptured".into(),
        event_version: "1.0".into(),
        payload: json!({ "EvidenceSnapshotCaptured": { "not": "a capture" } }).to_string(),
        metadata: serde_json::to_string(&operator().metadata(now, "1.0").to_map()).unwrap(),
    };
    s.app.store.append_atomically(&[broken]).await.unwrap();
    common::wait_until_stopped(&s.app.projector).await;
    // New evidence of the healthy environment: the stopped projection never shows it. A
    // compose reads its snapshot from the log itself.
    s.app
        .directory
        .capture_evidence(s.environment, findings(3), &operator())
        .await
        .unwrap();
    let run = s.run_id().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Composed { .. })] if *r == run),
        "{done:?}"
    );
    assert_eq!(s.run(run).await.state.outcome, RunOutcome::Succeeded);
}

#[tokio::test]
async fn a_refresh_reads_the_truth_from_the_streams_when_the_review_projection_is_stopped() {
    let s = scene().await;
    // Two mutable reviews for another fingerprint, written around the services, stop the
    // environment_reviews projection before anything is composed.
    let f = Fingerprint::compute(s.workspace, s.environment, "sha256:0", "x");
    common::plant_review_draft(&s.app, s.workspace, s.environment, f.clone()).await;
    common::plant_review_draft(&s.app, s.workspace, s.environment, f).await;
    common::wait_until_stopped(&s.app.projector).await;
    s.run_id().await;
    let done = s.app.worker().run_until_idle().await.unwrap();
    let [(_, Executed::Composed { review_id })] = &done[..] else {
        panic!("{done:?}")
    };
    // The projection never showed the review ready; the answer comes from the log.
    assert_eq!(
        s.request().await,
        Feedback::AlreadyAvailable {
            review_id: *review_id
        }
    );
}

#[tokio::test]
async fn the_reconciler_never_decides_while_a_stream_of_its_evidence_is_beyond_the_projection() {
    let s = scene().await;
    // A stray compose run R, stale: with no review of its evidence in sight, the stale
    // path would fail it.
    let stray = s.stray_run().await;
    s.clock.advance(Duration::minutes(20));
    // Hold the read horizon with an open transaction, then compose a ready review for the
    // same evidence: committed, but beyond what the projections can read.
    let mut holder = s.db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap();
    let direct = s.app.clone().without_read_your_writes();
    let Feedback::Queued { run_id: composer } = direct
        .reviews
        .create_or_refresh(s.actor, s.workspace, s.environment, &operator())
        .await
        .unwrap()
    else {
        panic!("expected a queued run")
    };
    let executed = direct.worker().claim_and_execute(composer).await.unwrap();
    assert!(
        matches!(executed, Some(Executed::Composed { .. })),
        "{executed:?}"
    );
    // R's own events are readable, the review's slot is not: decide nothing.
    let report = s.pass().await;
    assert!(
        matches!(
            Scene::handled(&report, stray),
            Handled::ProjectionBehind { .. }
        ),
        "{:?}",
        report.runs
    );
    assert_eq!(s.run(stray).await.state.status, RunStatus::Queued);
    // Once the horizon moves, R is proven a duplicate of the review — not failed.
    holder.rollback().await.unwrap();
    common::wait_projected(&s.db, &s.app.projector).await;
    assert_eq!(
        decided(&Scene::handled(&s.pass().await, stray)),
        (
            DecisionKind::ProvenSucceeded,
            ReasonCode::ReviewDuplicateRecovered
        )
    );
}

/// A pool on the scene's database that counts the connections given back to it.
async fn counting_pool(s: &Scene) -> (sqlx::PgPool, Arc<AtomicUsize>) {
    let released = Arc::new(AtomicUsize::new(0));
    let count = released.clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(12)
        .after_release(move |_, _| {
            count.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(true) })
        })
        .connect(&s.db.url())
        .await
        .unwrap();
    (pool, released)
}

#[tokio::test]
async fn the_worker_runs_a_page_of_reviews_on_one_held_connection() {
    // sqlx pings every connection that goes back to the pool; a worker that took one per
    // statement would give back at least five per review (the run's read, its start,
    // the draft, the document's read, the completion). It holds one for the page.
    //
    // The worker's own read-your-writes wait at the end of a round is left out: it polls
    // the projections until the read horizon passes the round's last write, and that
    // horizon is the oldest transaction of the whole server, so under other databases'
    // load it takes a connection per poll, as many as the load makes it.
    let s = scene().await;
    let n = 16;
    let mut runs = s.queue_in_new_environments(n).await;
    let (pool, released) = counting_pool(&s).await;
    let worker = App::from_pool(pool, s.clock.clone())
        .without_read_your_writes()
        .worker();
    released.store(0, Ordering::SeqCst);
    let done = worker.run_until_idle().await.unwrap();
    let released = released.load(Ordering::SeqCst);
    assert!(
        done.iter()
            .all(|(_, e)| matches!(e, Executed::Composed { .. })),
        "{done:?}"
    );
    let mut executed: Vec<Uuid> = done.iter().map(|(run, _)| *run).collect();
    executed.sort();
    runs.sort();
    assert_eq!(executed, runs);
    assert!(
        released < n,
        "{released} connections went back to the pool for {n} reviews"
    );
    assert_eq!(worker.claims_lost(), 0, "a worker alone loses no claim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_that_breaks_under_the_worker_costs_no_run_and_the_drain_finishes() {
    // The worker holds one connection for a page of the queue. Once a review is done,
    // every idle backend of the database is terminated — the worker's held connection
    // among them. Nothing recorded may be lost or executed twice, and the worker must
    // finish the queue on a new connection: every run composed exactly once.
    let s = scene().await;
    // A batch and then some: the connection breaks after the first batch's runs.
    let mut runs = s
        .queue_in_new_environments(runproof::reviews::worker::COMPOSE_BATCH + 4)
        .await;
    let worker = s.app.clone().worker();
    let url = s.db.url();
    let terminated = Arc::new(AtomicUsize::new(0));
    let kills = terminated.clone();
    let mut reported: Vec<(Uuid, Executed)> = Vec::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let total = runs.len();
    worker
        .watch(
            std::time::Duration::from_millis(1),
            async move {
                let _ = stopped.await;
            },
            |run, executed| {
                reported.push((run, executed.clone()));
                if reported.len() == 1 {
                    let url = url.clone();
                    let n = std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        rt.block_on(async move {
                            let pool = sqlx::PgPool::connect(&url).await.unwrap();
                            let n: i64 = sqlx::query_scalar(
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                                   AND state = 'idle'",
                            )
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                            pool.close().await;
                            n
                        })
                    })
                    .join()
                    .unwrap();
                    kills.fetch_add(n as usize, Ordering::SeqCst);
                }
                if reported.len() == total {
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(());
                    }
                }
            },
        )
        .await;
    assert!(
        terminated.load(Ordering::SeqCst) > 0,
        "no backend was terminated"
    );
    assert!(
        reported
            .iter()
            .all(|(_, e)| matches!(e, Executed::Composed { .. })),
        "{reported:?}"
    );
    let mut executed: Vec<Uuid> = reported.iter().map(|(run, _)| *run).collect();
    executed.sort();
    runs.sort();
    assert_eq!(executed, runs, "every run executed exactly once");
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'RunStarted'")
            .await,
        total as i64
    );
    // And the next request for the same evidence is answered from what was recorded.
    let environment: Uuid =
        sqlx::query_scalar("SELECT managed_environment_id FROM operation_runs WHERE id = $1")
            .bind(runs[0])
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    assert!(matches!(
        s.app
            .reviews
            .create_or_refresh(s.actor, s.workspace, environment, &operator())
            .await
            .unwrap(),
        Feedback::AlreadyAvailable { .. }
    ));
}

#[tokio::test]
async fn the_worker_pages_past_queued_rows_it_cannot_claim() {
    let s = scene().await;
    // More than a page of runs at the front of the queue, then one runnable compose run
    // behind them.
    let mut front = Vec::new();
    for _ in 0..runproof::reviews::worker::CLAIM_BATCH + 4 {
        front.push(s.stray_run().await);
    }
    s.clock.advance(Duration::minutes(1));
    let runnable = s.run_id().await;
    // The front runs are started while the projections are held back: the log says they
    // run, the view still lists them as queued, and no worker can claim them.
    let mut holder = s.db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap();
    let direct = s.app.clone().without_read_your_writes();
    for run in &front {
        direct.lifecycle.start(*run, &operator()).await.unwrap();
    }
    let worker = direct.worker();
    let done = worker.run_until_idle().await.unwrap();
    holder.rollback().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Composed { .. })] if *r == runnable),
        "the runnable run behind the unclaimable ones was executed: {done:?}"
    );
    // The worker read the runs after taking their hints and passed the started ones
    // without trying to claim them.
    assert_eq!(worker.claims_lost(), 0);
    assert!(worker.runs_left_to_others() >= front.len() as u64);
}

#[tokio::test]
async fn sixteen_concurrent_captures_on_one_environment_all_succeed() {
    let s = scene().await;
    let barrier = Arc::new(Barrier::new(16));
    let captures = (0..16).map(|i| {
        let (app, barrier, environment) = (s.app.clone(), barrier.clone(), s.environment);
        tokio::spawn(async move {
            barrier.wait().await;
            app.directory
                .capture_evidence(environment, findings(i + 1), &operator())
                .await
        })
    });
    for captured in futures::future::join_all(captures).await {
        captured.unwrap().unwrap();
    }
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE event_type = 'EvidenceSnapshotCaptured'")
            .await,
        17,
        "the scene's capture and sixteen concurrent ones"
    );
}

#[test]
fn a_conflict_that_outlasts_the_retries_names_the_environment() {
    use runproof::cli::error::CliError;
    let e = CliError::from_service(&ServiceError::Conflict(
        ReasonCode::EnvironmentConcurrentChange,
    ));
    let text = e.message(runproof_domain::Lang::En);
    assert!(text.contains("the environment"), "{text}");
    assert!(!text.contains("run"), "{text}");
    assert!(text.ends_with("[environment.concurrent_change]"), "{text}");
}

/// The claim hints (advisory locks of the hint class) held in the scene's database.
async fn claim_hints_held(s: &Scene) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks \
         WHERE locktype = 'advisory' AND objsubid = 2 AND classid::int8 = $1 \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(claim_hints::HINT_CLASS))
    .fetch_one(&s.db.pool)
    .await
    .unwrap()
}

/// A session of its own holding the claim hint of `run`, as another worker would.
async fn hint_held_elsewhere(s: &Scene, run: Uuid) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut holder = sqlx::PgConnection::connect(&s.db.url()).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(claim_hints::HINT_CLASS)
        .bind(claim_hints::hint_key(run))
        .execute(&mut holder)
        .await
        .unwrap();
    holder
}

#[tokio::test]
async fn a_run_another_worker_holds_the_hint_of_is_left_to_it_until_the_rounds_last_sweep() {
    // Another session holds one run's claim hint and never lets go (a worker that
    // stopped moving). The worker leaves that run to it while it has other work, and
    // its round's last sweep executes it anyway: a hint steers, it never strands a run.
    let s = scene().await;
    let runs = s.queue_in_new_environments(10).await;
    let contested = runs[3];
    let mut holder = hint_held_elsewhere(&s, contested).await;
    let worker = s.app.worker();
    let done = worker.run_until_idle().await.unwrap();
    assert!(
        done.iter()
            .all(|(_, e)| matches!(e, Executed::Composed { .. })),
        "{done:?}"
    );
    let executed: Vec<Uuid> = done.iter().map(|(run, _)| *run).collect();
    assert_eq!(executed.len(), runs.len(), "{executed:?}");
    assert_eq!(
        executed.last(),
        Some(&contested),
        "the run whose hint was held elsewhere went last"
    );
    assert!(worker.runs_left_to_others() >= 1);
    assert_eq!(worker.claims_lost(), 0);
    // The worker let go of every hint it took: only the other session's is left.
    assert_eq!(claim_hints_held(&s).await, 1);
    // (Unlocked in its session: a closed session's locks go only once the server has
    // ended the backend, a moment after the close returns.)
    sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(claim_hints::HINT_CLASS)
        .bind(claim_hints::hint_key(contested))
        .execute(&mut holder)
        .await
        .unwrap();
    assert_eq!(claim_hints_held(&s).await, 0);
}

#[tokio::test]
async fn a_held_connection_dropped_with_claim_hints_is_closed_and_releases_them() {
    // A worker stopped or cancelled mid-page drops its held connection without releasing
    // the page's hints: the connection must not go back to the pool with them (another
    // caller would inherit them); closing its session releases them.
    let s = scene().await;
    let run = s.run_id().await;
    let store = s.app.store.hold().await.unwrap();
    let pid: i32 = {
        let mut conn = store.connection().await.unwrap();
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let mut hints = claim_hints::ClaimHints::on(store.clone());
    assert_eq!(hints.take(&[run]).await.unwrap(), vec![run]);
    assert_eq!(claim_hints_held(&s).await, 1);
    drop(hints);
    drop(store);
    // The close runs on a task of its own; wait (bounded) for the session to end.
    let mut alive = true;
    for _ in 0..500 {
        alive = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
            .bind(pid)
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
        if !alive {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!alive, "the session holding the hint was closed");
    assert_eq!(claim_hints_held(&s).await, 0);
    // The next worker takes the run and composes it.
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert!(
        matches!(&done[..], [(r, Executed::Composed { .. })] if *r == run),
        "{done:?}"
    );

    // Released hints leave the connection to the pool, holding none.
    let store = s.app.store.hold().await.unwrap();
    let mut hints = claim_hints::ClaimHints::on(store.clone());
    assert_eq!(hints.take(&[run]).await.unwrap(), vec![run]);
    hints.release().await.unwrap();
    assert_eq!(claim_hints_held(&s).await, 0);
}

#[tokio::test]
async fn a_batch_reads_its_documents_together_and_fails_only_the_run_whose_document_was_edited() {
    // Four first composes go as one batch; their evidence documents are read in one
    // statement. The third one's stored document was edited behind the store's guard:
    // its run fails (review.compose_failed), each other run composes its own document.
    let s = scene().await;
    let runs = s.queue_in_new_environments(4).await;
    let edited = runproof_domain::findings::content_hash(&findings(3));
    sqlx::raw_sql(&format!(
        "ALTER TABLE evidence_documents DISABLE TRIGGER evidence_documents_append_only_rows; \
         UPDATE evidence_documents SET document = '{{\"findings\": []}}' WHERE content_hash = '{edited}'; \
         ALTER TABLE evidence_documents ENABLE TRIGGER evidence_documents_append_only_rows;"
    ))
    .execute(&s.db.pool)
    .await
    .unwrap();
    let done = s.app.worker().run_until_idle().await.unwrap();
    assert_eq!(done.len(), runs.len(), "{done:?}");
    for (run, executed) in &done {
        if *run == runs[2] {
            assert!(matches!(executed, Executed::Failed { .. }), "{done:?}");
        } else {
            assert!(matches!(executed, Executed::Composed { .. }), "{done:?}");
        }
    }
    // Each composed review holds its own evidence: findings(k) has k findings.
    for (k, run) in runs.iter().enumerate().filter(|(k, _)| *k != 2) {
        let review: Uuid =
            sqlx::query_scalar("SELECT id FROM environment_reviews WHERE run_id = $1")
                .bind(run)
                .fetch_one(&s.db.pool)
                .await
                .unwrap();
        let content = s.review(review).await.state.content.unwrap();
        assert_eq!(
            (content.snapshot_content_hash, content.total_findings),
            (
                runproof_domain::findings::content_hash(&findings(k + 1)),
                k as u64 + 1
            ),
            "run {k}"
        );
    }
    assert_eq!(
        transactions_of(&s, "RunStarted", &runs).await.len(),
        1,
        "the four runs started in one commit"
    );
}
