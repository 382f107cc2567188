//! Runs: the list (filters, keyset pages), one run decision first, its history, and what
//! the reconciler would decide about it now. (Writes — ensure, start, complete — are in
//! `lifecycle`; `POST /runs` is registered here, beside `GET /runs`, because one path
//! takes one registration.)

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use runproof_domain::ReasonCode;
use runproof_projections::operation_runs::{self, RunFilter, RunRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{sees_recorded_run, sees_runs_of, Authenticated, Claim};
use super::super::openapi::Problem;
use super::super::problem::ApiError;
use super::super::state::ApiState;
use super::{bad_request, cursor, internal, invalid_query, Language};
use crate::cli::out::Out;
use crate::cli::runs::{parse_filter, ListArgs, RunView};
use crate::history::{self, StreamKind};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list, super::lifecycle::ensure))
        .routes(routes!(show))
        .routes(routes!(history))
        .routes(routes!(explain))
}

/// `GET /api/v1/runs` query parameters. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs of this workspace (id).
    pub workspace: Option<String>,
    /// Only runs of this managed environment (id).
    pub environment: Option<String>,
    /// Only runs of this type (`restore`, `review_compose`, ...).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub run_type: Option<String>,
    /// Only runs in this status (`queued`, `running`, `completed`).
    pub status: Option<String>,
    /// Only runs with this outcome (`pending`, `succeeded`, `partially_succeeded`,
    /// `failed`, `blocked`).
    pub outcome: Option<String>,
    /// Only runs that need attention now (failed, blocked, partially succeeded, or active
    /// past their stale threshold).
    pub needs_attention: Option<bool>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; omitted for the newest page.
    pub cursor: Option<String>,
}

/// The default page size.
const PAGE: i64 = 50;

/// Runs the caller may see, newest first, decision first, one keyset page at a time.
#[utoipa::path(
    get, path = "/runs", tag = "runs", params(ListQuery),
    responses(
        (status = 200, description = "`{ runs: [run], next_cursor }`: each run as `runs list --json` prints it; `next_cursor` is null on the last page", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn list(
    State(s): State<ApiState>,
    claim: Claim,
    Language(lang): Language,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<RunPage>, ApiError> {
    let Query(q) = query.map_err(invalid_query)?;
    let mut filter = parse_filter(&ListArgs {
        workspace: q.workspace.as_deref(),
        environment: q.environment.as_deref(),
        status: q.status.as_deref(),
        outcome: q.outcome.as_deref(),
        run_type: q.run_type.as_deref(),
        actor: None,
        limit: q.limit.unwrap_or(PAGE),
    })
    .map_err(|e| bad_request(&e))?;
    let now = s.app.clock.now();
    filter.needs_attention_at = q.needs_attention.unwrap_or(false).then_some(now);
    filter.after = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let (_, rows) = claim
        .read(&s, |caller, guard| {
            let filter = RunFilter {
                visible_to: caller.visible_to(),
                ..filter.clone()
            };
            let pool = &s.app.pool;
            async move {
                let mut conn = pool.acquire().await.map_err(internal)?;
                operation_runs::list_guarded(&mut conn, &filter, guard.as_ref())
                    .await
                    .map_err(internal)
            }
        })
        .await?;
    let out = Out { json: true, lang };
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| {
            rows.last()
                .map(|r| cursor::encode(r.state.created_at, r.state.id))
        })
        .flatten();
    let runs: Vec<RunView> = rows.iter().map(|r| RunView::of(r, now, &out)).collect();
    Ok(Json(RunPage { runs, next_cursor }))
}

/// One page of `GET /api/v1/runs`, serialised straight from the views (no JSON tree in
/// between: a page of 1,000 runs is the largest document the API renders this often).
#[derive(Serialize)]
struct RunPage {
    runs: Vec<RunView>,
    next_cursor: Option<String>,
}

pub(super) fn run_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::RunNotFound, "run")
}

