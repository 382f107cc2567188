//! The run lifecycle for job systems: ensure a run, start it, complete it — through the
//! one lifecycle service every writer uses, so its rules hold here too: one active run
//! per identity, a start claims a queued run once, a repeated completion records nothing
//! and an outcome never flips.
//!
//! Only a service actor that is a member of the run's workspace drives runs. A workspace
//! (or run) the caller may not see answers exactly like one that does not exist; one it
//! sees but may not drive runs in answers 403 `access.services_only` (see
//! [`drive_runs`]; for a run, [`drive_run`]: an operator sees every run, so it gets the
//! 403 also for a run of a workspace the directory does not know). Review compose runs are runproof's own and refused
//! (`run.driven_by_engine`).

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::Json;
use runproof_domain::access::Caller;
use runproof_domain::operation_run::{CompletionNote, Failure, RunState, TerminalOutcome};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{drive_run, drive_runs, Acting};
use super::super::openapi::Problem;
use super::super::problem::{ApiError, ProblemDocument};
use super::super::state::ApiState;
use super::internal;
use super::runs::{document, run_not_found};
use super::{body, Language};
use crate::cli::error::CliError;
use crate::lifecycle::{Completion, EnsureRun, Ensured, LifecycleError};

/// `POST /runs` is registered with `GET /runs` in `runs`.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(complete))
}

/// Ask for a run. Requests with the same workspace, environment, type and identity share
/// one active run: the first queues it, the others get it back.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "workspace": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "environment": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "type": "restore.execute",
    "identity": { "backup": "2026-11-29T02:00Z" },
    "context": { "restore_id": "16fd2706-8baf-433b-82eb-8c7fada847da" }
}))]
pub struct EnsureRequest {
    /// The workspace the run belongs to.
    pub workspace: Uuid,
    /// The managed environment the run works on (of the same workspace), if any.
    #[serde(default)]
    pub environment: Option<Uuid>,
    /// The run type: `restore.execute`, `inventory.sync` or `report.export`.
    #[serde(rename = "type")]
    pub run_type: String,
    /// What makes two requests "the same run": any JSON value, hashed together with
    /// workspace, environment and type into the run's identity.
    #[schema(value_type = Object)]
    pub identity: Value,
    /// Type-specific context recorded on the run: a JSON object of at most 16 KiB
    /// (`reconciliation` and `completion` are reserved). A `restore.execute` run names
    /// its restore record here: `{"restore_id": "…"}`. Default `{}`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub context: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// The run's own job reports how it ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "outcome": "partially_succeeded",
    "summary": { "policies": 42, "restored": 40 },
    "failures": [{ "reason_code": "job.items_failed", "message": "2 policies were locked" }],
    "note": { "reason_code": "job.items_failed" }
}))]
pub struct CompleteRequest {
    /// `succeeded`, `partially_succeeded`, `blocked` or `failed`.
    pub outcome: String,
    /// Counts by name: keys `[a-z0-9_]`, at most 48 characters, at most 32 entries.
    #[serde(default)]
    pub summary: BTreeMap<String, u64>,
    /// What failed, each with a catalogued reason code (at most 50).
    #[serde(default)]
    pub failures: Vec<FailureRequest>,
    /// Why the run ended this way. Without it, the first failure's reason (or
    /// `job.no_reason`) is recorded.
    #[serde(default)]
    pub note: Option<NoteRequest>,
}

/// One entry of the failure summary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureRequest {
    /// A catalogued reason code (`job.failed`, `job.timed_out`, `job.input_invalid`,
    /// `job.dependency_unavailable`, `job.items_failed`, …).
    pub reason_code: String,
    /// One line of at most 240 characters the job vouches is safe to show (no
    /// payloads, URLs with signatures, tokens or driver errors).
    #[serde(default)]
    pub message: Option<String>,
}

/// The job's note on how the run ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// A catalogued reason code.
    pub reason_code: String,
}

fn lifecycle_error(e: &LifecycleError) -> ApiError {
    ApiError::from_cli(&CliError::from_lifecycle(e))
}

fn unprocessable(reason: ReasonCode, args: Vec<(&'static str, String)>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason, args)
}

fn workspace_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::WorkspaceNotFound, "workspace")
}

fn environment_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::EnvironmentNotFound, "environment")
}

/// Refuses types runproof drives itself.
fn driven_by_jobs(run_type: RunType) -> Result<(), ApiError> {
    if run_type.driven_by_jobs() {
        Ok(())
    } else {
        Err(unprocessable(
            ReasonCode::RunDrivenByEngine,
            vec![("type", run_type.key().to_string())],
        ))
    }
}

/// The run `id` as its stream records it, if the caller may drive it: "not found" (as
/// for an id that exists nowhere) when it cannot see it, 403 when it sees it but may not
/// drive runs there, 422 for a type runproof drives itself.
async fn driven_run(s: &ApiState, caller: &Caller, id: &str) -> Result<RunState, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| run_not_found())?;
    let run = s.app.lifecycle.load(id).await.map_err(internal)?;
    let Some(state) = run.state() else {
        return Err(run_not_found());
    };
    drive_run(s, caller, state.workspace_id, run_not_found).await?;
    driven_by_jobs(state.run_type)?;
    Ok(state.clone())
}

