//! Signed checkpoints: the append-only `audit_checkpoints` table, and signing the tree
//! head of the sequenced leaves.
//!
//! A checkpoint is what runproof vouches for: "the first N events of this log hash to
//! this root". Signing therefore refuses a tree that does not extend the last signed
//! checkpoint (its first `size` leaves must still hash to its root): two checkpoints
//! that disagree would be two histories, and an auditor would rightly trust neither.
//! Signing is serialised across processes by an advisory lock, and a tree head that is
//! already signed with the same key is not signed again.

use chrono::{DateTime, Utc};
use runproof_audit::checkpoint::TreeHead;
use runproof_audit::{tree, SignerKey, Tree};
use runproof_projections::log_leaves;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;

use super::AuditError;

/// Advisory lock key serialising checkpoint signing ("rpaudit\0").
const SIGNING_LOCK_KEY: i64 = 0x7270_6175_6469_7400;

/// A stored checkpoint, as its row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub id: i64,
    pub origin: String,
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    /// The signing key as a verifier key.
    pub key: String,
    /// The signed note, exactly as signed.
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

/// What signing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// A new checkpoint was signed and stored.
    New(StoredCheckpoint),
    /// The latest checkpoint already covers every leaf, signed with the same key.
    Unchanged(StoredCheckpoint),
}

const COLUMNS: &str = "id, origin, tree_size, root_hash, key, note, signed_at";

fn decode(row: &PgRow) -> Result<StoredCheckpoint, sqlx::Error> {
    Ok(StoredCheckpoint {
        id: row.try_get("id")?,
        origin: row.try_get("origin")?,
        tree_size: row.try_get("tree_size")?,
        root_hash: row.try_get("root_hash")?,
        key: row.try_get("key")?,
        note: row.try_get("note")?,
        signed_at: row.try_get("signed_at")?,
    })
}

/// Every stored checkpoint, oldest first.
pub async fn all(conn: &mut PgConnection) -> Result<Vec<StoredCheckpoint>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_checkpoints ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode).collect()
}

/// The latest stored checkpoint.
pub async fn latest(conn: &mut PgConnection) -> Result<Option<StoredCheckpoint>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Signs the tree head of the sequenced leaves with `key` under `origin`, at `now`, and
/// stores it — unless the latest checkpoint already covers every leaf with this key.
///
/// Refuses ([`AuditError::Fork`]) when the leaves do not extend the latest checkpoint,
/// and ([`AuditError::LeavesIncomplete`]) when they have a gap.
pub async fn sign_current(
    pool: &PgPool,
    key: &SignerKey,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Signed, AuditError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SIGNING_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let size = log_leaves::size(&mut tx).await?;
    let hashes = log_leaves::read_hashes(&mut tx, size).await?;
    if i64::try_from(hashes.len()).ok() != Some(size) {
        let index = first_gap(&mut tx).await?;
        return Err(AuditError::LeavesIncomplete { index });
    }
    let tree = Tree::from_leaves(hashes).map_err(|_| AuditError::Internal)?;
    let last = latest(&mut tx).await?;
    if let Some(last) = &last {
        let extends = u64::try_from(last.tree_size)
            .ok()
            .and_then(|n| tree.root_at(n).ok())
            .is_some_and(|root| root.0.as_slice() == last.root_hash.as_slice());
        if !extends {
            return Err(AuditError::Fork {
                id: last.id,
                size: last.tree_size,
            });
        }
        if last.tree_size == size && last.key == key.verifier_key() && last.origin == origin {
            return Ok(Signed::Unchanged(last.clone()));
        }
    }
    let root = tree.root().map_err(|_| AuditError::Internal)?;
    let head = TreeHead {
        origin: origin.to_string(),
        size: tree.size(),
        root,
    };
    let note = head.sign(key).map_err(|e| match e {
        runproof_audit::CheckpointError::InvalidOrigin => {
            AuditError::InvalidOrigin(origin.to_string())
        }
        _ => AuditError::Internal,
    })?;
    let row = sqlx::query(&format!(
        "INSERT INTO audit_checkpoints (origin, tree_size, root_hash, key, note, signed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(origin)
    .bind(size)
    .bind(root.0.to_vec())
    .bind(key.verifier_key())
    .bind(&note)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let stored = decode(&row)?;
    tx.commit().await?;
    info!(
        checkpoint = stored.id,
        tree_size = size,
        root = %tree::to_hex(&root),
        "signed an audit checkpoint"
    );
    Ok(Signed::New(stored))
}

/// The first leaf index missing from `log_leaves`.
async fn first_gap(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(min(leaf_index + 1), 0) FROM log_leaves l \
         WHERE NOT EXISTS (SELECT 1 FROM log_leaves n WHERE n.leaf_index = l.leaf_index + 1) \
         UNION ALL SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM log_leaves WHERE leaf_index = 0) \
         ORDER BY 1 LIMIT 1",
    )
    .fetch_one(conn)
    .await
}