/// The run's row, if the caller may see it (`auth::sees_runs_of`: an operator every run,
/// a member the runs of its workspaces); "not found" otherwise, exactly as for an id that
/// exists nowhere. A run recorded in the log but not yet in the view answers 503
/// `run.not_yet_visible` (to a caller who may see it).
async fn visible_run(
    s: &ApiState,
    claim: Claim,
    id: &str,
    lang: runproof_domain::Lang,
) -> Result<RunRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| run_not_found())?;
    let (caller, found) = claim
        .read(s, |caller, guard| async move {
            let mut conn = s.app.pool.acquire().await.map_err(internal)?;
            operation_runs::get_with_sight_guarded(
                &mut conn,
                id,
                caller.visible_to(),
                guard.as_ref(),
            )
            .await
            .map_err(internal)
        })
        .await?;
    let caller = &caller;
    let row = match found {
        // An operator, or a membership the `workspaces` view shows: it holds now, as
        // sight only grows (`WorkspaceEvent::narrows_sight`). One statement for the
        // common case.
        Some((row, true)) => return Ok(row),
        // The view may lag the log: the workspace's stream decides.
        Some((row, false)) => row,
        None if sees_recorded_run(s, caller, id).await? => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ReasonCode::RunNotYetVisible,
                vec![
                    ("run", id.to_string()),
                    (
                        "cause",
                        crate::cli::lag::cause_text(None, &Out { json: true, lang }),
                    ),
                ],
            )
            .retry_after(1))
        }
        None => return Err(run_not_found()),
    };
    if !sees_runs_of(s, caller, row.state.workspace_id).await? {
        return Err(run_not_found());
    }
    Ok(row)
}

/// The decision-first document of run `id` (as `runs show --json`), for a caller that
/// may see it.
pub(super) async fn document(
    s: &ApiState,
    claim: Claim,
    id: Uuid,
    lang: runproof_domain::Lang,
) -> Result<Value, ApiError> {
    let row = visible_run(s, claim, &id.to_string(), lang).await?;
    let view = RunView::of(&row, s.app.clock.now(), &Out { json: true, lang });
    Ok(view.decision_first())
}

/// One run, decision first (as `runs show --json`).
#[utoipa::path(
    get, path = "/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "`{ decision, diagnostics, context }`", body = Object),
        (status = 401, response = Problem),
        (status = 404, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn show(
    State(s): State<ApiState>,
    claim: Claim,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| run_not_found())?;
    Ok(Json(document(&s, claim, id, lang).await?))
}

/// Every event of the run's stream, oldest first (as `history --json`).
#[utoipa::path(
    get, path = "/runs/{id}/history", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "`{ stream, id, events, links }`", body = Object),
        (status = 401, response = Problem),
        (status = 404, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn history(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<crate::cli::history::HistoryView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| run_not_found())?;
    let found = history::load(&s.app.pool, id, Some(StreamKind::Run))
        .await
        .map_err(internal)?
        .ok_or_else(run_not_found)?;
    let Some(workspace) = found.workspace_id else {
        return Err(run_not_found());
    };
    if !sees_runs_of(&s, &caller, workspace).await? {
        return Err(run_not_found());
    }
    Ok(Json(crate::cli::history::view(&found, lang)))
}

/// What the reconciler would decide about the run now, and why; records nothing (as
/// `reconcile --explain`).
#[utoipa::path(
    get, path = "/runs/{id}/explain", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The evaluation: adapter, evidence, decision", body = Object),
        (status = 401, response = Problem),
        (status = 404, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn explain(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = visible_run(&s, Claim::from(caller), &id, lang).await?;
    let reconciler = crate::reconciliation::reconciler(&s.app).map_err(internal)?;
    let now = s.app.clock.now();
    let explained = reconciler
        .explain(row.state.id, now)
        .await
        .map_err(internal)?;
    let Some((run, evaluation)) = explained else {
        return Err(run_not_found());
    };
    Ok(Json(crate::cli::reconcile::explanation(
        &run,
        evaluation.as_ref(),
        now,
    )))
}
