//! Reading the event log in commit order.
//!
//! The `events` table gives every event a global `position` (an identity column) and the
//! id of the transaction that wrote it (`pg_current_xact_id()`). Positions are assigned
//! at insert, not at commit, so a transaction that commits late can hold a *smaller*
//! position than events a reader has already seen. Reading "position > last" would skip
//! it forever. Instead, readers only read events whose transaction id is below
//! `pg_snapshot_xmin(pg_current_snapshot())` — the oldest transaction still running —
//! and page in `(transaction_id, position)` order. Every transaction below that horizon
//! has ended, and every later writer gets a larger transaction id, so nothing can ever
//! appear behind a reader's position.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use runproof_domain::upcasting::{self, DecodeError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::position::LogPosition;

/// One event as stored, with its place in the log. Payload and metadata stay raw JSON
/// text until a projection decodes the events it cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub at: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    /// When the database recorded it (`None` for events recorded before runproof kept
    /// that time).
    pub recorded_at: Option<DateTime<Utc>>,
}

impl StoredEvent {
    /// The event in its current shape: upcast through the domain's one registry
    /// ([`runproof_domain::upcasting`]) and decoded. Every reader of stored events
    /// decodes this way.
    pub fn decode<E: DomainEvent + DeserializeOwned>(&self) -> Result<E, DecodeError> {
        upcasting::decode(&self.event_type, &self.event_version, &self.payload)
    }
}

/// The columns of a [`StoredEvent`], as [`decode`] reads them.
pub(crate) const COLUMNS: &str =
    "transaction_id::text::bigint AS transaction_id, position, aggregate_type, \
     aggregate_id, sequence, event_type, event_version, payload::text AS payload, \
     metadata::text AS metadata, recorded_at";

pub(crate) fn decode(row: &PgRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        at: LogPosition {
            transaction_id: row.try_get("transaction_id")?,
            position: row.try_get("position")?,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get("recorded_at")?,
    })
}

/// Up to `limit` events after `after` (and at most `upto`, when given), in commit
/// order, from transactions that have all ended.
///
/// The order names the table's columns (`events.transaction_id`): a bare
/// `transaction_id` would be the selected `bigint` alias, which no index serves, and every
/// batch would sort all the events after `after` instead of walking the commit-order
/// index (400 ms instead of 10 ms per batch at 200,000 events).
pub async fn read_after(
    conn: &mut PgConnection,
    after: LogPosition,
    upto: Option<LogPosition>,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let upto = upto.unwrap_or(LogPosition {
        transaction_id: i64::MAX,
        position: i64::MAX,
    });
    // The order names the table's columns (`e.`): a bare `transaction_id` would be the
    // output column (the `bigint` cast in COLUMNS), which no index serves — every batch
    // would scan and sort the rest of the log.
    let sql = format!(
        "SELECT {COLUMNS} FROM events \
         WHERE (transaction_id, position) > ($1::text::xid8, $2) \
           AND (transaction_id, position) <= ($3::text::xid8, $4) \
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.transaction_id, events.position \
         LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(upto.transaction_id.to_string())
        .bind(upto.position)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// One stream's events in sequence order (for history views and audits).
pub async fn read_stream(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         ORDER BY sequence"
    );
    let rows = sqlx::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// One stream's events after `after_sequence`, in sequence order (to fold onto a cached
/// state of the stream at that sequence).
pub async fn read_stream_after(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         AND sequence > $3 ORDER BY sequence"
    );
    let rows = sqlx::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after_sequence)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// One event of a stream as an aggregate load folds it: its stream, its sequence and its
/// body, and nothing else of the row (an aggregate needs neither its place in the log nor
/// its metadata).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StreamEvent {
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
}

impl StreamEvent {
    /// The event in its current shape, decoded as [`StoredEvent::decode`] decodes it.
    pub fn decode<E: DomainEvent + DeserializeOwned>(&self) -> Result<E, DecodeError> {
        upcasting::decode(&self.event_type, &self.event_version, &self.payload)
    }
}

/// The events of the streams `aggregate_ids` of one aggregate type, in (id, sequence)
/// order, for folding their aggregates: one statement however many streams.
pub async fn read_streams_to_fold(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_ids: &[String],
) -> Result<Vec<StreamEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT aggregate_id, sequence, event_type, event_version, payload::text AS payload \
         FROM events WHERE aggregate_type = $1 AND aggregate_id = ANY($2) \
         ORDER BY aggregate_id, sequence",
    )
    .bind(aggregate_type)
    .bind(aggregate_ids)
    .fetch_all(conn)
    .await
}

