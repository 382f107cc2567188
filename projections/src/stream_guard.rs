//! Reads that hold only while some streams still stand where they stood when a decision
//! about the reader was made.
//!
//! The API authenticates a token from two streams — the token's and its actor's — and
//! remembers what it found with the streams' versions. A later request with the same
//! token can then skip reading the streams: its read carries a [`StreamGuard`], and the
//! statement that reads the data also checks, in the same snapshot, that every guarded
//! stream is still at its version. Any event appended since (a revocation, a role change)
//! moves a version, the read answers [`Guarded::Moved`], and the caller reads the streams
//! again before anything is shown. So a revocation counts from the very next statement,
//! in every process, exactly as when the streams are read first — with one round trip
//! instead of two.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row as _};

/// Streams and the versions (last sequence numbers; 0: no events) a read requires.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamGuard {
    streams: Vec<(&'static str, String, i64)>,
}

/// The answer of a guarded read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    /// Every guarded stream stood at its version when the data was read.
    Fresh(T),
    /// A guarded stream has moved: nothing was read. Decide again, then read.
    Moved,
}

impl StreamGuard {
    /// A guard over no stream yet.
    pub fn new() -> Self {
        StreamGuard::default()
    }

    /// Also requires the stream `aggregate_type`/`aggregate_id` to stand at `version`.
    pub fn at(mut self, aggregate_type: &'static str, aggregate_id: String, version: u64) -> Self {
        self.streams.push((
            aggregate_type,
            aggregate_id,
            i64::try_from(version).unwrap_or(i64::MAX),
        ));
        self
    }

    /// Opens a guarded statement: `SELECT g.fresh, q.* FROM (<every stream at its
    /// version>) g LEFT JOIN LATERAL (` — the caller pushes its own statement (which must
    /// not end in a semicolon), then [`Self::close`].
    fn open(&self, q: &mut QueryBuilder<Postgres>) {
        q.push("SELECT g.fresh, q.* FROM (SELECT TRUE");
        for (aggregate_type, aggregate_id, version) in &self.streams {
            q.push(" AND (SELECT COALESCE(max(sequence), 0) FROM events WHERE aggregate_type = ")
                .push_bind(*aggregate_type)
                .push(" AND aggregate_id = ")
                .push_bind(aggregate_id.clone())
                .push(") = ")
                .push_bind(*version);
        }
        q.push(" AS fresh) g LEFT JOIN LATERAL (");
    }

    /// Closes what [`Self::open`] opened; `order` (columns of the inner statement,
    /// qualified by `q.`) keeps the inner statement's order, if it has one.
    fn close(q: &mut QueryBuilder<Postgres>, order: Option<&str>) {
        q.push(") q ON g.fresh");
        if let Some(order) = order {
            q.push(" ORDER BY ").push(order);
        }
    }
}

/// Runs the statement `build` pushes, guarded by `guard` when there is one (one round
/// trip either way). With a guard, the rows are the statement's rows when every stream
/// stood at its version; `id_column` tells an empty answer (one row of NULLs) from a row.
pub(crate) async fn fetch_all(
    conn: &mut PgConnection,
    guard: Option<&StreamGuard>,
    order: Option<&str>,
    id_column: &str,
    build: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<Guarded<Vec<PgRow>>, sqlx::Error> {
    let mut q = QueryBuilder::<Postgres>::new("");
    if let Some(guard) = guard {
        guard.open(&mut q);
    }
    build(&mut q);
    if guard.is_some() {
        StreamGuard::close(&mut q, order);
    }
    let rows = q.build().fetch_all(conn).await?;
    if guard.is_none() {
        return Ok(Guarded::Fresh(rows));
    }
    let fresh = match rows.first() {
        Some(row) => row.try_get::<bool, _>("fresh")?,
        None => false,
    };
    if !fresh {
        return Ok(Guarded::Moved);
    }
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        if row.try_get::<Option<uuid::Uuid>, _>(id_column)?.is_some() {
            found.push(row);
        }
    }
    Ok(Guarded::Fresh(found))
}

impl<T> Guarded<T> {
    /// Maps the data of a fresh read.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Guarded<U> {
        match self {
            Guarded::Fresh(t) => Guarded::Fresh(f(t)),
            Guarded::Moved => Guarded::Moved,
        }
    }
}

impl<T, E> Guarded<Result<T, E>> {
    /// A fresh read's failure as the failure of the whole.
    pub fn transpose(self) -> Result<Guarded<T>, E> {
        match self {
            Guarded::Fresh(r) => r.map(Guarded::Fresh),
            Guarded::Moved => Ok(Guarded::Moved),
        }
    }
}
