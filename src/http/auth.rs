//! Who is asking: the caller a bearer token proves, and what it may do in a workspace.
//!
//! Every refusal of a token — missing, malformed, unknown, wrong, revoked, expired — is
//! the same 401 (`token.unauthorized`), so nothing tells a caller which part was wrong.
//! A workspace the caller may not see does not exist for it: handlers answer with the
//! very problem an id that exists nowhere gets (invariant 10). Runs have one rule of
//! their own ([`sees_runs_of`]): an operator sees every run, also one of a workspace the
//! directory does not know.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use runproof_domain::access::{authorize, Access, Caller};
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::workspace::Workspace;
use runproof_domain::ReasonCode;
use runproof_projections::stream_guard::{Guarded, StreamGuard};
use std::future::Future;
use tracing::debug;
use uuid::Uuid;

use super::middleware::REQUEST_ID;
use super::problem::ApiError;
use super::state::ApiState;
use crate::tokens::Recalled;

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

/// The bearer token a request presents, or the one answer to a request without one.
fn presented(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(unauthorized)
}

/// Checks `presented` against the token's and the actor's streams.
async fn authenticate(state: &ApiState, presented: &str) -> Result<Caller, ApiError> {
    let now = state.app.clock.now();
    match state.app.tokens.authenticate(presented, now).await {
        Ok(caller) => Ok(caller),
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

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let presented = presented(parts)?;
        authenticate(state, presented).await.map(Authenticated)
    }
}

/// The authenticated caller with the token it presented, for an answer that lasts (a
/// stream): [`Presented::recheck`] checks the token and the actor's roles again, so a
/// revocation or a role change counts while the answer goes on, not only at its start.
pub struct Presented {
    pub caller: Caller,
    token: String,
}

impl FromRequestParts<ApiState> for Presented {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = presented(parts)?.to_string();
        let caller = authenticate(state, &token).await?;
        Ok(Presented { caller, token })
    }
}

impl Presented {
    /// The caller as its token and actor stand now: 401 once the token is revoked or
    /// expired, 503 when it cannot be checked.
    pub async fn recheck(&self, state: &ApiState) -> Result<Caller, ApiError> {
        authenticate(state, &self.token).await
    }
}

/// The caller a bearer token names, for a read that confirms it in its own statement.
///
/// When this process has checked the token before, the caller is recalled from that
/// check without a statement ([`crate::tokens::TokenService::recall`]), and
/// [`Claim::read`] runs the request's read with the token's and the actor's streams
/// guarded: if either has moved since (a revocation, a role change), nothing read is
/// used, the token is checked again and the read runs again. So the answer is the one
/// [`Authenticated`] would give — with one statement instead of two. For reads only:
/// a change goes through [`Acting`], which always checks first.
pub struct Claim(Claimed);

enum Claimed {
    /// Checked against the streams for this request.
    Checked(Caller),
    /// Recalled; confirmed by the guarded read.
    Recalled {
        recalled: Recalled,
        presented: String,
    },
}

impl FromRequestParts<ApiState> for Claim {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let presented = presented(parts)?;
        let now = state.app.clock.now();
        match state.app.tokens.recall(presented, now) {
            Some(recalled) => Ok(Claim(Claimed::Recalled {
                recalled,
                presented: presented.to_string(),
            })),
            None => Ok(Claim(Claimed::Checked(
                authenticate(state, presented).await?,
            ))),
        }
    }
}

impl From<Caller> for Claim {
    /// A caller checked already (for example by [`Acting`]).
    fn from(caller: Caller) -> Self {
        Claim(Claimed::Checked(caller))
    }
}

impl Claim {
    /// Runs `read` for the caller, guarded by the caller's streams when it was recalled,
    /// and answers the confirmed caller with what was read. `read` gets the caller to
    /// shape its statement and the guard to pass to it; an unguarded read is always
    /// fresh.
    pub async fn read<T, F, Fut>(self, state: &ApiState, read: F) -> Result<(Caller, T), ApiError>
    where
        F: Fn(Caller, Option<StreamGuard>) -> Fut,
        Fut: Future<Output = Result<Guarded<T>, ApiError>>,
    {
        let caller = match self.0 {
            Claimed::Checked(caller) => caller,
            Claimed::Recalled {
                recalled,
                presented,
            } => match read(recalled.caller, Some(recalled.guard)).await? {
                Guarded::Fresh(found) => return Ok((recalled.caller, found)),
                Guarded::Moved => {
                    debug!(token = %recalled.caller.token_id, "a token's streams moved since its last check");
                    authenticate(state, &presented).await?
                }
            },
        };
        match read(caller, None).await? {
            Guarded::Fresh(found) => Ok((caller, found)),
            Guarded::Moved => {
                tracing::warn!("an unguarded read answered that a stream moved");
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ReasonCode::DbInternal,
                    vec![],
                ))
            }
        }
    }
}

