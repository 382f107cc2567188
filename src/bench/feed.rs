//! The downstream feed under load: the NATS relay's throughput against publishing the
//! same messages straight to JetStream, and the lag from commit to the JetStream ack and
//! to a Server-Sent Events client under a steady write rate.
//!
//! - **Throughput.** `--feed-events` run events in the log; the relay (in this process,
//!   as `runproof relay nats` runs it, window `--feed-window`) publishes them into a new
//!   stream; the time is from its start to the stream holding them all. The baseline
//!   publishes the very same messages (subjects, bodies, headers, read from the log
//!   beforehand and not timed) from one client with the same ack window into another
//!   new stream. Ratio = relay ÷ baseline.
//! - **Lag.** On a fresh database a writer appends one event per transaction at
//!   `--feed-rate` events/s for `--feed-seconds`, and after each commit wakes the
//!   readers as runproof's own appends do (`feed::notify`: one `NOTIFY` from the writing
//!   process after the commit); the instant each commit returns is the start. One end is
//!   the relay's ack of that event, the other its arrival at an SSE client of
//!   `runproof serve`'s router (`GET /api/v1/events/stream`) on a real port.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage};
use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use runproof_domain::actor::ActorKind;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_projections::scoped_log::Scope;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{failed, per_second, seed, BenchArgs, Comparison};
use crate::app::App;
use crate::cli::error::CliError;
use crate::cli::serve::api_state;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;
use crate::feed::cloudevent::event_id;
use crate::feed::notify::AppendNotifier;
use crate::feed::{Cursor, FeedService, PageRequest};
use crate::http::{self, Limits};
use crate::relay::stream::{self as bus, CURSOR_HEADER};
use crate::relay::subject::{StreamName, SubjectPrefix};
use crate::relay::{Relay, RelaySettings};

/// The ratio the relay should reach.
pub const RATIO_TARGET: f64 = 0.7;

/// Percentiles of a set of latencies.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub samples: usize,
}

