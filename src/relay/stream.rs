//! The JetStream side: connecting, creating the stream, reading its tail (where the
//! relay resumes), and the relay's lag measured from that tail.
//!
//! The stream is the relay's only checkpoint: its last message carries the cursor of
//! the event it holds ([`CURSOR_HEADER`]), so a relay that starts reads that message and
//! goes on after it. Nothing else is stored that could disagree with the stream.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use runproof_projections::LogPosition;
use sqlx::PgConnection;

use super::subject::{StreamName, SubjectPrefix};
use super::RelayError;
use crate::feed::Cursor;

/// The header carrying the commit-order cursor of the event in a message.
pub const CURSOR_HEADER: &str = "Runproof-Cursor";

/// The window in which JetStream drops a message whose `Nats-Msg-Id` it has seen.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a request to the server (stream info, a message, one publish ack) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url` (one attempt; the caller retries) and opens JetStream with at most
/// `window` publish acks outstanding.
pub async fn connect(url: &str, window: usize) -> Result<jetstream::Context, RelayError> {
    let client = async_nats::ConnectOptions::new()
        .name("runproof-relay")
        .connection_timeout(REQUEST_TIMEOUT)
        .connect(url)
        .await
        .map_err(|e| RelayError::nats("connect", e))?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .max_ack_inflight(window.max(1))
        .build(client))
}

/// The stream's configuration when the relay creates it: every subject under the
/// prefix, file storage, deduplication by event id over [`DUPLICATE_WINDOW`].
pub fn config(name: &StreamName, prefix: &SubjectPrefix) -> stream::Config {
    stream::Config {
        name: name.as_str().to_string(),
        subjects: vec![prefix.wildcard()],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        allow_direct: true,
        ..Default::default()
    }
}

/// The stream, created if missing (an existing stream is used as it is).
pub async fn ensure(
    js: &jetstream::Context,
    name: &StreamName,
    prefix: &SubjectPrefix,
) -> Result<stream::Stream, RelayError> {
    js.get_or_create_stream(config(name, prefix))
        .await
        .map_err(|e| RelayError::nats("create the stream", e))
}

/// The stream's last message: its sequence and the cursor of the event it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// The stream's last sequence (0: empty).
    pub sequence: u64,
    /// The event the last message holds; [`Cursor::START`] for an empty stream.
    pub cursor: Cursor,
}

/// Reads the stream's tail. A last message without a runproof cursor (another writer's,
/// or a stream purged to nothing) is [`RelayError::ForeignTail`]: the relay never
/// guesses where to go on.
pub async fn tail(stream: &stream::Stream) -> Result<Tail, RelayError> {
    let info = stream
        .get_info()
        .await
        .map_err(|e| RelayError::nats("read the stream's state", e))?;
    let last = info.state.last_sequence;
    if last == 0 {
        return Ok(Tail {
            sequence: 0,
            cursor: Cursor::START,
        });
    }
    let message = stream
        .get_raw_message(last)
        .await
        .map_err(|e| RelayError::nats("read the stream's last message", e))?;
    let cursor = message
        .headers
        .get(CURSOR_HEADER)
        .and_then(|v| Cursor::decode(v.as_str()).ok())
        .ok_or(RelayError::ForeignTail { sequence: last })?;
    Ok(Tail {
        sequence: last,
        cursor,
    })
}

/// How far the stream is behind the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// The stream's last sequence.
    pub sequence: u64,
    /// The last event the stream holds (`None`: none yet).
    pub relayed: Option<LogPosition>,
    /// Readable events (below the read horizon) not yet in the stream.
    pub events_behind: i64,
}

/// Readable events after `cursor` (what a relay at `cursor` still has to publish).
pub async fn events_after(conn: &mut PgConnection, cursor: Cursor) -> Result<i64, sqlx::Error> {
    let at = cursor.position();
    sqlx::query_scalar(
        "SELECT count(*) FROM events \
         WHERE (transaction_id, position) > ($1::text::xid8, $2) \
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .bind(at.transaction_id.to_string())
    .bind(at.position)
    .fetch_one(conn)
    .await
}

/// The lag of `stream` behind the log, from the stream's own tail.
pub async fn lag(stream: &stream::Stream, conn: &mut PgConnection) -> Result<Lag, RelayError> {
    let tail = tail(stream).await?;
    let events_behind = events_after(conn, tail.cursor)
        .await
        .map_err(RelayError::Database)?;
    Ok(Lag {
        sequence: tail.sequence,
        relayed: (tail.sequence > 0).then(|| tail.cursor.position()),
        events_behind,
    })
}

/// Opens `name` on `url` and measures its lag (for `project --once` and `/metrics`).
pub async fn lag_of(
    url: &str,
    name: &StreamName,
    conn: &mut PgConnection,
) -> Result<Lag, RelayError> {
    let js = connect(url, 1).await?;
    let stream = js
        .get_stream(name.as_str())
        .await
        .map_err(|e| RelayError::nats("open the stream", e))?;
    lag(&stream, conn).await
}
