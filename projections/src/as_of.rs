//! The engine's view as the log stood at an earlier position: a projection folded from
//! the start of the log up to that position — with the projection's own `apply`, the
//! code that builds its live tables — into temporary copies of its tables
//! ([`TableSet::AsOf`]), which the same queries as the live tables then read.
//!
//! The copies are temporary tables of one session that is never returned to the pool:
//! they vanish with it, also when the caller fails half-way or is killed. Nothing live is
//! written and no lock on a live table is taken. Each batch is applied in a short
//! transaction of its own (the temporary tables are written, so a transaction gets an id
//! and would hold every reader's horizon back for as long as it stayed open).

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::ProjectorError;
use crate::log;
use crate::operation_runs::{self, OperationRunsProjection, RunFilter, RunRow};
use crate::position::LogPosition;
use crate::progress::Progress;
use crate::projection::{Projection, TableSet};
use crate::projector::custom_plans;
use crate::schema;

/// Events applied per transaction.
const BATCH: i64 = 10_000;

/// A session holding one projection's tables as of an earlier position.
pub struct AsOfTables {
    conn: PgConnection,
    /// The position the tables were folded up to (inclusive).
    pub upto: LogPosition,
    /// How many events of the log the fold read (every event up to `upto`).
    pub events: i64,
}

impl AsOfTables {
    /// Folds the log up to `upto` (inclusive, in commit order) into temporary copies of
    /// `projection`'s tables, reporting progress per batch. `upto` must be readable (at
    /// or below the read horizon): every event up to it is read, and the number read is
    /// checked against the number the log holds up to it — a fold that read fewer fails
    /// loudly ([`ProjectorError::Incomplete`]) instead of showing a partial view.
    pub async fn fold(
        pool: &PgPool,
        projection: &dyn Projection,
        upto: LogPosition,
        progress: &dyn Progress,
    ) -> Result<AsOfTables, ProjectorError> {
        // A session of its own, closed (never pooled) when done: its temporary tables
        // cannot outlive it or be seen by another caller.
        let mut conn = pool.acquire().await?.detach();
        // Temporary tables live in the session's own buffers (8 MB by default); a large
        // fold would otherwise write most of its rows out and read them back per batch.
        // Settable only before the session first touches a temporary table, as here.
        sqlx::query("SET temp_buffers = '256MB'")
            .execute(&mut conn)
            .await?;
        for spec in projection.tables() {
            schema::create_temporary_table(&mut conn, spec, TableSet::AsOf).await?;
        }
        let expected = if upto == LogPosition::START {
            0
        } else {
            log::count_upto(&mut conn, upto).await?
        };
        progress.begin("as-of", Some(expected.max(0) as u64));
        let mut after = LogPosition::START;
        let mut read = 0_i64;
        while read < expected {
            let mut tx = conn.begin().await?;
            custom_plans(&mut tx).await?;
            let batch = log::read_after(&mut tx, after, Some(upto), BATCH).await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.at;
            projection
                .apply(&mut tx, TableSet::AsOf, &batch)
                .await
                .map_err(|source| ProjectorError::Stopped {
                    projection: projection.name(),
                    source,
                })?;
            tx.commit().await?;
            read += batch.len() as i64;
            progress.advance(batch.len() as u64);
        }
        progress.finish();
        if read != expected {
            return Err(ProjectorError::Incomplete {
                projection: projection.name(),
                expected,
                applied: read,
                at: upto,
            });
        }
        Ok(AsOfTables {
            conn,
            upto,
            events: read,
        })
    }

    /// The session that holds the tables (read them through [`Self::table`]).
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// The name of `table`'s temporary copy.
    pub fn table(table: &str) -> String {
        TableSet::AsOf.table(table)
    }

    /// Ends the session, and with it the tables.
    pub async fn close(self) {
        self.conn.close().await.ok();
    }
}

/// Runs matching `filter` as `operation_runs` stood once the log up to `upto` was
/// applied: the projection folded into a temporary copy, read by the list's own
/// statement ([`operation_runs::list_in`]).
pub async fn list_runs(
    pool: &PgPool,
    upto: LogPosition,
    filter: &RunFilter,
    progress: &dyn Progress,
) -> Result<Vec<RunRow>, ProjectorError> {
    let mut tables = AsOfTables::fold(pool, &OperationRunsProjection, upto, progress).await?;
    let table = AsOfTables::table(operation_runs::NAME);
    let rows = operation_runs::list_in(tables.conn(), &table, filter).await;
    tables.close().await;
    Ok(rows?)
}
