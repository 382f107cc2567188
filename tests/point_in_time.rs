//! The engine's view at an earlier point, through the binary over PostgreSQL:
//! `runs show --at`, `history --until` and `runs list --at` — each state a run went
//! through, at every position and time in between; a point before a run existed; points
//! that cannot be shown refused in one line with nothing written; and the list as of a
//! moment equal to what `runs list` showed at that moment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::cli::{one_line_error, runproof, runproof_json, Output};
use common::TestDb;
use runproof::app::App;
use runproof::clock::{to_micros, SystemClock};
use runproof::lifecycle::EnsureRun;
use runproof_domain::operation_run::{Failure, TerminalOutcome};
use runproof_domain::ReasonCode;
use serde_json::{json, Value};
use uuid::Uuid;

fn ensure(workspace: Uuid, n: u32) -> EnsureRun {
    EnsureRun {
        workspace_id: workspace,
        environment_id: None,
        run_type: "inventory.sync".into(),
        identity_inputs: json!({ "n": n }),
        context: json!({ "n": n }),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The positions of a stream's events, as `history --json` prints them.
fn positions(url: &str, id: Uuid) -> Vec<i64> {
    let history = runproof_json(url, &["history", &id.to_string()]);
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect()
}

/// A run `other` queued at t0, then run `run` queued at t0+1 s, started at t0+2 s and
/// completed at t0+3 s (a manual clock).
async fn story() -> (TestDb, Uuid, Uuid) {
    let db = TestDb::new().await;
    let (app, clock) = common::app(&db);
    let ws = Uuid::new_v4();
    let other = app
        .lifecycle
        .ensure(ensure(ws, 0), &common::operator())
        .await
        .unwrap()
        .run_id();
    clock.advance(Duration::seconds(1));
    let run = app
        .lifecycle
        .ensure(ensure(ws, 1), &common::operator())
        .await
        .unwrap()
        .run_id();
    clock.advance(Duration::seconds(1));
    app.lifecycle.start(run, &common::worker()).await.unwrap();
    clock.advance(Duration::seconds(1));
    app.lifecycle
        .complete(
            run,
            TerminalOutcome::Succeeded,
            [("items".to_string(), 3)].into_iter().collect(),
            vec![],
            &common::worker(),
        )
        .await
        .unwrap();
    // Every event readable (another test's open transaction can hold the horizon).
    common::wait_projected(&db, &app.projector).await;
    (db, other, run)
}

fn show_at(url: &str, run: Uuid, at: &str) -> Value {
    runproof_json(url, &["runs", "show", &run.to_string(), "--at", at])
}

#[tokio::test]
async fn a_run_asked_at_each_position_and_time_in_between_shows_the_state_it_had_then() {
    let (db, other, run) = story().await;
    let url = db.url();
    let [queued, started, completed] = positions(&url, run)[..] else {
        panic!("three events");
    };
    for (position, status, outcome) in [
        (queued, "queued", "pending"),
        (started, "running", "pending"),
        (completed, "completed", "succeeded"),
    ] {
        let shown = show_at(&url, run, &position.to_string());
        assert_eq!(shown["decision"]["status"], status, "at {position}");
        assert_eq!(shown["decision"]["outcome"], outcome, "at {position}");
        assert_eq!(shown["as_of"]["position"], position);
        assert_eq!(shown["as_of"]["asked"], json!({ "position": position }));
        // The history stops at the same event.
        let history = runproof_json(
            &url,
            &[
                "history",
                &run.to_string(),
                "--until",
                &position.to_string(),
            ],
        );
        let events = history["events"].as_array().unwrap();
        assert_eq!(events.last().unwrap()["position"], position);
        assert_eq!(history["as_of"]["position"], position);
    }
    // A position of another stream's event in between: the run as it stood then.
    let other_after = positions(&url, other)[0];
    assert!(other_after < queued);

    // Times: everything recorded at or before the instant.
    let t0 = common::t0();
    let at = |ms: i64| rfc3339(t0 + Duration::milliseconds(ms));
    for (time, status, position) in [
        (at(1_000), "queued", queued),
        (at(1_500), "queued", queued),
        (at(2_000), "running", started),
        (at(2_999), "running", started),
        (at(3_000), "completed", completed),
        (at(3_600_000), "completed", completed),
    ] {
        let shown = show_at(&url, run, &time);
        assert_eq!(shown["decision"]["status"], status, "at {time}");
        assert_eq!(shown["as_of"]["position"], position, "at {time}");
        let history = runproof_json(&url, &["history", &run.to_string(), "--until", &time]);
        assert_eq!(
            history["events"].as_array().unwrap().last().unwrap()["position"],
            position
        );
    }

    // The text forms say which point they show, first, in English and German.
    let text = runproof(
        &url,
        &[
            "runs",
            "show",
            &run.to_string(),
            "--at",
            &started.to_string(),
        ],
    );
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout.lines().next().unwrap(),
        format!("As of log position {started} (recorded 2026-01-01 00:00:02 UTC).")
    );
    assert!(text.stdout.contains("running") && !text.stdout.contains("Completed at"));
    let de = runproof(
        &url,
        &[
            "--lang",
            "de",
            "runs",
            "show",
            &run.to_string(),
            "--at",
            &at(2_500),
        ],
    );
    assert_eq!(
        de.stdout.lines().next().unwrap(),
        format!("Stand: 2026-01-01 00:00:02.500000 UTC (Log-Position {started}).")
    );
    assert!(de.stdout.contains("läuft"), "{}", de.stdout);
    let history = runproof(
        &url,
        &["history", &run.to_string(), "--until", &started.to_string()],
    );
    assert!(history
        .stdout
        .starts_with(&format!("As of log position {started}")));
    assert!(history.stdout.contains("RunStarted") && !history.stdout.contains("RunCompleted"));
}

#[tokio::test]
async fn a_run_asked_before_it_existed_did_not_exist_then() {
    let (db, other, run) = story().await;
    let url = db.url();
    let before = positions(&url, other)[0];
    let t0 = rfc3339(common::t0());
    for (at, point) in [
        (before.to_string(), format!("log position {before}")),
        (t0.clone(), "2026-01-01 00:00:00 UTC".to_string()),
        (
            "2025-06-01T00:00:00Z".to_string(),
            "2025-06-01 00:00:00 UTC".to_string(),
        ),
    ] {
        let shown = runproof(&url, &["runs", "show", &run.to_string(), "--at", &at]);
        one_line_error(&shown, 2, "run.not_found_at");
        assert!(
            shown
                .stderr
                .contains(&format!("Run {run} did not exist at {point}.")),
            "{}",
            shown.stderr
        );
        let history = runproof(&url, &["history", &run.to_string(), "--until", &at]);
        one_line_error(&history, 2, "history.not_found_at");
    }
    // A run that never existed, and one outside the actor's workspaces, read the same.
    let nowhere = Uuid::new_v4();
    let missing = runproof(&url, &["runs", "show", &nowhere.to_string(), "--at", &t0]);
    one_line_error(&missing, 2, "run.not_found_at");
    let outsider = Uuid::new_v4();
    let foreign = runproof(
        &url,
        &[
            "runs",
            "show",
            &run.to_string(),
            "--at",
            &t0.replace("00:00:00", "00:00:05"),
            "--actor",
            &outsider.to_string(),
        ],
    );
    one_line_error(&foreign, 2, "run.not_found_at");
    let de = runproof(
        &url,
        &[
            "--lang",
            "de",
            "runs",
            "show",
            &run.to_string(),
            "--at",
            &before.to_string(),
        ],
    );
    assert!(
        de.stderr.contains("gab es zum Stand Log-Position"),
        "{}",
        de.stderr
    );
}

/// Every command that takes a point, with `point`.
fn each_command(url: &str, run: Uuid, point: &str, lang: &str) -> Vec<Output> {
    let run = run.to_string();
    vec![
        runproof(url, &["--lang", lang, "runs", "show", &run, "--at", point]),
        runproof(url, &["--lang", lang, "history", &run, "--until", point]),
        runproof(url, &["--lang", lang, "runs", "list", "--at", point]),
    ]
}

#[tokio::test]
async fn points_that_cannot_be_shown_are_refused_in_one_line_and_nothing_is_written() {
    let (db, _, run) = story().await;
    let url = db.url();
    // A position an aborted write took: it stays empty.
    let mut tx = db.pool.begin().await.unwrap();
    let gap: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata) VALUES ('x', 'x', 1, 'X', '1.0', '{}', '{}') RETURNING position",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let (app, _) = common::app(&db);
    app.lifecycle
        .ensure(ensure(Uuid::new_v4(), 9), &common::operator())
        .await
        .unwrap();
    common::wait_projected(&db, &app.projector).await;
    let last = db.count("SELECT max(position) FROM events").await;
    assert!(gap < last);

    let events = db.count("SELECT count(*) FROM events").await;
    let tables = db
        .count("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relpersistence <> 't'")
        .await;
    let future = rfc3339(Utc::now() + Duration::days(365));
    for (point, reason) in [
        ("yesterday", ReasonCode::AsOfInvalid),
        ("-3", ReasonCode::AsOfInvalid),
        ("0", ReasonCode::AsOfInvalid),
        ("3.5", ReasonCode::AsOfInvalid),
        ("2026-13-45T00:00:00Z", ReasonCode::AsOfInvalid),
        (&(last + 1_000).to_string(), ReasonCode::AsOfBeyondLog),
        (&gap.to_string(), ReasonCode::AsOfNoEvent),
        (&future, ReasonCode::AsOfFuture),
    ] {
        for lang in ["en", "de"] {
            for refused in each_command(&url, run, point, lang) {
                one_line_error(&refused, 2, reason.code());
                assert!(refused.stdout.is_empty(), "{point}: {}", refused.stdout);
            }
        }
    }
    let beyond = runproof(
        &url,
        &[
            "runs",
            "show",
            &run.to_string(),
            "--at",
            &(last + 1).to_string(),
        ],
    );
    assert!(
        beyond.stderr.contains(&format!(
            "Position {} is beyond the end of the log: the last position readable now is {last}.",
            last + 1
        )),
        "{}",
        beyond.stderr
    );
    let de = runproof(&url, &["--lang", "de", "runs", "list", "--at", &future]);
    assert!(de.stderr.contains("liegt in der Zukunft"), "{}", de.stderr);

    assert_eq!(db.count("SELECT count(*) FROM events").await, events);
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relpersistence <> 't'")
            .await,
        tables
    );
}

