//! The evidence document store: every captured findings document stored once per
//! workspace, addressed by its content hash (`sha256:` over its canonical JSON), written in
//! the same transaction as the `EvidenceSnapshotCaptured` event that references it.
//!
//! It is part of the truth, like the event log, not a projection: rows are only ever
//! inserted (triggers refuse updates, deletes and truncation), and a rebuild never touches
//! them. Keeping documents out of the environment's events means loading an environment
//! reads a few hundred bytes per capture, not up to a mebibyte.

use runproof_domain::findings::content_hash;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A document to store with its capture event.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceDocument {
    pub workspace_id: Uuid,
    /// `findings::content_hash(&document)`.
    pub content_hash: String,
    pub document: Value,
}

impl EvidenceDocument {
    /// The document of `workspace_id`, addressed by its own content hash.
    pub fn new(workspace_id: Uuid, document: Value) -> Self {
        EvidenceDocument {
            workspace_id,
            content_hash: content_hash(&document),
            document,
        }
    }
}

/// Stores the document unless the workspace already holds one with the same hash (inside
/// the caller's transaction).
///
/// The document is sent and kept as JSON text (`json`, not `jsonb`): `jsonb` would
/// rewrite numbers (`-0.0` → `0.0`, `1e16` → `10000000000000000`) and the document would
/// no longer match its hash.
pub(crate) async fn put(
    conn: &mut PgConnection,
    doc: &EvidenceDocument,
) -> Result<(), sqlx::Error> {
    let text =
        serde_json::to_string(&doc.document).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO evidence_documents (workspace_id, content_hash, document) \
         VALUES ($1, $2, $3::text::json) \
         ON CONFLICT (workspace_id, content_hash) DO NOTHING",
    )
    .bind(doc.workspace_id)
    .bind(&doc.content_hash)
    .bind(text)
    .execute(conn)
    .await?;
    Ok(())
}

/// Why a stored document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DocumentReadError {
    #[error("reading the evidence document failed")]
    Read(#[from] sqlx::Error),
    /// The stored document no longer hashes to its address: refuse it rather than compose
    /// from something other than what was captured.
    #[error("the stored evidence document does not match its content hash")]
    Tampered,
}

/// The documents at `addresses` (workspace, content hash), read in one statement, in
/// their order: each only of its workspace and checked against its hash — `None` for a
/// document not stored, [`DocumentReadError::Tampered`] for one that no longer matches.
/// The error of the whole read is the statement's.
pub async fn get_many(
    conn: &mut PgConnection,
    addresses: &[(Uuid, &str)],
) -> Result<Vec<Result<Option<Value>, DocumentReadError>>, sqlx::Error> {
    let (workspaces, hashes): (Vec<Uuid>, Vec<&str>) = addresses.iter().copied().unzip();
    let rows: Vec<(i32, String)> = sqlx::query_as(
        "SELECT a.ord::int4, d.document::text \
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS a(workspace_id, content_hash, ord) \
         JOIN evidence_documents d \
           ON d.workspace_id = a.workspace_id AND d.content_hash = a.content_hash",
    )
    .bind(&workspaces)
    .bind(&hashes)
    .fetch_all(conn)
    .await?;
    let mut documents: Vec<Result<Option<Value>, DocumentReadError>> =
        addresses.iter().map(|_| Ok(None)).collect();
    for (ord, text) in rows {
        let Some(i) = usize::try_from(ord).ok().and_then(|o| o.checked_sub(1)) else {
            continue;
        };
        let (Some(slot), Some((_, hash))) = (documents.get_mut(i), addresses.get(i)) else {
            continue;
        };
        *slot = match serde_json::from_str::<Value>(&text) {
            Ok(d) if content_hash(&d) == *hash => Ok(Some(d)),
            _ => Err(DocumentReadError::Tampered),
        };
    }
    Ok(documents)
}
