//! The shape most projection tables share: one row per stream, folded from that stream's
//! events. A batch is applied by loading the rows it touches, folding the events in
//! memory with the domain's own fold, and writing every touched row back in one
//! statement. Rows carry their stream version and only move forward, so re-applying an
//! event changes nothing.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::ProjectionError;
use crate::sql::quote_ident;

/// A projected stream: its folded state and where it stands in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<S> {
    pub state: S,
    /// When the stream's last event happened.
    pub updated_at: DateTime<Utc>,
    /// The stream's last sequence number.
    pub version: i64,
    /// The log position of the stream's last event.
    pub last_position: i64,
}

/// A table with one row per stream of one aggregate type.
#[async_trait]
pub(crate) trait StreamTable: Send + Sync {
    type Event: DomainEvent + DeserializeOwned + Send;
    type State: Send + Sync;

    /// The aggregate type whose events are folded.
    fn aggregate_type(&self) -> &'static str;
    /// The live table's name (for reports).
    fn table(&self) -> &'static str;
    /// The domain's fold.
    fn fold(state: Option<Self::State>, event: Self::Event) -> Option<Self::State>;
    /// When an event happened (recorded in the event itself).
    fn occurred_at(event: &Self::Event) -> DateTime<Utc>;
    /// The rows of `table` for these stream ids.
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<Self::State>)>, sqlx::Error>;
    /// Inserts or updates these rows (only moving a row's version forward).
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<Self::State>],
    ) -> Result<(), sqlx::Error>;
}

struct Fold<S> {
    state: Option<S>,
    version: i64,
    last_position: i64,
    updated_at: Option<DateTime<Utc>>,
}

impl<S> Fold<S> {
    /// Before the stream's first event.
    fn empty() -> Self {
        Fold {
            state: None,
            version: 0,
            last_position: 0,
            updated_at: None,
        }
    }

    /// Folds one event of the stream with the domain's fold; `false` when the row had
    /// applied it already (its sequence is not past the row's version).
    fn step<T: StreamTable<State = S>>(&mut self, stored: &StoredEvent, event: T::Event) -> bool {
        if stored.sequence <= self.version {
            return false;
        }
        self.updated_at = Some(T::occurred_at(&event));
        self.state = T::fold(self.state.take(), event);
        self.version = stored.sequence;
        self.last_position = stored.at.position;
        true
    }

    /// The row, once the stream has a state.
    fn into_row(self) -> Option<Row<S>> {
        Some(Row {
            state: self.state?,
            updated_at: self.updated_at?,
            version: self.version,
            last_position: self.last_position,
        })
    }
}

/// One stream's row from its events (given in sequence order), folded exactly as
/// [`apply`] folds them into the table — the same steps, without the table. Events of
/// other aggregate types are skipped. `None` while the events hold no state (before the
/// stream's first event).
pub(crate) fn fold_stream<T: StreamTable>(
    t: &T,
    events: &[StoredEvent],
) -> Result<Option<Row<T::State>>, ProjectionError> {
    let mut fold = Fold::empty();
    for e in events
        .iter()
        .filter(|e| e.aggregate_type == t.aggregate_type())
    {
        let event: T::Event = e.decode().map_err(|err| decode_error(e, err))?;
        fold.step::<T>(e, event);
    }
    Ok(fold.into_row())
}