/// A row of `aggregate_state_cache`: version, state (JSON text) and checksum.
pub type CachedState = (i64, String, String);

/// A stream's cached state (of `format`, if there is one) and the events after it, in one
/// statement. The caller checks the cached state; when it rejects it, it reads the
/// stream from the start ([`read_stream_after`] with 0).
pub async fn read_stream_after_cache(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    format: &str,
) -> Result<(Option<CachedState>, Vec<StoredEvent>), sqlx::Error> {
    let (cached, events, _) =
        read_after_cache(conn, aggregate_type, aggregate_id, format, None).await?;
    Ok((cached, events))
}

/// As [`read_stream_after_cache`], and the whole of another (short) stream in the same
/// statement — both as of the same moment, in one round trip: the events of that stream
/// come third, in sequence order.
pub async fn read_stream_after_cache_with(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    format: &str,
    other: (&str, &str),
) -> Result<(Option<CachedState>, Vec<StoredEvent>, Vec<StoredEvent>), sqlx::Error> {
    read_after_cache(conn, aggregate_type, aggregate_id, format, Some(other)).await
}

async fn read_after_cache(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    format: &str,
    other: Option<(&str, &str)>,
) -> Result<(Option<CachedState>, Vec<StoredEvent>, Vec<StoredEvent>), sqlx::Error> {
    let cached_stream = format!(
        "SELECT c.version AS cached_version, c.state::text AS cached_state, \
                c.checksum AS cached_checksum, 0 AS part, e.* \
         FROM (SELECT 1) AS one \
         LEFT JOIN aggregate_state_cache c \
           ON c.aggregate_type = $1 AND c.aggregate_id = $2 AND c.format = $3 \
         LEFT JOIN LATERAL ( \
           SELECT {COLUMNS} FROM events \
           WHERE aggregate_type = $1 AND aggregate_id = $2 \
             AND sequence > coalesce(c.version, 0) \
           ORDER BY sequence) e ON true"
    );
    let sql = match other {
        None => format!("{cached_stream} ORDER BY sequence"),
        Some(_) => format!(
            "{cached_stream} \
             UNION ALL \
             SELECT NULL, NULL, NULL, 1, {COLUMNS} FROM events \
             WHERE aggregate_type = $4 AND aggregate_id = $5 \
             ORDER BY part, sequence"
        ),
    };
    let mut query = sqlx::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(format);
    if let Some((other_type, other_id)) = other {
        query = query.bind(other_type).bind(other_id);
    }
    let rows = query.fetch_all(conn).await?;
    let mut cached = None;
    let mut events = Vec::with_capacity(rows.len());
    let mut others = Vec::new();
    for row in &rows {
        let part: i32 = row.try_get("part")?;
        if part == 1 {
            others.push(decode(row)?);
            continue;
        }
        if cached.is_none() {
            let version: Option<i64> = row.try_get("cached_version")?;
            let state: Option<String> = row.try_get("cached_state")?;
            let checksum: Option<String> = row.try_get("cached_checksum")?;
            if let (Some(v), Some(s), Some(c)) = (version, state, checksum) {
                cached = Some((v, s, c));
            }
        }
        let sequence: Option<i64> = row.try_get("sequence")?;
        if sequence.is_some() {
            events.push(decode(row)?);
        }
    }
    Ok((cached, events, others))
}

/// The events of several streams in one statement: stream by stream in the order given,
/// each in sequence order (e.g. a token's stream and its actor's, read together so that
/// both are as of the same moment).
pub async fn read_streams(
    conn: &mut PgConnection,
    streams: &[(&str, &str)],
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let (types, ids): (Vec<&str>, Vec<&str>) = streams.iter().copied().unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS s(t, i, n) \
         JOIN events ON aggregate_type = s.t AND aggregate_id = s.i \
         ORDER BY s.n, sequence"
    );
    let rows = sqlx::query(&sql)
        .bind(types)
        .bind(ids)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// The ids of the `aggregate_type` streams with an event whose body names `run_id` as