/// `runs list --json` with `args`, as the live view shows it now.
fn live_list(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["runs", "list"];
    all.extend_from_slice(args);
    runproof_json(url, &all)
}

/// `runs list --at AT --json` with `args`.
fn list_at(url: &str, at: &str, args: &[&str]) -> Value {
    let mut all = vec!["runs", "list", "--at", at];
    all.extend_from_slice(args);
    runproof_json(url, &all)
}

/// The instant now (to the log's microsecond), once every event written so far records
/// a time at or before it and every later one will record a later time.
fn moment() -> DateTime<Utc> {
    let t = to_micros(Utc::now());
    while to_micros(Utc::now()) <= t {
        std::hint::spin_loop();
    }
    t
}

#[tokio::test]
async fn runs_list_at_a_time_matches_what_runs_list_showed_at_that_time() {
    let db = TestDb::new().await;
    let url = db.url();
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let ctx = common::operator();
    let d = &app.directory;
    let ws1 = d
        .create_workspace(Uuid::new_v4(), "Contoso", &ctx)
        .await
        .unwrap();
    let ws2 = d
        .create_workspace(Uuid::new_v4(), "Fabrikam", &ctx)
        .await
        .unwrap();
    let member = d.create_actor(Uuid::new_v4(), "Ada", &ctx).await.unwrap();
    d.add_member(ws1, member, &ctx).await.unwrap();
    let queue = |ws, n| app.lifecycle.ensure(ensure(ws, n), &ctx);
    let a = queue(ws1, 1).await.unwrap().run_id();
    let b = queue(ws1, 2).await.unwrap().run_id();
    let c = queue(ws2, 3).await.unwrap().run_id();
    let worker = common::worker();
    app.lifecycle.start(a, &worker).await.unwrap();
    app.lifecycle.start(b, &worker).await.unwrap();
    app.lifecycle
        .complete(
            b,
            TerminalOutcome::Failed,
            Default::default(),
            vec![Failure {
                reason_code: ReasonCode::JobTimedOut,
                message: None,
            }],
            &worker,
        )
        .await
        .unwrap();

    let (ws1_s, member_s) = (ws1.to_string(), member.to_string());
    let filters: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--workspace", &ws1_s],
        vec!["--status", "running"],
        vec!["--outcome", "failed"],
        vec!["--needs-attention"],
        vec!["--actor", &member_s],
        vec!["--limit", "2"],
    ];
    // What `runs list` shows once the views have everything written so far.
    common::wait_projected(&db, &app.projector).await;
    let seen_first: Vec<Value> = filters.iter().map(|f| live_list(&url, f)).collect();
    let first = moment();

    app.lifecycle
        .complete(
            a,
            TerminalOutcome::Succeeded,
            Default::default(),
            vec![],
            &worker,
        )
        .await
        .unwrap();
    app.lifecycle.start(c, &worker).await.unwrap();
    let d_run = queue(ws1, 4).await.unwrap().run_id();
    common::wait_projected(&db, &app.projector).await;
    let seen_second: Vec<Value> = filters.iter().map(|f| live_list(&url, f)).collect();
    let second = moment();

    app.lifecycle
        .complete(
            c,
            TerminalOutcome::Blocked,
            Default::default(),
            vec![],
            &worker,
        )
        .await
        .unwrap();
    app.lifecycle.start(d_run, &worker).await.unwrap();
    common::wait_projected(&db, &app.projector).await;
    let now = live_list(&url, &[]);

    for (filter, (then_first, then_second)) in
        filters.iter().zip(seen_first.iter().zip(&seen_second))
    {
        assert_eq!(
            &list_at(&url, &rfc3339(first), filter),
            then_first,
            "{filter:?} at {first}"
        );
        assert_eq!(
            &list_at(&url, &rfc3339(second), filter),
            then_second,
            "{filter:?} at {second}"
        );
    }
    // The moments really differ from each other and from now.
    assert_ne!(seen_first[0], seen_second[0]);
    assert_ne!(seen_second[0], now);
    assert_eq!(seen_first[0].as_array().unwrap().len(), 3);
    assert_eq!(seen_second[0].as_array().unwrap().len(), 4);

    // A position reads the same as the time it stands for.
    let shown = show_at(&url, a, &rfc3339(first));
    let position = shown["as_of"]["position"].as_i64().unwrap();
    assert_eq!(list_at(&url, &position.to_string(), &[]), seen_first[0]);

    // The text form names the point first; progress stays off stderr when it is no
    // terminal; the temporary table is gone with its session.
    let text = runproof(&url, &["runs", "list", "--at", &rfc3339(first)]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.starts_with("As of "), "{}", text.stdout);
    assert!(text.stdout.contains(&format!("(log position {position})")));
    assert!(text.stderr.is_empty(), "{}", text.stderr);
    // The server drops a session's temporary tables as its backend exits, which may be
    // a moment after the client has: bounded, it must happen.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = db
            .count("SELECT count(*) FROM pg_class WHERE relname LIKE 'operation_runs__as_of%'")
            .await;
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left} temporary relations left 10 s after their session ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Before the first event: nobody's run existed.
    assert_eq!(list_at(&url, "2020-01-01T00:00:00Z", &[]), json!([]));
}
