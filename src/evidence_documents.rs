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

/// The document `content_hash` of `workspace_id` — only of that workspace — checked
/// against its hash.
pub async fn get(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    hash: &str,
) -> Result<Option<Value>, DocumentReadError> {
    let text: Option<String> = sqlx::query_scalar(
        "SELECT document::text FROM evidence_documents WHERE workspace_id = $1 AND content_hash = $2",
    )
    .bind(workspace_id)
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    let document = text
        .map(|t| serde_json::from_str::<Value>(&t))
        .transpose()
        .map_err(|_| DocumentReadError::Tampered)?;
    match document {
        Some(d) if content_hash(&d) != hash => Err(DocumentReadError::Tampered),
        other => Ok(other),
    }
}
