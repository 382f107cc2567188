//! The contract between the projector and one projection.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::log::StoredEvent;
use crate::position::LogPosition;

/// A table a projection owns, and the column that identifies its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    pub key: &'static str,
}

/// Which physical copy of a projection's tables is written: the live tables, or a
/// copy built next to them by a rebuild or a verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSet {
    Live,
    Rebuild,
    Verify,
}

impl TableSet {
    fn suffix(self) -> &'static str {
        match self {
            TableSet::Live => "",
            TableSet::Rebuild => "__rebuild",
            TableSet::Verify => "__verify",
        }
    }

    /// The physical name of `table` in this set.
    pub fn table(self, table: &str) -> String {
        format!("{table}{}", self.suffix())
    }

    /// The checkpoint row name of `projection` in this set.
    pub fn checkpoint(self, projection: &str) -> String {
        format!("{projection}{}", self.suffix())
    }
}

/// Why a projection could not apply a batch.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database failed; the batch was rolled back and may be retried.
    #[error("database error while projecting")]
    Database(#[from] sqlx::Error),
    /// An event could not be decoded. The projection stops here rather than skip it.
    #[error("cannot decode {event_type} at {at}: {reason}")]
    Decode {
        at: LogPosition,
        event_type: String,
        reason: String,
    },
    /// Applying the event would break an invariant the table guards (for example a
    /// second mutable review for one fingerprint). The projection stops loudly.
    #[error("event at {at} breaks an invariant of {table}")]
    Invariant {
        at: LogPosition,
        table: &'static str,
        reason: String,
    },
}

/// One projection: a set of tables folded from the log.
///
/// `apply` runs inside the projector's transaction, which also moves the checkpoint, so
/// rows and checkpoint commit together: an event is applied exactly once.
#[async_trait]
pub trait Projection: Send + Sync {
    /// A stable name; also the checkpoint row's name.
    fn name(&self) -> &'static str;

    /// The tables this projection owns (rebuilt and verified together).
    fn tables(&self) -> &'static [TableSpec];

    /// Applies a batch of events, in commit order, to the tables of `set`. Events of
    /// other aggregates are in the batch too; skip what is not yours.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError>;
}
