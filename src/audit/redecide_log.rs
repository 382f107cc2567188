//! `audit redecide` over the live log: streams the `events` table in commit order, in
//! batches, into the database-free [`Redecider`] — never a projection.

use runproof_adapters::AdapterRegistry;
use runproof_domain::reconciliation::RecordKind;
use runproof_projections::log;
use runproof_projections::LogPosition;
use sqlx::{PgConnection, PgPool, Row};
use std::time::{Duration, Instant};

use super::redecide::{LogEntry, RedecideFilter, RedecideReport, Redecider};

/// Events read per batch.
pub const BATCH: i64 = 1_000;

/// How long to wait for the events committed when this starts to become readable (a
/// transaction that stays open anywhere in the cluster holds the read horizon back).
pub const WAIT_READABLE: Duration = Duration::from_secs(10);

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// From the first event.
    Start,
    /// From the event at this position (inclusive), in commit order.
    Position(i64),
}

/// Why the log could not be re-decided.
#[derive(Debug, thiserror::Error)]
pub enum RedecideLogError {
    /// No event at the `--since` position (`last`: the position of the log's last
    /// event in commit order, 0 when it is empty).
    #[error("no event at position {position}")]
    NoPosition { position: i64, last: i64 },
    #[error("database error while reading the log")]
    Database(#[from] sqlx::Error),
}

/// Re-decides every recorded decision from `since` up to the last event committed when
/// this starts (later events are left for the next run). Events committed by then but
/// still behind the read horizon after [`WAIT_READABLE`] are left out and counted in
/// [`RedecideReport::unread`].
pub async fn redecide_log(
    pool: &PgPool,
    registry: &AdapterRegistry,
    since: Since,
    filter: RedecideFilter,
) -> Result<RedecideReport, RedecideLogError> {
    let mut conn = pool.acquire().await?;
    let upto = last_committed(&mut conn).await?;
    let after = match since {
        Since::Start => LogPosition::START,
        Since::Position(position) => match committed_at(&mut conn, position).await? {
            // Just before the event: nothing sorts between (tx, p - 1) and (tx, p).
            Some(at) => LogPosition {
                transaction_id: at.transaction_id,
                position: at.position - 1,
            },
            None => {
                let last = upto.map_or(0, |u| u.position);
                return Err(RedecideLogError::NoPosition { position, last });
            }
        },
    };
    let Some(upto) = upto else {
        return Ok(RedecideReport::default());
    };
    let readable = wait_readable(&mut conn, upto).await?;
    let run_stream = RecordKind::OperationRun.stream_type();
    let mut redecider = Redecider::new(registry, filter);
    let mut after = after;
    loop {
        let batch = log::read_after(&mut conn, after, Some(readable), BATCH).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.at;
        let entries: Vec<LogEntry> = batch.iter().map(LogEntry::from).collect();
        // Runs queued before the range (or decided twice): their scope comes from their
        // own stream.
        let unknown: Vec<String> = redecider
            .unknown_runs(&entries)
            .iter()
            .map(ToString::to_string)
            .collect();
        if !unknown.is_empty() {
            let streams: Vec<(&str, &str)> =
                unknown.iter().map(|id| (run_stream, id.as_str())).collect();
            for event in log::read_streams(&mut conn, &streams).await? {
                if event.event_type == "RunQueued" {
                    redecider.learn_scope(&LogEntry::from(&event));
                }
            }
        }
        for entry in &entries {
            redecider.feed(entry);
        }
        redecider.end_batch();
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    let mut report = redecider.finish();
    if readable < upto {
        report.unread = unread_count(&mut conn, readable, upto).await?;
    }
    Ok(report)
}

/// The last event committed so far, whether or not readers can read it yet.
async fn last_committed(conn: &mut PgConnection) -> Result<Option<LogPosition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
         ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(LogPosition {
            transaction_id: r.try_get("transaction_id")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// The place of the committed event at `position`, if there is one.
async fn committed_at(
    conn: &mut PgConnection,
    position: i64,
) -> Result<Option<LogPosition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
         WHERE position = $1",
    )
    .bind(position)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(LogPosition {
            transaction_id: r.try_get("transaction_id")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// Waits (at most [`WAIT_READABLE`]) until readers can read up to `upto`; returns how far
/// they can.
async fn wait_readable(
    conn: &mut PgConnection,
    upto: LogPosition,
) -> Result<LogPosition, sqlx::Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let readable = log::horizon(conn)
            .await?
            .last_readable
            .unwrap_or(LogPosition::START);
        if readable >= upto || started.elapsed() >= WAIT_READABLE {
            return Ok(readable.min(upto));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Events after `readable` up to `upto`, in commit order.
async fn unread_count(
    conn: &mut PgConnection,
    readable: LogPosition,
    upto: LogPosition,
) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events \
         WHERE (transaction_id, position) > ($1::text::xid8, $2) \
           AND (transaction_id, position) <= ($3::text::xid8, $4)",
    )
    .bind(readable.transaction_id.to_string())
    .bind(readable.position)
    .bind(upto.transaction_id.to_string())
    .bind(upto.position)
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
