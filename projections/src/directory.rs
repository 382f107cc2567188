//! Workspaces (with their members), actors and managed environments: what every scoped
//! read checks first. A caller sees only workspaces it belongs to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::actor::{Actor, ActorEvent, ActorState};
use runproof_domain::environment::{
    EnvironmentEvent, EnvironmentState, ManagedEnvironment, SnapshotRef,
};
use runproof_domain::workspace::{Workspace, WorkspaceEvent, WorkspaceState};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{self, load_json, upsert_json, Row, StreamTable};

fn decode<T: for<'de> Deserialize<'de>>(v: serde_json::Value) -> Result<T, sqlx::Error> {
    serde_json::from_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn encode<T: Serialize>(v: &T) -> Result<serde_json::Value, sqlx::Error> {
    serde_json::to_value(v).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

// --- workspaces ---

/// The `workspaces` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkspacesProjection;

const WORKSPACE_COLUMNS: &[&str] = &[
    "id",
    "name",
    "member_ids",
    "created_at",
    "updated_at",
    "version",
    "last_position",
];

#[derive(Serialize, Deserialize)]
struct WorkspaceColumns {
    id: Uuid,
    name: String,
    member_ids: Vec<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
}

impl WorkspaceColumns {
    fn of(r: &Row<WorkspaceState>) -> Self {
        WorkspaceColumns {
            id: r.state.id,
            name: r.state.name.clone(),
            member_ids: r.state.members.iter().copied().collect(),
            created_at: r.state.created_at,
            updated_at: r.updated_at,
            version: r.version,
            last_position: r.last_position,
        }
    }

    fn row(self) -> Row<WorkspaceState> {
        Row {
            state: WorkspaceState {
                id: self.id,
                name: self.name,
                members: self.member_ids.into_iter().collect(),
                created_at: self.created_at,
            },
            updated_at: self.updated_at,
            version: self.version,
            last_position: self.last_position,
        }
    }
}

#[async_trait]
impl Projection for WorkspacesProjection {
    fn name(&self) -> &'static str {
        "workspaces"
    }
    fn tables(&self) -> &'static [TableSpec] {
        &[TableSpec {
            name: "workspaces",
            key: "id",
        }]
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        stream_table::apply(self, conn, &set.table("workspaces"), events).await
    }
}

#[async_trait]
impl StreamTable for WorkspacesProjection {
    type Event = WorkspaceEvent;
    type State = WorkspaceState;
    fn table(&self) -> &'static str {
        "workspaces"
    }
    fn aggregate_type(&self) -> &'static str {
        Workspace::TYPE
    }
    fn fold(state: Option<WorkspaceState>, event: WorkspaceEvent) -> Option<WorkspaceState> {
        WorkspaceState::fold(state, event)
    }
    fn occurred_at(event: &WorkspaceEvent) -> DateTime<Utc> {
        event.occurred_at()
    }
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<WorkspaceState>)>, sqlx::Error> {
        load_json(conn, table, "id", ids)
            .await?
            .into_iter()
            .map(|v| decode::<WorkspaceColumns>(v).map(|c| (c.id, c.row())))
            .collect()
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<WorkspaceState>],
    ) -> Result<(), sqlx::Error> {
        let rows = rows
            .iter()
            .map(|r| encode(&WorkspaceColumns::of(r)))
            .collect::<Result<_, _>>()?;
        upsert_json(conn, table, "id", WORKSPACE_COLUMNS, rows).await
    }
}

/// Whether `actor` belongs to `workspace` (false when the workspace does not exist).
pub async fn is_member(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    actor_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1 AND member_ids ? $2)")
        .bind(workspace_id)
        .bind(actor_id.to_string())
        .fetch_one(conn)
        .await
}

/// One workspace.
pub async fn workspace(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Row<WorkspaceState>>, sqlx::Error> {
    Ok(load_json(conn, "workspaces", "id", &[id])
        .await?
        .into_iter()
        .next()
        .map(decode::<WorkspaceColumns>)
        .transpose()?
        .map(WorkspaceColumns::row))
}

// --- actors ---

/// The `actors` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActorsProjection;

const ACTOR_COLUMNS: &[&str] = &[
    "id",
    "display_name",
    "created_at",
    "updated_at",
    "version",
    "last_position",
];

#[derive(Serialize, Deserialize)]
struct ActorColumns {
    id: Uuid,
    display_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
}

#[async_trait]
impl Projection for ActorsProjection {
    fn name(&self) -> &'static str {
        "actors"
    }
    fn tables(&self) -> &'static [TableSpec] {
        &[TableSpec {
            name: "actors",
            key: "id",
        }]
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        stream_table::apply(self, conn, &set.table("actors"), events).await
    }
}