fn reason_code(value: &str) -> Result<ReasonCode, ApiError> {
    value.parse().map_err(|_| {
        unprocessable(
            ReasonCode::RunUnknownReason,
            vec![("value", value.to_string())],
        )
    })
}

/// Ensure a run: the active run for this identity, or a new one queued. Concurrent
/// identical requests get one run.
#[utoipa::path(
    post, path = "/runs", tag = "runs", request_body = EnsureRequest,
    responses(
        (status = 201, description = "A new run was queued: the run, decision first (as `GET /api/v1/runs/{id}`); `Location` names it", body = Object,
            headers(("Location" = String, description = "`/api/v1/runs/{id}`"))),
        (status = 200, description = "An active run with the same identity already existed: that run, decision first", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, description = "The caller sees the workspace but is not a service actor that is a member of it (`access.services_only`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such workspace (or environment in it) for this caller", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, response = Problem),
        (status = 422, description = "An unknown type, a type runproof drives itself, or a context out of bounds", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Problem),
    )
)]
pub(super) async fn ensure(
    State(s): State<ApiState>,
    Acting { caller, ctx }: Acting,
    Language(lang): Language,
    request: Result<Json<EnsureRequest>, JsonRejection>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Value>), ApiError> {
    let req = body(request)?;
    drive_runs(&s, &caller, req.workspace, workspace_not_found).await?;
    if let Some(environment) = req.environment {
        let known = s
            .app
            .directory
            .environment_in(req.workspace, environment)
            .await
            .map_err(|e| ApiError::from_service(&e))?;
        if !known {
            return Err(environment_not_found());
        }
    }
    let run_type: RunType = req.run_type.parse().map_err(|_| {
        unprocessable(
            ReasonCode::RunUnknownType,
            vec![("type", req.run_type.clone())],
        )
    })?;
    driven_by_jobs(run_type)?;
    let ensured = s
        .app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: req.workspace,
                environment_id: req.environment,
                run_type: run_type.key().to_string(),
                identity_inputs: req.identity,
                context: req.context,
            },
            &ctx,
        )
        .await
        .map_err(|e| lifecycle_error(&e))?;
    let id = ensured.run_id();
    let status = match ensured {
        Ensured::Queued(_) => StatusCode::CREATED,
        Ensured::Existing(_) => StatusCode::OK,
    };
    let run = document(&s, caller.into(), id, lang).await?;
    Ok((
        status,
        [(header::LOCATION, format!("/api/v1/runs/{id}"))],
        Json(run),
    ))
}

/// Start a queued run: the job claims it. Of concurrent starts exactly one succeeds.
#[utoipa::path(
    post, path = "/runs/{id}/start", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run, now running, decision first", body = Object),
        (status = 401, response = Problem),
        (status = 403, description = "The caller sees the run but may not drive runs in its workspace (`access.services_only`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, response = Problem),
        (status = 409, description = "The run is already running (`run.already_running`) or completed (`run.already_completed`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A type runproof drives itself (`run.driven_by_engine`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Problem),
    )
)]
async fn start(
    State(s): State<ApiState>,
    Acting { caller, ctx }: Acting,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = driven_run(&s, &caller, &id).await?;
    s.app
        .lifecycle
        .start(run.id, &ctx)
        .await
        .map_err(|e| lifecycle_error(&e))?;
    Ok(Json(document(&s, caller.into(), run.id, lang).await?))
}

/// Complete a running run with its job's outcome. Repeating a completion with the same
/// outcome answers 200 and records nothing; another outcome is refused (409): an
/// outcome never flips.
#[utoipa::path(
    post, path = "/runs/{id}/complete", tag = "runs", request_body = CompleteRequest,
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run, completed, decision first (also for a repeated completion, which records nothing)", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, description = "The caller sees the run but may not drive runs in its workspace (`access.services_only`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, response = Problem),
        (status = 409, description = "The run already ended with another outcome (`run.outcome_conflict`) or was never started (`run.not_started`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An unknown outcome or reason code, counts or failures out of bounds, or a type runproof drives itself", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Problem),
    )
)]
async fn complete(
    State(s): State<ApiState>,
    Acting { caller, ctx }: Acting,
    Language(lang): Language,
    Path(id): Path<String>,
    request: Result<Json<CompleteRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let run = driven_run(&s, &caller, &id).await?;
    let req = body(request)?;
    let outcome: TerminalOutcome = req.outcome.parse().map_err(|_| {
        unprocessable(
            ReasonCode::RunUnknownOutcome,
            vec![("value", req.outcome.clone())],
        )
    })?;
    let failures = req
        .failures
        .iter()
        .map(|f| {
            Ok(Failure {
                reason_code: reason_code(&f.reason_code)?,
                message: f.message.clone(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let note = req
        .note
        .as_ref()
        .map(|n| {
            Ok::<_, ApiError>(CompletionNote {
                reason_code: reason_code(&n.reason_code)?,
                record: None,
            })
        })
        .transpose()?;
    s.app
        .lifecycle
        .complete_with(
            run.id,
            Completion {
                outcome,
                summary: req.summary,
                failures,
                note,
            },
            &ctx,
        )
        .await
        .map_err(|e| lifecycle_error(&e))?;
    Ok(Json(document(&s, caller.into(), run.id, lang).await?))
}
