//! The views operators asked for, through the binary: `runs list` by environment,
//! outcome and "needs attention" (with the actor's scope), a bounded `--limit`, the
//! job's own reason in a run's "why", and a review's history linked with its runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use common::cli::{one_line_error, runproof, runproof_json};
use common::{operator, wait_projected, worker, TestDb};
use runproof::app::App;
use runproof::clock::{Clock, ManualClock};
use runproof::lifecycle::EnsureRun;
use runproof::reviews::worker::Executed;
use runproof::reviews::Feedback;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::operation_run::attention::needs_attention;
use runproof_domain::operation_run::TerminalOutcome;
use runproof_domain::reconciliation::{
    AdapterRef, DecisionKind, Evidence, Reconciliation, ReconciliationSource,
};
use runproof_domain::review::COMPOSER_VERSION;
use runproof_domain::ReasonCode;
use runproof_projections::operation_runs::{self, RunFilter};
use serde_json::{json, Value};
use uuid::Uuid;

/// Ids of a `--json runs list` answer.
fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(runs: &[Uuid]) -> BTreeSet<String> {
    runs.iter().map(Uuid::to_string).collect()
}

struct Fleet {
    db: TestDb,
    app: App,
    clock: Arc<ManualClock>,
    /// An actor who belongs to workspace `a` only.
    member: Uuid,
    a: Uuid,
    b: Uuid,
    e1: Uuid,
    e2: Uuid,
}

impl Fleet {
    async fn new() -> Fleet {
        let db = TestDb::new().await;
        // Three hours ago: runs queued or started now are stale by the time the binary
        // (which reads the system clock) looks at them, unless the clock is moved on.
        let clock = Arc::new(ManualClock::new(Utc::now() - Duration::hours(3)));
        let app = App::from_pool(db.pool.clone(), clock.clone());
        let ctx = operator();
        let a = app
            .directory
            .create_workspace(Uuid::new_v4(), "Contoso", &ctx)
            .await
            .unwrap();
        let b = app
            .directory
            .create_workspace(Uuid::new_v4(), "Fabrikam", &ctx)
            .await
            .unwrap();
        let member = app
            .directory
            .create_actor(Uuid::new_v4(), "Ada", &ctx)
            .await
            .unwrap();
        app.directory.add_member(a, member, &ctx).await.unwrap();
        Fleet {
            db,
            app,
            clock,
            member,
            a,
            b,
            e1: Uuid::new_v4(),
            e2: Uuid::new_v4(),
        }
    }

    async fn queue(&self, workspace: Uuid, environment: Uuid, run_type: &str) -> Uuid {
        self.app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: workspace,
                    environment_id: Some(environment),
                    run_type: run_type.into(),
                    identity_inputs: json!({ "n": Uuid::new_v4() }),
                    context: json!({}),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id()
    }

    async fn running(&self, workspace: Uuid, environment: Uuid, run_type: &str) -> Uuid {
        let id = self.queue(workspace, environment, run_type).await;
        self.app.lifecycle.start(id, &worker()).await.unwrap();
        id
    }

    async fn completed(
        &self,
        workspace: Uuid,
        environment: Uuid,
        outcome: TerminalOutcome,
    ) -> Uuid {
        let id = self.running(workspace, environment, "report.export").await;
        self.app
            .lifecycle
            .complete(id, outcome, Default::default(), vec![], &worker())
            .await
            .unwrap();
        id
    }

    async fn blocked(&self, workspace: Uuid, environment: Uuid) -> Uuid {
        let id = self
            .running(workspace, environment, "restore.execute")
            .await;
        let version = self.app.lifecycle.load(id).await.unwrap().version();
        let decision = Reconciliation {
            source: ReconciliationSource::Adapter,
            adapter: Some(AdapterRef::new("restore", "1.0.0").unwrap()),
            decision: DecisionKind::Blocked,
            reason_code: ReasonCode::RestoreRecordMissing,
            evidence: Evidence::default(),
            decided_at: self.clock.now(),
        };
        self.app
            .lifecycle
            .reconcile(id, version, decision, &operator())
            .await
            .unwrap();
        id
    }
}