/// its `run_id` (e.g. the reviews a compose run drafted or took over), in id order —
/// with `upto`, only events at or before it in commit order count.
/// Generic over the event types: a new event that carries `run_id` is found too.
/// Served by the partial expression index `events_review_run_id_idx` for reviews.
pub async fn streams_naming_run(
    conn: &mut PgConnection,
    aggregate_type: &str,
    run_id: uuid::Uuid,
    upto: Option<LogPosition>,
) -> Result<Vec<String>, sqlx::Error> {
    let upto = upto.unwrap_or(LogPosition {
        transaction_id: i64::MAX,
        position: i64::MAX,
    });
    sqlx::query_scalar(
        "SELECT DISTINCT aggregate_id FROM events \
         WHERE aggregate_type = $1 AND (payload -> event_type ->> 'run_id') = $2 \
           AND (transaction_id, position) <= ($3::text::xid8, $4) \
         ORDER BY aggregate_id",
    )
    .bind(aggregate_type)
    .bind(run_id.to_string())
    .bind(upto.transaction_id.to_string())
    .bind(upto.position)
    .fetch_all(conn)
    .await
}

/// The log position of one stream's event at `sequence` (used to wait for a write).
pub async fn position_of(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
) -> Result<Option<LogPosition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(sequence)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(LogPosition {
            transaction_id: r.try_get("transaction_id")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// The log position of the latest committed event among these streams (given as
/// `(aggregate type, aggregate id)`), in commit order — not the highest sequence: a
/// later sequence can be written by an older transaction — whether or not readers can
/// read it yet. Used to check that a projection had applied everything a decision read
/// from it.
pub async fn last_position_of_streams(
    conn: &mut PgConnection,
    streams: &[(&str, &str)],
) -> Result<Option<LogPosition>, sqlx::Error> {
    if streams.is_empty() {
        return Ok(None);
    }
    let types: Vec<&str> = streams.iter().map(|(t, _)| *t).collect();
    let ids: Vec<&str> = streams.iter().map(|(_, id)| *id).collect();
    let row = sqlx::query(
        "SELECT e.transaction_id::text::bigint AS transaction_id, e.position \
         FROM UNNEST($1::text[], $2::text[]) AS s(aggregate_type, aggregate_id) \
         CROSS JOIN LATERAL (SELECT transaction_id, position FROM events \
             WHERE aggregate_type = s.aggregate_type AND aggregate_id = s.aggregate_id \
             ORDER BY transaction_id DESC, position DESC LIMIT 1) e \
         ORDER BY e.transaction_id DESC, e.position DESC LIMIT 1",
    )
    .bind(types)
    .bind(ids)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(LogPosition {
            transaction_id: r.try_get("transaction_id")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// How far the readable log reaches now, and what holds it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Horizon {
    /// The last event below the read horizon, if any.
    pub last_readable: Option<LogPosition>,
    /// Events written by transactions still running (or above the horizon).
    pub events_above_horizon: i64,
    /// The start of the oldest transaction still running on the server (in any
    /// database: transaction ids are cluster-wide), if any: a long-open transaction holds
    /// every reader back.
    pub oldest_open_transaction_since: Option<DateTime<Utc>>,
    /// The oldest transaction still running on the server, and who holds it.
    pub oldest_transaction: Option<OldestTransaction>,
}

/// Reads the current horizon (for status and lag reports).
pub async fn horizon(conn: &mut PgConnection) -> Result<Horizon, sqlx::Error> {
    let row = sqlx::query(
        "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) \
         SELECT \
           (SELECT transaction_id::text::bigint FROM events, h WHERE transaction_id < h.xmin \
              ORDER BY transaction_id DESC, position DESC LIMIT 1) AS tx, \
           (SELECT position FROM events, h WHERE transaction_id < h.xmin \
              ORDER BY transaction_id DESC, position DESC LIMIT 1) AS pos, \
           (SELECT count(*) FROM events, h WHERE transaction_id >= h.xmin) AS above, \
           (SELECT min(xact_start) FROM pg_stat_activity \
              WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()) AS oldest",
    )
    .fetch_one(&mut *conn)
    .await?;
    let tx: Option<i64> = row.try_get("tx")?;
    let pos: Option<i64> = row.try_get("pos")?;
    Ok(Horizon {
        last_readable: tx.zip(pos).map(|(transaction_id, position)| LogPosition {
            transaction_id,
            position,
        }),
        events_above_horizon: row.try_get("above")?,
        oldest_open_transaction_since: row.try_get("oldest")?,
        oldest_transaction: oldest_transaction(conn).await?,
    })
}

/// Who holds the oldest running transaction, as far as this database role can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HorizonHolder {
    /// The session running it: its server process id, its database, and when its
    /// transaction began (with its age in whole seconds, by the server's clock). The
    /// start and age are `None` for another role's session unless this role is a
    /// superuser or has `pg_read_all_stats` (PostgreSQL hides them; pid, database and
    /// transaction id stay visible).
    Session {
        pid: i32,
        database: Option<String>,
        since: Option<DateTime<Utc>>,
        age_seconds: Option<i64>,
    },
    /// A transaction without a session this role can see (a prepared transaction, or a
    /// session that ended a moment ago).
    Unseen,
}

/// The oldest transaction still running on the server: it holds the read horizon, so
/// every event written by it or by any later transaction stays unreadable until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldestTransaction {
    /// Its transaction id (the 64-bit form stored with events).
    pub transaction_id: i64,
    pub holder: HorizonHolder,
}

impl OldestTransaction {
    /// Whether it holds back the event at `at` (the event's transaction is not older).
    pub fn holds_back(&self, at: LogPosition) -> bool {
        at.transaction_id >= self.transaction_id
    }
}

/// The oldest transaction running on the server now, or `None` when none is running.
///
/// The horizon is `pg_snapshot_xmin(pg_current_snapshot())`, the oldest running
/// transaction id anywhere on the server; the session whose `backend_xid` it is holds
/// it. A transaction no session holds (a prepared one) is [`HorizonHolder::Unseen`].
pub async fn oldest_transaction(
    conn: &mut PgConnection,
) -> Result<Option<OldestTransaction>, sqlx::Error> {
    let row = sqlx::query(
        "WITH h AS (SELECT pg_snapshot_xmin(s)::text::bigint AS xmin, \
                           pg_snapshot_xmax(s)::text::bigint AS xmax \
                    FROM pg_current_snapshot() AS s) \
         SELECT h.xmin, h.xmax, a.pid, a.datname::text AS datname, a.xact_start, \
                EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::bigint AS age_seconds \
         FROM h LEFT JOIN pg_stat_activity a \
           ON a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid() \
          AND a.backend_xid::text::bigint = h.xmin % 4294967296 \
         ORDER BY a.xact_start NULLS LAST LIMIT 1",
    )
    .fetch_one(conn)
    .await?;
    let xmin: i64 = row.try_get("xmin")?;
    let xmax: i64 = row.try_get("xmax")?;
    if xmin >= xmax {
        return Ok(None);
    }
    let pid: Option<i32> = row.try_get("pid")?;
    let holder = match pid {
        Some(pid) => HorizonHolder::Session {
            pid,
            database: row.try_get("datname")?,
            since: row.try_get("xact_start")?,
            age_seconds: row.try_get("age_seconds")?,
        },
        None => HorizonHolder::Unseen,
    };
    Ok(Some(OldestTransaction {
        transaction_id: xmin,
        holder,
    }))
}

/// The event at `position`, when readers can read it (its transaction has ended), with
/// its metadata as stored (JSON text).
pub async fn readable_at(
    conn: &mut PgConnection,
    position: i64,
) -> Result<Option<(LogPosition, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position, \
                metadata::text AS metadata FROM events \
         WHERE position = $1 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .bind(position)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            LogPosition {
                transaction_id: r.try_get("transaction_id")?,
                position: r.try_get("position")?,
            },
            r.try_get("metadata")?,
        ))
    })
    .transpose()
}

