//! The directory as a caller sees it: its workspaces (each with its active runs and the
//! runs needing attention, for a console's overview) and a workspace's environments.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use runproof_domain::environment::EnvironmentState;
use runproof_domain::ReasonCode;
use runproof_projections::{directory, Row};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{access, Authenticated};
use super::super::openapi::Problem;
use super::super::problem::ApiError;
use super::super::state::ApiState;
use super::{internal, NoQuery};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(environments))
}

/// A workspace as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// How many actors are members.
    pub member_count: usize,
    /// Whether the caller may act on it (compose, publish, capture evidence): it is a
    /// member. An operator sees every workspace but acts only where it is a member.
    pub can_act: bool,
    /// Runs queued or running now.
    pub active_runs: i64,
    /// Runs that need attention now: exactly those `GET /api/v1/runs?workspace=…&
    /// needs_attention=true` pages through (ended badly, or active past their type's stale
    /// threshold).
    pub runs_needing_attention: i64,
}

/// The caller's workspaces.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    /// By name.
    pub workspaces: Vec<WorkspaceView>,
}

/// The workspaces the caller sees — a member its own, an operator every one — by name,
/// each with its active runs and the runs needing attention now.
#[utoipa::path(
    get, path = "/workspaces", tag = "directory",
    responses(
        (status = 200, description = "The caller's workspaces", body = WorkspaceList),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn list(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
) -> Result<Json<WorkspaceList>, ApiError> {
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let workspaces = crate::directory::overview(&mut conn, &caller, s.app.clock.now())
        .await
        .map_err(internal)?
        .into_iter()
        .map(|o| WorkspaceView {
            id: o.workspace.id,
            member_count: o.workspace.members.len(),
            name: o.workspace.name,
            created_at: o.workspace.created_at,
            can_act: o.can_act,
            active_runs: o.active_runs,
            runs_needing_attention: o.runs_needing_attention,
        })
        .collect();
    Ok(Json(WorkspaceList { workspaces }))
}

/// The newest evidence snapshot of an environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceRef {
    pub snapshot_id: Uuid,
    /// `sha256:<hex>` over the document's canonical form.
    pub content_hash: String,
    pub captured_at: DateTime<Utc>,
}

/// A managed environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// What the next review compose request composes from; null before the first
    /// capture.
    pub latest_evidence: Option<EvidenceRef>,
    /// The review published for it now, if any.
    pub published_review_id: Option<Uuid>,
}

impl EnvironmentView {
    fn of(row: Row<EnvironmentState>) -> Self {
        let e = row.state;
        EnvironmentView {
            id: e.id,
            workspace_id: e.workspace_id,
            name: e.name,
            created_at: e.created_at,
            latest_evidence: e.latest_snapshot.map(|l| EvidenceRef {
                snapshot_id: l.snapshot_id,
                content_hash: l.content_hash,
                captured_at: l.captured_at,
            }),
            published_review_id: e.published_review,
        }
    }
}

/// A workspace's environments.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub workspace_id: Uuid,
    /// By name.
    pub environments: Vec<EnvironmentView>,
}

fn workspace_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::WorkspaceNotFound, "workspace")
}

/// The managed environments of a workspace the caller sees, by name.
#[utoipa::path(
    get, path = "/workspaces/{id}/environments", tag = "directory",
    params(("id" = Uuid, Path, description = "The workspace's id")),
    responses(
        (status = 200, description = "The workspace's environments", body = EnvironmentList),
        (status = 401, response = Problem),
        (status = 404, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn environments(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<EnvironmentList>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| workspace_not_found())?;
    if !access(&s, &caller, id).await?.see {
        return Err(workspace_not_found());
    }
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let rows = directory::environments(&mut conn, id)
        .await
        .map_err(internal)?;
    Ok(Json(EnvironmentList {
        workspace_id: id,
        environments: rows.into_iter().map(EnvironmentView::of).collect(),
    }))
}