#[tokio::test]
async fn runs_list_filters_by_environment_outcome_and_needs_attention_within_the_actor_scope() {
    let f = Fleet::new().await;
    let (a, b, e1, e2) = (f.a, f.b, f.e1, f.e2);
    // Three hours ago.
    let failed = f.completed(a, e1, TerminalOutcome::Failed).await;
    let succeeded = f.completed(a, e1, TerminalOutcome::Succeeded).await;
    let partial = f
        .completed(a, e1, TerminalOutcome::PartiallySucceeded)
        .await;
    let blocked = f.blocked(a, e2).await;
    let stale_queued = f.queue(a, e2, "report.export").await; // stale after 10 min
    let stale_running = f.running(a, e1, "inventory.sync").await; // stale after 60 min
    let elsewhere = f
        .completed(b, Uuid::new_v4(), TerminalOutcome::Failed)
        .await;
    // Now.
    f.clock.set(Utc::now());
    let fresh_queued = f.queue(a, e1, "report.export").await;
    let fresh_running = f.running(a, e1, "inventory.sync").await;
    wait_projected(&f.db, &f.app.projector).await;

    let attention = [
        failed,
        partial,
        blocked,
        stale_queued,
        stale_running,
        elsewhere,
    ];
    let url = f.db.url();
    let list = |args: &[&str]| {
        let mut all = vec!["runs", "list"];
        all.extend_from_slice(args);
        ids(&runproof_json(&url, &all))
    };
    let (a_s, e1_s, member) = (a.to_string(), e1.to_string(), f.member.to_string());

    assert_eq!(list(&["--needs-attention"]), set(&attention));
    assert_eq!(
        list(&["--needs-attention", "--workspace", &a_s]),
        set(&attention[..5])
    );
    assert_eq!(
        list(&["--needs-attention", "--actor", &member]),
        set(&attention[..5]),
        "the actor sees its own workspaces only"
    );
    assert_eq!(
        list(&["--environment", &e1_s]),
        set(&[
            failed,
            succeeded,
            partial,
            stale_running,
            fresh_queued,
            fresh_running
        ])
    );
    assert_eq!(
        list(&["--environment", &e1_s, "--needs-attention"]),
        set(&[failed, partial, stale_running])
    );
    assert_eq!(list(&["--outcome", "failed"]), set(&[failed, elsewhere]));
    assert_eq!(
        list(&["--outcome", "failed", "--actor", &member]),
        set(&[failed])
    );
    assert_eq!(
        list(&["--outcome", "pending", "--status", "queued"]),
        set(&[stale_queued, fresh_queued])
    );
    assert_eq!(
        list(&["--needs-attention", "--type", "inventory.sync"]),
        set(&[stale_running])
    );

    // Every run in the JSON says whether it needs attention.
    let all = runproof_json(&url, &["runs", "list"]);
    for run in all.as_array().unwrap() {
        let id: Uuid = run["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            run["needs_attention"],
            json!(attention.contains(&id)),
            "{id}"
        );
    }

    // The query asks the domain's question: at any moment, it lists exactly the runs
    // `needs_attention` names.
    let mut conn = f.db.pool.acquire().await.unwrap();
    let every = operation_runs::list(
        &mut conn,
        &RunFilter {
            limit: 1000,
            ..RunFilter::default()
        },
    )
    .await
    .unwrap();
    for minutes in [0, 5, 10, 30, 60, 61, 240] {
        let now = Utc::now() + Duration::minutes(minutes);
        let listed: BTreeSet<Uuid> = operation_runs::list(
            &mut conn,
            &RunFilter {
                needs_attention_at: Some(now),
                limit: 1000,
                ..RunFilter::default()
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.state.id)
        .collect();
        let expected: BTreeSet<Uuid> = every
            .iter()
            .filter(|r| needs_attention(&r.state, now))
            .map(|r| r.state.id)
            .collect();
        assert_eq!(listed, expected, "at now + {minutes} min");
    }

    one_line_error(
        &runproof(&url, &["runs", "list", "--outcome", "cancelled"]),
        2,
        "cli.unknown_outcome",
    );
    one_line_error(
        &runproof(&url, &["runs", "list", "--environment", "prod"]),
        2,
        "cli.invalid_uuid",
    );
}

#[tokio::test]
async fn a_limit_outside_1_to_1000_is_refused_in_one_line_and_1000_is_served() {
    let db = TestDb::new().await;
    let url = db.url();
    for args in [
        &["runs", "list", "--limit", "1001"][..],
        &["runs", "list", "--limit", "0"],
        &["reviews", "list", "--limit", "5000"],
        &["reviews", "list", "--limit=-1"],
    ] {
        let o = runproof(&url, args);
        one_line_error(&o, 2, "cli.limit_out_of_range");
        assert!(o.stderr.contains("between 1 and 1000"), "{}", o.stderr);
    }
    let de = runproof(&url, &["--lang", "de", "runs", "list", "--limit", "1001"]);
    one_line_error(&de, 2, "cli.limit_out_of_range");
    assert!(de.stderr.contains("zwischen 1 und 1000"), "{}", de.stderr);
    assert_eq!(runproof(&url, &["runs", "list", "--limit", "1000"]).code, 0);
    assert_eq!(
        runproof(&url, &["reviews", "list", "--limit", "1000"]).code,
        0
    );
}

/// A workspace with an environment, its evidence, and an actor who belongs to it.
struct Scene {
    db: TestDb,
    app: App,
    workspace: Uuid,
    environment: Uuid,
    actor: Uuid,
}

impl Scene {
    async fn new() -> Scene {
        let db = TestDb::new().await;
        let (app, _) = common::app(&db);
        let ctx = operator();
        let (workspace, actor) = common::workspace_with_member(&app).await;
        let environment = app
            .directory
            .create_environment(workspace, Uuid::new_v4(), "prod", &ctx)
            .await
            .unwrap();
        app.directory
            .capture_evidence(
                environment,
                json!({"findings": [{"severity": "high", "category": "network", "title": "open port"}]}),
                &ctx,
            )
            .await
            .unwrap();
        Scene {
            db,
            app,
            workspace,
            environment,
            actor,
        }
    }

    /// Composes the environment's review through a compose run and the worker.
    async fn composed(&self) -> (Uuid, Uuid) {
        let Feedback::Queued { run_id } = self
            .app
            .reviews
            .create_or_refresh(self.actor, self.workspace, self.environment, &operator())
            .await
            .unwrap()
        else {
            panic!("expected a queued run")
        };
        let done = self.app.worker().run_until_idle().await.unwrap();
        let [(_, Executed::Composed { review_id })] = &done[..] else {
            panic!("{done:?}")
        };
        (run_id, *review_id)
    }

    /// A second compose run for the same evidence (another identity, as a duplicate
    /// trigger from elsewhere would make), executed by the worker.
    async fn duplicate(&self) -> Uuid {
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
        let fingerprint = Fingerprint::compute(
            self.workspace,
            self.environment,
            &snapshot.content_hash,
            COMPOSER_VERSION,
        );
        let run = self
            .app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: self.workspace,
                    environment_id: Some(self.environment),
                    run_type: "environment.review.compose".into(),
                    identity_inputs: json!({ "fingerprint": fingerprint, "trigger": "elsewhere" }),
                    context: json!({ "fingerprint": fingerprint, "snapshot_id": snapshot.snapshot_id, "content_hash": snapshot.content_hash }),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id();
        let done = self.app.worker().run_until_idle().await.unwrap();
        assert!(
            matches!(&done[..], [(r, Executed::DuplicateRecovered { .. })] if *r == run),
            "{done:?}"
        );
        run
    }
}

#[tokio::test]
async fn a_run_recovered_as_a_duplicate_says_so_in_its_why_in_english_and_german() {
    let s = Scene::new().await;
    s.composed().await;
    let duplicate = s.duplicate().await;
    let (url, id) = (s.db.url(), duplicate.to_string());
    let english = "An identical review already exists for this environment; the run is recovered as a duplicate.";
    let german = "Für diese Umgebung existiert bereits ein identisches Review; der Lauf wird als Duplikat aufgelöst.";

    let list = runproof_json(&url, &["runs", "list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["why"]["code"], "review.duplicate_recovered");
    assert_eq!(
        row["why"]["text"],
        format!("Reported succeeded by its own job: {english}")
    );
    let table = runproof(&url, &["runs", "list"]);
    assert!(
        table.stdout.contains("An identical review already"),
        "{}",
        table.stdout
    );

    let show = runproof(&url, &["runs", "show", &id]);
    assert!(show.stdout.contains(english), "{}", show.stdout);
    let show_de = runproof(&url, &["--lang", "de", "runs", "show", &id]);
    assert!(show_de.stdout.contains(german), "{}", show_de.stdout);
    let list_de = runproof_json(&url, &["--lang", "de", "runs", "list"]);
    assert!(list_de
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["why"]["text"].as_str().unwrap().ends_with(german)));
}

#[tokio::test]
async fn a_review_has_its_own_history_and_a_run_links_the_reviews_it_touched() {
    let s = Scene::new().await;
    let (run, review) = s.composed().await;
    let duplicate = s.duplicate().await;
    s.app
        .reviews
        .publish(review, None, &operator())
        .await
        .unwrap();
    let url = s.db.url();
    let (run_s, review_s) = (run.to_string(), review.to_string());
    let link = json!([{ "stream": "review", "id": review_s }]);

    // The compose run names the review it drafted and completed with.
    let run_history = runproof_json(&url, &["history", &run_s]);
    assert_eq!(run_history["stream"], "run");
    assert_eq!(run_history["links"], link);
    let text = runproof(&url, &["history", &run_s]);
    assert!(text.stdout.contains("Linked streams"), "{}", text.stdout);
    assert!(
        text.stdout.contains(&format!("Review {review_s}")),
        "{}",
        text.stdout
    );
    // The duplicate never drafted it, but its completion note names it.
    let dup_history = runproof_json(&url, &["history", &duplicate.to_string()]);
    assert_eq!(dup_history["links"], link);

    // The review's own history: its events in order, each said in words, linked back.
    let history = runproof_json(&url, &["history", &review_s]);
    assert_eq!(history["stream"], "review");
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ReviewDrafted", "ReviewComposed", "ReviewPublished"]
    );
    assert_eq!(history["links"], json!([{ "stream": "run", "id": run_s }]));
    let text = runproof(&url, &["history", &review_s]);
    assert!(
        text.stdout
            .contains(&format!("ReviewDrafted: drafted by run {run_s}")),
        "{}",
        text.stdout
    );
    assert!(text
        .stdout
        .contains("ReviewComposed: composed from 1 finding(s); ready"));
    assert!(text.stdout.contains("ReviewPublished: published"));
    let de = runproof(&url, &["--lang", "de", "history", &review_s]);
    assert!(
        de.stdout.contains(&format!("von Lauf {run_s}")),
        "{}",
        de.stdout
    );

    // `reviews history` is the same for reviews, and refuses a run id.
    assert_eq!(
        runproof_json(&url, &["reviews", "history", &review_s]),
        history
    );
    one_line_error(
        &runproof(&url, &["reviews", "history", &run_s]),
        2,
        "review.not_found",
    );

    // The actor's scope: a member sees it, anyone else gets "not found".
    let member = s.actor.to_string();
    assert_eq!(
        runproof(&url, &["history", &review_s, "--actor", &member]).code,
        0
    );
    let outsider = Uuid::new_v4().to_string();
    for id in [&review_s, &run_s] {
        one_line_error(
            &runproof(&url, &["history", id, "--actor", &outsider]),
            2,
            "history.not_found",
        );
    }
    one_line_error(
        &runproof(
            &url,
            &["reviews", "history", &review_s, "--actor", &outsider],
        ),
        2,
        "review.not_found",
    );
}
