//! The NATS JetStream relay (`runproof relay nats`) against the local nats-server, run
//! as the built binary: every event reaches the stream exactly once and in commit order
//! through kill -9s, a second relay, and NATS going away for a while. Each test has a
//! stream and subject prefix of its own, so they run in parallel. Without NATS they fail
//! with a message saying so; they are never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::nats::{
    assert_stream_is_the_log, forget, free_port, jetstream, kill9, last_sequence, messages, names,
    require, spawn_relay, spawn_relay_with, terminate, wait_for_line, wait_for_sequence, OwnServer,
};
use common::TestDb;
use rand::Rng;
use runproof::bench::seed;

/// Appends `events` realistic run events (queued, started, completed, interleaved), in
/// transactions of `per_transaction`.
async fn append(db: &TestDb, events: usize, per_transaction: usize) {
    let rows = seed::interleaved_log(events, 7);
    for chunk in rows.chunks(per_transaction) {
        seed::insert(&db.pool, "events", chunk).await.unwrap();
    }
}

async fn count(db: &TestDb) -> u64 {
    common::feed::log_len(db).await as u64
}

const LEADER_LINE: &str = "relay: leader; publishing";

#[tokio::test]
async fn ten_thousand_events_reach_the_stream_once_each_in_commit_order_through_kill_9s() {
    let url = require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("relay.log");
    append(&db, 6_000, 250).await;
    // The rest arrives while the relay runs and is killed.
    let writer = {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let rows = seed::interleaved_log(4_000, 5);
            for chunk in rows.chunks(40) {
                seed::insert(&pool, "events", chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut rng = rand::thread_rng();
    for kill in 0..6 {
        let mut relay = spawn_relay(&db, &url, &stream, &prefix, &log);
        let reached = last_sequence(&js, &stream).await;
        // A random moment: after a random number of further messages (up to 1,500),
        // or, every other time, after a random pause (up to 400 ms, often before the
        // relay has published anything).
        if kill % 2 == 0 {
            let target = reached + rng.gen_range(1..1_500);
            let available = count(&db).await;
            wait_for_sequence(&js, &stream, target.min(available), Duration::from_secs(60)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..400))).await;
        }
        kill9(&mut relay);
    }
    writer.await.unwrap();
    let total = count(&db).await;
    assert_eq!(total, 10_002, "the log holds what was written");
    // The last relay has a log of its own: the killed ones may already have published
    // everything, and a SIGTERM sent before the relay has installed its handler would
    // kill it instead of stopping it, so it is sent once this relay leads.
    let last_log = dir.path().join("last.log");
    let mut relay = spawn_relay(&db, &url, &stream, &prefix, &last_log);
    wait_for_line(&last_log, LEADER_LINE, Duration::from_secs(30)).await;
    wait_for_sequence(&js, &stream, total, Duration::from_secs(120)).await;
    assert!(
        terminate(&mut relay, Duration::from_secs(20)).success(),
        "SIGTERM stops the relay cleanly"
    );
    assert_stream_is_the_log(&js, &stream, &db).await;
    forget(&js, &stream).await;
}

#[tokio::test]
async fn of_two_relays_only_the_leader_publishes_and_the_other_takes_over_when_it_dies() {
    let url = require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    append(&db, 3_000, 300).await;
    let mut a = spawn_relay(&db, &url, &stream, &prefix, &log_a);
    wait_for_line(&log_a, LEADER_LINE, Duration::from_secs(30)).await;
    let mut b = spawn_relay(&db, &url, &stream, &prefix, &log_b);
    wait_for_sequence(&js, &stream, count(&db).await, Duration::from_secs(60)).await;
    append(&db, 600, 50).await;
    wait_for_sequence(&js, &stream, count(&db).await, Duration::from_secs(60)).await;
    let b_log = std::fs::read_to_string(&log_b).unwrap();
    assert!(
        !b_log.contains(LEADER_LINE),
        "the second relay waits while the first leads:\n{b_log}"
    );
    kill9(&mut a);
    wait_for_line(&log_b, LEADER_LINE, Duration::from_secs(30)).await;
    append(&db, 900, 100).await;
    wait_for_sequence(&js, &stream, count(&db).await, Duration::from_secs(60)).await;
    assert!(terminate(&mut b, Duration::from_secs(20)).success());
    assert_stream_is_the_log(&js, &stream, &db).await;
    forget(&js, &stream).await;
}

#[tokio::test]
async fn events_written_while_nats_is_down_reach_the_stream_once_it_is_back() {
    require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("nats");
    let log = dir.path().join("relay.log");
    let mut server = OwnServer::start(&store);
    let url = server.url();
    append(&db, 2_000, 200).await;
    let mut relay = spawn_relay(&db, &url, &stream, &prefix, &log);
    {
        let js = jetstream(&url).await;
        wait_for_sequence(&js, &stream, 2_000, Duration::from_secs(60)).await;
    }
    server.stop();
    append(&db, 2_000, 100).await;
    wait_for_line(
        &log,
        "relay: cannot publish; retrying with backoff",
        Duration::from_secs(30),
    )
    .await;
    server.resume();
    let js = jetstream(&url).await;
    wait_for_sequence(&js, &stream, count(&db).await, Duration::from_secs(90)).await;
    wait_for_line(&log, "relay: publishing again", Duration::from_secs(10)).await;
    assert!(terminate(&mut relay, Duration::from_secs(20)).success());
    assert_stream_is_the_log(&js, &stream, &db).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("relay: cannot publish; retrying with backoff")
            .count(),
        1,
        "one line for the outage, not one per retry:\n{text}"
    );
}