#[async_trait]
impl StreamTable for ActorsProjection {
    type Event = ActorEvent;
    type State = ActorState;
    fn table(&self) -> &'static str {
        "actors"
    }
    fn aggregate_type(&self) -> &'static str {
        Actor::TYPE
    }
    fn fold(state: Option<ActorState>, event: ActorEvent) -> Option<ActorState> {
        ActorState::fold(state, event)
    }
    fn occurred_at(event: &ActorEvent) -> DateTime<Utc> {
        event.occurred_at()
    }
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<ActorState>)>, sqlx::Error> {
        load_json(conn, table, "id", ids)
            .await?
            .into_iter()
            .map(|v| {
                decode::<ActorColumns>(v).map(|c| {
                    (
                        c.id,
                        Row {
                            state: ActorState {
                                id: c.id,
                                display_name: c.display_name,
                                created_at: c.created_at,
                            },
                            updated_at: c.updated_at,
                            version: c.version,
                            last_position: c.last_position,
                        },
                    )
                })
            })
            .collect()
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<ActorState>],
    ) -> Result<(), sqlx::Error> {
        let rows = rows
            .iter()
            .map(|r| {
                encode(&ActorColumns {
                    id: r.state.id,
                    display_name: r.state.display_name.clone(),
                    created_at: r.state.created_at,
                    updated_at: r.updated_at,
                    version: r.version,
                    last_position: r.last_position,
                })
            })
            .collect::<Result<_, _>>()?;
        upsert_json(conn, table, "id", ACTOR_COLUMNS, rows).await
    }
}

/// Whether an actor exists.
pub async fn actor_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM actors WHERE id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await
}

// --- managed environments ---

/// The `managed_environments` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentsProjection;

const ENVIRONMENT_COLUMNS: &[&str] = &[
    "id",
    "workspace_id",
    "name",
    "created_at",
    "latest_snapshot_id",
    "latest_content_hash",
    "latest_captured_at",
    "published_review_id",
    "updated_at",
    "version",
    "last_position",
];

#[derive(Serialize, Deserialize)]
struct EnvironmentColumns {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    latest_snapshot_id: Option<Uuid>,
    latest_content_hash: Option<String>,
    latest_captured_at: Option<DateTime<Utc>>,
    published_review_id: Option<Uuid>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
}

impl EnvironmentColumns {
    fn of(r: &Row<EnvironmentState>) -> Self {
        let s = &r.state;
        EnvironmentColumns {
            id: s.id,
            workspace_id: s.workspace_id,
            name: s.name.clone(),
            created_at: s.created_at,
            latest_snapshot_id: s.latest_snapshot.as_ref().map(|l| l.snapshot_id),
            latest_content_hash: s.latest_snapshot.as_ref().map(|l| l.content_hash.clone()),
            latest_captured_at: s.latest_snapshot.as_ref().map(|l| l.captured_at),
            published_review_id: s.published_review,
            updated_at: r.updated_at,
            version: r.version,
            last_position: r.last_position,
        }
    }

    fn row(self) -> Row<EnvironmentState> {
        let latest_snapshot = match (
            self.latest_snapshot_id,
            self.latest_content_hash,
            self.latest_captured_at,
        ) {
            (Some(snapshot_id), Some(content_hash), Some(captured_at)) => Some(SnapshotRef {
                snapshot_id,
                content_hash,
                captured_at,
            }),
            _ => None,
        };
        Row {
            state: EnvironmentState {
                id: self.id,
                workspace_id: self.workspace_id,
                name: self.name,
                created_at: self.created_at,
                latest_snapshot,
                published_review: self.published_review_id,
            },
            updated_at: self.updated_at,
            version: self.version,
            last_position: self.last_position,
        }
    }
}

#[async_trait]
impl Projection for EnvironmentsProjection {
    fn name(&self) -> &'static str {
        "managed_environments"
    }
    fn tables(&self) -> &'static [TableSpec] {
        &[TableSpec {
            name: "managed_environments",
            key: "id",
        }]
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        stream_table::apply(self, conn, &set.table("managed_environments"), events).await
    }
}

#[async_trait]
impl StreamTable for EnvironmentsProjection {
    type Event = EnvironmentEvent;
    type State = EnvironmentState;
    fn table(&self) -> &'static str {
        "managed_environments"
    }
    fn aggregate_type(&self) -> &'static str {
        ManagedEnvironment::TYPE
    }
    fn fold(state: Option<EnvironmentState>, event: EnvironmentEvent) -> Option<EnvironmentState> {
        EnvironmentState::fold(state, event)
    }
    fn occurred_at(event: &EnvironmentEvent) -> DateTime<Utc> {
        event.occurred_at()
    }
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<EnvironmentState>)>, sqlx::Error> {
        load_json(conn, table, "id", ids)
            .await?
            .into_iter()
            .map(|v| decode::<EnvironmentColumns>(v).map(|c| (c.id, c.row())))
            .collect()
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<EnvironmentState>],
    ) -> Result<(), sqlx::Error> {
        let rows = rows
            .iter()
            .map(|r| encode(&EnvironmentColumns::of(r)))
            .collect::<Result<_, _>>()?;
        upsert_json(conn, table, "id", ENVIRONMENT_COLUMNS, rows).await
    }
}

/// An environment, only if it belongs to `workspace_id`.
pub async fn environment_in(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    environment_id: Uuid,
) -> Result<Option<Row<EnvironmentState>>, sqlx::Error> {
    let found: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM managed_environments t WHERE id = $1 AND workspace_id = $2",
    )
    .bind(environment_id)
    .bind(workspace_id)
    .fetch_optional(conn)
    .await?;
    found
        .map(|v| decode::<EnvironmentColumns>(v).map(EnvironmentColumns::row))
        .transpose()
}

/// An environment by id alone (for commands that only know the environment).
pub async fn environment(
    conn: &mut PgConnection,
    environment_id: Uuid,
) -> Result<Option<Row<EnvironmentState>>, sqlx::Error> {
    Ok(
        load_json(conn, "managed_environments", "id", &[environment_id])
            .await?
            .into_iter()
            .next()
            .map(decode::<EnvironmentColumns>)
            .transpose()?
            .map(EnvironmentColumns::row),
    )
}
