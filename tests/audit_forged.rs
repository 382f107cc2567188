//! Events written around runproof's writer are marked where people read the log: an
//! event whose metadata runproof never writes (plain SQL, another program) is flagged in
//! `history` (text and `--json`) and on the console's run page, in English and German;
//! events the writer wrote are not. A forger who copies the writer's metadata exactly is
//! not caught here — that is what the signed checkpoints are for (docs/audit.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cli::runproof;
use common::console::{console, Browser};
use common::http::api;
use serde_json::Value;

/// Appends a `RunCompleted(succeeded)` to `run`'s stream with plain SQL, as someone with
/// write access to the database could: the payload of a real completion, the metadata
/// `metadata` (a SQL expression over the run's first event `q`).
async fn forge(db: &common::TestDb, run: uuid::Uuid, metadata: &str) {
    sqlx::query(&format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT q.aggregate_type, q.aggregate_id, 2, 'RunCompleted', '1.0', \
                json_build_object('RunCompleted', json_build_object('outcome', 'succeeded')), {metadata} \
         FROM events q WHERE q.aggregate_type = 'operation_run' AND q.aggregate_id = $1 AND q.sequence = 1"
    ))
    .bind(run.to_string())
    .execute(&db.pool)
    .await
    .unwrap();
}

fn history_json(db: &common::TestDb, run: uuid::Uuid) -> Vec<Value> {
    let o = runproof(&db.url(), &["--json", "history", &run.to_string()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    doc["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_event_with_metadata_runproof_never_writes_is_flagged_in_history_and_on_the_run_page() {
    let a = api().await;
    let db = &a._db;
    forge(
        db,
        a.our_run,
        "json_build_object('actor', q.metadata->>'actor')",
    )
    .await;

    let events = history_json(db, a.our_run);
    assert_eq!(events.len(), 2);
    assert!(events[0].get("foreign").is_none(), "{}", events[0]);
    assert_eq!(
        events[1]["foreign"]["reason_code"], "history.foreign_metadata",
        "{}",
        events[1]
    );
    assert!(events[1]["foreign"]["message"]
        .as_str()
        .unwrap()
        .contains("`correlation_id`"));

    let text = runproof(&db.url(), &["history", &a.our_run.to_string()]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout.matches("[history.foreign_metadata]").count(), 1);
    let german = runproof(
        &db.url(),
        &["--lang", "de", "history", &a.our_run.to_string()],
    );
    assert!(
        german.stdout.contains("Nicht von runproof geschrieben"),
        "{}",
        german.stdout
    );

    common::wait_projected(db, &a.app.projector).await;
    let mut operator = Browser::signed_in(console(&a), &a.operator).await;
    let page = operator.get(&format!("/runs/{}", a.our_run)).await;
    assert_eq!(
        page.body.matches("foreign-event").count(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("Not written by runproof"));
}

#[tokio::test]
async fn an_event_with_the_writers_metadata_copied_exactly_is_not_flagged_here() {
    let a = api().await;
    let db = &a._db;
    // The same metadata as the writer wrote for the first event: only the checkpoints
    // can tell (the event is a leaf of the next one; changing it later breaks it).
    forge(db, a.our_run, "q.metadata").await;
    let events = history_json(db, a.our_run);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.get("foreign").is_none()));
}

#[tokio::test]
async fn metadata_with_a_field_runproof_never_writes_or_another_version_is_flagged() {
    let a = api().await;
    let db = &a._db;
    forge(
        db,
        a.our_run,
        "(q.metadata::jsonb || '{\"written_by\": \"psql\"}'::jsonb)::json",
    )
    .await;
    let events = history_json(db, a.our_run);
    assert!(events[1]["foreign"]["message"]
        .as_str()
        .unwrap()
        .contains("`written_by`"));
}
