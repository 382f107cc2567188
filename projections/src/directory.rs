//! Workspaces (with their members), actors and managed environments: what every scoped
//! read checks first. A caller sees only workspaces it belongs to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::actor::{Actor, ActorEvent, ActorKind, ActorState};
use runproof_domain::environment::{
    EnvironmentEvent, EnvironmentState, ManagedEnvironment, SnapshotRef,
};
use runproof_domain::workspace::{Workspace, WorkspaceEvent, WorkspaceState};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{
    self, get_columns, load_columns, query_columns, upsert_columns, JsonColumns, Row, StreamTable,
};

// --- workspaces ---

/// The `workspaces` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkspacesProjection;

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

impl JsonColumns for WorkspaceColumns {
    type State = WorkspaceState;
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "member_ids",
        "created_at",
        "updated_at",
        "version",
        "last_position",
    ];

    fn id(&self) -> Uuid {
        self.id
    }

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

    fn into_row(self) -> Row<WorkspaceState> {
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
            // member actor ids, as a JSON array of strings
            columns: "
                id            uuid PRIMARY KEY,
                name          text        NOT NULL,
                member_ids    jsonb       NOT NULL,
                created_at    timestamptz NOT NULL,
                updated_at    timestamptz NOT NULL,
                version       bigint      NOT NULL,
                last_position bigint      NOT NULL",
            indexes: &[IndexSpec {
                name: "workspaces_members_idx",
                unique: false,
                definition: "USING gin (member_ids)",
            }],
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
        load_columns::<WorkspaceColumns>(conn, table, ids).await
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<WorkspaceState>],
    ) -> Result<(), sqlx::Error> {
        upsert_columns::<WorkspaceColumns>(conn, table, rows).await
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
    get_columns::<WorkspaceColumns>(conn, "workspaces", id).await
}

/// The workspaces `visible_to` belongs to (every workspace without it), by name.
pub async fn workspaces(
    conn: &mut PgConnection,
    visible_to: Option<Uuid>,
) -> Result<Vec<Row<WorkspaceState>>, sqlx::Error> {
    let query = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM workspaces t WHERE ($1::text IS NULL OR member_ids ? $1) \
         ORDER BY name, id",
    )
    .bind(visible_to.map(|a| a.to_string()));
    query_columns::<WorkspaceColumns>(query, conn).await
}

// --- actors ---

/// The `actors` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActorsProjection;

#[derive(Serialize, Deserialize)]
struct ActorColumns {
    id: Uuid,
    display_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
    kind: ActorKind,
    operator: bool,
    feed: bool,
}

impl JsonColumns for ActorColumns {
    type State = ActorState;
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "display_name",
        "created_at",
        "updated_at",
        "version",
        "last_position",
        "kind",
        "operator",
        "feed",
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn of(r: &Row<ActorState>) -> Self {
        ActorColumns {
            id: r.state.id,
            display_name: r.state.display_name.clone(),
            created_at: r.state.created_at,
            updated_at: r.updated_at,
            version: r.version,
            last_position: r.last_position,
            kind: r.state.kind,
            operator: r.state.operator,
            feed: r.state.feed,
        }
    }

    fn into_row(self) -> Row<ActorState> {
        Row {
            state: ActorState {
                id: self.id,
                display_name: self.display_name,
                kind: self.kind,
                operator: self.operator,
                created_at: self.created_at,
                feed: self.feed,
            },
            updated_at: self.updated_at,
            version: self.version,
            last_position: self.last_position,
        }
    }
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
            // kind and operator came later (0009), feed later still (0013): added at
            // the end, as the migrations add them to existing tables
            columns: "
                id            uuid PRIMARY KEY,
                display_name  text        NOT NULL,
                created_at    timestamptz NOT NULL,
                updated_at    timestamptz NOT NULL,
                version       bigint      NOT NULL,
                last_position bigint      NOT NULL,
                kind          text        NOT NULL CHECK (kind IN ('member', 'service')),
                operator      boolean     NOT NULL,
                feed          boolean     NOT NULL",
            indexes: &[],
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
        load_columns::<ActorColumns>(conn, table, ids).await
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<ActorState>],
    ) -> Result<(), sqlx::Error> {
        upsert_columns::<ActorColumns>(conn, table, rows).await
    }
}

// --- managed environments ---

/// The `managed_environments` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentsProjection;

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

impl JsonColumns for EnvironmentColumns {
    type State = EnvironmentState;
    const COLUMNS: &'static [&'static str] = &[
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

    fn id(&self) -> Uuid {
        self.id
    }

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

    fn into_row(self) -> Row<EnvironmentState> {
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
            columns: "
                id                  uuid PRIMARY KEY,
                workspace_id        uuid        NOT NULL,
                name                text        NOT NULL,
                created_at          timestamptz NOT NULL,
                latest_snapshot_id  uuid,
                latest_content_hash text,
                latest_captured_at  timestamptz,
                published_review_id uuid,
                updated_at          timestamptz NOT NULL,
                version             bigint      NOT NULL,
                last_position       bigint      NOT NULL",
            indexes: &[IndexSpec {
                name: "managed_environments_workspace_idx",
                unique: false,
                definition: "(workspace_id, id)",
            }],
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
        load_columns::<EnvironmentColumns>(conn, table, ids).await
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<EnvironmentState>],
    ) -> Result<(), sqlx::Error> {
        upsert_columns::<EnvironmentColumns>(conn, table, rows).await
    }
}

/// The managed environments of one workspace, by name.
pub async fn environments(
    conn: &mut PgConnection,
    workspace_id: Uuid,
) -> Result<Vec<Row<EnvironmentState>>, sqlx::Error> {
    let query = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM managed_environments t WHERE workspace_id = $1 ORDER BY name, id",
    )
    .bind(workspace_id);
    query_columns::<EnvironmentColumns>(query, conn).await
}

/// One managed environment.
pub async fn environment(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Row<EnvironmentState>>, sqlx::Error> {
    get_columns::<EnvironmentColumns>(conn, "managed_environments", id).await
}

/// The display names of these actors (those the directory knows), for showing who did
/// something; an id it does not know is left out.
pub async fn actor_names(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, display_name FROM actors WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// The managed environments of these workspaces, by workspace and name.
pub async fn environments_of(
    conn: &mut PgConnection,
    workspace_ids: &[Uuid],
) -> Result<Vec<Row<EnvironmentState>>, sqlx::Error> {
    let query = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM managed_environments t WHERE workspace_id = ANY($1) \
         ORDER BY workspace_id, name, id",
    )
    .bind(workspace_ids);
    query_columns::<EnvironmentColumns>(query, conn).await
}
