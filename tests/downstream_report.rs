//! The example downstream consumer (`examples/downstream_report.rs`), killed with
//! SIGKILL at random moments and restarted, over the HTTP feed and over the relay's
//! JetStream stream: its table always ends equal to a `GROUP BY` over the log — nothing
//! counted twice, nothing missed. Needs the example built (`cargo test` builds it) and,
//! for the stream, the local nats-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::nats::{
    forget, free_port, jetstream, kill9, names, require, spawn_relay, terminate, wait_for_sequence,
};
use common::TestDb;
use rand::Rng;
use runproof::bench::seed;
use runproof_domain::actor::ActorKind;
use uuid::Uuid;

type Report = BTreeMap<(Uuid, String, String, NaiveDate), i64>;

fn example() -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_runproof"))
        .parent()
        .unwrap()
        .join("examples")
        .join("downstream_report");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it; for a single test run \
         `cargo build --example downstream_report` first",
        path.display()
    );
    path
}

/// Finished runs per workspace, type, outcome and day, straight from the log.
async fn group_by_over_the_log(db: &TestDb) -> Report {
    let rows: Vec<(Uuid, String, String, NaiveDate, i64)> = sqlx::query_as(
        "SELECT (q.payload -> 'RunQueued' ->> 'workspace_id')::uuid, \
                q.payload -> 'RunQueued' ->> 'run_type', \
                c.payload -> c.event_type ->> 'outcome', \
                ((c.payload -> c.event_type ->> 'completed_at')::timestamptz AT TIME ZONE 'UTC')::date, \
                count(*) \
         FROM events q JOIN events c \
           ON c.aggregate_type = q.aggregate_type AND c.aggregate_id = q.aggregate_id \
          AND c.event_type IN ('RunCompleted', 'RunReconciled') \
         WHERE q.aggregate_type = 'operation_run' AND q.event_type = 'RunQueued' \
         GROUP BY 1, 2, 3, 4",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(w, t, o, d, n)| ((w, t, o, d), n))
        .collect()
}

async fn report(db: &TestDb, schema: &str) -> Report {
    let rows: Vec<(Uuid, String, String, NaiveDate, i64)> = sqlx::query_as(&format!(
        "SELECT workspace_id, run_type, outcome, day, runs FROM {schema}.finished_runs"
    ))
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(w, t, o, d, n)| ((w, t, o, d), n))
        .collect()
}

/// Runs the consumer with `source` and kills it at random moments, `kills` times; then
/// once more to the end of the feed.
fn consume_with_kills(db: &TestDb, schema: &str, source: &[&str], kills: usize) {
    let mut rng = rand::thread_rng();
    let run = |once: bool| {
        let mut c = Command::new(example());
        c.args([
            "--database-url",
            &db.url(),
            "--schema",
            schema,
            "--batch",
            "37",
        ]);
        if once {
            c.arg("--once");
        }
        c.args(source).stdout(Stdio::null()).stderr(Stdio::piped());
        c
    };
    for _ in 0..kills {
        let mut child = run(false).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..700)));
        kill9(&mut child);
    }
    let done = run(true).output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_from_the_stream_equals_a_group_by_over_the_log_after_kills() {
    let url = require();
    example();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    for chunk in seed::interleaved_log(6_000, 11).chunks(300) {
        seed::insert(&db.pool, "events", chunk).await.unwrap();
    }
    let mut relay = spawn_relay(&db, &url, &stream, &prefix, &dir.path().join("relay.log"));
    wait_for_sequence(&js, &stream, 6_000, Duration::from_secs(60)).await;
    let db_ref = &db;
    let stream_ref = stream.as_str();
    tokio::task::block_in_place(|| {
        consume_with_kills(
            db_ref,
            "report_nats",
            &["nats", "--url", &url, "--stream", stream_ref],
            5,
        )
    });
    assert!(terminate(&mut relay, Duration::from_secs(20)).success());
    let want = group_by_over_the_log(&db).await;
    assert_eq!(want.values().sum::<i64>(), 2_000, "every run finished");
    assert_eq!(report(&db, "report_nats").await, want);
    forget(&js, &stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_from_the_http_feed_equals_a_group_by_over_the_log_after_kills() {
    example();
    let db = TestDb::new().await;
    for chunk in seed::interleaved_log(3_000, 11).chunks(300) {
        seed::insert(&db.pool, "events", chunk).await.unwrap();
    }
    let (app, _) = common::app(&db);
    let ctx = common::operator();
    let reader = app
        .directory
        .create_actor_as(Uuid::new_v4(), "Reports", ActorKind::Member, true, &ctx)
        .await
        .unwrap();
    let token = common::http::token(&app, reader).await;
    common::wait_projected(&db, &app.projector).await;
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_runproof"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--no-worker",
            "--no-reconciler",
        ])
        .env("DATABASE_URL", db.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "runproof serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let feed = format!("http://127.0.0.1:{port}");
    let db_ref = &db;
    tokio::task::block_in_place(|| {
        consume_with_kills(
            db_ref,
            "report_http",
            &["http", "--feed-url", &feed, "--token", &token],
            5,
        )
    });
    assert!(terminate(&mut server, Duration::from_secs(20)).success());
    let want = group_by_over_the_log(&db).await;
    assert_eq!(want.values().sum::<i64>(), 1_000, "every run finished");
    assert_eq!(report(&db, "report_http").await, want);
}
