//! Rebuilding projections from position zero, and verifying the live tables.
//!
//! A rebuild projects the whole log into fresh copies of the tables (`<table>__rebuild`,
//! created from the schema runproof owns, see [`crate::schema`]), builds their indexes,
//! catches them up to the head of the log, and then swaps each projection in with a short
//! transaction of its own (see [`swap`]). Readers see a projection's old table until its
//! swap commits and the new one after it. A live table that is missing is simply created
//! by its swap.
//!
//! A verify projects the log into `<table>__verify` copies, brings them and the live
//! tables to one common position, and reports every row that differs — and every live
//! table that is missing.
//!
//! Only one rebuild or verify runs per database (a session advisory lock; a second one
//! gets [`ProjectorError::RebuildBusy`]). Whatever an interrupted one left behind — copies
//! and their checkpoint rows — is removed by the next one, which reports what it removed.

mod copies;
mod swap;
mod verify;

pub use verify::{verify, Difference, RowDifference, VerifiedTable, VerifyReport};

use sqlx::{Connection, PgConnection, PgPool};
use tracing::{info, warn};

use crate::error::ProjectorError;
use crate::position::LogPosition;
use crate::progress::Progress;
use crate::projection::TableSet;
use crate::projector::Projector;

/// Session advisory lock key held for the duration of a rebuild or verify.
pub const REBUILD_LOCK_KEY: i64 = 0x7275_6e70_726f_6f66; // "runproof"

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// Per projection: the final log position and the number of events applied.
    pub projections: Vec<(&'static str, LogPosition, i64)>,
    /// Live tables that were missing and were created by the swap.
    pub created: Vec<&'static str>,
    /// Copies and checkpoint rows an interrupted rebuild or verify had left behind, removed
    /// before this one started.
    pub removed_leftovers: Vec<String>,
}

/// Rebuilds every projection from position zero and swaps the result in.
///
/// On failure the live tables of projections not yet swapped are unchanged and this
/// rebuild's copies are removed (if even that fails, the next rebuild or verify removes
/// them).
pub async fn rebuild(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let lock = RebuildLock::take(projector.pool()).await?;
    let result = rebuild_locked(projector, progress).await;
    if result.is_err() {
        copies::discard(projector, TableSet::Rebuild).await;
    }
    lock.release().await;
    result
}

async fn rebuild_locked(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let set = TableSet::Rebuild;
    let removed_leftovers = copies::remove_leftovers(projector).await?;
    let created = copies::missing_live_tables(projector).await?;
    copies::prepare(projector, set).await?;
    copies::project_all(projector, set, progress).await?;
    // Indexes are built once, after the bulk load, not maintained row by row.
    copies::build_indexes(projector, set).await?;

    let mut report = RebuildReport {
        projections: Vec::new(),
        created,
        removed_leftovers,
    };
    for p in projector.projections() {
        let cp = swap::swap_in(projector, p, set).await?;
        info!(projection = p.name(), at = %cp.at, events = cp.events_applied, "rebuilt");
        report
            .projections
            .push((p.name(), cp.at, cp.events_applied));
    }
    Ok(report)
}

/// The rebuild lock, held by a connection of its own that is closed (not returned to
/// the pool) when the lock is released or dropped: a rebuild that is cancelled or
/// panics cannot leave the lock held on a pooled connection.
struct RebuildLock(PgConnection);

impl RebuildLock {
    async fn take(pool: &PgPool) -> Result<Self, ProjectorError> {
        let mut conn = pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(REBUILD_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        if locked {
            Ok(RebuildLock(conn))
        } else {
            conn.close().await.ok();
            Err(ProjectorError::RebuildBusy)
        }
    }

    async fn release(self) {
        // Closing the session releases the lock; unlocking first just says so sooner.
        let mut conn = self.0;
        if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(REBUILD_LOCK_KEY)
            .execute(&mut conn)
            .await
        {
            warn!("could not release the rebuild lock; it ends with the session");
            tracing::debug!(cause = %e, "rebuild unlock failure");
        }
        conn.close().await.ok();
    }
}
