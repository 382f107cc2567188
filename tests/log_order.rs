//! The log is read in commit order: a reader never skips an event whose transaction
//! commits late, and never sees events out of order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use rand::Rng;
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::LogPosition;
use sqlx::{Connection, PgConnection, PgPool};

async fn insert(conn: &mut PgConnection, stream: &str, sequence: i64) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('test_stream', $1, $2, 'Tick', '1.0', '{}', '{}')",
    )
    .bind(stream)
    .bind(sequence)
    .execute(conn)
    .await
    .unwrap();
}

/// Reads everything readable after `from`, in pages of `page`.
async fn read_all(pool: &PgPool, from: LogPosition, page: i64) -> Vec<StoredEvent> {
    let mut conn = pool.acquire().await.unwrap();
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let batch = log::read_after(&mut conn, at, None, page).await.unwrap();
        let Some(last) = batch.last() else { return out };
        at = last.at;
        out.extend(batch);
    }
}

/// Polls until `n` events are readable (other tests' open transactions anywhere on the
/// server can hold the horizon back for a moment).
async fn read_until(pool: &PgPool, n: usize) -> Vec<StoredEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = read_all(pool, LogPosition::START, 100).await;
        if events.len() >= n || Instant::now() > deadline {
            return events;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn an_event_whose_transaction_commits_late_is_not_skipped() {
    let db = TestDb::new().await;
    let mut late = PgConnection::connect(&db.url()).await.unwrap();
    let mut early = PgConnection::connect(&db.url()).await.unwrap();

    // A writes first (smaller position) but commits last.
    let mut a = late.begin().await.unwrap();
    insert(&mut a, "a", 1).await;
    let mut b = early.begin().await.unwrap();
    insert(&mut b, "b", 1).await;
    b.commit().await.unwrap();

    // A naive reader ordering by position alone sees b and would move past a's position.
    let naive: Vec<i64> = sqlx::query_scalar("SELECT position FROM events ORDER BY position")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(naive.len(), 1, "only b is visible while a is open");
    let naive_checkpoint = naive[0];

    // The commit-order reader reads nothing yet: a's open transaction holds the horizon.
    let seen = read_all(&db.pool, LogPosition::START, 100).await;
    assert!(
        seen.is_empty(),
        "nothing may be read while an earlier writer is open"
    );

    a.commit().await.unwrap();
    let seen = read_until(&db.pool, 2).await;
    let streams: Vec<&str> = seen.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(streams, ["a", "b"]);
    // The late event sits *behind* the naive reader's checkpoint: it would be lost.
    assert!(seen[0].at.position < naive_checkpoint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_racing_concurrent_writers_never_skips_or_reorders() {
    let db = TestDb::new().await;
    const WRITERS: usize = 8;
    const TRANSACTIONS: usize = 40;
    let done = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let url = db.url();
        writers.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let mut written = 0usize;
            let mut sequence = 0i64;
            for _ in 0..TRANSACTIONS {
                let (events, hold_us) = {
                    let mut rng = rand::thread_rng();
                    (rng.gen_range(1..=3), rng.gen_range(0..3_000u64))
                };
                let mut tx = conn.begin().await.unwrap();
                for _ in 0..events {
                    sequence += 1;
                    insert(&mut tx, &format!("writer-{w}"), sequence).await;
                }
                // Hold the transaction open for a moment so commits interleave and
                // later positions commit before earlier ones.
                tokio::time::sleep(Duration::from_micros(hold_us)).await;
                tx.commit().await.unwrap();
                written += events;
            }
            written
        }));
    }

    let reader = {
        let pool = db.pool.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut at = LogPosition::START;
            let mut seen: Vec<StoredEvent> = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let batch = log::read_after(&mut conn, at, None, 7).await.unwrap();
                if let Some(last) = batch.last() {
                    at = last.at;
                    seen.extend(batch);
                } else if finished {
                    return seen;
                } else {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let mut total = 0;
    for w in writers {
        total += w.await.unwrap();
    }
    // Let the reader drain what is readable once every writer committed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_all(&db.pool, LogPosition::START, 1000).await.len() < total
        && Instant::now() < deadline
    {
        tokio::task::yield_now().await;
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    assert_eq!(seen.len(), total, "the reader saw every event");
    let positions: HashSet<i64> = seen.iter().map(|e| e.at.position).collect();
    assert_eq!(positions.len(), total, "and none twice");
    assert!(
        seen.windows(2).all(|w| w[0].at < w[1].at),
        "in strictly increasing log order"
    );
    let mut next: HashMap<&str, i64> = HashMap::new();
    for e in &seen {
        let expected = next.entry(e.aggregate_id.as_str()).or_insert(1);
        assert_eq!(e.sequence, *expected, "each stream in sequence order");
        *expected += 1;
    }
}

/// The streams and sequences of the test events, in log (position) order.
async fn in_log_order(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT aggregate_id, sequence FROM events WHERE aggregate_type = 'test_stream' \
         ORDER BY position",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn new_event(stream: &str, sequence: u64) -> runproof::event_store::NewEvent {
    runproof::event_store::NewEvent {
        aggregate_type: "test_stream",
        aggregate_id: stream.to_string(),
        sequence,
        event_type: "Tick".into(),
        event_version: "1.0".into(),
        payload: format!(r#"{{"n":{sequence}}}"#),
        metadata: "{}".into(),
    }
}

#[tokio::test]
async fn one_append_places_its_events_in_the_log_in_the_order_it_was_given() {
    use rand::seq::SliceRandom;
    let db = TestDb::new().await;
    let store = runproof::event_store::EventStore::new(db.pool.clone());
    // 40 streams named in no sorted order, ten events each, interleaved in a shuffled
    // order of streams per round: positions must follow the order given, not any order
    // of the columns.
    let mut streams: Vec<String> = (0..40).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut events = Vec::new();
    for sequence in 1..=10 {
        streams.shuffle(&mut rand::thread_rng());
        events.extend(streams.iter().map(|s| new_event(s, sequence)));
    }
    store.append_atomically(&events).await.unwrap();
    let given: Vec<(String, i64)> = events
        .iter()
        .map(|e| (e.aggregate_id.clone(), e.sequence as i64))
        .collect();
    assert_eq!(in_log_order(&db.pool).await, given);

    // The guarded append of a new stream keeps the order too: 50 events of the new
    // stream shuffled among one more of each other stream, each stream's sequences
    // rising in the order they come.
    let first = uuid::Uuid::new_v4().to_string();
    let mut order: Vec<&String> = std::iter::repeat_n(&first, 50).chain(&streams).collect();
    order.shuffle(&mut rand::thread_rng());
    let mut next: HashMap<&String, u64> = HashMap::new();
    let guarded: Vec<_> = order
        .into_iter()
        .map(|s| {
            let n = next.entry(s).or_insert(if *s == first { 1 } else { 11 });
            *n += 1;
            new_event(s, *n - 1)
        })
        .collect();
    store
        .append_to_new_stream("test_stream", &first, &guarded)
        .await
        .unwrap()
        .expect("the stream was new");
    let all = in_log_order(&db.pool).await;
    let appended: Vec<(String, i64)> = guarded
        .iter()
        .map(|e| (e.aggregate_id.clone(), e.sequence as i64))
        .collect();
    assert_eq!(all[given.len()..], appended[..]);
}