/// The highest position among the events readers can read now (`None`: none yet).
pub async fn last_readable_position(conn: &mut PgConnection) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(position) FROM events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .fetch_one(conn)
    .await
}

/// Up to `limit` readable events before `before` (from the end of the readable log when
/// `None`), going backwards in commit order: each one's place and its metadata as stored
/// (JSON text). For finding where in the log a time falls.
pub async fn metadata_before(
    conn: &mut PgConnection,
    before: Option<LogPosition>,
    limit: i64,
) -> Result<Vec<(LogPosition, String)>, sqlx::Error> {
    let before = before.unwrap_or(LogPosition {
        transaction_id: i64::MAX,
        position: i64::MAX,
    });
    let rows = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position, \
                metadata::text AS metadata FROM events \
         WHERE (transaction_id, position) < ($1::text::xid8, $2) \
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.transaction_id DESC, events.position DESC \
         LIMIT $3",
    )
    .bind(before.transaction_id.to_string())
    .bind(before.position)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                LogPosition {
                    transaction_id: r.try_get("transaction_id")?,
                    position: r.try_get("position")?,
                },
                r.try_get("metadata")?,
            ))
        })
        .collect()
}

/// Number of events at or before `upto` (to check a rebuild's final count).
pub async fn count_upto(conn: &mut PgConnection, upto: LogPosition) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE (transaction_id, position) <= ($1::text::xid8, $2)",
    )
    .bind(upto.transaction_id.to_string())
    .bind(upto.position)
    .fetch_one(conn)
    .await
}

/// Total number of events (a progress total; not a consistency check).
pub async fn count_all(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(conn)
        .await
}
