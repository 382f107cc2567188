//! The relay: the log, in commit order, onto a NATS JetStream stream — every event
//! exactly once, in order, resumable from the stream alone (docs/feed.md).
//!
//! - **One leader.** Any number of relays may run; the one holding the stream's advisory
//!   lock ([`leader`]) publishes, the others wait to take over.
//! - **The stream is the checkpoint.** A leader reads the stream's last message and the
//!   cursor it carries ([`stream::tail`]) and reads the log after that cursor with the
//!   feed's own commit-order read ([`crate::feed::FeedService::page`]: below the read
//!   horizon, so no late-committing transaction is passed over).
//! - **Gaps and second writers are detected, not papered over.** Each message names the
//!   sequence it must follow (`Nats-Expected-Last-Sequence`) and carries the event id as
//!   `Nats-Msg-Id` (JetStream drops a repeat inside the duplicate window). An ack that
//!   does not land where expected stops publishing; the relay reads the tail again and
//!   goes on from what the stream really holds.
//! - **Bounded window.** At most `window` publishes are unacknowledged at once — across
//!   page boundaries: the next page is read ahead while one is published; the relay's
//!   place only moves with acks.
//! - **NATS down or slow.** Retries with exponential backoff, one warning when an outage
//!   begins and one line when it ends, giving up (exit) after `max_retries` failed
//!   attempts in a row. Lag is in the metrics (`runproof_relay_*`).
//!
//! # Layout
//! - [`subject`]: stream names, the subject prefix, each event's subject.
//! - [`stream`]: connecting, creating the stream, its tail, the lag measured from it.
//! - [`leader`]: the advisory lock.
//! - [`outgoing`]: the reader, reading the next pages while the current one is published.
//! - this module: [`Relay`], the publishing loop.

pub mod leader;
pub mod outgoing;
pub mod stream;
pub mod subject;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use backon::{BackoffBuilder, ExponentialBuilder};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::feed::{FeedService, FeedSettings, Origin};
use leader::Leadership;
use outgoing::{Outgoing, Reader};
use stream::{Tail, CURSOR_HEADER};
use subject::{StreamName, SubjectPrefix};

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The NATS server (`nats://host:port`).
    pub url: String,
    pub stream: StreamName,
    pub prefix: SubjectPrefix,
    /// The installation's name in each event's `source`.
    pub origin: Origin,
    /// Publishes awaiting their ack at most.
    pub window: usize,
    /// Events read from the log at once.
    pub batch: i64,
    /// A caught-up leader looks for new events at least this often (it is woken by
    /// `NOTIFY` sooner).
    pub poll: Duration,
    /// A relay that is not the leader tries to become it this often.
    pub standby_poll: Duration,
    /// Failed attempts in a row (connecting, reading the tail, publishing) before the
    /// relay gives up and exits.
    pub max_retries: usize,
    /// The longest pause between two attempts.
    pub max_backoff: Duration,
}

