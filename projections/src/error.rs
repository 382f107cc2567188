//! What can go wrong in the projector, and what the caller should do about it.

use std::time::Duration;

use crate::position::LogPosition;
use crate::projection::ProjectionError;

/// A projector failure.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// The database failed and retrying did not help: report it; a later pass retries.
    #[error("database error in the projector")]
    Database(#[from] sqlx::Error),
    /// A projection hit an event it cannot apply and stopped there. Nothing after it is
    /// applied until the cause is fixed; no event is ever skipped.
    #[error("projection {projection} stopped")]
    Stopped {
        projection: &'static str,
        #[source]
        source: ProjectionError,
    },
    /// A wait for a write timed out before every projection reached it.
    #[error("projections reached {reached} but not {target} in time")]
    Lagging {
        target: LogPosition,
        reached: LogPosition,
    },
    /// A rebuild ended with a different number of applied events than the log holds.
    #[error(
        "rebuild of {projection} applied {applied} events but the log holds {expected} up to {at}"
    )]
    Incomplete {
        projection: &'static str,
        expected: i64,
        applied: i64,
        at: LogPosition,
    },
    /// Another replay or verify holds the rebuild lock: nothing was done; run again when
    /// it has finished.
    #[error("another replay or verify is running")]
    RebuildBusy,
    /// A rebuild's swap did not get its locks within the lock timeout on any attempt:
    /// other sessions held the live table (or its checkpoint). That projection's live
    /// table is unchanged (projections swapped before it stay swapped); run again later
    /// or with a longer timeout.
    #[error("could not swap in {projection}: its locks were not granted within {timeout:?} in {attempts} attempts")]
    LockTimeout {
        projection: &'static str,
        timeout: Duration,
        attempts: u32,
    },
    /// The rebuilt rows do not fit a projection table's schema (a unique index refused
    /// them), or the owned schema itself is malformed.
    #[error("the schema of {table} refuses the rebuild: {reason}")]
    Schema { table: String, reason: String },
}

impl ProjectorError {
    /// Whether retrying the same work later can succeed (a dropped connection, a
    /// restarting server, a serialization failure), as opposed to a stopped projection.
    pub fn is_transient(&self) -> bool {
        match self {
            ProjectorError::Database(e) => is_transient(e),
            ProjectorError::Stopped {
                source: ProjectionError::Database(e),
                ..
            } => is_transient(e),
            ProjectorError::Lagging { .. }
            | ProjectorError::RebuildBusy
            | ProjectorError::LockTimeout { .. } => true,
            _ => false,
        }
    }
}

/// Transient database failures: connection loss, pool exhaustion, server restarts,
/// serialization failures and deadlocks.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "40001" | "40P01"
                )
        }),
        _ => false,
    }
}

/// A name that cannot be quoted is a database error like any other statement that
/// cannot be sent (see [`crate::sql`]).
impl From<crate::sql::InvalidIdentifier> for ProjectorError {
    fn from(e: crate::sql::InvalidIdentifier) -> Self {
        ProjectorError::Database(e.into())
    }
}
