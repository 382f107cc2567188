//! The sequencer: the `log_leaves` projection gives every event a dense leaf index in
//! commit order and its RFC 6962 leaf hash (`runproof_audit::leaf`).
//!
//! It is a projection like the others: the projector reads the log in commit order and
//! applies each batch in the transaction that moves its checkpoint, so every event gets
//! exactly one leaf, the indexes stay dense across crashes, and `runproof replay`
//! rebuilds the table with the same indexes and hashes (commit order is stable). The
//! next index is one past the table's largest, read inside that transaction.
//!
//! An event that has no leaf encoding (JSON that cannot be canonicalised, which runproof
//! never writes) stops the sequencer there with `projection.stopped`, like an
//! undecodable event stops the other projections: it is never skipped, so the leaf
//! indexes never leave an event out.

use async_trait::async_trait;
use runproof_audit::leaf::{self, LeafEvent};
use runproof_audit::Hash;
use sqlx::{PgConnection, Row as _};

use crate::log::StoredEvent;
use crate::position::LogPosition;
use crate::projection::{Projection, ProjectionError, TableSet, TableSpec};
use crate::sql::quote_ident;

/// The projection's name, its checkpoint row and its table.
pub const NAME: &str = "log_leaves";

const TABLES: &[TableSpec] = &[TableSpec {
    name: NAME,
    key: "leaf_index",
    columns: "
    leaf_index     bigint PRIMARY KEY CHECK (leaf_index >= 0),
    position       bigint NOT NULL UNIQUE,
    transaction_id bigint NOT NULL,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    leaf_hash      bytea  NOT NULL CHECK (octet_length(leaf_hash) = 32)",
    indexes: &[],
}];

/// Sequences the log into `log_leaves`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogLeavesProjection;

/// What makes `event` a leaf: its stream coordinates, type, version, payload, metadata
/// and recorded time.
pub fn leaf_event(event: &StoredEvent) -> LeafEvent<'_> {
    LeafEvent {
        aggregate_type: &event.aggregate_type,
        aggregate_id: &event.aggregate_id,
        sequence: event.sequence,
        event_type: &event.event_type,
        event_version: &event.event_version,
        payload: &event.payload,
        metadata: &event.metadata,
        recorded_at_micros: event.recorded_at.map(|t| t.timestamp_micros()),
    }
}

/// The leaf hash of `event`.
pub fn leaf_hash(event: &StoredEvent) -> Result<Hash, leaf::LeafError> {
    leaf::leaf_hash(&leaf_event(event))
}

#[async_trait]
impl Projection for LogLeavesProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        if events.is_empty() {
            return Ok(());
        }
        let table = quote_ident(&set.table(NAME)).map_err(|e| ProjectionError::Invariant {
            at: events[0].at,
            table: NAME,
            reason: e.to_string(),
        })?;
        let next: i64 = sqlx::query_scalar(&format!(
            "SELECT coalesce(max(leaf_index) + 1, 0) FROM {table}"
        ))
        .fetch_one(&mut *conn)
        .await?;
        let n = events.len();
        let (mut index, mut position, mut transaction) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut types, mut ids, mut sequences, mut hashes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (offset, event) in (0_i64..).zip(events) {
            let hash = leaf_hash(event).map_err(|e| ProjectionError::Decode {
                at: event.at,
                event_type: event.event_type.clone(),
                reason: e.to_string(),
            })?;
            index.push(next + offset);
            position.push(event.at.position);
            transaction.push(event.at.transaction_id);
            types.push(event.aggregate_type.as_str());
            ids.push(event.aggregate_id.as_str());
            sequences.push(event.sequence);
            hashes.push(hash.0.to_vec());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} \
               (leaf_index, position, transaction_id, aggregate_type, aggregate_id, sequence, leaf_hash) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
                                  $5::text[], $6::bigint[], $7::bytea[])"
        ))
        .bind(index)
        .bind(position)
        .bind(transaction)
        .bind(types)
        .bind(ids)
        .bind(sequences)
        .bind(hashes)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// One sequenced leaf as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub index: i64,
    pub at: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    /// `None` when the stored value is not 32 bytes (only a hand-edited row).
    pub hash: Option<Hash>,
}

/// Up to `limit` leaves from index `from` on, in index order.
pub async fn read_leaves(
    conn: &mut PgConnection,
    from: i64,
    limit: i64,
) -> Result<Vec<Leaf>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT leaf_index, position, transaction_id, aggregate_type, aggregate_id, sequence, \
                leaf_hash FROM log_leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2",
    )
    .bind(from)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let hash: Vec<u8> = r.try_get("leaf_hash")?;
            Ok(Leaf {
                index: r.try_get("leaf_index")?,
                at: LogPosition {
                    transaction_id: r.try_get("transaction_id")?,
                    position: r.try_get("position")?,
                },
                aggregate_type: r.try_get("aggregate_type")?,
                aggregate_id: r.try_get("aggregate_id")?,
                sequence: r.try_get("sequence")?,
                hash: runproof_audit::tree::from_bytes(&hash),
            })
        })
        .collect()
}

/// The hashes of the first `size` leaves, in index order (fewer if the table holds
/// fewer). A stored value that is not 32 bytes is read as the all-zero hash, which no
/// leaf has, so the tree over it differs from every signed one.
pub async fn read_hashes(conn: &mut PgConnection, size: i64) -> Result<Vec<Hash>, sqlx::Error> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT leaf_hash FROM log_leaves WHERE leaf_index < $1 ORDER BY leaf_index",
    )
    .bind(size)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|h| runproof_audit::tree::from_bytes(h).unwrap_or_default())
        .collect())
}

/// The number of sequenced leaves (one past the largest index).
pub async fn size(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves")
        .fetch_one(conn)
        .await
}
