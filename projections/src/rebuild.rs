//! Rebuilding projections from position zero, and verifying the live tables.
//!
//! A rebuild projects the whole log into fresh copies of the tables (`<table>__rebuild`),
//! builds their indexes, then — in one transaction that holds the live checkpoint — applies
//! the last events written meanwhile, checks that it applied exactly as many events as the
//! log holds up to its final position, and swaps the copies in. Readers see the old
//! tables until the commit and the new ones after it.
//!
//! A verify projects the log into `<table>__verify` copies, brings them and the live
//! tables to one common position, and reports every row that differs.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::{Acquire, PgConnection, Row};
use tracing::info;

use crate::checkpoint;
use crate::error::ProjectorError;
use crate::log;
use crate::position::LogPosition;
use crate::progress::Progress;
use crate::projection::{TableSet, TableSpec};
use crate::projector::{apply_batch, apply_batch_all, custom_plans, Projector};
use crate::sql::quote_ident;

/// Session advisory lock key held for the duration of a rebuild or verify.
const REBUILD_LOCK: i64 = 0x7275_6e70_726f_6f66; // "runproof"

/// Events applied per transaction while rebuilding.
const REBUILD_BATCH: i64 = 20_000;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// Per projection: the final log position and the number of events applied.
    pub projections: Vec<(&'static str, LogPosition, i64)>,
}

/// How a rebuilt row differs from the live one.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The rebuild has the row; the live table does not.
    MissingInLive,
    /// The live table has a row the log does not produce.
    MissingInRebuild,
    /// Both have the row; these columns differ as (column, live, rebuilt).
    Columns(Vec<(String, Value, Value)>),
}

/// One differing row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDifference {
    pub table: &'static str,
    pub key: String,
    pub difference: Difference,
}

/// One verified table.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedTable {
    pub table: &'static str,
    /// Rows compared (in either copy).
    pub rows: i64,
    /// The common log position both copies were compared at.
    pub compared_at: LogPosition,
}

/// What a verify found.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub tables: Vec<VerifiedTable>,
    pub differences: Vec<RowDifference>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Rebuilds every projection from position zero and swaps the result in.
pub async fn rebuild(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let mut lock_conn = projector.pool().acquire().await?;
    take_rebuild_lock(&mut lock_conn).await?;
    let result = rebuild_locked(projector, progress).await;
    release_rebuild_lock(&mut lock_conn).await;
    result
}

async fn rebuild_locked(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let set = TableSet::Rebuild;
    prepare_copies(projector, set).await?;
    project_copies(projector, set, progress).await?;

    // Indexes are built once, after the bulk load, not maintained row by row.
    {
        let mut conn = projector.pool().acquire().await?;
        for p in projector.projections() {
            for spec in p.tables() {
                copy_indexes(&mut conn, spec, set).await?;
            }
        }
    }

    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    custom_plans(&mut tx).await?;
    let mut report = RebuildReport {
        projections: Vec::new(),
    };
    for p in projector.projections() {
        // Holding the live checkpoint stops live projectors until the swap commits.
        checkpoint::ensure(&mut tx, p.name()).await?;
        checkpoint::lock(&mut tx, p.name()).await?;
        let mut cp = checkpoint::lock(&mut tx, &set.checkpoint(p.name()))
            .await?
            .unwrap_or_default();
        while let Some((next, _)) =
            apply_batch(&mut tx, p.as_ref(), set, cp, None, projector.batch()).await?
        {
            cp = next;
        }
        let expected = log::count_upto(&mut tx, cp.at).await?;
        if expected != cp.events_applied {
            return Err(ProjectorError::Incomplete {
                projection: p.name(),
                expected,
                applied: cp.events_applied,
                at: cp.at,
            });
        }
        for spec in p.tables() {
            swap_in(&mut tx, spec, set).await?;
        }
        checkpoint::save(&mut tx, p.name(), cp).await?;
        checkpoint::remove(&mut tx, &set.checkpoint(p.name())).await?;
        info!(projection = p.name(), at = %cp.at, events = cp.events_applied, "rebuilt");
        report
            .projections
            .push((p.name(), cp.at, cp.events_applied));
    }
    tx.commit().await?;
    Ok(report)
}

