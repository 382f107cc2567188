//! Projection checkpoints: the last applied log position, locked while applying.

use sqlx::{PgConnection, Row};

use crate::position::LogPosition;

/// A projection's progress through the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub at: LogPosition,
    pub events_applied: i64,
}

/// Creates the checkpoint row if it does not exist yet.
pub async fn ensure(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the checkpoint row for the rest of the transaction. `None` when another
/// process holds it (it is applying; this one should not wait in line) or when the row
/// does not exist.
pub async fn try_lock(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position, events_applied \
         FROM projection_checkpoints WHERE projection = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Locks the checkpoint row, waiting for another holder to finish.
pub async fn lock(conn: &mut PgConnection, name: &str) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position, events_applied \
         FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Reads the checkpoint without locking it.
pub async fn read(conn: &mut PgConnection, name: &str) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT transaction_id::text::bigint AS transaction_id, position, events_applied \
         FROM projection_checkpoints WHERE projection = $1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Moves the checkpoint (call inside the transaction that applied the events).
pub async fn save(
    conn: &mut PgConnection,
    name: &str,
    checkpoint: Checkpoint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE projection_checkpoints \
         SET transaction_id = $2::text::xid8, position = $3, events_applied = $4, updated_at = now() \
         WHERE projection = $1",
    )
    .bind(name)
    .bind(checkpoint.at.transaction_id.to_string())
    .bind(checkpoint.at.position)
    .bind(checkpoint.events_applied)
    .execute(conn)
    .await?;
    Ok(())
}

/// Resets a checkpoint to the start of the log (for a fresh rebuild).
pub async fn reset(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection) VALUES ($1) \
         ON CONFLICT (projection) DO UPDATE SET transaction_id = '0', position = 0, \
         events_applied = 0, updated_at = now()",
    )
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a checkpoint row (after a rebuild or verify is done with it).
pub async fn remove(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM projection_checkpoints WHERE projection = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

fn decode(row: &sqlx::postgres::PgRow) -> Result<Checkpoint, sqlx::Error> {
    Ok(Checkpoint {
        at: LogPosition {
            transaction_id: row.try_get("transaction_id")?,
            position: row.try_get("position")?,
        },
        events_applied: row.try_get("events_applied")?,
    })
}
