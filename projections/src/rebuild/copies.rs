//! The copies a rebuild or verify builds next to the live tables: created from the owned
//! schema, projected from the log, indexed, dropped — and what an interrupted run left.

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::Acquire;
use tracing::{debug, info, warn};

use crate::checkpoint;
use crate::error::ProjectorError;
use crate::log;
use crate::progress::Progress;
use crate::projection::{Projection, TableSet};
use crate::projector::{apply_batch_all, custom_plans, Projector};
use crate::schema;
use crate::sql::quote_ident;

/// Events applied per transaction while building copies.
const REBUILD_BATCH: i64 = 20_000;

/// Removes every copy table and copy checkpoint row of either set. Call only while
/// holding the rebuild lock: then no other rebuild or verify is using them, so whatever
/// exists was left by one that was interrupted (a killed process, a lost connection).
/// Returns the names removed.
pub(super) async fn remove_leftovers(projector: &Projector) -> Result<Vec<String>, ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let mut removed = BTreeSet::new();
    for set in TableSet::COPIES {
        for p in projector.projections() {
            for spec in p.tables() {
                let copy = set.table(spec.name);
                if schema::table_exists(&mut tx, &copy).await? {
                    sqlx::query(&format!("DROP TABLE {}", quote_ident(&copy)?))
                        .execute(&mut *tx)
                        .await?;
                    removed.insert(copy);
                }
            }
            let cp = set.checkpoint(p.name());
            if checkpoint::remove(&mut tx, &cp).await? {
                removed.insert(cp);
            }
        }
    }
    tx.commit().await?;
    if !removed.is_empty() {
        info!(removed = ?removed, "removed what an interrupted replay or verify left behind");
    }
    Ok(removed.into_iter().collect())
}

/// The live tables that do not exist.
pub(super) async fn missing_live_tables(
    projector: &Projector,
) -> Result<Vec<&'static str>, ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut missing = Vec::new();
    for p in projector.projections() {
        for spec in p.tables() {
            if !schema::table_exists(&mut conn, spec.name).await? {
                missing.push(spec.name);
            }
        }
    }
    Ok(missing)
}

/// Fresh, empty copies of every table (owned schema, no secondary indexes yet), and
/// their checkpoints at the start of the log.
pub(super) async fn prepare(projector: &Projector, set: TableSet) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    for p in projector.projections() {
        for spec in p.tables() {
            schema::create_table(&mut tx, spec, set).await?;
        }
        checkpoint::reset(&mut tx, &set.checkpoint(p.name())).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Projects the log into every copy, reporting progress.
pub(super) async fn project_all(
    projector: &Projector,
    set: TableSet,
    progress: &dyn Progress,
) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let total = log::count_all(&mut conn).await?;
    drop(conn);
    progress.begin("replay", Some(total.max(0) as u64));
    catch_up(projector, projector.projections(), set, progress).await?;
    progress.finish();
    Ok(())
}

/// Applies the log to these projections' copies in large batches, outside any lock on
/// the live tables, until a batch finds the head of the log (reads less than a full
/// batch). What is written after that is left for the swap.
pub(super) async fn catch_up(
    projector: &Projector,
    projections: &[Arc<dyn Projection>],
    set: TableSet,
    progress: &dyn Progress,
) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
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
        let read =
            apply_batch_all(&mut tx, projections, set, &mut checkpoints, REBUILD_BATCH).await?;
        tx.commit().await?;
        // A process killed here leaves copies and their checkpoints behind.
        fail::fail_point!("replay.after_copy_batch", |_| std::process::abort());
        match read {
            Some(n) => {
                progress.advance(n as u64);
                if (n as i64) < REBUILD_BATCH {
                    return Ok(());
                }
            }
            None => return Ok(()),
        }
    }
}

/// Builds every copy's secondary indexes.
pub(super) async fn build_indexes(
    projector: &Projector,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    for p in projector.projections() {
        for spec in p.tables() {
            schema::create_indexes(&mut conn, spec, set).await?;
        }
    }
    Ok(())
}

/// Drops every copy of `set` and its checkpoint row.
pub(super) async fn drop_all(projector: &Projector, set: TableSet) -> Result<(), ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
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

/// After a failure: drops the copies if possible. If not, the next rebuild or verify
/// removes them; the failure that brought us here is what the caller reports.
pub(super) async fn discard(projector: &Projector, set: TableSet) {
    if let Err(e) = drop_all(projector, set).await {
        warn!("could not remove the copies of a failed rebuild; the next replay removes them");
        debug!(cause = %e, "copy removal failure");
    }
}
