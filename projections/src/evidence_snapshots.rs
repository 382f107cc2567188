//! The `evidence_snapshots` projection: one row per captured snapshot. The document
//! itself is not a projection: it lives in the append-only evidence document store
//! (`evidence_documents`, written with the capture event), addressed by the row's
//! workspace and content hash.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::environment::{EnvironmentEvent, ManagedEnvironment};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::sql::quote_ident;

/// The projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvidenceSnapshotsProjection;

#[async_trait]
impl Projection for EvidenceSnapshotsProjection {
    fn name(&self) -> &'static str {
        "evidence_snapshots"
    }

    fn tables(&self) -> &'static [TableSpec] {
        // one row per captured snapshot (the document is in `evidence_documents`)
        &[TableSpec {
            name: "evidence_snapshots",
            key: "id",
            columns: "
                id             uuid PRIMARY KEY,
                workspace_id   uuid        NOT NULL,
                environment_id uuid        NOT NULL,
                content_hash   text        NOT NULL,
                finding_count  bigint      NOT NULL,
                captured_at    timestamptz NOT NULL,
                position       bigint      NOT NULL",
            indexes: &[IndexSpec {
                name: "evidence_snapshots_environment_idx",
                unique: false,
                definition: "(workspace_id, environment_id, captured_at DESC, position DESC)",
            }],
        }]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let table = quote_ident(&set.table("evidence_snapshots")).map_err(sqlx::Error::from)?;
        for e in events.iter().filter(|e| {
            e.aggregate_type == ManagedEnvironment::TYPE
                && e.event_type == "EvidenceSnapshotCaptured"
        }) {
            let event: EnvironmentEvent = e.decode().map_err(|err| ProjectionError::Decode {
                at: e.at,
                event_type: e.event_type.clone(),
                reason: err.to_string(),
            })?;
            let EnvironmentEvent::EvidenceSnapshotCaptured(s) = event else {
                continue;
            };
            let environment_id =
                Uuid::parse_str(&e.aggregate_id).map_err(|err| ProjectionError::Decode {
                    at: e.at,
                    event_type: e.event_type.clone(),
                    reason: err.to_string(),
                })?;
            sqlx::query(&format!(
                "INSERT INTO {table} (id, workspace_id, environment_id, content_hash, finding_count, captured_at, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING"
            ))
            .bind(s.snapshot_id)
            .bind(s.workspace_id)
            .bind(environment_id)
            .bind(&s.content_hash)
            .bind(i64::try_from(s.finding_count).unwrap_or(i64::MAX))
            .bind(s.captured_at)
            .bind(e.at.position)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// One captured snapshot as listed (the document itself is not here).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SnapshotRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    /// `sha256:<hex>` over the document's canonical form.
    pub content_hash: String,
    pub finding_count: i64,
    pub captured_at: DateTime<Utc>,
}

/// The newest `limit` snapshots of an environment, newest first (captured time, then
/// log position: two captures in one instant keep the log's order).
pub async fn of_environment(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    environment_id: Uuid,
    limit: i64,
) -> Result<Vec<SnapshotRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, workspace_id, environment_id, content_hash, finding_count, captured_at \
         FROM evidence_snapshots WHERE workspace_id = $1 AND environment_id = $2 \
         ORDER BY captured_at DESC, position DESC LIMIT $3",
    )
    .bind(workspace_id)
    .bind(environment_id)
    .bind(limit.clamp(1, crate::LIST_LIMIT_MAX))
    .fetch_all(conn)
    .await
}
