//! The HTTP interface of `runproof serve`: the JSON API under `/api/v1` and the
//! operational endpoints. It is one more interface over the same services as the CLI
//! (DESIGN.md, "Interfaces over the services"): a handler authenticates, translates the
//! request, calls a service, and renders the answer; it never queries or writes around
//! the services.
//!
//! # Layout
//! - [`state`]: what handlers reach — the services, the limits, the metrics recorder.
//! - [`problem`]: RFC 9457 problem+json errors in the caller's language.
//! - [`middleware`]: request ids, one log line per request, HTTP metrics, timeouts,
//!   load shedding.
//! - [`auth`]: the caller a bearer token proves, and its access to a workspace.
//! - [`api`]: the JSON API under `/api/v1`, one module per resource.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`.
//!
//! The operator console ([`crate::console`]) is served by the same router: its pages
//! are merged in beside the API, and an unknown path outside the API's answers with the
//! console's not-found page; a wrong method, a timeout and overload there are console
//! pages too (the API's own paths keep their problem+json answers).

pub mod api;
pub mod auth;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod state;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use runproof_domain::ReasonCode;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use problem::ApiError;
pub use state::{ApiState, Limits};

/// Every route with its description: the router and the OpenAPI document come from the
/// same registrations.
fn described() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(openapi::document))
        .nest("/api/v1", api::routes())
        .split_for_parts()
}

/// The OpenAPI 3.1 document of every route [`router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    described().1
}

/// The whole HTTP surface over `state`.
pub fn router(state: ApiState) -> Router {
    let limits = state.limits;
    let timeout = limits.request_timeout;
    described()
        .0
        .merge(crate::console::routes(&state))
        .fallback(route_not_found)
        .with_state(state)
        // Listed outermost first. Every layer below the renderer answers with a problem
        // too, so overload and timeouts reach the client in its language: as problem+json
        // on the API's paths, as a console page on the console's.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(render_refusals))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(middleware::log_requests))
                .layer(HandleErrorLayer::new(move |e| {
                    middleware::layer_error(timeout, e)
                }))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                ))
                .timeout(timeout)
                .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
                .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
        )
}

/// Whether `path` belongs to the machine interfaces (the API, the operational
/// endpoints), whose answers are problem+json, rather than to the console's pages.
pub fn is_machine_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Renders what is still unrendered on the way out — a handler's problem, a layer's
/// refusal (timeout, overload), a status the router produced (a wrong method, a body
/// over the limit) — for the kind of path: problem+json on the machine paths
/// ([`problem::render_problems`]), a page in the operator's language on the console's
/// ([`crate::console::refusals::render`]).
async fn render_refusals(request: Request, next: Next) -> Response {
    if is_machine_path(request.uri().path()) {
        problem::render_problems(request, next).await
    } else {
        crate::console::refusals::render(request, next).await
    }
}

/// An unknown path: the API's problem under its paths, the console's page elsewhere.
async fn route_not_found(State(state): State<ApiState>, request: Request) -> Response {
    if is_machine_path(request.uri().path()) {
        ApiError::new(StatusCode::NOT_FOUND, ReasonCode::HttpRouteNotFound, vec![]).into_response()
    } else {
        crate::console::not_found(state, request).await
    }
}
