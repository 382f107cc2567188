//! Audit test support: a small history of runs, tampering with the log as someone with
//! database rights would, and reading a failed verification's lines.

use chrono::Duration as Span;
use runproof::app::App;
use runproof::clock::ManualClock;
use runproof::lifecycle::EnsureRun;
use serde_json::json;
use uuid::Uuid;

use super::cli::Output;
use super::{operator, worker, TestDb};

/// `n` runs, each queued and started: 3n events.
pub async fn history(app: &App, clock: &ManualClock, n: u32) {
    let workspace = Uuid::new_v4();
    for i in 0..n {
        let id = app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: workspace,
                    environment_id: None,
                    run_type: "report.export".into(),
                    identity_inputs: json!({ "n": i }),
                    context: json!({ "n": i, "note": "größe ✓" }),
                },
                &operator(),
            )
            .await
            .unwrap()
            .run_id();
        clock.advance(Span::seconds(1));
        app.lifecycle.start(id, &worker()).await.unwrap();
    }
}

/// Runs `sql` with the log's append-only trigger switched off, as an attacker with
/// database rights would.
pub async fn tamper(db: &TestDb, sql: &str) {
    sqlx::raw_sql(&format!(
        "BEGIN; \
         ALTER TABLE events DISABLE TRIGGER events_append_only_rows; \
         {sql}; \
         ALTER TABLE events ENABLE TRIGGER events_append_only_rows; \
         COMMIT;"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
}

/// The verification failed, listing a problem with `reason` whose line contains `text`.
pub fn found(o: &Output, reason: &str, text: &str) {
    assert_eq!(o.code, 1, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.ends_with(&format!("[{reason}]")) && l.contains(text)),
        "no [{reason}] line with {text:?}:\n{}",
        o.stdout
    );
    assert!(o.stderr.contains("[audit.verify_failed]"), "{}", o.stderr);
}
