//! What wraps every request: a request id, one log line at info (method, path template,
//! status, duration, request id) with a tracing span that carries the id into the
//! services, the HTTP metrics, a timeout, and load shedding instead of an unbounded
//! queue.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use runproof_domain::ReasonCode;
use tower::BoxError;
use tracing::{info, info_span, Instrument};

use super::problem::ApiError;

/// The request id header, set by [`tower_http::request_id`] on the way in and copied to
/// the response on the way out.
pub const REQUEST_ID: &str = "x-request-id";

/// One line per request, in a span that names the request id for everything below it.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let span =
        info_span!("http.request", request_id = %request_id, method = %method, route = %route);
    let response = next.run(request).instrument(span).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    info!(
        method = %method,
        path = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    let labels = [
        ("route", route),
        ("method", method.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("runproof_http_requests_total", &labels).increment(1);
    metrics::histogram!("runproof_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    response
}

/// Maps the tower layers' errors (a request over its time, a full server) to problems
/// (rendered as problem+json on the API's paths, as console pages on the console's).
pub async fn layer_error(timeout: Duration, error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ReasonCode::HttpTimeout,
            vec![("seconds", timeout.as_secs().max(1).to_string())],
        )
        .retry_after(1)
        .into_response()
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ReasonCode::HttpOverloaded,
            vec![],
        )
        .retry_after(1)
        .into_response()
    } else {
        tracing::warn!(error = %error, "request failed in a layer");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ReasonCode::DbInternal,
            vec![],
        )
        .into_response()
    }
}
