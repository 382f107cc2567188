//! Schema evolution against PostgreSQL: an event stored in an older shape is read by the
//! aggregate, projected, replayed and shown by `history` in its current shape — all
//! through the one upcasting registry — and an event this build cannot read is refused
//! loudly (aggregate, projector) or flagged (`history`), never misread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cli::{runproof, runproof_json};
use common::{app, wait_projected, TestDb};
use runproof::app::App;
use runproof::event_store::NewEvent;
use runproof::explain;
use runproof_domain::operation_run::{CompletionNote, OperationRun, RunStatus, TerminalOutcome};
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::rebuild;
use runproof_projections::{operation_runs, NoProgress};
use serde_json::{json, Value};
use uuid::Uuid;

/// One event as a build of an earlier release appended it: its payload and metadata
/// written out by hand, at the version that build knew.
fn old_event(
    run_id: Uuid,
    sequence: u64,
    event_type: &str,
    version: &str,
    body: Value,
) -> NewEvent {
    NewEvent {
        aggregate_type: "operation_run",
        aggregate_id: run_id.to_string(),
        sequence,
        event_type: event_type.into(),
        event_version: version.into(),
        payload: json!({ event_type: body }).to_string(),
        metadata: json!({
            "actor": "system:worker",
            "correlation_id": Uuid::new_v4(),
            "causation_id": Uuid::new_v4(),
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "schema_version": version,
        })
        .to_string(),
    }
}

/// A restore run's whole stream as release 1.0 wrote it: its completion (partially
/// succeeded, one failure) has no note — 1.0 did not require one.
async fn append_1_0_run(app: &App) -> Uuid {
    let run_id = Uuid::new_v4();
    let workspace = Uuid::new_v4();
    let events = [
        old_event(
            run_id,
            1,
            "RunQueued",
            "1.0",
            json!({
                "run_id": run_id,
                "workspace_id": workspace,
                "environment_id": Uuid::new_v4(),
                "run_type": "restore.execute",
                "initiator": "system:scheduler",
                "identity_hash": format!("sha256:{}", "ab".repeat(32)),
                "context": {"restore_id": Uuid::new_v4()},
                "queued_at": "2026-01-01T00:00:00Z"
            }),
        ),
        old_event(
            run_id,
            2,
            "RunStarted",
            "1.0",
            json!({"started_at": "2026-01-01T00:00:05Z"}),
        ),
        old_event(
            run_id,
            3,
            "RunCompleted",
            "1.0",
            json!({
                "outcome": "partially_succeeded",
                "summary": {"total": 10, "failed": 2},
                "failures": [{"reason_code": "job.items_failed", "message": "2 of 10 items"}],
                "completed_at": "2026-01-01T00:10:00Z"
            }),
        ),
    ];
    app.store.append_atomically(&events).await.unwrap();
    run_id
}

fn implied() -> CompletionNote {
    CompletionNote {
        reason_code: ReasonCode::JobItemsFailed,
        record: None,
    }
}

