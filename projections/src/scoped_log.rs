//! Reading the log in commit order for one reader's scope: the downstream feed's read.
//!
//! A page is read exactly as the projector reads ([`crate::log`]): after a
//! `(transaction id, position)` cursor, only from transactions below the read horizon,
//! in that order — so no event whose transaction commits late is ever passed over.
//! On top of that, each event is placed in its workspace by the catalogue's rule
//! ([`runproof_domain::event_catalogue::WorkspaceOf`]) and kept only when the reader's
//! scope holds that workspace (and, if asked, its type).
//!
//! A reader of a few workspaces in a large log would otherwise scan far for a page, so
//! one read examines at most `scan` events; the page then ends early, and its `next`
//! position is the last event *examined* — everything up to it was either returned or
//! is outside the scope — so the next page goes on from there without a gap.
//!
//! Each event also carries its audit leaf (index and hash) when the sequencer has
//! already given it one.

use cqrs_es::Aggregate;
use runproof_domain::event_catalogue::{aggregate_types_by, WorkspaceOf};
use runproof_domain::operation_run::OperationRun;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::log::{self, StoredEvent, COLUMNS};
use crate::position::LogPosition;

/// Whose events a reader receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every event: every workspace's and the platform's own (actors, tokens).
    Whole,
    /// The events of the workspaces this actor is a member of, as the `workspaces`
    /// view shows its memberships when the page is read.
    MemberOf(Uuid),
}

/// An event with the workspace the catalogue places it in (`None`: the platform's, or
/// an aggregate type this build does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedEvent {
    pub event: StoredEvent,
    pub workspace_id: Option<Uuid>,
    /// The event's leaf in the audit log (`log_leaves`), once the sequencer has given it
    /// one: `None` until then.
    pub leaf: Option<SequencedLeaf>,
}

/// Where the sequencer placed an event: its dense leaf index in commit order and its
/// RFC 6962 leaf hash ([`crate::log_leaves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequencedLeaf {
    pub index: i64,
    pub hash: [u8; 32],
}

/// One page of a scoped read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedPage {
    /// The events in scope, in commit order.
    pub events: Vec<PlacedEvent>,
    /// Where the next page starts: the last event returned when the page is full, else
    /// the last event examined (or the cursor read after, when none was readable).
    pub next: LogPosition,
    /// Whether the read reached the read horizon: nothing more is readable now.
    pub caught_up: bool,
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedRead<'a> {
    pub after: LogPosition,
    pub scope: Scope,
    /// Only these event types (`None`: all).
    pub types: Option<&'a [String]>,
    /// At most this many events in the page.
    pub limit: i64,
    /// At most this many events examined (at least `limit`).
    pub scan: i64,
}

