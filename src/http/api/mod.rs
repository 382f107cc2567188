//! The JSON API under `/api/v1`, one module per resource. Every route authenticates
//! (bearer token), checks the caller's scope, calls the same services as the CLI, and
//! renders the same documents as the CLI's `--json`.

mod environments;
mod events;
mod lifecycle;
mod restores;
mod reviews;
pub(crate) mod runs;
mod workspaces;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use runproof_domain::{Lang, ReasonCode};
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;

use super::problem::{negotiate, ApiError};
use super::state::ApiState;
use crate::cli::error::CliError;

/// Every `/api/v1` route, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .merge(runs::routes())
        .merge(environments::routes())
        .merge(reviews::routes())
        .merge(workspaces::routes())
        .merge(lifecycle::routes())
        .merge(restores::routes())
        .merge(events::routes())
}

/// The caller's language (`Accept-Language`), for documents that carry texts.
#[derive(Debug, Clone, Copy)]
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Language(negotiate(&parts.headers)))
    }
}

/// A query or body the client got wrong: 400 with the CLI's reason for the same mistake.
pub(crate) fn bad_request(e: &CliError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.reason, e.args.clone())
}

/// A query string that does not parse (an unknown parameter, a value of the wrong kind).
pub(crate) fn invalid_query(e: impl std::fmt::Display) -> ApiError {
    tracing::debug!(error = %e, "query refused");
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ReasonCode::HttpInvalidQuery,
        vec![],
    )
}

/// A failure the caller cannot act on (the database, the engine): 503, the cause logged.
pub(crate) fn internal(e: impl std::error::Error + 'static) -> ApiError {
    ApiError::from_cli(&CliError::internal(&e))
}

/// The caller may see the workspace (an operator) but only members act on it. Never
/// answered for a workspace the caller may not see: that is "not found".
pub(crate) fn members_only() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ReasonCode::AccessMembersOnly, vec![])
}

/// A body the client got wrong: not JSON, not the expected object, unknown fields.
pub(crate) fn invalid_body(e: impl std::fmt::Display) -> ApiError {
    tracing::debug!(error = %e, "body refused");
    ApiError::new(StatusCode::BAD_REQUEST, ReasonCode::HttpInvalidBody, vec![])
}

/// The body as sent; a body over the limit is the `http.body_too_large` problem.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ReasonCode::HttpBodyTooLarge,
                vec![],
            )
        } else {
            invalid_body(e)
        }
    })
}

/// The body of an action that takes no input (publish, archive, a compose request):
/// empty, or an empty JSON object. Anything else is refused (`http.invalid_body`), so a
/// field a client believes does something is never silently ignored.
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(Bytes::from_request(request, state).await)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        match serde_json::from_slice::<serde_json::Value>(&bytes).map_err(invalid_body)? {
            serde_json::Value::Object(fields) if fields.is_empty() => Ok(NoBody),
            _ => Err(invalid_body("this action takes no fields")),
        }
    }
}

/// The query string of a route that takes no parameters: absent or empty. Anything else
/// is refused (`http.invalid_query`), as an unknown parameter is on routes that take some.
#[derive(Debug, Clone, Copy)]
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.uri.query() {
            None | Some("") => Ok(NoQuery),
            Some(_) => Err(invalid_query("this route takes no query parameters")),
        }
    }
}

/// Keyset page cursors: the last row of a page as `(time, id)`, opaque to clients.
pub(crate) mod cursor {
    use super::*;

    pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{id}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        ))
    }

    /// A cursor this server handed out, or `http.cursor_invalid` (400).
    pub fn decode(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
        let invalid = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ReasonCode::HttpCursorInvalid,
                vec![],
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (at, id) = text.split_once('|').ok_or_else(invalid)?;
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| invalid())?
            .with_timezone(&Utc);
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        Ok((at, id))
    }
}

/// A request body as the handler's type, or the problem for it: 413 when it is larger
/// than the server accepts, else 400 `http.invalid_body` (not JSON, not sent as JSON, an
/// unknown, missing or mistyped field). Values that parse but are not acceptable are the
/// service's to refuse (422).
pub(crate) fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ReasonCode::HttpBodyTooLarge,
            vec![],
        )),
        Err(e) => Err(invalid_body(e)),
    }
}
