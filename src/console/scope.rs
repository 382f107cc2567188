//! Scope for the pages that take an id: the API's rules (`http::auth::access`, read from
//! the workspace's own stream; for runs `http::auth::sees_runs_of`), answered as the
//! console's pages. Anything outside the operator's scope is the not-found page of an id
//! that exists nowhere (invariant 10).

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

/// Whether the operator may see the runs of `workspace_id`: the API's one rule for runs
/// (`http::auth::sees_runs_of` — a platform operator every run, also of a workspace the
/// directory does not know; a member the runs of its workspaces).
pub async fn sees_runs_of(
    s: &ApiState,
    caller: &Caller,
    workspace_id: Uuid,
) -> Result<bool, PageError> {
    crate::http::auth::sees_runs_of(s, caller, workspace_id)
        .await
        .map_err(|e| PageError::internal(&e.reason))
}

/// The answer for run `id` when the runs view does not show it (after its catch-up): the
/// "not yet visible" page when the log records it in a workspace whose runs the operator
/// may see (as the API's 503 `run.not_yet_visible`), else the not-found page of an id
/// that exists nowhere.
pub async fn run_not_shown(s: &ApiState, caller: &Caller, id: Uuid) -> PageError {
    match crate::http::auth::sees_recorded_run(s, caller, id).await {
        Ok(true) => PageError::NotYetVisible(format!("/runs/{id}")),
        Ok(false) => run_not_found(),
        Err(e) => PageError::internal(&e.reason),
    }
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

/// Lets the projector apply what the log holds, once, for a page whose row the view
/// does not show (yet): a link the console just handed out — a run just queued, a review
/// just composed — opens even when the views lag a moment. A catch-up that fails is
/// logged; the page then answers from the view as it is.
async fn catch_up(s: &ApiState) {
    if let Err(e) = s.app.projector.catch_up().await {
        tracing::warn!(error = %e, "a console page could not catch the views up");
    }
}

/// Run `id` as the runs view shows it (after one catch-up when it does not).
pub async fn run_row(
    s: &ApiState,
    id: Uuid,
) -> Result<Option<runproof_projections::operation_runs::RunRow>, PageError> {
    for attempt in 0..2 {
        let mut conn = s.app.pool.acquire().await.map_err(internal)?;
        let row = runproof_projections::operation_runs::get(&mut conn, id)
            .await
            .map_err(internal)?;
        if row.is_some() || attempt == 1 {
            return Ok(row);
        }
        drop(conn);
        catch_up(s).await;
    }
    Ok(None)
}

/// Review `id` as the reviews view shows it (after one catch-up when it does not).
pub async fn review_row(
    s: &ApiState,
    id: Uuid,
) -> Result<Option<runproof_projections::environment_reviews::ReviewRow>, PageError> {
    for attempt in 0..2 {
        let mut conn = s.app.pool.acquire().await.map_err(internal)?;
        let row = runproof_projections::environment_reviews::get(&mut conn, id)
            .await
            .map_err(internal)?;
        if row.is_some() || attempt == 1 {
            return Ok(row);
        }
        drop(conn);
        catch_up(s).await;
    }
    Ok(None)
}

/// Refuses an address with a parameter the page does not read (`lang` aside, which the
/// layer reads): a parameter someone believes does something is never silently ignored.
pub fn no_parameters(uri: &axum::http::Uri) -> Result<(), PageError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OnlyLang {
        #[allow(dead_code)]
        lang: Option<String>,
    }
    parameters::<OnlyLang>(uri).map(|_| ())
}

/// The parameters of a page that reads some: `T` names them (with `lang`, which the layer
/// reads) and denies unknown fields, so anything else is refused as by
/// [`no_parameters`].
pub fn parameters<T: serde::de::DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, PageError> {
    serde_urlencoded::from_str::<T>(uri.query().unwrap_or("")).map_err(|_| {
        PageError::BadRequest(super::page::Message::Console(
            super::text::ConsoleText::BadParameter,
            vec![],
        ))
    })
}