fn latency(mut xs: Vec<Duration>) -> Latency {
    xs.sort();
    let at = |q: f64| {
        xs.get(((xs.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    Latency {
        p50: at(0.50),
        p99: at(0.99),
        samples: xs.len(),
    }
}

/// What the feed benchmark measured.
pub struct FeedFigures {
    pub throughput: Comparison,
    pub window: usize,
    pub rate: u32,
    pub seconds: u64,
    pub to_ack: Latency,
    pub to_sse: Latency,
}

fn unique_names(what: &str) -> Result<(StreamName, SubjectPrefix), CliError> {
    let id = Uuid::new_v4().simple().to_string();
    let stream = format!("BENCH_{what}_{id}").parse().map_err(failed)?;
    let prefix = format!("bench{what}{id}").parse().map_err(failed)?;
    Ok((stream, prefix))
}

fn settings(args: &BenchArgs, stream: StreamName, prefix: SubjectPrefix) -> RelaySettings {
    RelaySettings {
        window: args.feed_window.max(1),
        poll: Duration::from_millis(100),
        standby_poll: Duration::from_millis(100),
        ..RelaySettings::new(args.nats_url.clone(), stream, prefix)
    }
}

pub async fn measure(
    pool: &PgPool,
    bench: &DatabaseTarget,
    lag_pool: &PgPool,
    args: &BenchArgs,
) -> Result<FeedFigures, CliError> {
    let client = async_nats::connect(&args.nats_url)
        .await
        .map_err(|e| CliError::internal(&std::io::Error::other(e.to_string())))?;
    let js = jetstream::new(client);

    let rows = seed::interleaved_log(args.feed_events, 1_000);
    let total = rows.len();
    eprintln!("bench: seeding {total} run events");
    for chunk in rows.chunks(1_000) {
        seed::insert(pool, "events", chunk).await.map_err(failed)?;
    }
    let reading = Instant::now();
    let messages = messages_of(pool, total).await?;
    eprintln!(
        "bench: the feed read the {total} events alone (no publishing) at {:.0} events/s",
        per_second(total, reading.elapsed())
    );

    let mut relayed = Vec::new();
    let mut straight = Vec::new();
    for round in 0..args.rounds.max(1) {
        let (stream, prefix) = unique_names("RELAY")?;
        let rate = relay_round(pool, bench, args, &js, stream, prefix, total as u64).await?;
        let (stream, prefix) = unique_names("RAW")?;
        let raw = straight_round(&js, &messages, &stream, &prefix, args.feed_window).await?;
        eprintln!(
            "bench: feed round {}: relay {rate:.0} events/s, straight {raw:.0} events/s",
            round + 1
        );
        relayed.push(rate);
        straight.push(raw);
    }
    let throughput = Comparison {
        name: format!(
            "NATS relay, {total} events (window {}), against publishing them straight to JetStream",
            args.feed_window
        ),
        unit: "events/s",
        ours: super::median(relayed),
        baseline: super::median(straight),
        target: RATIO_TARGET,
    };
    let (to_ack, to_sse) = steady_lag(lag_pool, bench_lag_target(bench), args, &js).await?;
    Ok(FeedFigures {
        throughput,
        window: args.feed_window,
        rate: args.feed_rate,
        seconds: args.feed_seconds,
        to_ack,
        to_sse,
    })
}

/// The lag measurement's database: the scratch database's sibling.
fn bench_lag_target(bench: &DatabaseTarget) -> DatabaseTarget {
    bench.with_database(&format!("{}_lag", bench.database()))
}

/// The database the lag measurement uses (created fresh by the caller).
pub fn lag_target(bench: &DatabaseTarget) -> DatabaseTarget {
    bench_lag_target(bench)
}

/// One message as the relay would publish it.
struct Message {
    subject: String,
    id: String,
    cursor: String,
    body: Bytes,
}

/// Every event of the log as the relay's message, read through the feed (not timed).
/// Another session's open transaction can hold the read horizon back for a while: the
/// read goes on until it has all `total` (at most ten minutes).
async fn messages_of(pool: &PgPool, total: usize) -> Result<Vec<Message>, CliError> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let feed = FeedService::new(pool.clone());
    let prefix: SubjectPrefix = "benchraw".parse().map_err(failed)?;
    let mut out = Vec::with_capacity(total);
    let mut after = Cursor::START;
    loop {
        let page = feed
            .page(&PageRequest {
                after,
                scope: Scope::Whole,
                types: None,
                limit: crate::feed::MAX_LIMIT,
            })
            .await
            .map_err(failed)?;
        for e in &page.events {
            out.push(Message {
                subject: prefix.subject_of(e),
                id: e.id.to_string(),
                cursor: e.cursor.clone(),
                body: Bytes::from(e.to_json()),
            });
        }
        after = page.next_cursor;
        if out.len() >= total {
            return Ok(out);
        }
        if page.caught_up {
            if Instant::now() > deadline {
                eprintln!("bench: the feed gave {} of {total} events", out.len());
                return Err(super::mismatch());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The relay from an empty stream to `total` messages: events/s.
#[allow(clippy::too_many_arguments)]
async fn relay_round(
    pool: &PgPool,
    bench: &DatabaseTarget,
    args: &BenchArgs,
    js: &jetstream::Context,
    stream: StreamName,
    prefix: SubjectPrefix,
    total: u64,
) -> Result<f64, CliError> {
    let name = stream.clone();
    let relay = Relay::new(
        pool.clone(),
        bench.options().clone(),
        settings(args, stream, prefix),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(async move { relay.run(stop_rx).await });
    let done = wait_for_sequence(js, &name, total, Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    let ran = task.await.map_err(failed)?;
    let _ = js.delete_stream(name.as_str()).await;
    ran.map_err(failed)?;
    done?;
    Ok(per_second(total as usize, elapsed))
}

/// Polls the stream (every 20 ms) until it holds `n` messages.
async fn wait_for_sequence(
    js: &jetstream::Context,
    stream: &StreamName,
    n: u64,
    within: Duration,
) -> Result<(), CliError> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(s) = js.get_stream(stream.as_str()).await {
            if s.get_info()
                .await
                .map(|i| i.state.last_sequence)
                .unwrap_or(0)
                >= n
            {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            eprintln!("bench: the stream {stream} did not reach {n} messages in time");
            return Err(super::mismatch());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same messages published straight from one client, `window` acks outstanding:
/// events/s.
async fn straight_round(
    js: &jetstream::Context,
    messages: &[Message],
    stream: &StreamName,
    prefix: &SubjectPrefix,
    window: usize,
) -> Result<f64, CliError> {
    let nats =
        |e: &dyn std::fmt::Display| CliError::internal(&std::io::Error::other(e.to_string()));
    js.get_or_create_stream(bus::config(stream, prefix))
        .await
        .map_err(|e| nats(&e))?;
    let raw_prefix = "benchraw.";
    let started = Instant::now();
    let mut pending = VecDeque::with_capacity(window);
    for (i, m) in messages.iter().enumerate() {
        let subject = format!(
            "{prefix}.{}",
            m.subject.strip_prefix(raw_prefix).unwrap_or(&m.subject)
        );
        let publish = PublishMessage::build()
            .payload(m.body.clone())
            .message_id(&m.id)
            .expected_last_sequence(i as u64)
            .header(CURSOR_HEADER, m.cursor.as_str())
            .header("Content-Type", "application/cloudevents+json");
        pending.push_back(
            js.send_publish(subject, publish)
                .await
                .map_err(|e| nats(&e))?,
        );
        if pending.len() >= window {
            if let Some(ack) = pending.pop_front() {
                ack.await.map_err(|e| nats(&e))?;
            }
        }
    }
    while let Some(ack) = pending.pop_front() {
        ack.await.map_err(|e| nats(&e))?;
    }
    let elapsed = started.elapsed();
    let _ = js.delete_stream(stream.as_str()).await;
    Ok(per_second(messages.len(), elapsed))
}

/// A steady writer with the relay and an SSE client following: latencies from each
/// commit to its ack and to its arrival at the client.
async fn steady_lag(
    pool: &PgPool,
    target: DatabaseTarget,
    args: &BenchArgs,
    js: &jetstream::Context,
) -> Result<(Latency, Latency), CliError> {
    // A reader of the whole feed, and the tables it needs, caught up.
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    let ctx = CommandContext::new(Initiator::system("bench"));
    let operator = app
        .directory
        .create_actor_as(Uuid::new_v4(), "Feed reader", ActorKind::Member, true, &ctx)
        .await
        .map_err(|e| CliError::internal(&e))?;
    let token = app
        .tokens
        .issue(operator, Some("bench"), None, &ctx)
        .await
        .map_err(|e| CliError::internal(&e))?
        .token;
    app.projector
        .catch_up()
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    let start: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events \
         ORDER BY transaction_id DESC, position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .map_err(failed)?;
    let prior: usize = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .map_err(failed)? as usize;
    let after = start
        .map(|(transaction_id, position)| {
            Cursor::at(runproof_projections::LogPosition {
                transaction_id,
                position,
            })
        })
        .unwrap_or(Cursor::START);

    // The server, on a real port.
    let state = api_state(&target, Limits::default()).await?;
    let feed = state.app.feed.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(failed)?;
    let address = listener.local_addr().map_err(failed)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(listener, http::router(state))
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };

    // The relay, telling the ids it has acks for.
    let (stream, prefix) = unique_names("LAG")?;
    let stream_name = stream.clone();
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let relay = Relay::new(
        pool.clone(),
        target.options().clone(),
        settings(args, stream, prefix),
    )
    .observing_acks(ack_tx);
    let relay_task = {
        let stop = stop_rx.clone();
        tokio::spawn(async move { relay.run(stop).await })
    };
    let acks_seen = Arc::new(AtomicUsize::new(0));
    let acked = {
        let seen = acks_seen.clone();
        tokio::spawn(async move {
            let mut at = HashMap::new();
            while let Some(id) = ack_rx.recv().await {
                at.insert(id, Instant::now());
                seen.fetch_add(1, Ordering::Relaxed);
            }
            at
        })
    };

    // The SSE client.
    let (sse_tx, mut sse_rx) = mpsc::unbounded_channel();
    let sse = tokio::spawn(follow_sse(address, token, after, sse_tx));
    let sse_seen = Arc::new(AtomicUsize::new(0));
    let arrived = {
        let seen = sse_seen.clone();
        tokio::spawn(async move {
            let mut at = HashMap::new();
            while let Some(id) = sse_rx.recv().await {
                at.insert(id, Instant::now());
                seen.fetch_add(1, Ordering::Relaxed);
            }
            at
        })
    };

    // The writer: one event per transaction, at the rate.
    let count = (args.feed_rate as u64 * args.feed_seconds) as usize;
    let rows = seed::interleaved_log(count, 50);
    eprintln!(
        "bench: writing {} events at {} events/s",
        rows.len(),
        args.feed_rate
    );
    let notifier = AppendNotifier::new(pool.clone());
    let mut committed = HashMap::with_capacity(rows.len());
    let period = Duration::from_secs_f64(1.0 / f64::from(args.feed_rate.max(1)));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for row in &rows {
        tick.tick().await;
        seed::insert(pool, "events", std::slice::from_ref(row))
            .await
            .map_err(failed)?;
        committed.insert(
            event_id(row.aggregate_type, &row.aggregate_id, row.sequence),
            Instant::now(),
        );
        notifier.appended();
    }
    // Both ends take in the last events (bounded: a minute).
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && (acks_seen.load(Ordering::Relaxed) < prior + committed.len()
            || sse_seen.load(Ordering::Relaxed) < committed.len())
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    feed.close();
    let _ = stop_tx.send(true);
    let relayed = relay_task.await.map_err(failed)?;
    sse.abort();
    let _ = server.await;
    let _ = js.delete_stream(stream_name.as_str()).await;
    relayed.map_err(failed)?;
    let acked = acked.await.map_err(failed)?;
    let arrived = arrived.await.map_err(failed)?;
    let lag = |seen: &HashMap<Uuid, Instant>| -> Result<Latency, CliError> {
        let mut xs = Vec::with_capacity(committed.len());
        for (id, at) in &committed {
            match seen.get(id) {
                Some(t) => xs.push(t.saturating_duration_since(*at)),
                None => {
                    eprintln!("bench: event {id} never arrived");
                    return Err(super::mismatch());
                }
            }
        }
        Ok(latency(xs))
    };
    Ok((lag(&acked)?, lag(&arrived)?))
}

/// Follows `GET /api/v1/events/stream?after=…` and tells the id of every event.
async fn follow_sse(
    address: SocketAddr,
    token: String,
    after: Cursor,
    seen: mpsc::UnboundedSender<Uuid>,
) -> Result<(), CliError> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(failed)?;
    stream.set_nodelay(true).map_err(failed)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(failed)?;
    tokio::spawn(connection);
    let request = hyper::Request::get(format!("/api/v1/events/stream?after={after}"))
        .header("Host", address.to_string())
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "text/event-stream")
        .body(Empty::<Bytes>::new())
        .map_err(failed)?;
    let response = sender.send_request(request).await.map_err(failed)?;
    let mut body = response.into_body();
    let mut buffer = String::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(failed)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            if let Some(json) = line.strip_prefix("data:") {
                let id = serde_json::from_str::<serde_json::Value>(json.trim())
                    .ok()
                    .and_then(|v| v["id"].as_str().and_then(|s| s.parse().ok()));
                if let Some(id) = id {
                    let _ = seen.send(id);
                }
            }
        }
    }
    Ok(())
}
