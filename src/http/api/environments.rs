//! Managed environments: capturing an evidence snapshot, and asking for the environment's
//! review (create or refresh). Both act on the environment's workspace, so they need a
//! member's token; an environment the caller may not see does not exist for it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use runproof_domain::access::Caller;
use runproof_domain::environment::{EnvironmentState, ManagedEnvironment};
use runproof_domain::ReasonCode;
use runproof_projections::{environment_reviews, operation_runs};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{access, Authenticated};
use super::super::openapi::Problem;
use super::super::problem::ApiError;
use super::super::state::ApiState;
use super::{body_bytes, internal, members_only, Language, NoBody, NoQuery};
use crate::cli::directory::{context, parse_document, CapturedView};
use crate::cli::out::Out;
use crate::cli::reviews::{feedback_text, ReviewView};
use crate::cli::runs::RunView;
use crate::reviews::Feedback;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(capture_evidence))
        .routes(routes!(request_review))
}

fn environment_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::EnvironmentNotFound, "environment")
}

/// The environment as recorded in its own stream (so one created a moment ago counts,
/// whatever the projections' lag), if the caller may act on its workspace. One it may not
/// see answers exactly like an id that exists nowhere; one it may only see (an operator
/// who is not a member) answers `access.members_only`.
async fn environment_to_act_on(
    s: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<EnvironmentState, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| environment_not_found())?;
    let loaded = s
        .app
        .store
        .load::<ManagedEnvironment>(&id.to_string())
        .await
        .map_err(|e| ApiError::from_service(&e.into()))?;
    let Some(environment) = loaded.aggregate.state().cloned() else {
        return Err(environment_not_found());
    };
    let access = access(s, caller, environment.workspace_id).await?;
    if !access.see {
        return Err(environment_not_found());
    }
    if !access.act {
        return Err(members_only());
    }
    Ok(environment)
}

/// Captures the request body — a findings document — as the environment's newest evidence
/// snapshot (as `runproof evidence capture`). The next review compose request composes
/// from it. An invalid document records nothing.
///
/// 400 `evidence.invalid`: the body is not JSON (line and column named). 422
/// `evidence.invalid`: JSON, but not a valid findings document (what is wrong named).
/// 413: over 1 MiB. 403 `access.members_only`: the caller sees the workspace (an
/// operator) but is not a member. 409 `environment.concurrent_change`: concurrent
/// captures kept winning; retry.
#[utoipa::path(
    post, path = "/environments/{id}/evidence", tag = "environments",
    params(("id" = Uuid, Path, description = "The managed environment's id")),
    request_body(
        content = Object, content_type = "application/json",
        description = "The findings document: a JSON object with a `findings` array whose \
            items each have a `severity` (critical, high, medium, low, info) and a \
            `category` (a short lowercase word); other fields are kept in the snapshot. \
            At most 1 MiB and 10000 findings; no U+0000 anywhere.",
        example = json!({"findings": [
            {"severity": "high", "category": "identity", "title": "MFA not enforced for admins"},
            {"severity": "low", "category": "backup", "title": "Retention below 30 days"}
        ]})
    ),
    responses(
        (status = 201, description = "The evidence snapshot was captured", body = CapturedView),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 404, response = Problem),
        (status = 409, response = Problem),
        (status = 413, response = Problem),
        (status = 422, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn capture_evidence(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CapturedView>), ApiError> {
    let environment = environment_to_act_on(&s, &caller, &id).await?;
    let body = body_bytes(body)?;
    // Not JSON is the client's malformed request (400) with the CLI's reason for the
    // same mistake; JSON that is no valid document is refused by the service (422).
    let document = parse_document(&body).map_err(|e| super::bad_request(&e))?;
    let captured = s
        .app
        .directory
        .capture_evidence(environment.id, document, &context(Some(caller.actor_id)))
        .await
        .map_err(|e| ApiError::from_service(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(CapturedView::of(environment.id, &captured)),
    ))
}

/// What a compose request led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComposeResult {
    /// A compose run was queued: open `run_id`.
    Queued,
    /// A compose run for the same evidence is already queued or running: open `run_id`.
    AlreadyRunning,
    /// A ready or published review of the current evidence exists: open `review_id`.
    AlreadyAvailable,
}

/// The answer to a review compose request: what happened, what to open, and the
/// operator's sentence for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComposeAnswer {
    pub result: ComposeResult,
    /// The compose run to open (`queued`, `already_running`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<Uuid>,
    /// The review to open (`already_available`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_id: Option<Uuid>,
    /// What happened, in the language of Accept-Language (en, de); the same sentence as
    /// `runproof reviews compose`.
    pub message: String,
    /// The run, decision first (as `GET /api/v1/runs/{id}`), when the views show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub run: Option<Value>,
    /// The review (as `GET /api/v1/reviews/{id}`), when the views show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewView>,
}

/// Creates or refreshes the environment's review for the caller (as `runproof reviews
/// compose`): a ready or published review of the current evidence is returned as it is;
/// an active compose run for it is returned instead of a second one; otherwise one
/// compose run is queued. However many requests arrive at once, one run is queued.
///
/// Takes no body (an empty one, or `{}`; anything else is 400 `http.invalid_body`).
/// 422 `evidence.missing`: nothing captured yet. 403 `access.members_only`: the caller
/// sees the workspace but is not a member. 409: concurrent requests kept winning; retry.
#[utoipa::path(
    post, path = "/environments/{id}/reviews", tag = "environments",
    params(("id" = Uuid, Path, description = "The managed environment's id")),
    responses(
        (status = 202, description = "`queued`: a compose run was queued; `run_id` is the run to open", body = ComposeAnswer),
        (status = 200, description = "`already_running` with the active run, or `already_available` with the review", body = ComposeAnswer),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 404, response = Problem),
        (status = 409, response = Problem),
        (status = 422, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn request_review(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Language(lang): Language,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<(StatusCode, Json<ComposeAnswer>), ApiError> {
    let environment = environment_to_act_on(&s, &caller, &id).await?;
    let feedback = s
        .app
        .reviews
        .create_or_refresh(
            caller.actor_id,
            environment.workspace_id,
            environment.id,
            &context(Some(caller.actor_id)),
        )
        .await
        .map_err(|e| ApiError::from_service(&e))?;
    let out = Out { json: true, lang };
    let message = feedback_text(&feedback, &out);
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let (status, answer) = match feedback {
        Feedback::Queued { run_id } | Feedback::AlreadyRunning { run_id } => {
            let run = operation_runs::get(&mut conn, run_id)
                .await
                .map_err(internal)?
                .map(|row| RunView::of(&row, s.app.clock.now(), &out).decision_first());
            let (status, result) = match feedback {
                Feedback::Queued { .. } => (StatusCode::ACCEPTED, ComposeResult::Queued),
                _ => (StatusCode::OK, ComposeResult::AlreadyRunning),
            };
            let answer = ComposeAnswer {
                result,
                run_id: Some(run_id),
                review_id: None,
                message,
                run,
                review: None,
            };
            (status, answer)
        }
        Feedback::AlreadyAvailable { review_id } => {
            let review = environment_reviews::get(&mut conn, review_id)
                .await
                .map_err(internal)?
                .map(|row| ReviewView::of(&row));
            let answer = ComposeAnswer {
                result: ComposeResult::AlreadyAvailable,
                run_id: None,
                review_id: Some(review_id),
                message,
                run: None,
                review,
            };
            (StatusCode::OK, answer)
        }
    };
    Ok((status, Json(answer)))
}