async fn rows(db: &TestDb) -> Vec<Value> {
    sqlx::query_scalar("SELECT to_jsonb(r) FROM operation_runs r ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_stored_in_its_1_0_shape_is_loaded_projected_replayed_and_shown_in_its_current_shape()
{
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let run_id = append_1_0_run(&app).await;

    // The aggregate (cqrs-es with the registry's upcasters) folds the current shape …
    let loaded = app
        .store
        .load::<OperationRun>(&run_id.to_string())
        .await
        .unwrap();
    assert_eq!(loaded.version, 3);
    let state = loaded.aggregate.state().unwrap().clone();
    assert_eq!(state.status, RunStatus::Completed);
    assert_eq!(state.completion, Some(implied()));
    // … and decides on it: the same completion again is the idempotent no-op.
    let again = app
        .lifecycle
        .complete(
            run_id,
            TerminalOutcome::PartiallySucceeded,
            Default::default(),
            vec![],
            &common::worker(),
        )
        .await
        .unwrap();
    assert!(!again.changed);
    // The reconciler's load reads the same state.
    let for_reconciler = app
        .lifecycle
        .load_for_reconciliation(run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(for_reconciler.state, state);

    // The projection shows it with its note, and the "why" reads it.
    wait_projected(&db, &app.projector).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, run_id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(
        row.context_column()["completion"],
        json!({"reason_code": "job.items_failed"})
    );
    assert_eq!(row.state, state);
    assert_eq!(
        explain::why(&row.state, Lang::En).text,
        "Reported partially succeeded by its own job: Some items failed. (2 of 10 items)"
    );

    // A rebuild from the log yields the same rows; a verify finds no difference.
    let before = rows(&db).await;
    rebuild::rebuild(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(rows(&db).await, before);
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());

    // `history` shows the current shape, and says it was stored in the old one.
    let id = run_id.to_string();
    let history = runproof_json(&db.url(), &["history", &id]);
    let completed = &history["events"][2];
    assert_eq!(completed["event_type"], "RunCompleted");
    assert_eq!(completed["event_version"], "1.1");
    assert_eq!(completed["stored_version"], "1.0");
    assert_eq!(
        completed["payload"]["RunCompleted"]["note"],
        json!({"reason_code": "job.items_failed"})
    );
    assert_eq!(completed["undecodable"], Value::Null);
    let text = runproof(&db.url(), &["history", &id]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "RunCompleted: completed by its job: partially succeeded — Some items failed. [job.items_failed]"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("stored as version 1.0, shown in its current shape 1.1"),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn rows_projected_before_1_1_get_the_note_a_rebuild_gives_them_from_the_migration() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    append_1_0_run(&app).await;
    wait_projected(&db, &app.projector).await;
    // What the previous build projected: no `completion` in the context.
    sqlx::query("UPDATE operation_runs SET context = context - 'completion'")
        .execute(&db.pool)
        .await
        .unwrap();
    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);

    sqlx::raw_sql(include_str!("../migrations/0006_run_completion_notes.sql"))
        .execute(&db.pool)
        .await
        .unwrap();
    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);
}

/// Appends an event straight to the log, as a newer or a broken writer would.
async fn plant(
    db: &TestDb,
    run_id: Uuid,
    sequence: i64,
    event_type: &str,
    version: &str,
    payload: &str,
) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('operation_run', $1, $2, $3, $4, $5::json, '{}')",
    )
    .bind(run_id.to_string())
    .bind(sequence)
    .bind(event_type)
    .bind(version)
    .bind(payload)
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn history_flags_an_event_it_cannot_decode_instead_of_naming_it_twice() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let run_id = append_1_0_run(&app).await;
    // Past the run's end (a broken writer): one from a newer build, one malformed.
    plant(
        &db,
        run_id,
        4,
        "RunStarted",
        "9.0",
        r#"{"RunStarted": {"started_at": "2026-01-01T00:00:05Z"}}"#,
    )
    .await;
    plant(
        &db,
        run_id,
        5,
        "RunStarted",
        "1.0",
        r#"{"RunStarted": {"started": 42}}"#,
    )
    .await;
    let id = run_id.to_string();

    let text = runproof(&db.url(), &["history", &id]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        !text.stdout.contains("RunStarted: RunStarted"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(
            "RunStarted: ⚠ undecodable event (stored version 9.0) — The RunStarted event was written in version 9.0, newer than this build knows (1.0): upgrade runproof to read it. [event.version_unknown]"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("undecodable event (stored version 1.0)")
            && text.stdout.contains("[event.undecodable]"),
        "{}",
        text.stdout
    );
    // The readable events are still shown as they are.
    assert!(
        text.stdout.contains("RunStarted: started"),
        "{}",
        text.stdout
    );

    let json = runproof_json(&db.url(), &["history", &id]);
    let events = json["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[3]["undecodable"]["reason_code"],
        "event.version_unknown"
    );
    assert_eq!(events[3]["event_version"], "9.0");
    assert_eq!(events[4]["undecodable"]["reason_code"], "event.undecodable");
    assert_eq!(
        events[4]["payload"],
        json!({"RunStarted": {"started": 42}}),
        "shown as stored"
    );

    let de = runproof(&db.url(), &["--lang", "de", "history", &id]);
    assert!(
        de.stdout
            .contains("nicht lesbares Ereignis (gespeicherte Version 9.0)"),
        "{}",
        de.stdout
    );

    // The aggregate refuses to fold a stream it cannot read, rather than misread it.
    assert!(app.store.load::<OperationRun>(&id).await.is_err());
    assert!(app.lifecycle.load_for_reconciliation(run_id).await.is_err());
}

#[tokio::test]
async fn an_event_whose_json_holds_u0000_is_refused_whole_and_the_next_append_goes_through() {
    // The log stores the JSON text as written; PostgreSQL cannot read U+0000 out of it,
    // so the store refuses such an event before writing anything of its append.
    let db = TestDb::new().await;
    let (app, _clock) = app(&db);
    let run_id = Uuid::new_v4();
    let good = old_event(run_id, 1, "RunQueued", "1.0", json!({ "run_id": run_id }));
    let bad = old_event(run_id, 2, "RunStarted", "1.0", json!({ "note": "a\u{0}b" }));
    assert!(app
        .store
        .append_atomically(&[good.clone(), bad])
        .await
        .is_err());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(run_id.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing of the refused append was written");
    app.store.append_atomically(&[good]).await.unwrap();
}
