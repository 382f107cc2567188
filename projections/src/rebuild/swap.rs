//! Swapping a rebuilt projection in, one projection per short transaction.
//!
//! Before each swap the copy is caught up to the head of the log outside any lock, so
//! the swap itself only applies the handful of events written since. The swap then
//! locks the live checkpoint (stopping live projectors of this projection), applies that
//! remainder, checks the event count, and only then drops the live table and renames the
//! copy — so the exclusive lock on the live table is held for a drop, a few renames and
//! the commit, and each projection's lock ends with its own swap, not with the last one.
//!
//! Every lock wait in the swap is bounded by `lock_timeout`: while the swap waits for a
//! table, PostgreSQL queues new readers of that table behind it, so an unbounded wait
//! behind one long reader would freeze every reader of the projection. On timeout the
//! swap rolls back, lets the queue drain, catches up again and retries, a bounded number
//! of times, then gives up with [`ProjectorError::LockTimeout`].

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Acquire, PgConnection};
use tracing::warn;

use super::copies;
use crate::checkpoint::{self, Checkpoint};
use crate::error::ProjectorError;
use crate::log;
use crate::progress::NoProgress;
use crate::projection::{Projection, ProjectionError, TableSet};
use crate::projector::{apply_batch, custom_plans, Projector};
use crate::schema;
use crate::sql::quote_ident;

/// Swaps `projection`'s copy in, retrying on lock timeouts. Returns the checkpoint the
/// live projection now has.
pub(super) async fn swap_in(
    projector: &Projector,
    projection: &Arc<dyn Projection>,
    set: TableSet,
) -> Result<Checkpoint, ProjectorError> {
    let attempts = projector.swap_attempts();
    let timeout = projector.lock_timeout();
    let mut attempt = 1;
    loop {
        copies::catch_up(
            projector,
            std::slice::from_ref(projection),
            set,
            &NoProgress,
        )
        .await?;
        match swap_once(projector, projection.as_ref(), set).await {
            Err(e) if lock_timed_out(&e) => {
                if attempt >= attempts {
                    return Err(ProjectorError::LockTimeout {
                        projection: projection.name(),
                        timeout,
                        attempts,
                    });
                }
                warn!(
                    projection = projection.name(),
                    attempt, "swap did not get its locks within the lock timeout; retrying"
                );
                // Let the readers that queued behind the swap through before trying again.
                tokio::time::sleep(timeout.min(Duration::from_secs(1))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn swap_once(
    projector: &Projector,
    p: &dyn Projection,
    set: TableSet,
) -> Result<Checkpoint, ProjectorError> {
    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    set_lock_timeout(&mut tx, projector.lock_timeout()).await?;
    custom_plans(&mut tx).await?;
    // Holding the live checkpoint stops live projectors of this projection until the
    // swap commits.
    checkpoint::ensure(&mut tx, p.name()).await?;
    checkpoint::lock(&mut tx, p.name()).await?;
    let mut cp = checkpoint::lock(&mut tx, &set.checkpoint(p.name()))
        .await?
        .unwrap_or_default();
    while let Some((next, _)) = apply_batch(&mut tx, p, set, cp, None, projector.batch()).await? {
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
        // The exclusive lock on the live table is taken here, as late as possible.
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", quote_ident(spec.name)?))
            .execute(&mut *tx)
            .await?;
        schema::rename_to_live(&mut tx, spec, set).await?;
    }
    checkpoint::save(&mut tx, p.name(), cp).await?;
    checkpoint::remove(&mut tx, &set.checkpoint(p.name())).await?;
    tx.commit().await?;
    Ok(cp)
}

/// Bounds every lock wait of the rest of the transaction.
async fn set_lock_timeout(conn: &mut PgConnection, timeout: Duration) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{}ms", timeout.as_millis().max(1)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a lock wait ran into `lock_timeout` (SQLSTATE 55P03, lock_not_available).
fn lock_timed_out(e: &ProjectorError) -> bool {
    let db = match e {
        ProjectorError::Database(e)
        | ProjectorError::Stopped {
            source: ProjectionError::Database(e),
            ..
        } => e,
        _ => return false,
    };
    matches!(db, sqlx::Error::Database(d) if d.code().as_deref() == Some("55P03"))
}
