//! The feed as Server-Sent Events (`GET /api/v1/events/stream`): ids are cursors and
//! `Last-Event-ID` resumes exactly; woken by NOTIFY, found by polling when no
//! notification comes; a heartbeat when quiet; the caller's scope, checked as it goes;
//! ended by a revocation and by a shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::feed::{check_format, log_ids, log_len, quick, read, router, Message, SseReader};
use common::http::api;
use runproof::feed::wake::CHANNEL;
use runproof::feed::{notify, FeedSettings};
use runproof_domain::actor::ActorKind;
use serde_json::json;
use uuid::Uuid;

const STREAM: &str = "/api/v1/events/stream";

#[tokio::test]
async fn a_stream_resumes_exactly_after_its_last_event_id() {
    let a = api().await;
    let r = router(&a._db, quick()).await;
    let want = log_ids(&a._db).await;
    let mut stream = SseReader::open(&r, STREAM, &a.operator, &[]).await;
    let events = stream.events(want.len()).await;
    let got: Vec<String> = events
        .iter()
        .map(|(_, e)| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "every event once, in commit order");
    for (id, e) in &events {
        check_format(e).unwrap_or_else(|why| panic!("{why}: {e}"));
        assert_eq!(
            id,
            e["cursor"].as_str().unwrap(),
            "the SSE id is the cursor"
        );
    }
    drop(stream);

    // A client that reconnects with Last-Event-ID gets exactly the rest — the header
    // wins over the `after` of the URL it first connected with.
    for k in [0, want.len() / 2, want.len() - 2] {
        let path = format!("{STREAM}?after={}", events[0].0);
        let mut resumed =
            SseReader::open(&r, &path, &a.operator, &[("last-event-id", &events[k].0)]).await;
        let rest = resumed.events(want.len() - k - 1).await;
        let rest: Vec<String> = rest
            .iter()
            .map(|(_, e)| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(rest, want[k + 1..], "after event {k}");
    }
    // `after` alone resumes the same way.
    let path = format!("{STREAM}?after={}", events[1].0);
    let mut resumed = SseReader::open(&r, &path, &a.operator, &[]).await;
    assert_eq!(resumed.events(1).await[0].1["id"], want[2].as_str());
}

#[tokio::test]
async fn a_caught_up_stream_is_woken_by_notify_without_polling() {
    let a = api().await;
    // Polling once an hour: only a notification can deliver within the test.
    let r = router(
        &a._db,
        FeedSettings {
            poll: Duration::from_secs(3600),
            ..quick()
        },
    )
    .await;
    let before = log_len(&a._db).await;
    // Wait until the whole log is readable, so the stream's first read gets all of it.
    read(&a.router, &a.operator, None, 1000, before).await;
    let mut stream = SseReader::open(&r, STREAM, &a.operator, &[]).await;
    stream.events(before).await;

    // Each append notifies on commit. Another test's transaction on the server can hold
    // the read horizon for a moment, so the write that wakes a read which can see it may
    // be a later one: write until an event arrives.
    let mut written = Vec::new();
    let arrived = loop {
        let ws = a
            .app
            .directory
            .create_workspace(Uuid::new_v4(), "Woken", &common::operator())
            .await
            .unwrap();
        written.push(ws.to_string());
        // The App's notifier may have looked for a listener just before this stream's
        // connected, and then trusts "nobody listens" for half a second.
        if let Some(Message::Event { data, .. }) = stream.next(Duration::from_secs(1)).await {
            break data;
        }
        assert!(written.len() < 30, "no notification woke the stream");
    };
    assert_eq!(arrived["subject"], written[0].as_str());
    assert_eq!(arrived["type"], "runproof.workspace.WorkspaceCreated.v1.0");
}

#[tokio::test]
async fn a_stream_finds_new_events_by_polling_when_no_notification_comes() {
    let a = api().await;
    let r = router(&a._db, quick()).await;
    let before = log_len(&a._db).await;
    let mut stream = SseReader::open(&r, STREAM, &a.operator, &[]).await;
    stream.events(before).await;
    // Written around runproof's writer: nothing notifies; the poll finds it.
    let mut conn = a._db.pool.acquire().await.unwrap();
    let id = append(&mut conn).await;
    let (_, e) = stream.events(1).await.remove(0);
    assert_eq!(e["subject"], id.to_string());
}

/// Appends one event (a workspace created by hand) on `conn` and commits.
async fn append(conn: &mut sqlx::PgConnection) -> Uuid {
    use sqlx::Connection;
    let mut tx = conn.begin().await.unwrap();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('workspace', $1, 1, 'WorkspaceCreated', '1.0', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(json!({"WorkspaceCreated": {"workspace_id": id, "name": "N", "created_at": "2026-01-01T00:00:00Z"}}))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn an_append_notifies_after_it_commits_and_an_append_in_plain_sql_does_not() {
    let db = common::TestDb::new().await;
    let store = runproof::event_store::EventStore::new(db.pool.clone());
    // A feed listener announces itself by its application name.
    let mut listener = feed_listener(&db).await;
    // No trigger notifies: an append around the writer stays silent.
    let mut conn = db.pool.acquire().await.unwrap();
    append(&mut conn).await;
    let silent = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(silent.is_err(), "a plain-SQL append notified: {silent:?}");
    // An append through the store notifies, once it has committed: the event is
    // readable when the notification arrives.
    let id = Uuid::new_v4();
    let event = runproof::event_store::NewEvent {
        aggregate_type: "workspace",
        aggregate_id: id.to_string(),
        sequence: 1,
        event_type: "WorkspaceCreated".into(),
        event_version: "1.0".into(),
        payload: json!({"WorkspaceCreated": {"workspace_id": id, "name": "N", "created_at": "2026-01-01T00:00:00Z"}}).to_string(),
        metadata: "{}".to_string(),
    };
    store.append_atomically(&[event]).await.unwrap();
    let note = tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("no notification after a committed append")
        .unwrap();
    assert_eq!(note.channel(), "runproof_events");
    assert_eq!(note.payload(), "");
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(id.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(found, 1);
}

/// A connection listening on the feed's channel as a feed reader's listener does.
async fn feed_listener(db: &common::TestDb) -> sqlx::postgres::PgListener {
    let options: sqlx::postgres::PgConnectOptions = db.url().parse().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options.application_name(notify::LISTENER_APPLICATION));
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen(CHANNEL).await.unwrap();
    listener
}

/// Waits until `notifier` has handled `bursts` bursts of appends; what it did.
async fn handled(
    done: &mut tokio::sync::watch::Receiver<notify::Notifications>,
    bursts: u64,
) -> notify::Notifications {
    let wait = done.wait_for(|n| n.sent + n.unheard + n.failed >= bursts);
    *tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the notifier did not handle the append")
        .unwrap()
}

#[tokio::test]
async fn appends_notify_nobody_while_no_feed_reader_listens_and_wake_one_that_does() {
    let db = common::TestDb::new().await;
    let notifier = notify::AppendNotifier::with_recheck(db.pool.clone(), Duration::ZERO);
    let mut done = notifier.notifications();
    // A session listening on the channel that is not a feed reader's listener: it does
    // not count, and gets nothing.
    let mut other = sqlx::postgres::PgListener::connect(&db.url())
        .await
        .unwrap();
    other.listen(CHANNEL).await.unwrap();
    notifier.appended();
    let n = handled(&mut done, 1).await;
    assert_eq!((n.sent, n.unheard, n.failed), (0, 1, 0), "{n:?}");

    // A feed reader starts: its listener connects, listens, and wakes its readers once.
    let wakeups = runproof::feed::Wakeups::new(db.pool.clone());
    let mut wake = wakeups.subscribe(Duration::from_secs(3600)).await;
    assert!(tokio::time::timeout(Duration::from_secs(30), wake.wait())
        .await
        .expect("the listener did not connect"));
    wake.arm();
    notifier.appended();
    let n = handled(&mut done, 2).await;
    assert_eq!((n.sent, n.unheard, n.failed), (1, 1, 0), "{n:?}");
    // Polling once an hour: only the notification can wake it.
    assert!(tokio::time::timeout(Duration::from_secs(30), wake.wait())
        .await
        .expect("the notification did not wake the feed reader"));
    let note = tokio::time::timeout(Duration::from_secs(30), other.recv())
        .await
        .expect("the notification did not reach the channel")
        .unwrap();
    assert_eq!(note.channel(), CHANNEL);
}

#[tokio::test]
async fn after_finding_no_listener_a_notifier_sends_nothing_until_it_looks_again() {
    let db = common::TestDb::new().await;
    let notifier = notify::AppendNotifier::with_recheck(db.pool.clone(), Duration::from_secs(3600));
    let mut done = notifier.notifications();
    notifier.appended();
    assert_eq!(handled(&mut done, 1).await.unheard, 1);
    // A feed reader listens now, but the notifier does not look again within the hour:
    // the reader finds the events by polling meanwhile.
    let mut listener = feed_listener(&db).await;
    notifier.appended();
    let n = handled(&mut done, 2).await;
    assert_eq!((n.sent, n.unheard, n.failed), (0, 2, 0), "{n:?}");
    // A notifier that looks (a new process) finds the listener and notifies it.
    let fresh = notify::AppendNotifier::new(db.pool.clone());
    let mut fresh_done = fresh.notifications();
    fresh.appended();
    assert_eq!(handled(&mut fresh_done, 1).await.sent, 1);
    tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("no notification reached the feed listener")
        .unwrap();
}

#[tokio::test]
async fn a_quiet_stream_sends_a_heartbeat_comment() {
    let a = api().await;
    let r = router(
        &a._db,
        FeedSettings {
            heartbeat: Duration::from_millis(50),
            ..quick()
        },
    )
    .await;
    let before = log_len(&a._db).await;
    let mut stream = SseReader::open(&r, STREAM, &a.operator, &[]).await;
    let mut events = 0;
    let heartbeat = loop {
        match stream.next(Duration::from_secs(30)).await {
            Some(Message::Event { .. }) => events += 1,
            Some(Message::Comment(c)) if events >= before => break c,
            Some(Message::Comment(_)) => {}
            None => panic!("the stream ended"),
        }
    };
    assert_eq!(heartbeat, "heartbeat");
}

#[tokio::test]
async fn a_members_stream_shows_only_its_workspaces_and_ends_when_its_token_is_revoked() {
    let a = api().await;
    let r = router(&a._db, quick()).await;
    let total = log_len(&a._db).await;
    read(&a.router, &a.operator, None, 1000, total).await;
    let ours = read(&a.router, &a.member, None, 1000, 0).await.0;
    assert!(!ours.is_empty());

    let mut stream = SseReader::open(&r, STREAM, &a.member, &[]).await;
    let got = stream.events(ours.len()).await;
    assert_eq!(
        got.iter().map(|(_, e)| e["id"].clone()).collect::<Vec<_>>(),
        ours.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()
    );
    // New events elsewhere do not reach it; new events in its workspace do.
    let ctx = common::operator();
    let d = &a.app.directory;
    d.create_workspace(Uuid::new_v4(), "Elsewhere", &ctx)
        .await
        .unwrap();
    let newcomer = d
        .create_actor(Uuid::new_v4(), "Newcomer", &ctx)
        .await
        .unwrap();
    d.add_member(a.ours, newcomer, &ctx).await.unwrap();
    let (_, e) = stream.events(1).await.remove(0);
    assert_eq!(e["type"], "runproof.workspace.MemberAdded.v1.0");
    assert_eq!(e["data"]["actor_id"], json!(newcomer));

    // Revoking the token ends the stream (the client's reconnect then gets a 401).
    let token_id: Uuid = sqlx::query_scalar(
        "SELECT id FROM api_tokens WHERE actor_id = $1 ORDER BY issued_at LIMIT 1",
    )
    .bind(a.member_id)
    .fetch_one(&a._db.pool)
    .await
    .unwrap();
    a.app.tokens.revoke(token_id, &ctx).await.unwrap();
    assert!(stream.ends_within(Duration::from_secs(30)).await);
}

#[tokio::test]
async fn closing_the_feed_ends_every_stream() {
    let a = api().await;
    let target = runproof::database::DatabaseTarget::parse(&a._db.url()).unwrap();
    let state = runproof::cli::serve::api_state(&target, runproof::http::Limits::default())
        .await
        .unwrap()
        .with_feed(quick());
    let feed = state.app.feed.clone();
    let r = runproof::http::router(state);
    let before = log_len(&a._db).await;
    let mut first = SseReader::open(&r, STREAM, &a.operator, &[]).await;
    let mut second = SseReader::open(&r, STREAM, &a.member, &[]).await;
    first.events(before).await;
    feed.close();
    assert!(first.ends_within(Duration::from_secs(30)).await);
    assert!(second.ends_within(Duration::from_secs(30)).await);
}

/// A `runproof serve` process, killed if the test fails before it stops.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn serve_names_its_origin_and_a_sigterm_ends_open_streams_and_exits_0() {
    let db = common::TestDb::new().await;
    let (app, _) = common::app(&db);
    let operator = app
        .directory
        .create_actor_as(
            Uuid::new_v4(),
            "Ops",
            ActorKind::Member,
            true,
            &common::operator(),
        )
        .await
        .unwrap();
    let token = common::http::token(&app, operator).await;
    let mut child = Serving(
        Command::new(assert_cmd::cargo::cargo_bin("runproof"))
            .env("RUST_LOG", "off")
            .args(["--database-url", &db.url()])
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-worker",
                "--no-reconciler",
            ])
            .args(["--feed-origin", "eu-1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the serving line names the address")
        .to_string();

    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET {STREAM} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains("\"source\":\"runproof/eu-1\"") {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "the stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The open stream ends, so the server can stop: it exits 0.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}