#[tokio::test]
async fn a_sequenced_event_carries_its_leaf_index_and_hash_on_the_stream() {
    let url = require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("relay.log");
    append(&db, 30, 10).await;
    let (app, _) = common::app(&db);
    common::wait_projected(&db, &app.projector).await;
    let mut relay = spawn_relay(&db, &url, &stream, &prefix, &log);
    wait_for_sequence(&js, &stream, 30, Duration::from_secs(30)).await;
    assert!(terminate(&mut relay, Duration::from_secs(20)).success());
    let leaves: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT position, leaf_index, leaf_hash FROM log_leaves")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(leaves.len(), 30);
    for (_, _, event) in messages(&js, &stream).await {
        common::feed::check_format(&event).unwrap();
        let position: i64 = event["position"].as_str().unwrap().parse().unwrap();
        let (_, index, hash) = leaves.iter().find(|(p, _, _)| *p == position).unwrap();
        assert_eq!(event["leafindex"], index.to_string());
        assert_eq!(event["leafhash"], hex::encode(hash));
    }
    forget(&js, &stream).await;
}

/// The relay's first publish into an empty stream expects sequence 0, and the server
/// holds it to that like to any other sequence (nats-server 2.9.10 does): once the
/// stream holds a message, a publish expecting 0 is refused — so a second writer that
/// got there first is detected at the very first message too. A repeat of a message id
/// the stream already holds is answered as a duplicate, never stored twice.
#[tokio::test]
async fn the_server_refuses_a_publish_expecting_an_empty_stream_once_it_holds_a_message() {
    use async_nats::jetstream::context::PublishErrorKind;
    use async_nats::jetstream::message::PublishMessage;
    let url = require();
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    js.get_or_create_stream(runproof::relay::stream::config(
        &stream.parse().unwrap(),
        &prefix.parse().unwrap(),
    ))
    .await
    .unwrap();
    let subject = format!("{prefix}._.test.Published");
    let expecting_empty = |id: &str| {
        PublishMessage::build()
            .payload("x".into())
            .message_id(id)
            .expected_last_sequence(0)
    };
    let first = js
        .send_publish(subject.clone(), expecting_empty("a"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!((first.sequence, first.duplicate), (1, false));
    let second = js
        .send_publish(subject.clone(), expecting_empty("b"))
        .await
        .unwrap()
        .await;
    assert!(
        matches!(&second, Err(e) if e.kind() == PublishErrorKind::WrongLastSequence),
        "{second:?}"
    );
    let repeat = js
        .send_publish(subject, expecting_empty("a"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!((repeat.sequence, repeat.duplicate), (1, true));
    assert_eq!(last_sequence(&js, &stream).await, 1);
    forget(&js, &stream).await;
}

/// The body of `GET /metrics` on `port`.
fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn the_relays_lag_is_in_its_metrics_and_in_project_once() {
    let url = require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("relay.log");
    append(&db, 300, 100).await;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut relay = spawn_relay_with(
        &db,
        &url,
        &stream,
        &prefix,
        &log,
        &["--metrics-listen", &address],
    );
    wait_for_sequence(&js, &stream, 300, Duration::from_secs(30)).await;
    let label = format!("stream=\"{stream}\"");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(port);
        let caught_up = text.lines().any(|l| {
            l.starts_with("runproof_relay_lag_events{") && l.contains(&label) && l.ends_with(" 0")
        });
        if caught_up {
            assert!(text
                .lines()
                .any(|l| l.starts_with("runproof_relay_leader{") && l.ends_with(" 1")));
            assert!(text
                .lines()
                .any(|l| l.starts_with("runproof_relay_stream_sequence{") && l.ends_with(" 300")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no lag of 0 in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(terminate(&mut relay, Duration::from_secs(20)).success());
    append(&db, 90, 30).await;
    // Other sessions on the server can hold the read horizon back for a moment: the 90
    // events count once they are readable.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = std::process::Command::new(common::nats::runproof())
            .args([
                "--json",
                "project",
                "--once",
                "--relay-stream",
                &stream,
                "--nats-url",
                &url,
            ])
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["relay"]["stream_sequence"], 300);
        if report["relay"]["events_behind"] == 90 {
            break;
        }
        assert!(
            report["relay"]["events_behind"].as_i64().unwrap() < 90
                && std::time::Instant::now() < deadline,
            "{report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = std::process::Command::new(common::nats::runproof())
        .args([
            "project",
            "--once",
            "--relay-stream",
            &stream,
            "--nats-url",
            &url,
        ])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("relay {stream}: at position"))
            && text.contains("90 event(s) behind"),
        "{text}"
    );
    let missing = std::process::Command::new(common::nats::runproof())
        .args([
            "project",
            "--once",
            "--relay-stream",
            "NO_SUCH_STREAM",
            "--nats-url",
            &url,
        ])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("relay.unreachable") && said.lines().count() == 1,
        "{said}"
    );
    forget(&js, &stream).await;
}

#[tokio::test]
async fn a_stream_ending_in_a_foreign_message_stops_the_relay_with_one_clear_line() {
    let url = require();
    let db = TestDb::new().await;
    let (stream, prefix) = names();
    let js = jetstream(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("relay.log");
    append(&db, 20, 10).await;
    let relayed = count(&db).await;
    let mut relay = spawn_relay(&db, &url, &stream, &prefix, &log);
    wait_for_sequence(&js, &stream, relayed, Duration::from_secs(30)).await;
    assert!(terminate(&mut relay, Duration::from_secs(20)).success());
    // Another writer publishes into the relay's subjects.
    js.publish(format!("{prefix}._.other.Thing"), "not runproof's".into())
        .await
        .unwrap()
        .await
        .unwrap();
    append(&db, 5, 5).await;
    let out = std::process::Command::new(common::nats::runproof())
        .args([
            "relay",
            "nats",
            "--url",
            &url,
            "--stream",
            &stream,
            "--subject-prefix",
            &prefix,
        ])
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("relay.foreign_tail")
            && said.contains(&format!("sequence {}", relayed + 1))
            && said.lines().count() == 1,
        "{said}"
    );
    assert_eq!(
        last_sequence(&js, &stream).await,
        relayed + 1,
        "nothing more was published"
    );
    forget(&js, &stream).await;
}