/// Rebuilds every projection into verify copies and reports each row that differs
/// from the live tables at one common log position. The live tables are not changed
/// except that they may be caught up to that position, as any projector would.
pub async fn verify(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<VerifyReport, ProjectorError> {
    let mut lock_conn = projector.pool().acquire().await?;
    take_rebuild_lock(&mut lock_conn).await?;
    let result = verify_locked(projector, progress).await;
    release_rebuild_lock(&mut lock_conn).await;
    result
}

async fn verify_locked(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<VerifyReport, ProjectorError> {
    let set = TableSet::Verify;
    prepare_copies(projector, set).await?;
    project_copies(projector, set, progress).await?;

    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    custom_plans(&mut tx).await?;
    let mut report = VerifyReport {
        tables: Vec::new(),
        differences: Vec::new(),
    };
    for p in projector.projections() {
        checkpoint::ensure(&mut tx, p.name()).await?;
        let mut live = checkpoint::lock(&mut tx, p.name())
            .await?
            .unwrap_or_default();
        let mut copy = checkpoint::lock(&mut tx, &set.checkpoint(p.name()))
            .await?
            .unwrap_or_default();
        // Bring both sides to the later of the two positions, and no further.
        let target = live.at.max(copy.at);
        while let Some((next, _)) = apply_batch(
            &mut tx,
            p.as_ref(),
            TableSet::Live,
            live,
            Some(target),
            projector.batch(),
        )
        .await?
        {
            live = next;
        }
        while let Some((next, _)) = apply_batch(
            &mut tx,
            p.as_ref(),
            set,
            copy,
            Some(target),
            projector.batch(),
        )
        .await?
        {
            copy = next;
        }
        for spec in p.tables() {
            let (rows, diffs) = compare(&mut tx, spec, set).await?;
            report.tables.push(VerifiedTable {
                table: spec.name,
                rows,
                compared_at: target,
            });
            report.differences.extend(diffs);
        }
    }
    tx.commit().await?;
    drop_copies(projector, set).await?;
    Ok(report)
}

async fn take_rebuild_lock(conn: &mut PgConnection) -> Result<(), ProjectorError> {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(REBUILD_LOCK)
        .fetch_one(conn)
        .await?;
    if locked {
        Ok(())
    } else {
        Err(ProjectorError::RebuildBusy)
    }
}

async fn release_rebuild_lock(conn: &mut PgConnection) {
    // Closing the session would release it too; this just does it sooner.
    if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(REBUILD_LOCK)
        .execute(conn)
        .await
    {
        tracing::warn!("could not release the rebuild lock; it ends with the session");
        tracing::debug!(cause = %e, "rebuild unlock failure");
    }
}

/// Fresh, empty copies of every table, and checkpoints at the start of the log.
async fn prepare_copies(projector: &Projector, set: TableSet) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    custom_plans(&mut tx).await?;
    for p in projector.projections() {
        for spec in p.tables() {
            let copy_name = set.table(spec.name);
            let copy = quote_ident(&copy_name)?;
            let pkey = quote_ident(&format!("{copy_name}_pkey"))?;
            let (live, key) = (quote_ident(spec.name)?, quote_ident(spec.key)?);
            sqlx::query(&format!("DROP TABLE IF EXISTS {copy}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!(
                "CREATE TABLE {copy} (LIKE {live} INCLUDING DEFAULTS INCLUDING CONSTRAINTS \
                 INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE)"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "ALTER TABLE {copy} ADD CONSTRAINT {pkey} PRIMARY KEY ({key})"
            ))
            .execute(&mut *tx)
            .await?;
        }
        checkpoint::reset(&mut tx, &set.checkpoint(p.name())).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn project_copies(
    projector: &Projector,
    set: TableSet,
    progress: &dyn Progress,
) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let total = log::count_all(&mut conn).await?;
    progress.begin("replay", Some(total.max(0) as u64));
    let projections = projector.projections();
    loop {
        let mut tx = conn.begin().await?;
        let mut checkpoints = Vec::with_capacity(projections.len());
        for p in projections {
            let cp = checkpoint::lock(&mut tx, &set.checkpoint(p.name()))
                .await?
                .unwrap_or_default();
            checkpoints.push(cp);
        }
        custom_plans(&mut tx).await?;
        match apply_batch_all(&mut tx, projections, set, &mut checkpoints, REBUILD_BATCH).await? {
            Some(n) => {
                tx.commit().await?;
                progress.advance(n as u64);
            }
            None => {
                tx.commit().await?;
                break;
            }
        }
    }
    progress.finish();
    Ok(())
}

async fn drop_copies(projector: &Projector, set: TableSet) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    custom_plans(&mut tx).await?;
    for p in projector.projections() {
        for spec in p.tables() {
            let copy = quote_ident(&set.table(spec.name))?;
            sqlx::query(&format!("DROP TABLE IF EXISTS {copy}"))
                .execute(&mut *tx)
                .await?;
        }
        checkpoint::remove(&mut tx, &set.checkpoint(p.name())).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates on the copy every secondary index the live table has, under the live
/// index's name plus the set's suffix. The migrations stay the only place that
/// defines them.
async fn copy_indexes(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let rows = sqlx::query(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def, n.nspname AS schema \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE t.relname = $1 AND n.nspname = current_schema() AND NOT i.indisprimary \
         ORDER BY c.relname",
    )
    .bind(spec.name)
    .fetch_all(&mut *conn)
    .await?;
    let copy = set.table(spec.name);
    for row in rows {
        let name: String = row.try_get("name")?;
        let def: String = row.try_get("def")?;
        let schema: String = row.try_get("schema")?;
        let from = format!("INDEX {name} ON {schema}.{live} ", live = spec.name);
        let to = format!(
            "INDEX {} ON {}.{} ",
            quote_ident(&set.table(&name))?,
            quote_ident(&schema)?,
            quote_ident(&copy)?
        );
        if !def.contains(&from) {
            return Err(ProjectorError::Schema {
                table: spec.name.to_string(),
                reason: format!("unexpected index definition for {name}"),
            });
        }
        sqlx::query(&def.replacen(&from, &to, 1))
            .execute(&mut *conn)
            .await
            .map_err(|e| match &e {
                // The rebuilt rows break a unique index (an invariant the table guards).
                sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                    ProjectorError::Schema {
                        table: spec.name.to_string(),
                        reason: format!("the rebuilt rows break the unique index {name}"),
                    }
                }
                _ => ProjectorError::Database(e),
            })?;
    }
    Ok(())
}

/// Replaces the live table with its copy and gives indexes and key their live names.
async fn swap_in(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let live_name = spec.name;
    let copy_name = set.table(live_name);
    let (live, copy) = (quote_ident(live_name)?, quote_ident(&copy_name)?);
    let (live_pkey, copy_pkey) = (
        quote_ident(&format!("{live_name}_pkey"))?,
        quote_ident(&format!("{copy_name}_pkey"))?,
    );
    sqlx::query(&format!("DROP TABLE {live}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("ALTER TABLE {copy} RENAME TO {live}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!(
        "ALTER TABLE {live} RENAME CONSTRAINT {copy_pkey} TO {live_pkey}"
    ))
    .execute(&mut *conn)
    .await?;
    let suffixed: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid \
         WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace \
           AND NOT i.indisprimary",
    )
    .bind(live_name)
    .fetch_all(&mut *conn)
    .await?;
    let suffix = set.table("");
    for index in suffixed {
        if let Some(base) = index.strip_suffix(&suffix) {
            let (index, base) = (quote_ident(&index)?, quote_ident(base)?);
            sqlx::query(&format!("ALTER INDEX {index} RENAME TO {base}"))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Compares a live table with its copy row by row.
async fn compare(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(i64, Vec<RowDifference>), ProjectorError> {
    let live = quote_ident(spec.name)?;
    let copy = quote_ident(&set.table(spec.name))?;
    let key = quote_ident(spec.key)?;
    let rows: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {live} l FULL OUTER JOIN {copy} c ON l.{key} = c.{key}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let found = sqlx::query(&format!(
        "SELECT COALESCE(l.{key}, c.{key})::text AS key, \
                CASE WHEN l.{key} IS NULL THEN NULL ELSE to_jsonb(l) END AS live, \
                CASE WHEN c.{key} IS NULL THEN NULL ELSE to_jsonb(c) END AS rebuilt \
         FROM {live} l FULL OUTER JOIN {copy} c ON l.{key} = c.{key} \
         WHERE l.{key} IS NULL OR c.{key} IS NULL OR to_jsonb(l) <> to_jsonb(c) \
         ORDER BY 1"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(found.len());
    for row in found {
        let key: String = row.try_get("key")?;
        let live_row: Option<Value> = row.try_get("live")?;
        let rebuilt: Option<Value> = row.try_get("rebuilt")?;
        let difference = match (live_row, rebuilt) {
            (None, _) => Difference::MissingInLive,
            (_, None) => Difference::MissingInRebuild,
            (Some(l), Some(r)) => Difference::Columns(column_differences(&l, &r)),
        };
        out.push(RowDifference {
            table: spec.name,
            key,
            difference,
        });
    }
    Ok((rows, out))
}

fn column_differences(live: &Value, rebuilt: &Value) -> Vec<(String, Value, Value)> {
    let (Value::Object(l), Value::Object(r)) = (live, rebuilt) else {
        return vec![("row".into(), live.clone(), rebuilt.clone())];
    };
    let columns: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    columns
        .into_iter()
        .filter_map(|c| {
            let lv = l.get(c).cloned().unwrap_or(Value::Null);
            let rv = r.get(c).cloned().unwrap_or(Value::Null);
            (lv != rv).then(|| (c.clone(), lv, rv))
        })
        .collect()
}