/// Reads one page of events in `read.scope` after `read.after`, in commit order.
pub async fn read_scoped(
    conn: &mut PgConnection,
    read: &ScopedRead<'_>,
) -> Result<ScopedPage, sqlx::Error> {
    let limit = read.limit.max(1);
    let scan = read.scan.max(limit);
    // `e.`-qualified order: the index on (transaction_id, position) serves it (see
    // `log::read_after`). The workspace is looked up only for events of the wanted
    // types; each lookup is one primary-key probe of a stream's first event.
    let sql = format!(
        "WITH scanned AS ( \
           SELECT e.* FROM events e \
           WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2) \
             AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
           ORDER BY e.transaction_id, e.position \
           LIMIT $3 \
         ), bounds AS ( \
           SELECT count(*) AS scanned, \
                  (SELECT transaction_id::text::bigint FROM scanned \
                     ORDER BY transaction_id DESC, position DESC LIMIT 1) AS last_tx, \
                  (SELECT position FROM scanned \
                     ORDER BY transaction_id DESC, position DESC LIMIT 1) AS last_pos \
           FROM scanned \
         ), placed AS ( \
           SELECT s.*, CASE \
             WHEN s.aggregate_type = ANY($5::text[]) THEN s.aggregate_id \
             WHEN s.aggregate_type = ANY($6::text[]) THEN split_part(s.aggregate_id, '/', 1) \
             WHEN s.aggregate_type = ANY($7::text[]) THEN ( \
               SELECT f.payload -> f.event_type ->> 'workspace_id' FROM events f \
               WHERE f.aggregate_type = s.aggregate_type AND f.aggregate_id = s.aggregate_id \
               ORDER BY f.sequence LIMIT 1) \
             WHEN s.aggregate_type = ANY($8::text[]) THEN ( \
               SELECT f.payload -> f.event_type ->> 'workspace_id' FROM events f \
               WHERE f.aggregate_type = $9 \
                 AND f.aggregate_id = s.payload -> s.event_type ->> 'run_id' \
               ORDER BY f.sequence LIMIT 1) \
             END AS workspace \
           FROM scanned s \
           WHERE $4::text[] IS NULL OR s.event_type = ANY($4::text[]) \
         ), chosen AS ( \
           SELECT {COLUMNS}, workspace FROM placed \
           WHERE $10::text IS NULL \
              OR workspace IN (SELECT id::text FROM workspaces WHERE member_ids ? $10) \
           ORDER BY placed.transaction_id, placed.position \
           LIMIT $11 \
         ) \
         SELECT b.scanned, b.last_tx, b.last_pos, c.*, l.leaf_index, l.leaf_hash \
         FROM bounds b LEFT JOIN chosen c ON TRUE \
           LEFT JOIN log_leaves l ON l.position = c.position \
         ORDER BY c.transaction_id, c.position"
    );
    let member = match read.scope {
        Scope::Whole => None,
        Scope::MemberOf(actor) => Some(actor.to_string()),
    };
    let rows = sqlx::query(&sql)
        .bind(read.after.transaction_id.to_string())
        .bind(read.after.position)
        .bind(scan)
        .bind(read.types)
        .bind(aggregate_types_by(WorkspaceOf::StreamId))
        .bind(aggregate_types_by(WorkspaceOf::StreamIdPrefix))
        .bind(aggregate_types_by(WorkspaceOf::FirstEvent))
        .bind(aggregate_types_by(WorkspaceOf::NamedRun))
        .bind(OperationRun::TYPE)
        .bind(member)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let Some(first) = rows.first() else {
        return Err(sqlx::Error::RowNotFound);
    };
    let scanned: i64 = first.try_get("scanned")?;
    let last_scanned = match (
        first.try_get::<Option<i64>, _>("last_tx")?,
        first.try_get::<Option<i64>, _>("last_pos")?,
    ) {
        (Some(transaction_id), Some(position)) => Some(LogPosition {
            transaction_id,
            position,
        }),
        _ => None,
    };
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<i64>, _>("position")?.is_none() {
            continue; // the one row of an empty page: bounds without an event
        }
        let workspace: Option<String> = row.try_get("workspace")?;
        let index: Option<i64> = row.try_get("leaf_index")?;
        let hash: Option<Vec<u8>> = row.try_get("leaf_hash")?;
        events.push(PlacedEvent {
            event: log::decode(row)?,
            workspace_id: workspace.and_then(|w| Uuid::parse_str(&w).ok()),
            // The table's check keeps every hash 32 bytes long.
            leaf: index
                .zip(hash.and_then(|h| <[u8; 32]>::try_from(h).ok()))
                .map(|(index, hash)| SequencedLeaf { index, hash }),
        });
    }
    let full = events.len() as i64 >= limit;
    let next = match (full, events.last(), last_scanned) {
        (true, Some(last), _) => last.event.at,
        (_, _, Some(scanned)) => scanned,
        _ => read.after,
    };
    Ok(ScopedPage {
        caught_up: !full && scanned < scan,
        events,
        next,
    })
}
