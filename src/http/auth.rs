//! Who is asking: the caller a bearer token proves, and what it may do in a workspace.
//!
//! Every refusal of a token — missing, malformed, unknown, wrong, revoked, expired — is
//! the same 401 (`token.unauthorized`), so nothing tells a caller which part was wrong.
//! A workspace the caller may not see does not exist for it: handlers answer with the
//! very problem an id that exists nowhere gets (invariant 10).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use runproof_domain::access::{authorize, Access, Caller};
use runproof_domain::workspace::Workspace;
use runproof_domain::ReasonCode;
use tracing::debug;
use uuid::Uuid;

use super::problem::ApiError;
use super::state::ApiState;

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Caller);

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ReasonCode::TokenUnauthorized,
        vec![],
    )
}

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(unauthorized)?;
        let now = state.app.clock.now();
        match state.app.tokens.authenticate(presented, now).await {
            Ok(caller) => Ok(Authenticated(caller)),
            Err(e) if e.is_unauthorized() => {
                debug!(reason = %e, "token refused");
                Err(unauthorized())
            }
            Err(e) => {
                tracing::warn!(error = %e, "a token could not be checked");
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ReasonCode::DbInternal,
                    vec![],
                ))
            }
        }
    }
}

/// What `caller` may do in `workspace_id`, from the workspace's own stream (a membership
/// counts from the moment it is recorded). An unknown workspace grants nothing.
pub async fn access(
    state: &ApiState,
    caller: &Caller,
    workspace_id: Uuid,
) -> Result<Access, ApiError> {
    let workspace = state
        .app
        .store
        .load::<Workspace>(&workspace_id.to_string())
        .await
        .map_err(|e| ApiError::from_service(&e.into()))?;
    let members = workspace
        .aggregate
        .state()
        .map(|w| w.members.clone())
        .unwrap_or_default();
    let mut access = authorize(caller, &members);
    if workspace.aggregate.state().is_none() {
        access.see = false;
    }
    Ok(access)
}
