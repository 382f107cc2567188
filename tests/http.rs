//! The HTTP server against PostgreSQL, through the real router (tower `oneshot`): the
//! operational endpoints, problem+json in the caller's language, timeouts and overload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::TestDb;
use runproof::cli::serve::api_state;
use runproof::database::DatabaseTarget;
use runproof::http::{self, Limits};
use serde_json::Value;
use tower::ServiceExt;

async fn router(db: &TestDb, limits: Limits) -> Router {
    let target = DatabaseTarget::parse(&db.url()).unwrap();
    http::router(api_state(&target, limits).await.unwrap())
}

async fn call(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn healthz_answers_and_readyz_says_ready_on_a_current_database() {
    let db = TestDb::new().await;
    let r = router(&db, Limits::default()).await;
    let (status, headers, body) = call(&r, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "alive");
    assert!(headers.contains_key("x-request-id"), "{headers:?}");
    let (status, _, body) = call(&r, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_503_with_the_reason_when_a_projection_is_stopped() {
    let db = TestDb::new().await;
    let (app, _) = common::app(&db);
    let f = runproof_domain::fingerprint::Fingerprint::compute(
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        "sha256:0",
        "x",
    );
    let (w, e) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    common::plant_review_draft(&app, w, e, f.clone()).await;
    common::plant_review_draft(&app, w, e, f).await;
    common::wait_until_stopped(&app.projector).await;
    let r = router(&db, Limits::default()).await;
    let (status, headers, body) = call(&r, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "projection.stopped");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("environment_reviews"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_route_and_a_wrong_method_are_problems_in_the_callers_language() {
    let db = TestDb::new().await;
    let r = router(&db, Limits::default()).await;
    let (status, headers, body) = call(&r, get("/api/v1/nothing-here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "http.route_not_found");
    assert_eq!(body["status"], 404);
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .starts_with("There is no such resource"));
    let german = Request::get("/nothing")
        .header(header::ACCEPT_LANGUAGE, "de-DE,de;q=0.9,en;q=0.5")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = call(&r, german).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Diese Ressource"),
        "{body}"
    );
    let post = Request::post("/healthz").body(Body::empty()).unwrap();
    let (status, _, body) = call(&r, post).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "http.method_not_allowed");
}

#[tokio::test]
async fn a_request_over_its_time_is_a_503_problem_not_a_hang() {
    let db = TestDb::new().await;
    let r = router(
        &db,
        Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    )
    .await;
    // Hold the migrations table, which readiness reads, so the request cannot finish.
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let (status, headers, body) = call(&r, get("/readyz")).await;
    holder.rollback().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "http.timeout");
    assert_eq!(headers[header::RETRY_AFTER], "1");
}

#[tokio::test]
async fn a_full_server_refuses_with_503_and_retry_after_instead_of_queueing() {
    let db = TestDb::new().await;
    let r = router(
        &db,
        Limits {
            max_concurrent_requests: 1,
            ..Limits::default()
        },
    )
    .await;
    // One request holds the only slot (it waits on a lock) ...
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let first = tokio::spawn({
        let r = r.clone();
        async move { call(&r, get("/readyz")).await }
    });
    // ... so the next is refused at once (wait until the first holds the slot).
    let (status, headers, body) = loop {
        let answer = call(&r, get("/healthz")).await;
        if answer.0 == StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "http.overloaded");
    assert_eq!(headers[header::RETRY_AFTER], "1");
    holder.rollback().await.unwrap();
    let (status, _, _) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&r, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_runs_projections_and_requests() {
    let db = TestDb::new().await;
    let r = router(&db, Limits::default()).await;
    call(&r, get("/healthz")).await;
    let response = r.clone().oneshot(get("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for metric in [
        "runproof_runs{",
        "runproof_projection_position{",
        "runproof_projection_lag_events{",
        "runproof_projection_lag_seconds{",
        "runproof_http_requests_total{",
    ] {
        assert!(text.contains(metric), "{metric} missing:\n{text}");
    }
}
