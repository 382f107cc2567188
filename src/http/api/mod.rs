//! The JSON API under `/api/v1`, one module per resource. Every route authenticates
//! (bearer token), checks the caller's scope, calls the same services as the CLI, and
//! renders the same documents as the CLI's `--json`.

pub(crate) mod runs;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use runproof_domain::{Lang, ReasonCode};

use utoipa_axum::router::OpenApiRouter;

use super::problem::{negotiate, ApiError};
use super::state::ApiState;
use crate::cli::error::CliError;

/// Every `/api/v1` route, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().merge(runs::routes())
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
