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
//!
//! Placing an event whose workspace is its stream's first event's (or its run's) costs
//! a probe of that first event. The rule is written once, in SQL ([`placement`]); a
//! reader of the whole log may keep a [`WorkspaceMemo`] of what the rule answered, so a
//! stream is probed once per memo rather than once per event: a stream's first event
//! never changes (the log is append-only), so neither does the answer.

use std::collections::HashMap;
use std::sync::Mutex;

use cqrs_es::Aggregate;
use runproof_domain::event_catalogue::{aggregate_types_by, WorkspaceOf};
use runproof_domain::operation_run::OperationRun;
use sqlx::postgres::PgRow;
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
#[derive(Debug, Clone)]
pub struct ScopedRead<'a> {
    pub after: LogPosition,
    pub scope: Scope,
    /// Only these event types (`None`: all).
    pub types: Option<&'a [String]>,
    /// At most this many events in the page.
    pub limit: i64,
    /// At most this many events examined (at least `limit`).
    pub scan: i64,
    /// Workspaces already placed, for a read of the whole log without a type filter
    /// (other reads place every event in the same statement that filters by it).
    pub memo: Option<&'a WorkspaceMemo>,
}

/// What the placement rule answered for streams read before: `(aggregate type,
/// aggregate id)` of the first event the rule reads → its workspace. Only found
/// workspaces are kept (a first event not yet readable is asked again). Bounded: when
/// full it starts over.
#[derive(Debug)]
pub struct WorkspaceMemo {
    placed: Mutex<HashMap<(String, String), Uuid>>,
    capacity: usize,
}