impl RelaySettings {
    /// The defaults for `url`, `stream` and `prefix`.
    pub fn new(url: String, stream: StreamName, prefix: SubjectPrefix) -> Self {
        RelaySettings {
            url,
            stream,
            prefix,
            origin: Origin::default(),
            window: 256,
            batch: 1000,
            poll: Duration::from_secs(1),
            standby_poll: Duration::from_secs(2),
            max_retries: 30,
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Why the relay stopped, or why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Talking to NATS failed (unreachable, timed out, refused). Retried with backoff.
    #[error("NATS: cannot {doing}: {cause}")]
    Nats { doing: &'static str, cause: String },
    /// Reading the log or taking the lock failed. Retried with backoff.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The stream's last message carries no runproof cursor: another writer publishes
    /// into the stream, or it was purged. The relay does not guess where to go on;
    /// an operator points it at a stream of its own (or a new one).
    #[error("the stream's last message (sequence {sequence}) is not a runproof event")]
    ForeignTail { sequence: u64 },
    /// An ack did not land where the relay expected (another writer, a gap, a
    /// duplicate). The relay reads the tail again and goes on from there.
    #[error("the stream's tail moved: expected sequence {expected}, the stream said {got}")]
    TailMoved { expected: u64, got: u64 },
    /// The task reading ahead ended without saying why (it panicked). Retried with
    /// backoff.
    #[error("the relay's reader stopped")]
    ReaderStopped,
    /// `max_retries` attempts in a row failed.
    #[error("gave up after {attempts} failed attempts in a row; the last: {last}")]
    GaveUp {
        attempts: usize,
        last: Box<RelayError>,
    },
}

impl RelayError {
    pub fn nats(doing: &'static str, cause: impl std::fmt::Display) -> RelayError {
        RelayError::Nats {
            doing,
            cause: cause.to_string(),
        }
    }
}

/// How a leader's turn ended.
enum Turn {
    Stopped,
    LostLock,
}

/// Consecutive failures and the outage they make.
struct Health {
    failures: usize,
    outage_since: Option<Instant>,
    delays: backon::ExponentialBackoff,
    builder: ExponentialBuilder,
}

impl Health {
    fn new(settings: &RelaySettings) -> Health {
        let builder = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(settings.max_backoff)
            .with_jitter()
            .without_max_times();
        Health {
            failures: 0,
            outage_since: None,
            delays: builder.build(),
            builder,
        }
    }

    /// A failed attempt: the pause before the next, or the error to give up with.
    fn failed(&mut self, e: RelayError, max: usize) -> Result<Duration, RelayError> {
        self.failures += 1;
        if self.failures > max {
            return Err(RelayError::GaveUp {
                attempts: self.failures,
                last: Box::new(e),
            });
        }
        if self.outage_since.is_none() {
            self.outage_since = Some(Instant::now());
            warn!(error = %e, "relay: cannot publish; retrying with backoff");
        }
        tracing::debug!(error = %e, attempt = self.failures, "relay: attempt failed");
        Ok(self.delays.next().unwrap_or(Duration::from_secs(1)))
    }

    /// Progress: an outage (if any) ended.
    fn recovered(&mut self, tail: &Tail) {
        if let Some(since) = self.outage_since.take() {
            info!(
                after_seconds = since.elapsed().as_secs(),
                stream_sequence = tail.sequence,
                "relay: publishing again"
            );
        }
        self.failures = 0;
        self.delays = self.builder.build();
    }
}

/// Resolves when `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// The relay over one database.
pub struct Relay {
    feed: FeedService,
    database: PgConnectOptions,
    settings: RelaySettings,
    pool: PgPool,
    acks: Option<tokio::sync::mpsc::UnboundedSender<uuid::Uuid>>,
}

impl Relay {
    /// A relay reading through `pool`, taking its lock on a session opened with
    /// `database`.
    pub fn new(pool: PgPool, database: PgConnectOptions, settings: RelaySettings) -> Relay {
        let feed = FeedService::new(pool.clone()).with_settings(FeedSettings {
            origin: settings.origin.clone(),
            poll: settings.poll,
            ..FeedSettings::default()
        });
        Relay {
            feed,
            database,
            settings,
            pool,
            acks: None,
        }
    }

    /// The same relay, telling `acks` the id of every event as its publish is
    /// acknowledged (the feed benchmark times commit to ack with it).
    pub fn observing_acks(self, acks: tokio::sync::mpsc::UnboundedSender<uuid::Uuid>) -> Relay {
        Relay {
            acks: Some(acks),
            ..self
        }
    }

    fn label(&self) -> String {
        self.settings.stream.to_string()
    }

    /// Relays until `stop` turns true (then the batch in flight is acknowledged first),
    /// until it gives up ([`RelayError::GaveUp`]), or until it finds the stream ending in
    /// a message that is not runproof's ([`RelayError::ForeignTail`], at once).
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<(), RelayError> {
        let s = &self.settings;
        let mut health = Health::new(s);
        metrics::gauge!("runproof_relay_leader", "stream" => self.label()).set(0.0);
        'standby: loop {
            if *stop.borrow() {
                return Ok(());
            }
            let mut lead = match Leadership::try_take(&self.database, &s.stream).await {
                Ok(Some(lead)) => lead,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(s.standby_poll) => {}
                        _ = stopped(&mut stop) => {}
                    }
                    continue;
                }
                Err(e) => {
                    let pause = health.failed(e.into(), s.max_retries)?;
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stopped(&mut stop) => {}
                    }
                    continue;
                }
            };
            info!(stream = %s.stream, "relay: leader; publishing");
            metrics::gauge!("runproof_relay_leader", "stream" => self.label()).set(1.0);
            let mut js: Option<jetstream::Context> = None;
            loop {
                let turn = self.turn(&mut js, &mut lead, &mut health, &mut stop).await;
                let pause = match turn {
                    Ok(Turn::Stopped) => {
                        lead.release().await;
                        return Ok(());
                    }
                    Ok(Turn::LostLock) => {
                        warn!(stream = %s.stream, "relay: lost the leader lock; stopped publishing");
                        metrics::gauge!("runproof_relay_leader", "stream" => self.label()).set(0.0);
                        continue 'standby;
                    }
                    Err(e @ RelayError::ForeignTail { .. }) => {
                        // Waiting would not change what the stream holds.
                        lead.release().await;
                        return Err(e);
                    }
                    Err(e @ RelayError::TailMoved { .. }) => {
                        warn!(error = %e, "relay: reading the stream's tail again");
                        match health.failed(e, s.max_retries) {
                            Ok(pause) => pause,
                            Err(e) => {
                                lead.release().await;
                                return Err(e);
                            }
                        }
                    }
                    Err(e) => match health.failed(e, s.max_retries) {
                        Ok(pause) => pause,
                        Err(e) => {
                            lead.release().await;
                            return Err(e);
                        }
                    },
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopped(&mut stop) => {}
                }
                if *stop.borrow() {
                    lead.release().await;
                    return Ok(());
                }
            }
        }
    }

    /// One attempt as leader: open the stream, read its tail, publish what follows
    /// until stopped, the lock is lost, or something fails.
    ///
    /// A reader task reads the pages after the tail ahead ([`outgoing`]); this loop
    /// publishes them in order, keeping up to `window` publishes unacknowledged across
    /// page boundaries. Only when nothing is left to send does it wait for the acks.
    async fn turn(
        &self,
        js: &mut Option<jetstream::Context>,
        lead: &mut Leadership,
        health: &mut Health,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Turn, RelayError> {
        let s = &self.settings;
        let context = match js {
            Some(c) => c.clone(),
            None => {
                let c = stream::connect(&s.url, s.window).await?;
                *js = Some(c.clone());
                c
            }
        };
        let bus = stream::ensure(&context, &s.stream, &s.prefix).await?;
        let mut tail = stream::tail(&bus).await?;
        health.recovered(&tail);
        self.note(&tail, None);

        // Both tasks end with the turn (the set aborts them when dropped).
        let mut tasks = JoinSet::new();
        let (pages_tx, mut pages) = mpsc::channel(outgoing::READ_AHEAD);
        let reader = Reader {
            feed: self.feed.clone(),
            prefix: s.prefix.clone(),
            batch: s.batch,
        };
        tasks.spawn(reader.run(tail.cursor, self.feed.wake().await, pages_tx));
        let (lag_tx, lag_rx) = watch::channel(tail);
        tasks.spawn(watch_lag(self.pool.clone(), self.label(), lag_rx));
        lag_tx.send_replace(tail);
        let mut lag_measured = (Instant::now(), tail.sequence);

        let mut pending: VecDeque<Pending> = VecDeque::with_capacity(s.window);
        let mut expected = tail.sequence;
        loop {
            let batch = match pages.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Disconnected) => return Err(RelayError::ReaderStopped),
                Err(TryRecvError::Empty) => {
                    // Nothing read yet: let the oldest ack arrive, looking again after each.
                    if let Some(p) = pending.pop_front() {
                        tail = self.confirm(p).await?;
                        continue;
                    }
                    // Everything sent is acknowledged: the lag as of now (0 when caught up).
                    if lag_measured.1 != tail.sequence {
                        lag_tx.send_replace(tail);
                        lag_measured = (Instant::now(), tail.sequence);
                    }
                    tokio::select! {
                        batch = pages.recv() => batch.ok_or(RelayError::ReaderStopped)?,
                        _ = stopped(stop) => return Ok(Turn::Stopped),
                    }
                }
            };
            let batch = batch?;
            if *stop.borrow() {
                // Let the acks of what was sent arrive, then stop.
                while let Some(p) = pending.pop_front() {
                    self.confirm(p).await?;
                }
                return Ok(Turn::Stopped);
            }
            if !lead.held().await {
                return Ok(Turn::LostLock);
            }
            if lag_measured.0.elapsed() >= Duration::from_secs(1) {
                lag_tx.send_replace(tail);
                lag_measured = (Instant::now(), tail.sequence);
            }
            let started = Instant::now();
            let count = batch.len();
            for mut message in batch {
                let publish = PublishMessage::build()
                    .payload(std::mem::take(&mut message.body).into())
                    .message_id(message.id.to_string())
                    .expected_last_sequence(expected)
                    .header(CURSOR_HEADER, message.cursor_text.as_str())
                    .header("Content-Type", "application/cloudevents+json");
                let ack = context
                    .send_publish(std::mem::take(&mut message.subject), publish)
                    .await
                    .map_err(|e| RelayError::nats("publish", e))?;
                expected += 1;
                pending.push_back(Pending {
                    ack,
                    sequence: expected,
                    message,
                });
                if pending.len() >= s.window {
                    if let Some(p) = pending.pop_front() {
                        tail = self.confirm(p).await?;
                    }
                }
            }
            tracing::debug!(
                events = count,
                took_ms = started.elapsed().as_secs_f64() * 1000.0,
                "relay: sent a page"
            );
        }
    }

    /// Waits for one ack; the tail it makes, or why it is not where it must be.
    async fn confirm(&self, p: Pending) -> Result<Tail, RelayError> {
        let want = p.sequence;
        let ack = p.ack.await.map_err(|e| match e.kind() {
            PublishErrorKind::WrongLastSequence => RelayError::TailMoved {
                expected: want,
                got: 0,
            },
            _ => RelayError::nats("publish", e),
        })?;
        if ack.duplicate || ack.sequence != want {
            return Err(RelayError::TailMoved {
                expected: want,
                got: ack.sequence,
            });
        }
        let tail = Tail {
            sequence: want,
            cursor: p.message.cursor,
        };
        self.note(&tail, Some(1));
        if let Some(acks) = &self.acks {
            let _ = acks.send(p.message.id);
        }
        Ok(tail)
    }

    /// The relay's place in the metrics.
    fn note(&self, tail: &Tail, published: Option<u64>) {
        let stream = self.label();
        metrics::gauge!("runproof_relay_stream_sequence", "stream" => stream.clone())
            .set(tail.sequence as f64);
        metrics::gauge!("runproof_relay_position", "stream" => stream.clone())
            .set(tail.cursor.position().position as f64);
        if let Some(n) = published {
            metrics::counter!("runproof_relay_published_total", "stream" => stream).increment(n);
        }
    }
}

/// A publish awaiting its ack: the stream sequence it must get, and what was sent.
struct Pending {
    ack: PublishAckFuture,
    sequence: u64,
    message: Outgoing,
}

/// Measures the lag (readable events not yet in the stream) for each tail it is told,
/// into the metrics: one measurement at a time, always of the latest tail, so a slow
/// count never overwrites a newer one.
async fn watch_lag(pool: PgPool, label: String, mut tails: watch::Receiver<Tail>) {
    while tails.changed().await.is_ok() {
        let tail = *tails.borrow_and_update();
        let counted = match pool.acquire().await {
            Ok(mut conn) => stream::events_after(&mut conn, tail.cursor).await,
            Err(e) => Err(e),
        };
        if let Ok(n) = counted {
            metrics::gauge!("runproof_relay_lag_events", "stream" => label.clone()).set(n as f64);
        }
    }
}
