//! `runproof audit redecide` against a real PostgreSQL: every decision a realistic
//! reconciler run records is decided the same way again from its recorded evidence; a
//! planted decision its evidence does not support, or whose evidence names another
//! workspace, is reported with its run; `--since` and `--adapter` filter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::cli::{one_line_error, runproof, runproof_json, Output};
use common::{app, operator, worker, TestDb};
use runproof::app::App;
use runproof::audit::redecide::{self, LogEntry, RedecideFilter};
use runproof::clock::{Clock, ManualClock};
use runproof::lifecycle::EnsureRun;
use runproof::reconciliation;
use runproof::restore::RestoreScope;
use runproof_adapters::Reconciler;
use runproof_domain::operation_run::OperationRunEvent;
use runproof_domain::reconciliation::{ReadScope, Reconciliation};
use runproof_projections::{log, LogPosition};
use serde_json::{json, Value};
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

/// One recorded decision, as stored.
struct Recorded {
    position: i64,
    run: Uuid,
    sequence: i64,
    payload: Value,
    metadata: Value,
    reconciliation: Reconciliation,
}

impl Fixture {
    /// A running restore run in its own workspace and environment whose restore record
    /// ended as given (`None`: still running).
    async fn restore(&self, finish: Option<(bool, u64)>) -> (Uuid, Uuid, Uuid) {
        let (ws, env, restore_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let run = self
            .app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: ws,
                    environment_id: Some(env),
                    run_type: "restore.execute".into(),
                    identity_inputs: json!({ "restore_id": restore_id }),
                    context: json!({ "restore_id": restore_id }),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id();
        self.app.lifecycle.start(run, &worker()).await.unwrap();
        let scope = RestoreScope {
            restore_id,
            run_id: run,
            workspace_id: ws,
            environment_id: env,
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
        (run, ws, restore_id)
    }

    /// A run of a type without an adapter (the stale path decides it).
    async fn plain(&self, run_type: &str, key: u32, start: bool) -> Uuid {
        let run = self
            .app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: Uuid::from_u128(0xA),
                    environment_id: Some(Uuid::from_u128(0xE)),
                    run_type: run_type.into(),
                    identity_inputs: json!({ "k": key }),
                    context: json!({ "k": key }),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id();
        if start {
            self.app.lifecycle.start(run, &worker()).await.unwrap();
        }
        run
    }

    async fn pass(&self) {
        self.reconciler.pass(self.clock.now()).await.unwrap();
    }

    /// A realistic reconciler history: restore runs proven succeeded, partially
    /// succeeded and failed by the adapter, an unfinished one ended by the stale path,
    /// and runs without an adapter ended as stale. Returns the completed restore's run.
    async fn history(&self) -> Uuid {
        let (succeeded, _, _) = self.restore(Some((false, 0))).await;
        self.restore(Some((false, 2))).await;
        self.restore(Some((true, 10))).await;
        self.restore(None).await;
        self.plain("report.export", 1, false).await;
        self.plain("inventory.sync", 2, true).await;
        self.pass().await;
        self.clock.advance(Duration::hours(5));
        self.pass().await;
        succeeded
    }

    async fn recorded(&self) -> Vec<Recorded> {
        let rows: Vec<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT position, aggregate_id, sequence, payload::text, metadata::text FROM events \
             WHERE event_type = 'RunReconciled' ORDER BY position",
        )
        .fetch_all(&self.db.pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(position, run, sequence, payload, metadata)| {
                let OperationRunEvent::RunReconciled(e) = serde_json::from_str(&payload).unwrap()
                else {
                    panic!("not a decision")
                };
                Recorded {
                    position,
                    run: run.parse().unwrap(),
                    sequence,
                    payload: serde_json::from_str(&payload).unwrap(),
                    metadata: serde_json::from_str(&metadata).unwrap(),
                    reconciliation: e.reconciliation,
                }
            })
            .collect()
    }

    /// Appends a decision to `run`'s stream with plain SQL, as anyone with write access
    /// to the database could; returns its position.
    async fn plant(&self, run: Uuid, sequence: i64, payload: &Value, metadata: &Value) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                                 event_version, payload, metadata) \
             SELECT aggregate_type, aggregate_id, $2, event_type, event_version, $3, $4 \
             FROM events WHERE aggregate_id = $1 AND event_type = 'RunReconciled' LIMIT 1 \
             RETURNING position",
        )
        .bind(run.to_string())
        .bind(sequence)
        .bind(payload)
        .bind(metadata)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    /// The recorded decision of `run`, changed by `edit`, appended again to its stream.
    async fn plant_edited(&self, run: Uuid, edit: impl FnOnce(&mut Value)) -> i64 {
        let original = self
            .recorded()
            .await
            .into_iter()
            .find(|r| r.run == run)
            .unwrap();
        let mut payload = original.payload.clone();
        edit(&mut payload["RunReconciled"]);
        self.plant(run, original.sequence + 1, &payload, &original.metadata)
            .await
    }

    fn cli(&self, args: &[&str]) -> Output {
        let mut all = vec!["audit", "redecide"];
        all.extend_from_slice(args);
        runproof(&self.db.url(), &all)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["audit", "redecide"];
        all.extend_from_slice(args);
        runproof_json(&self.db.url(), &all)
    }
}