impl WorkspaceMemo {
    pub fn new(capacity: usize) -> Self {
        WorkspaceMemo {
            placed: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn get(&self, key: &(String, String)) -> Option<Uuid> {
        self.placed.lock().ok()?.get(key).copied()
    }

    fn put(&self, found: impl IntoIterator<Item = ((String, String), Uuid)>) {
        let Ok(mut placed) = self.placed.lock() else {
            return;
        };
        for (key, workspace) in found {
            if placed.len() >= self.capacity {
                placed.clear();
            }
            placed.insert(key, workspace);
        }
    }
}

/// The catalogue's placement rule ([`WorkspaceOf`]) in SQL, written once for every read.
mod placement {
    /// For an event row `s`: the stream whose first event names the workspace —
    /// `key_type` and `key_id` (NULL when the rule reads no first event). Parameters:
    /// the aggregate types placed by their first event, those placed by a named run,
    /// and the run's aggregate type.
    pub fn key_columns(first_event: &str, named_run: &str, run_type: &str) -> String {
        format!(
            "CASE \
               WHEN s.aggregate_type = ANY({first_event}::text[]) THEN s.aggregate_type \
               WHEN s.aggregate_type = ANY({named_run}::text[]) THEN {run_type} \
             END AS key_type, CASE \
               WHEN s.aggregate_type = ANY({first_event}::text[]) THEN s.aggregate_id \
               WHEN s.aggregate_type = ANY({named_run}::text[]) \
                 THEN json_extract_path_text(s.payload, s.event_type, 'run_id') \
             END AS key_id"
        )
    }

    /// For an event row `s`: the workspace its own stream id names (NULL for the other
    /// rules). Parameters: the aggregate types whose id is the workspace, and those
    /// whose id starts with it.
    pub fn direct(stream_id: &str, prefix: &str) -> String {
        format!(
            "CASE \
               WHEN s.aggregate_type = ANY({stream_id}::text[]) THEN s.aggregate_id \
               WHEN s.aggregate_type = ANY({prefix}::text[]) THEN split_part(s.aggregate_id, '/', 1) \
             END"
        )
    }

    /// For a row `k` with `key_type` and `key_id`: the workspace of that stream's first
    /// event — one primary-key probe, one pass over its JSON (`json_extract_path_text`
    /// parses the text once; `-> … ->>` would parse the outer and the inner object).
    pub fn first_event(k: &str) -> String {
        format!(
            "(SELECT json_extract_path_text(f.payload, f.event_type, 'workspace_id') \
              FROM events f \
              WHERE f.aggregate_type = {k}.key_type AND f.aggregate_id = {k}.key_id \
              ORDER BY f.sequence LIMIT 1)"
        )
    }
}

/// Reads one page of events in `read.scope` after `read.after`, in commit order.
pub async fn read_scoped(
    conn: &mut PgConnection,
    read: &ScopedRead<'_>,
) -> Result<ScopedPage, sqlx::Error> {
    let limit = read.limit.max(1);
    let scan = read.scan.max(limit);
    if let (Scope::Whole, None, Some(memo)) = (read.scope, read.types, read.memo) {
        return read_whole(conn, read.after, limit, memo).await;
    }
    // `e.`-qualified order: the index on (transaction_id, position) serves it (see
    // `log::read_after`). The workspace is looked up only for events of the wanted
    // types, and once per stream of the page (`keys` → `firsts`).
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
         ), keyed AS ( \
           SELECT s.*, {keys}, {direct} AS direct \
           FROM scanned s \
           WHERE $4::text[] IS NULL OR s.event_type = ANY($4::text[]) \
         ), keys AS ( \
           SELECT DISTINCT key_type, key_id FROM keyed WHERE key_id IS NOT NULL \
         ), firsts AS ( \
           SELECT k.key_type, k.key_id, {first} AS workspace FROM keys k \
         ), placed AS ( \
           SELECT p.*, COALESCE(p.direct, f.workspace) AS workspace \
           FROM keyed p \
           LEFT JOIN firsts f ON f.key_type = p.key_type AND f.key_id = p.key_id \
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
         ORDER BY c.transaction_id, c.position",
        keys = placement::key_columns("$7", "$8", "$9"),
        direct = placement::direct("$5", "$6"),
        first = placement::first_event("k"),
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
        events.push(PlacedEvent {
            event: log::decode(row)?,
            workspace_id: workspace.and_then(|w| Uuid::parse_str(&w).ok()),
            leaf: leaf_of(row)?,
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

/// The leaf columns of a row, if the sequencer placed the event.
fn leaf_of(row: &PgRow) -> Result<Option<SequencedLeaf>, sqlx::Error> {
    let index: Option<i64> = row.try_get("leaf_index")?;
    let hash: Option<Vec<u8>> = row.try_get("leaf_hash")?;
    // The table's check keeps every hash 32 bytes long.
    Ok(index
        .zip(hash.and_then(|h| <[u8; 32]>::try_from(h).ok()))
        .map(|(index, hash)| SequencedLeaf { index, hash }))
}

/// A page of the whole log, every type: every event read is returned, so the page is
/// the next `limit` readable events. The events are read first, with what the rule
/// needs (their stream's key); the workspaces the memo does not hold are then looked up
/// in one statement, once per stream — the same rule, in the same SQL, as a scoped read.
async fn read_whole(
    conn: &mut PgConnection,
    after: LogPosition,
    limit: i64,
    memo: &WorkspaceMemo,
) -> Result<ScopedPage, sqlx::Error> {
    let sql = format!(
        "WITH page AS ( \
           SELECT {COLUMNS}, {keys}, {direct} AS direct FROM ( \
             SELECT e.* FROM events e \
             WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2) \
               AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY e.transaction_id, e.position \
             LIMIT $3 \
           ) s \
         ) \
         SELECT p.*, l.leaf_index, l.leaf_hash \
         FROM page p LEFT JOIN log_leaves l ON l.position = p.position \
         ORDER BY p.transaction_id, p.position",
        keys = placement::key_columns("$6", "$7", "$8"),
        direct = placement::direct("$4", "$5"),
    );
    let rows = sqlx::query(&sql)
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(limit)
        .bind(aggregate_types_by(WorkspaceOf::StreamId))
        .bind(aggregate_types_by(WorkspaceOf::StreamIdPrefix))
        .bind(aggregate_types_by(WorkspaceOf::FirstEvent))
        .bind(aggregate_types_by(WorkspaceOf::NamedRun))
        .bind(OperationRun::TYPE)
        .fetch_all(&mut *conn)
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        let direct: Option<String> = row.try_get("direct")?;
        let key = match (
            row.try_get::<Option<String>, _>("key_type")?,
            row.try_get::<Option<String>, _>("key_id")?,
        ) {
            (Some(t), Some(id)) => Some((t, id)),
            _ => None,
        };
        events.push(PlacedEvent {
            event: log::decode(row)?,
            workspace_id: direct.and_then(|w| Uuid::parse_str(&w).ok()),
            leaf: leaf_of(row)?,
        });
        keys.push(key);
    }
    // The streams the memo does not know, each once.
    let mut missing: Vec<&(String, String)> = Vec::new();
    let mut known: HashMap<&(String, String), Option<Uuid>> = HashMap::new();
    for key in keys.iter().flatten() {
        if !known.contains_key(key) {
            let found = memo.get(key);
            if found.is_none() {
                missing.push(key);
            }
            known.insert(key, found);
        }
    }
    let mut looked_up: HashMap<(String, String), Uuid> = HashMap::new();
    if !missing.is_empty() {
        let types: Vec<&str> = missing.iter().map(|k| k.0.as_str()).collect();
        let ids: Vec<&str> = missing.iter().map(|k| k.1.as_str()).collect();
        let found: Vec<(String, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT k.key_type, k.key_id, {first} \
             FROM unnest($1::text[], $2::text[]) AS k(key_type, key_id)",
            first = placement::first_event("k"),
        ))
        .bind(&types)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        for (key_type, key_id, workspace) in found {
            if let Some(w) = workspace.and_then(|w| Uuid::parse_str(&w).ok()) {
                looked_up.insert((key_type, key_id), w);
            }
        }
        memo.put(looked_up.iter().map(|(k, w)| (k.clone(), *w)));
    }
    for (event, key) in events.iter_mut().zip(&keys) {
        if let Some(key) = key {
            event.workspace_id = known
                .get(key)
                .copied()
                .flatten()
                .or_else(|| looked_up.get(key).copied());
        }
    }
    let next = events.last().map_or(after, |e| e.event.at);
    Ok(ScopedPage {
        caught_up: (events.len() as i64) < limit,
        events,
        next,
    })
}
