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

/// Removes a checkpoint row (after a rebuild or verify is done with it). Returns whether
/// there was one.
pub async fn remove(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM projection_checkpoints WHERE projection = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
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

/// Locks several checkpoint rows at once, in the given order. `None` when any of them is
/// held by another process or does not exist yet.
pub async fn try_lock_many(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<Option<Vec<Checkpoint>>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT projection, transaction_id::text::bigint AS transaction_id, position, events_applied \
         FROM projection_checkpoints WHERE projection = ANY($1) ORDER BY projection FOR UPDATE SKIP LOCKED",
    )
    .bind(names)
    .fetch_all(&mut *conn)
    .await?;
    if rows.len() != names.len() {
        return Ok(None);
    }
    let mut found = std::collections::HashMap::new();
    for r in &rows {
        let name: String = r.try_get("projection")?;
        found.insert(name, decode(r)?);
    }
    Ok(names.iter().map(|n| found.get(n).copied()).collect())
}

/// Creates every missing checkpoint row.
pub async fn ensure_many(conn: &mut PgConnection, names: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO projection_checkpoints (projection) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING")
        .bind(names)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves several checkpoints in one statement.
pub async fn save_many(
    conn: &mut PgConnection,
    checkpoints: &[(String, Checkpoint)],
) -> Result<(), sqlx::Error> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = checkpoints.iter().map(|(n, _)| n.as_str()).collect();
    let txs: Vec<String> = checkpoints
        .iter()
        .map(|(_, c)| c.at.transaction_id.to_string())
        .collect();
    let positions: Vec<i64> = checkpoints.iter().map(|(_, c)| c.at.position).collect();
    let applied: Vec<i64> = checkpoints.iter().map(|(_, c)| c.events_applied).collect();
    sqlx::query(
        "UPDATE projection_checkpoints AS c \
         SET transaction_id = u.tx::xid8, position = u.pos, events_applied = u.applied, updated_at = now() \
         FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[]) AS u(name, tx, pos, applied) \
         WHERE c.projection = u.name",
    )
    .bind(names)
    .bind(txs)
    .bind(positions)
    .bind(applied)
    .execute(conn)
    .await?;
    Ok(())
}

/// The lowest checkpoint among `names` (the start of the log when one is missing).
pub async fn lowest(conn: &mut PgConnection, names: &[String]) -> Result<LogPosition, sqlx::Error> {
    // One statement: how many of the rows exist, and the lowest of them.
    let (count, transaction_id, position): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT count(*), \
                (array_agg(transaction_id::text::bigint ORDER BY transaction_id, position))[1], \
                (array_agg(position ORDER BY transaction_id, position))[1] \
         FROM projection_checkpoints WHERE projection = ANY($1)",
    )
    .bind(names)
    .fetch_one(conn)
    .await?;
    if count < names.len() as i64 {
        return Ok(LogPosition::START);
    }
    Ok(match (transaction_id, position) {
        (Some(transaction_id), Some(position)) => LogPosition {
            transaction_id,
            position,
        },
        _ => LogPosition::START,
    })
}

/// Whether every named checkpoint row exists.
pub async fn all_exist(pool: &sqlx::PgPool, names: &[String]) -> Result<bool, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection_checkpoints WHERE projection = ANY($1)",
    )
    .bind(names)
    .fetch_one(pool)
    .await?;
    Ok(count == names.len() as i64)
}
