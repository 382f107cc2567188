//! The contract between the projector and one projection.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::log::StoredEvent;
use crate::position::LogPosition;

/// A table a projection owns: its name, the column that identifies its rows, and its
/// schema.
///
/// The schema here is the one runproof owns: a rebuild creates its copies from it, so a
/// live table that is missing is created again by `runproof replay`. The migrations
/// create the same table for a fresh database; `tests/replay.rs` compares the two
/// through the catalog (columns, constraints, indexes), so changing a projection table
/// means one edit here plus a migration that makes existing databases match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    pub key: &'static str,
    /// Column and table-constraint definitions: the body of `CREATE TABLE <name> (…)`.
    /// Constraints stay unnamed, so PostgreSQL names them after the table (as the
    /// migrations do) and a swap renames them with it.
    pub columns: &'static str,
    /// Secondary indexes (built after a rebuild's bulk load).
    pub indexes: &'static [IndexSpec],
}

/// A secondary index of a projection table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    /// The live index's name. It starts with the table's name and `_`; a copy's index
    /// carries the copy's name there instead.
    pub name: &'static str,
    pub unique: bool,
    /// What follows `ON <table>`: method, key columns, predicate.
    pub definition: &'static str,
}

/// Which physical copy of a projection's tables is written: the live tables, or a
/// copy built next to them by a rebuild or a verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSet {
    Live,
    Rebuild,
    Verify,
    /// A session's temporary copy, folded from the log up to an earlier position to
    /// show what the engine believed then ([`crate::as_of`]); it ends with its session.
    AsOf,
}

impl TableSet {
    fn suffix(self) -> &'static str {
        match self {
            TableSet::Live => "",
            TableSet::Rebuild => "__rebuild",
            TableSet::Verify => "__verify",
            TableSet::AsOf => "__as_of",
        }
    }

    /// Both sets of copies, for finding what an interrupted rebuild or verify left.
    pub const COPIES: [TableSet; 2] = [TableSet::Rebuild, TableSet::Verify];

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
