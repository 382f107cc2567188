//! Restore records: a job system reports what the restore of a `restore.execute` run did
//! — requested, running, finished with its counts — through the restore service, and the
//! restore adapter proves the run from that record when the run's own completion never
//! arrives.
//!
//! The record is scoped as the adapter reads it: the run's own workspace and environment,
//! under the restore id the run's context names. The body therefore names only the
//! restore and the run; everything else is taken from the run, so it cannot be named
//! wrongly. Access is the run lifecycle's: a service actor that is a member of the
//! restore's workspace.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::Json;
use runproof_domain::restore::RestoreState;
use runproof_domain::ReasonCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{drive_run, drive_runs, Acting};
use super::super::openapi::Problem;
use super::super::problem::{ApiError, ProblemDocument};
use super::super::state::ApiState;
use super::body;
use super::internal;
use super::runs::run_not_found;
use crate::restore::{Reported, RestoreService};
use crate::service_error::ServiceError;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(request))
        .routes(routes!(report))
}

/// Record the restore a `restore.execute` run performs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "16fd2706-8baf-433b-82eb-8c7fada847da",
    "run": "9b2f4c1e-5d7a-4e3b-8f6a-1c2d3e4f5a6b"
}))]
pub struct RequestRestoreBody {
    /// The restore's id: the `restore_id` the run's context names.
    pub id: Uuid,
    /// The `restore.execute` run performing the restore. The record takes the run's
    /// workspace and environment.
    pub run: Uuid,
}

/// What the restore is doing now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "status": "finished",
    "result": { "failed": false, "items_total": 27, "items_failed": 0 }
}))]
pub struct ReportRestoreBody {
    /// `running` (the restore began) or `finished` (it ended; `result` says how).
    pub status: String,
    /// How the restore ended: for `finished` only.
    #[serde(default)]
    pub result: Option<RestoreResultBody>,
}

/// How a restore ended. The record's status follows: `failed` when the restore as a
/// whole failed, else `completed_with_errors` when any item failed, else `completed`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreResultBody {
    /// The restore as a whole failed. Default false.
    #[serde(default)]
    pub failed: bool,
    /// The items the restore handled.
    pub items_total: u64,
    /// The items that failed; at most `items_total`. Default 0.
    #[serde(default)]
    pub items_failed: u64,
}

fn restore_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::RestoreNotFound, "restore")
}

fn refused(e: &ServiceError) -> ApiError {
    ApiError::from_service(e)
}

fn unprocessable(reason: ReasonCode, args: Vec<(&'static str, String)>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason, args)
}

/// The record as its stream holds it now (just written, so it is there).
async fn recorded(restores: &RestoreService, id: Uuid) -> Result<RestoreState, ApiError> {
    restores
        .load(id)
        .await
        .map_err(|e| refused(&e))?
        .ok_or_else(restore_not_found)
}

/// Record a restore for a `restore.execute` run (status `queued`). Repeating the same
/// request answers 200 and records nothing.
#[utoipa::path(
    post, path = "/restores", tag = "restores", request_body = RequestRestoreBody,
    responses(
        (status = 201, description = "Recorded: the restore record (`restore_id`, `run_id`, `workspace_id`, `environment_id`, `status`, `requested_at`, `started_at`, `finished_at`, `items_total`, `items_failed`); `Location` names it", body = Object,
            headers(("Location" = String, description = "`/api/v1/restores/{id}`"))),
        (status = 200, description = "This restore was already recorded for this run: the record, unchanged", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, description = "The caller sees the run but may not drive runs in its workspace (`access.services_only`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such run for this caller (`run.not_found`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The restore id is recorded for another run (`restore.already_exists`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The run is not a `restore.execute` run in an environment whose context names this restore (`restore.run_mismatch`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Problem),
    )
)]
async fn request(
    State(s): State<ApiState>,
    Acting { caller, ctx }: Acting,
    request: Result<Json<RequestRestoreBody>, JsonRejection>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<RestoreState>,
    ),
    ApiError,
> {
    let req = body(request)?;
    let run = s.app.lifecycle.load(req.run).await.map_err(internal)?;
    let Some(run) = run.state() else {
        return Err(run_not_found());
    };
    drive_run(&s, &caller, run.workspace_id, run_not_found).await?;
    let reported = s
        .app
        .restores
        .request_for_run(req.id, run, &ctx)
        .await
        .map_err(|e| refused(&e))?;
    let status = match reported {
        Reported::Recorded => StatusCode::CREATED,
        Reported::Unchanged => StatusCode::OK,
    };
    let record = recorded(&s.app.restores, req.id).await?;
    Ok((
        status,
        [(header::LOCATION, format!("/api/v1/restores/{}", req.id))],
        Json(record),
    ))
}

/// Report what the restore is doing: `running`, or `finished` with its result. A report
/// the record already holds answers 200 and records nothing; a finished restore's result
/// never changes (409).
#[utoipa::path(
    put, path = "/restores/{id}", tag = "restores", request_body = ReportRestoreBody,
    params(("id" = Uuid, Path, description = "The restore's id")),
    responses(
        (status = 200, description = "The restore record as it is now", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, description = "The caller sees the restore but may not drive runs in its workspace (`access.services_only`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, response = Problem),
        (status = 409, description = "Finished with another result (`restore.already_finished`), or finished before it was reported running (`restore.not_started`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An unknown status, a result that does not fit it, or more failed items than items", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Problem),
    )
)]
async fn report(
    State(s): State<ApiState>,
    Acting { caller, ctx }: Acting,
    Path(id): Path<String>,
    request: Result<Json<ReportRestoreBody>, JsonRejection>,
) -> Result<Json<RestoreState>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| restore_not_found())?;
    let Some(restore) = s.app.restores.load(id).await.map_err(|e| refused(&e))? else {
        return Err(restore_not_found());
    };
    drive_runs(&s, &caller, restore.workspace_id, restore_not_found).await?;
    let req = body(request)?;
    let restores = &s.app.restores;
    match (req.status.as_str(), req.result) {
        ("running", None) => restores.start(id, &ctx).await,
        ("finished", Some(r)) => {
            restores
                .finish(id, r.failed, r.items_total, r.items_failed, &ctx)
                .await
        }
        ("running", Some(_)) | ("finished", None) => {
            return Err(unprocessable(ReasonCode::RestoreResultMismatch, vec![]))
        }
        (other, _) => {
            return Err(unprocessable(
                ReasonCode::RestoreUnknownStatus,
                vec![("value", other.to_string())],
            ))
        }
    }
    .map_err(|e| refused(&e))?;
    Ok(Json(recorded(restores, id).await?))
}
