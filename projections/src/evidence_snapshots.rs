//! The `evidence_snapshots` projection: one row per captured snapshot.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::environment::{EnvironmentEvent, ManagedEnvironment};
use serde_json::Value;
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::sql::quote_ident;

/// A captured snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub content_hash: String,
    pub finding_count: i64,
    pub document: Value,
    pub captured_at: DateTime<Utc>,
}

/// The projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvidenceSnapshotsProjection;

#[async_trait]
impl Projection for EvidenceSnapshotsProjection {
    fn name(&self) -> &'static str {
        "evidence_snapshots"
    }

    fn tables(&self) -> &'static [TableSpec] {
        // one row per captured snapshot (the document is the anchored input of a compose)
        &[TableSpec {
            name: "evidence_snapshots",
            key: "id",
            columns: "
                id             uuid PRIMARY KEY,
                workspace_id   uuid        NOT NULL,
                environment_id uuid        NOT NULL,
                content_hash   text        NOT NULL,
                finding_count  bigint      NOT NULL,
                document       jsonb       NOT NULL,
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
                "INSERT INTO {table} (id, workspace_id, environment_id, content_hash, finding_count, document, captured_at, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
            ))
            .bind(s.snapshot_id)
            .bind(s.workspace_id)
            .bind(environment_id)
            .bind(&s.content_hash)
            .bind(i64::try_from(s.finding_count).unwrap_or(i64::MAX))
            .bind(&s.document)
            .bind(s.captured_at)
            .bind(e.at.position)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

fn decode(row: &sqlx::postgres::PgRow) -> Result<Snapshot, sqlx::Error> {
    Ok(Snapshot {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        environment_id: row.try_get("environment_id")?,
        content_hash: row.try_get("content_hash")?,
        finding_count: row.try_get("finding_count")?,
        document: row.try_get("document")?,
        captured_at: row.try_get("captured_at")?,
    })
}

/// One snapshot, only in its own workspace and environment.
pub async fn get(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    environment_id: Uuid,
    id: Uuid,
) -> Result<Option<Snapshot>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM evidence_snapshots WHERE id = $1 AND workspace_id = $2 AND environment_id = $3")
        .bind(id)
        .bind(workspace_id)
        .bind(environment_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}