/// Applies the batch's events of `T`'s aggregate type to `table`.
pub(crate) async fn apply<T: StreamTable>(
    t: &T,
    conn: &mut PgConnection,
    table: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mut decoded = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.aggregate_type == t.aggregate_type())
    {
        let id = Uuid::parse_str(&e.aggregate_id).map_err(|err| decode_error(e, err))?;
        let event: T::Event = e.decode().map_err(|err| decode_error(e, err))?;
        decoded.push((id, e, event));
    }
    if decoded.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = decoded.iter().map(|(id, _, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut folds: HashMap<Uuid, Fold<T::State>> = t
        .load(conn, table, &ids)
        .await?
        .into_iter()
        .map(|(id, r)| {
            (
                id,
                Fold {
                    state: Some(r.state),
                    version: r.version,
                    last_position: r.last_position,
                    updated_at: Some(r.updated_at),
                },
            )
        })
        .collect();

    let mut touched = Vec::new();
    let mut seen = HashSet::new();
    for (id, stored, event) in decoded {
        let fold = folds.entry(id).or_insert_with(Fold::empty);
        if !fold.step::<T>(stored, event) {
            continue; // already applied
        }
        if seen.insert(id) {
            touched.push(id);
        }
    }
    let rows: Vec<Row<T::State>> = touched
        .into_iter()
        .filter_map(|id| folds.remove(&id)?.into_row())
        .collect();
    let at = events.last().map(|e| e.at).unwrap_or_default();
    t.upsert(conn, table, &rows)
        .await
        .map_err(|e| invariant_or_database(e, t.table(), at))?;
    Ok(())
}

fn decode_error(e: &StoredEvent, err: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Decode {
        at: e.at,
        event_type: e.event_type.clone(),
        reason: err.to_string(),
    }
}

/// Reads rows of `table` with these keys, each as a JSON object of its columns.
pub(crate) async fn load_json(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    ids: &[Uuid],
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let (table, key) = (quote_ident(table)?, quote_ident(key)?);
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM {table} t WHERE {key} = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// Inserts or updates rows given as JSON objects of their columns, in one statement and
/// in the given order; a row only moves forward in `version`.
pub(crate) async fn upsert_json(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    columns: &[&str],
    rows: Vec<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = columns
        .iter()
        .filter(|c| **c != key)
        .map(|c| quote_ident(c))
        .collect::<Result<_, _>>()?;
    let excluded: Vec<String> = set.iter().map(|c| format!("EXCLUDED.{c}")).collect();
    let (table, key) = (quote_ident(table)?, quote_ident(key)?);
    let sql = format!(
        "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1) \
         ON CONFLICT ({key}) DO UPDATE SET ({cols}) = ROW({excluded}) \
         WHERE {table}.version < EXCLUDED.version",
        cols = set.join(", "),
        excluded = excluded.join(", "),
    );
    sqlx::query(&sql)
        .bind(serde_json::Value::Array(rows))
        .execute(conn)
        .await?;
    Ok(())
}

/// Turns a unique violation while writing `table` into a loud invariant failure.
pub(crate) fn invariant_or_database(
    e: sqlx::Error,
    table: &'static str,
    at: crate::position::LogPosition,
) -> ProjectionError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            ProjectionError::Invariant {
                at,
                table,
                reason: db.constraint().unwrap_or("a unique index").to_string(),
            }
        }
        _ => ProjectionError::Database(e),
    }
}

/// The columns of a table written and read as one JSON object per row (tables keyed by
/// `id`). Implementing this is all a stream table needs for its `load` and `upsert`.
pub(crate) trait JsonColumns: serde::Serialize + serde::de::DeserializeOwned + Send {
    type State: Send + Sync;
    /// Every column, in any order; `id` is the key.
    const COLUMNS: &'static [&'static str];
    fn of(row: &Row<Self::State>) -> Self;
    fn into_row(self) -> Row<Self::State>;
    fn id(&self) -> Uuid;
}

fn decode_columns<C: JsonColumns>(v: serde_json::Value) -> Result<C, sqlx::Error> {
    serde_json::from_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Rows of `table` with these ids.
pub(crate) async fn load_columns<C: JsonColumns>(
    conn: &mut PgConnection,
    table: &str,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Row<C::State>)>, sqlx::Error> {
    load_json(conn, table, "id", ids)
        .await?
        .into_iter()
        .map(|v| decode_columns::<C>(v).map(|c| (c.id(), c.into_row())))
        .collect()
}

/// One row of `table`.
pub(crate) async fn get_columns<C: JsonColumns>(
    conn: &mut PgConnection,
    table: &str,
    id: Uuid,
) -> Result<Option<Row<C::State>>, sqlx::Error> {
    Ok(load_columns::<C>(conn, table, &[id])
        .await?
        .pop()
        .map(|(_, r)| r))
}

/// Rows as selected by `sql` (which must select `to_jsonb(t)` of the table's rows).
pub(crate) async fn query_columns<C: JsonColumns>(
    query: sqlx::query::QueryScalar<
        '_,
        sqlx::Postgres,
        serde_json::Value,
        sqlx::postgres::PgArguments,
    >,
    conn: &mut PgConnection,
) -> Result<Vec<Row<C::State>>, sqlx::Error> {
    query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|v| decode_columns::<C>(v).map(JsonColumns::into_row))
        .collect()
}

/// Inserts or updates these rows of `table`.
pub(crate) async fn upsert_columns<C: JsonColumns>(
    conn: &mut PgConnection,
    table: &str,
    rows: &[Row<C::State>],
) -> Result<(), sqlx::Error> {
    let rows = rows
        .iter()
        .map(|r| serde_json::to_value(C::of(r)).map_err(|e| sqlx::Error::Encode(Box::new(e))))
        .collect::<Result<_, _>>()?;
    upsert_json(conn, table, "id", C::COLUMNS, rows).await
}