/// The `--json` report of a run that is expected to exit with 1.
fn failing_json(o: &Output) -> Value {
    assert_eq!(o.code, 1, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(o.stderr.contains("[audit.redecide.failed]"), "{}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap()
}

fn decider<'a>(report: &'a Value, by: &str) -> &'a Value {
    report["deciders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["decided_by"] == by)
        .unwrap_or_else(|| panic!("no row for {by}: {report}"))
}

#[tokio::test]
async fn redecide_agrees_with_every_decision_a_realistic_reconciler_run_records() {
    let f = fixture().await;
    f.history().await;
    let recorded = f.recorded().await;
    assert_eq!(recorded.len(), 6, "three proofs, three stale endings");

    let report = f.json(&[]);
    assert_eq!(report["all_agree"], true, "{report}");
    assert_eq!(report["decisions"], 6);
    assert_eq!(report["findings"], json!([]));
    let restore = decider(&report, "restore@1.0.0");
    assert_eq!(restore["agreed"], 3);
    assert_eq!(restore["scope_unchecked"], 0);
    assert_eq!(decider(&report, "stale")["agreed"], 3);

    // The text table, in both languages.
    let o = f.cli(&[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.lines().any(|l| l.starts_with("restore@1.0.0")
        && l.split_whitespace().collect::<Vec<_>>() == ["restore@1.0.0", "3", "0", "0", "0"]));
    assert!(o
        .stdout
        .contains("All 6 recorded decision(s) are decided the same way today."));
    let o = f.cli(&["--lang", "de"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("Alle 6 aufgezeichneten Entscheidung(en)"));
}

#[tokio::test]
async fn an_adapter_records_the_scope_it_read_in_its_evidence() {
    let f = fixture().await;
    let (run, ws, restore_id) = f.restore(Some((false, 0))).await;
    f.pass().await;
    let recorded = f.recorded().await;
    let decision = recorded.iter().find(|r| r.run == run).unwrap();
    let scope = decision.reconciliation.evidence.scope.clone().unwrap();
    assert_eq!(scope.version, ReadScope::VERSION);
    assert_eq!(scope.workspace_id, ws);
    assert_eq!(
        scope.environment_id,
        decision.reconciliation.evidence.environment_id
    );
    assert_eq!(scope.record_ids, vec![restore_id]);
}

#[tokio::test]
async fn the_core_decides_the_same_from_decoded_events_without_the_database() {
    let f = fixture().await;
    f.history().await;
    // Everything written is readable (another test's open transaction can hold the read
    // horizon back for a moment).
    common::wait_projected(&f.db, &f.app.projector).await;
    let mut conn = f.db.pool.acquire().await.unwrap();
    let events = log::read_after(&mut conn, LogPosition::START, None, 100_000)
        .await
        .unwrap();
    let entries: Vec<LogEntry> = events.iter().map(LogEntry::from).collect();
    let registry = reconciliation::registry(&f.app).unwrap();
    let report = redecide::redecide(&registry, RedecideFilter::default(), &entries);
    assert!(report.all_agree(), "{report:?}");
    assert_eq!(report.decisions, 6);
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
async fn a_planted_decision_its_evidence_does_not_support_is_reported_with_both_decisions() {
    let f = fixture().await;
    let run = f.history().await;
    // The restore record completed; the forged decision says the run failed.
    let position = f
        .plant_edited(run, |e| {
            e["outcome"] = json!("failed");
            e["reconciliation"]["decision"] = json!("proven_failed");
            e["reconciliation"]["reason_code"] = json!("restore.failed");
        })
        .await;

    let o = f.cli(&[]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let line = o
        .stdout
        .lines()
        .find(|l| l.ends_with("[audit.redecide.disagrees]"))
        .unwrap_or_else(|| panic!("{}", o.stdout));
    assert!(line.contains(&run.to_string()), "{line}");
    assert!(line.contains(&format!("position {position}")), "{line}");
    assert!(
        line.contains("recorded proven_failed (restore.failed)"),
        "{line}"
    );
    assert!(
        line.contains("today: proven_succeeded (restore.completed)"),
        "{line}"
    );
    assert!(o.stderr.contains("[audit.redecide.failed]"), "{}", o.stderr);
    assert!(o.stderr.contains("1 of 7"), "{}", o.stderr);

    let report = failing_json(&f.cli(&["--json"]));
    assert_eq!(report["decisions"], 7);
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "disagrees");
    assert_eq!(finding["reason"], "audit.redecide.disagrees");
    assert_eq!(finding["run_id"], run.to_string());
    assert_eq!(finding["place"], position);
    assert_eq!(finding["decided_by"], "restore@1.0.0");
    assert_eq!(
        finding["recorded"],
        json!({ "decision": "proven_failed", "reason": "restore.failed" })
    );
    assert_eq!(
        finding["today"],
        json!({ "decision": "proven_succeeded", "reason": "restore.completed" })
    );
    let restore = decider(&report, "restore@1.0.0");
    assert_eq!(
        (&restore["agreed"], &restore["disagreed"]),
        (&json!(3), &json!(1))
    );

    // German text, same reason code.
    let o = f.cli(&["--lang", "de"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.lines().any(
        |l| l.contains("heute erneut entschieden") && l.ends_with("[audit.redecide.disagrees]")
    ));
}

#[tokio::test]
async fn since_and_adapter_choose_the_decisions_re_decided() {
    let f = fixture().await;
    let run = f.history().await;
    let position = f
        .plant_edited(run, |e| {
            e["reconciliation"]["reason_code"] = json!("restore.completed_with_errors");
        })
        .await;

    // From the planted decision on: only it, and its run's scope is still checked (the
    // run was queued before the range; its own stream says where).
    let report = failing_json(&f.cli(&["--json", "--since", &position.to_string()]));
    assert_eq!(report["decisions"], 1);
    assert_eq!(decider(&report, "restore@1.0.0")["scope_unchecked"], 0);
    assert_eq!(report["findings"][0]["place"], position);

    // Everything before it agrees.
    let first = f.recorded().await[0].position;
    let report = failing_json(&f.cli(&["--json", "--since", &first.to_string()]));
    assert_eq!(report["decisions"], 7);

    // By adapter: the stale path's decisions all agree; the restore adapter's do not.
    let report = f.json(&["--adapter", "stale"]);
    assert_eq!(report["decisions"], 3);
    assert_eq!(report["all_agree"], true);
    assert_eq!(report["deciders"].as_array().unwrap().len(), 1);
    let report = failing_json(&f.cli(&["--json", "--adapter", "restore"]));
    assert_eq!(report["decisions"], 4);
    let report = f.json(&["--adapter", "review-compose"]);
    assert_eq!(report["decisions"], 0);

    // Bounded input: a position with no event, a name that is no adapter name.
    let o = f.cli(&["--since", "999999999"]);
    one_line_error(&o, 2, "audit.redecide.no_position");
    let long = "x".repeat(65);
    for bad in ["Restore; DROP TABLE events", long.as_str()] {
        let o = f.cli(&["--adapter", bad]);
        one_line_error(&o, 2, "audit.redecide.adapter_invalid");
    }
    let o = f.cli(&["--since", "0"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[tokio::test]
async fn the_scope_check_catches_a_decision_whose_evidence_names_another_workspace() {
    let f = fixture().await;
    let run = f.history().await;
    let elsewhere = Uuid::new_v4();
    let position = f
        .plant_edited(run, |e| {
            e["reconciliation"]["evidence"]["workspace_id"] = json!(elsewhere);
            e["reconciliation"]["evidence"]["scope"]["workspace_id"] = json!(elsewhere);
        })
        .await;

    let o = f.cli(&[]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let line = o
        .stdout
        .lines()
        .find(|l| l.ends_with("[audit.redecide.out_of_scope]"))
        .unwrap_or_else(|| panic!("{}", o.stdout));
    assert!(line.contains(&run.to_string()), "{line}");
    assert!(line.contains(&format!("position {position}")), "{line}");
    assert!(line.contains(&format!("workspace {elsewhere}")), "{line}");

    let report = failing_json(&f.cli(&["--json"]));
    assert_eq!(report["findings"][0]["kind"], "out_of_scope");
    assert_eq!(
        report["findings"][0]["read_workspace"],
        elsewhere.to_string()
    );
    assert_eq!(decider(&report, "restore@1.0.0")["out_of_scope"], 1);
}

#[tokio::test]
async fn a_decision_of_an_adapter_this_build_lacks_or_that_cannot_be_read_is_its_own_line() {
    let f = fixture().await;
    let run = f.history().await;
    f.plant_edited(run, |e| {
        e["reconciliation"]["adapter"]["version"] = json!("0.9.0");
    })
    .await;
    let o = f.cli(&[]);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("restore@0.9.0") && l.ends_with("[audit.redecide.adapter_missing]")),
        "{}",
        o.stdout
    );
    assert_eq!(o.code, 1);

    let recorded = f.recorded().await;
    let last = recorded.iter().rfind(|r| r.run == run).unwrap();
    let mut payload = last.payload.clone();
    payload["RunReconciled"]["reconciliation"]["evidence"]["sql"] = json!("SELECT 1");
    f.plant(run, last.sequence + 1, &payload, &last.metadata)
        .await;
    let report = failing_json(&f.cli(&["--json"]));
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "audit.redecide.adapter_missing",
            "audit.redecide.undecodable"
        ]
    );
}

/// `audit verify DIR` re-decides the bundle's decisions offline, with no database.
fn verify_bundle(dir: &std::path::Path, key: &runproof_audit::SignerKey) -> Output {
    runproof(
        "postgres://nobody@127.0.0.1:1/no_database",
        &[
            "audit",
            "verify",
            dir.to_str().unwrap(),
            "--key",
            key.verifier_key(),
        ],
    )
}

/// Sequences and signs the log as it is now, then exports it whole into a fresh `dir`.
async fn signed_bundle(f: &Fixture, key: &runproof_audit::SignerKey, dir: &std::path::Path) {
    common::wait_projected(&f.db, &f.app.projector).await;
    runproof::audit::checkpoints::sign_current(&f.db.pool, key, key.name(), f.clock.now())
        .await
        .unwrap();
    let o = runproof(
        &f.db.url(),
        &["audit", "export", "--out", dir.to_str().unwrap()],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[tokio::test]
async fn an_exported_bundle_re_decides_its_decisions_offline_and_names_one_its_evidence_does_not_support(
) {
    let f = fixture().await;
    let run = f.history().await;
    let key = runproof::audit::keys::generate("runproof/test").unwrap();
    let dirs = tempfile::tempdir().unwrap();

    let clean = dirs.path().join("clean");
    signed_bundle(&f, &key, &clean).await;
    let o = verify_bundle(&clean, &key);
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("All 6 recorded decision(s) are decided the same way today."),
        "{}",
        o.stdout
    );

    f.plant_edited(run, |e| {
        e["outcome"] = json!("failed");
        e["reconciliation"]["decision"] = json!("proven_failed");
        e["reconciliation"]["reason_code"] = json!("restore.failed");
    })
    .await;
    let planted = dirs.path().join("planted");
    signed_bundle(&f, &key, &planted).await;
    let o = verify_bundle(&planted, &key);
    assert_eq!(o.code, 1, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    let line = o
        .stdout
        .lines()
        .find(|l| l.ends_with("[audit.redecide.disagrees]"))
        .unwrap_or_else(|| panic!("{}", o.stdout));
    assert!(line.contains(&run.to_string()), "{line}");
    assert!(
        line.contains("recorded proven_failed (restore.failed)"),
        "{line}"
    );
    assert!(o.stderr.contains("[audit.redecide.failed]"), "{}", o.stderr);
    // The bundle itself is sound: the signatures cover the forged decision too.
    assert!(!o.stdout.contains("[audit.bundle_"), "{}", o.stdout);
}