/// An authenticated caller about to change something: the caller, and the context its
/// commands are recorded with — the caller's actor as the events' actor, and the request
/// id (`x-request-id`, when it is a UUID) as their correlation and causation id, so the
/// log ties every event a request wrote to that request's log line.
#[derive(Debug, Clone)]
pub struct Acting {
    pub caller: Caller,
    pub ctx: CommandContext,
}

impl FromRequestParts<ApiState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        let actor = Initiator::Actor(caller.actor_id);
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok());
        let ctx = match request_id {
            Some(id) => CommandContext {
                actor,
                correlation_id: id,
                causation_id: id,
            },
            // A client's own request id that is not a UUID: a fresh one (the log line
            // still names the client's).
            None => CommandContext::new(actor),
        };
        Ok(Acting { caller, ctx })
    }
}

/// Whether `caller` may drive run lifecycles in `workspace_id` (ensure, start, complete
/// runs; report restores). A workspace it may not see answers `not_found` — the caller's
/// answer for a missing id. One it sees but may not drive runs in (a member that is not
/// a service actor, an operator that is not a member) answers 403 `access.services_only`:
/// the caller can read the workspace already, so the refusal reveals nothing.
pub async fn drive_runs(
    state: &ApiState,
    caller: &Caller,
    workspace_id: Uuid,
    not_found: fn() -> ApiError,
) -> Result<(), ApiError> {
    let access = access(state, caller, workspace_id).await?;
    if !access.see {
        return Err(not_found());
    }
    if !access.drive_runs {
        return Err(services_only());
    }
    Ok(())
}

/// Whether `caller` may drive a run of `run_workspace_id`, for the writes addressed to
/// one run (start, complete, a restore for it). Sight is the run's rule
/// ([`sees_runs_of`]): a run the caller cannot read answers `run_not_found`, as an id that
/// exists nowhere; one it reads but may not drive — an operator's view of a run in a
/// workspace it is no member of, or in one the directory does not know — answers 403
/// `access.services_only`, as [`drive_runs`] does. Driving still needs membership.
pub async fn drive_run(
    state: &ApiState,
    caller: &Caller,
    run_workspace_id: Uuid,
    run_not_found: fn() -> ApiError,
) -> Result<(), ApiError> {
    let access = access(state, caller, run_workspace_id).await?;
    if !sees_runs(caller, &access) {
        return Err(run_not_found());
    }
    if !access.drive_runs {
        return Err(services_only());
    }
    Ok(())
}

fn services_only() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ReasonCode::AccessServicesOnly,
        vec![],
    )
}

/// Whether `caller` may read the runs of `workspace_id` — the one rule for every read of
/// a run (the API's run, history and explain; the console's run page). A platform
/// operator sees every run, whatever the directory knows: the lifecycle records runs of
/// workspaces the directory has never heard of, and the system view shows them (the runs
/// list already does). Anyone else sees the runs of the workspaces it is a recorded
/// member of (the workspace's own stream; such a workspace exists by definition), and
/// for a run of any other workspace the answer is "not found". Writes need more: [`drive_run`].
pub async fn sees_runs_of(
    state: &ApiState,
    caller: &Caller,
    workspace_id: Uuid,
) -> Result<bool, ApiError> {
    if caller.operator {
        return Ok(true);
    }
    Ok(sees_runs(
        caller,
        &access(state, caller, workspace_id).await?,
    ))
}

/// The run rule over a workspace's [`access`]: what `access` grants, or the operator's
/// system view (which `access` withholds for a workspace the directory does not know).
fn sees_runs(caller: &Caller, access: &Access) -> bool {
    caller.operator || access.see
}

/// Whether the log records run `id` in a workspace whose runs `caller` may see
/// ([`sees_runs_of`]): for a run the views do not show (yet), "not yet visible" rather
/// than "not found" — to a caller who may see it, and only to one.
pub async fn sees_recorded_run(
    state: &ApiState,
    caller: &Caller,
    id: Uuid,
) -> Result<bool, ApiError> {
    let recorded = state
        .app
        .lifecycle
        .load(id)
        .await
        .map_err(super::api::internal)?;
    match recorded.state() {
        Some(run) => sees_runs_of(state, caller, run.workspace_id).await,
        None => Ok(false),
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
