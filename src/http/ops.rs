//! Operational endpoints: `/healthz` (the process answers), `/readyz` (it can serve:
//! database reachable, schema current, no projection stopped, lag within bounds) and
//! `/metrics` (Prometheus text).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde::Serialize;
use serde_json::json;

use super::openapi::Problem;
use super::problem::ApiError;
use super::state::ApiState;
use crate::cli::error::CliError;
use crate::database;

/// The process is alive.
#[utoipa::path(
    get, path = "/healthz", tag = "operations", security(),
    responses((status = 200, description = "`{ \"status\": \"alive\" }`", body = Object))
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}

/// One projection's readiness.
#[derive(Debug, Serialize)]
pub struct ProjectionReadiness {
    pub projection: &'static str,
    pub position: i64,
    pub events_behind: i64,
}

/// The process can serve requests now; 503 with the reason otherwise.
#[utoipa::path(
    get, path = "/readyz", tag = "operations", security(),
    responses(
        (status = 200, description = "Ready: database reachable, schema current, no projection stopped, lag within bounds", body = Object),
        (status = 503, response = Problem),
    )
)]
pub async fn readyz(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    database::check_schema(&s.app.pool)
        .await
        .map_err(|e| ApiError::from_cli(&CliError::from_database(&e, &s.target)))?;
    let caught_up = s
        .app
        .projector
        .catch_up_report()
        .await
        .map_err(|e| ApiError::from_cli(&CliError::from_projector(&e)))?;
    if let Some(stopped) = caught_up.stopped.first() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ReasonCode::ProjectionStopped,
            vec![("projection", stopped.to_string())],
        ));
    }
    let (statuses, _) = s
        .app
        .projector
        .status()
        .await
        .map_err(|e| ApiError::from_cli(&CliError::from_projector(&e)))?;
    let behind = statuses.iter().map(|p| p.events_behind).max().unwrap_or(0);
    if behind > s.limits.ready_max_lag_events {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ReasonCode::ProjectionLagging,
            vec![],
        ));
    }
    let projections: Vec<ProjectionReadiness> = statuses
        .iter()
        .map(|p| ProjectionReadiness {
            projection: p.projection,
            position: p.checkpoint.at.position,
            events_behind: p.events_behind,
        })
        .collect();
    Ok(Json(
        json!({ "status": "ready", "projections": projections }),
    ))
}

/// Prometheus text: the recorder's counters and histograms (HTTP, reconciler, worker),
/// plus gauges read now (runs by type, status and outcome; projection position and lag).
#[utoipa::path(
    get, path = "/metrics", tag = "operations", security(),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 503, response = Problem),
    )
)]
pub async fn metrics(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let runs: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT run_type, status, outcome, count(*) FROM operation_runs GROUP BY 1, 2, 3",
    )
    .fetch_all(&s.app.pool)
    .await
    .map_err(|e| ApiError::from_cli(&CliError::internal(&e)))?;
    let counted: BTreeMap<(String, String, String), i64> = runs
        .into_iter()
        .map(|(t, st, o, n)| ((t, st, o), n))
        .collect();
    // Every valid combination is set, so one that drops to zero shows zero.
    for run_type in RunType::ALL {
        for status in RunStatus::ALL {
            for outcome in RunOutcome::ALL {
                if (status == RunStatus::Completed) == (outcome == RunOutcome::Pending) {
                    continue;
                }
                let key = (
                    run_type.key().to_string(),
                    status.as_str().to_string(),
                    outcome.as_str().to_string(),
                );
                let n = counted.get(&key).copied().unwrap_or(0);
                let (t, st, o) = key;
                metrics::gauge!("runproof_runs", "type" => t, "status" => st, "outcome" => o)
                    .set(n as f64);
            }
        }
    }
    let (statuses, _) = s
        .app
        .projector
        .status()
        .await
        .map_err(|e| ApiError::from_cli(&CliError::from_projector(&e)))?;
    for p in &statuses {
        let oldest: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
            "SELECT (metadata ->> 'occurred_at')::timestamptz FROM events \
             WHERE (transaction_id, position) > ($1::text::xid8, $2) \
             ORDER BY transaction_id, position LIMIT 1",
        )
        .bind(p.checkpoint.at.transaction_id.to_string())
        .bind(p.checkpoint.at.position)
        .fetch_optional(&s.app.pool)
        .await
        .map_err(|e| ApiError::from_cli(&CliError::internal(&e)))?
        .flatten();
        let lag_seconds = oldest
            .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        let name = p.projection;
        metrics::gauge!("runproof_projection_position", "projection" => name)
            .set(p.checkpoint.at.position as f64);
        metrics::gauge!("runproof_projection_lag_events", "projection" => name)
            .set(p.events_behind as f64);
        metrics::gauge!("runproof_projection_lag_seconds", "projection" => name).set(lag_seconds);
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response())
}
