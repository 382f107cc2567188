//! Scope for the pages that take an id: the API's rule (`http::auth::access`, read from
//! the workspace's own stream), answered as the console's pages. Anything outside the
//! operator's scope is the not-found page of an id that exists nowhere (invariant 10).

use runproof_domain::access::{Access, Caller};
use runproof_domain::ReasonCode;
use uuid::Uuid;

use super::page::PageError;
use crate::http::ApiState;

/// What `caller` may do in `workspace_id` (nothing, for a workspace that does not exist).
pub async fn access(
    s: &ApiState,
    caller: &Caller,
    workspace_id: Uuid,
) -> Result<Access, PageError> {
    crate::http::auth::access(s, caller, workspace_id)
        .await
        .map_err(|e| PageError::internal(&e.reason))
}

/// The id in a page's path, or the not-found page `not_found` names: a malformed id
/// answers exactly like a missing one.
pub fn id(raw: &str, not_found: PageError) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| not_found)
}

pub fn run_not_found() -> PageError {
    PageError::not_found(ReasonCode::RunNotFound, "run")
}

pub fn review_not_found() -> PageError {
    PageError::not_found(ReasonCode::ReviewNotFound, "review")
}

pub fn environment_not_found() -> PageError {
    PageError::not_found(ReasonCode::EnvironmentNotFound, "environment")
}

pub fn workspace_not_found() -> PageError {
    PageError::not_found(ReasonCode::WorkspaceNotFound, "workspace")
}

/// Any pool or query failure of a page: the 500 page, the cause in the log.
pub fn internal(e: impl std::fmt::Display) -> PageError {
    PageError::internal(&e)
}
