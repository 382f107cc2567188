//! The HTTP server against PostgreSQL, through the real router (tower `oneshot`): the
//! operational endpoints, problem+json in the caller's language, timeouts and overload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::http::{api, call, get, get_as, raw, router};
use common::TestDb;
use runproof::http::Limits;
use runproof::lifecycle::EnsureRun;
use runproof_domain::api_token::TokenLifetime;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

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
    let german = Request::get("/api/nothing")
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

// --- the API: authentication, scope, runs ---

#[tokio::test]
async fn without_a_valid_token_every_api_route_answers_the_same_401() {
    let a = api().await;
    // A token revoked, and one expired (issued on the test clock's 2026-01-01 for a minute).
    let issued = a
        .app
        .tokens
        .issue(a.member_id, None, None, &common::operator())
        .await
        .unwrap();
    a.app
        .tokens
        .revoke(issued.token_id, &common::operator())
        .await
        .unwrap();
    let expired = a
        .app
        .tokens
        .issue(
            a.member_id,
            None,
            Some(TokenLifetime::parse("1m").unwrap()),
            &common::operator(),
        )
        .await
        .unwrap();
    let path = format!("/api/v1/runs/{}", a.our_run);
    let missing = raw(&a.router, get(&path)).await;
    assert_eq!(missing.0, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_slice(&missing.1).unwrap();
    assert_eq!(body["code"], "token.unauthorized");
    for presented in [
        "nonsense".to_string(),
        format!("rp_{}_{}", Uuid::new_v4().simple(), "x".repeat(43)),
        issued.token.clone(),
        expired.token.clone(),
    ] {
        for route in [path.clone(), "/api/v1/runs".to_string()] {
            let answer = raw(&a.router, get_as(&route, &presented)).await;
            assert_eq!(answer, missing, "{route} with {presented:.12}…");
        }
    }
    let response = a.router.clone().oneshot(get(&path)).await.unwrap();
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"runproof\""
    );
}

#[tokio::test]
async fn a_run_outside_the_callers_scope_answers_exactly_like_one_that_does_not_exist() {
    let a = api().await;
    for suffix in ["", "/history", "/explain"] {
        let mine = raw(
            &a.router,
            get_as(&format!("/api/v1/runs/{}{suffix}", a.our_run), &a.member),
        )
        .await;
        assert_eq!(
            mine.0,
            StatusCode::OK,
            "{suffix}: {}",
            String::from_utf8_lossy(&mine.1)
        );
        let foreign = raw(
            &a.router,
            get_as(&format!("/api/v1/runs/{}{suffix}", a.their_run), &a.member),
        )
        .await;
        let nowhere = raw(
            &a.router,
            get_as(
                &format!("/api/v1/runs/{}{suffix}", Uuid::new_v4()),
                &a.member,
            ),
        )
        .await;
        let malformed = raw(
            &a.router,
            get_as(&format!("/api/v1/runs/not-an-id{suffix}"), &a.member),
        )
        .await;
        assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{suffix}");
        assert_eq!(foreign, nowhere, "{suffix}: byte for byte");
        assert_eq!(foreign, malformed, "{suffix}: byte for byte");
        // The operator sees every workspace.
        let operator = raw(
            &a.router,
            get_as(
                &format!("/api/v1/runs/{}{suffix}", a.their_run),
                &a.operator,
            ),
        )
        .await;
        assert_eq!(operator.0, StatusCode::OK, "{suffix}");
    }
    let german = Request::get(format!("/api/v1/runs/{}", a.their_run))
        .header(header::AUTHORIZATION, format!("Bearer {}", a.member))
        .header(header::ACCEPT_LANGUAGE, "de")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = call(&a.router, german).await;
    assert_eq!(body["detail"], "Lauf mit dieser ID wurde nicht gefunden.");
    assert_eq!(body["code"], "run.not_found");
}

#[tokio::test]
async fn a_member_sees_a_run_from_the_moment_the_membership_is_recorded_whatever_the_lag() {
    let a = api().await;
    let ctx = common::operator();
    let newcomer = a
        .app
        .directory
        .create_actor(Uuid::new_v4(), "Grace", &ctx)
        .await
        .unwrap();
    let token = common::http::token(&a.app, newcomer).await;
    let path = format!("/api/v1/runs/{}", a.our_run);
    let (before, _) = raw(&a.router, get_as(&path, &token)).await;
    assert_eq!(before, StatusCode::NOT_FOUND);

    // A long-open transaction holds the `workspaces` view below the membership.
    let mut holder = a._db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap();
    a.app
        .clone()
        .without_read_your_writes()
        .directory
        .add_member(a.ours, newcomer, &ctx)
        .await
        .unwrap();
    a.app.projector.catch_up().await.unwrap();
    let shown: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1 AND member_ids ? $2)",
    )
    .bind(a.ours)
    .bind(newcomer.to_string())
    .fetch_one(&a._db.pool)
    .await
    .unwrap();
    assert!(!shown, "the view lags behind");

    // The view does not grant it; the workspace's stream does.
    let (status, _, body) = call(&a.router, get_as(&path, &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["diagnostics"]["id"], serde_json::json!(a.our_run));
    let (foreign, _) = raw(
        &a.router,
        get_as(&format!("/api/v1/runs/{}", a.their_run), &token),
    )
    .await;
    assert_eq!(foreign, StatusCode::NOT_FOUND);
    holder.rollback().await.unwrap();
}

#[tokio::test]
async fn a_run_is_shown_decision_first_with_its_history() {
    let a = api().await;
    let (status, _, body) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{}", a.our_run), &a.member),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["decision"]["status"], "queued");
    assert_eq!(
        body["diagnostics"]["workspace_id"],
        serde_json::json!(a.ours)
    );
    let (_, _, history) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{}/history", a.our_run), &a.member),
    )
    .await;
    assert_eq!(history["stream"], "run");
    assert_eq!(history["events"][0]["event_type"], "RunQueued");
    let (_, _, explain) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{}/explain", a.our_run), &a.member),
    )
    .await;
    assert_eq!(explain["run_id"], serde_json::json!(a.our_run));
}

#[tokio::test]
async fn the_run_list_is_scoped_and_pages_by_keyset_without_gaps_or_repeats() {
    let a = api().await;
    let ctx = common::operator();
    for n in 0..4 {
        a.app
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: a.ours,
                    environment_id: None,
                    run_type: "inventory.sync".into(),
                    identity_inputs: serde_json::json!({ "n": n }),
                    context: serde_json::json!({}),
                },
                &ctx,
            )
            .await
            .unwrap();
    }
    // The member sees its five runs only; the outsider one; the operator all six.
    let ids = |body: &Value| -> Vec<String> {
        body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, all_mine) = call(&a.router, get_as("/api/v1/runs", &a.member)).await;
    assert_eq!(ids(&all_mine).len(), 5);
    assert!(!ids(&all_mine).contains(&a.their_run.to_string()));
    let (_, _, theirs) = call(&a.router, get_as("/api/v1/runs", &a.outsider)).await;
    assert_eq!(ids(&theirs), vec![a.their_run.to_string()]);
    let (_, _, everything) = call(&a.router, get_as("/api/v1/runs", &a.operator)).await;
    assert_eq!(ids(&everything).len(), 6);
    // Pages of two, following next_cursor: the same five, in the same order, once each.
    let mut paged = Vec::new();
    let mut path = "/api/v1/runs?limit=2".to_string();
    loop {
        let (status, _, page) = call(&a.router, get_as(&path, &a.member)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/runs?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, ids(&all_mine));
    // Filters combine with the scope; bad input is a 400 problem.
    let (_, _, filtered) = call(
        &a.router,
        get_as("/api/v1/runs?type=report.export", &a.member),
    )
    .await;
    assert_eq!(ids(&filtered), vec![a.our_run.to_string()]);
    for bad in [
        "/api/v1/runs?cursor=nope",
        "/api/v1/runs?limit=0",
        "/api/v1/runs?status=sideways",
        "/api/v1/runs?colour=blue",
        "/api/v1/runs?needs_attention=maybe",
    ] {
        let (status, headers, body) = call(&a.router, get_as(bad, &a.member)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert!(body["code"].is_string());
    }
    let _ = a.theirs;
}

// --- the OpenAPI document ---

/// Every route in the document is served (no "unknown route", no "method not allowed"),
/// and every route served is in the document: routes are only registered through
/// `utoipa_axum::routes!`, which describes them in the same step, so the sources may hold
/// no other registration.
#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_the_router_serves() {
    let a = api().await;
    let (status, headers, doc) = call(&a.router, get("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert_eq!(
        doc,
        serde_json::to_value(runproof::http::openapi()).unwrap()
    );
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/runs",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/history",
        "/api/v1/runs/{id}/explain",
        "/api/v1/environments/{id}/evidence",
        "/api/v1/environments/{id}/reviews",
        "/api/v1/reviews",
        "/api/v1/reviews/{id}",
        "/api/v1/reviews/{id}/publish",
        "/api/v1/reviews/{id}/archive",
        "/api/v1/workspaces",
        "/api/v1/workspaces/{id}/environments",
        "/api/v1/runs/{id}/start",
        "/api/v1/runs/{id}/complete",
        "/api/v1/restores",
        "/api/v1/restores/{id}",
        "/api/v1/events",
        "/api/v1/events/stream",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not described");
    }
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let uri = path.replace("{id}", &Uuid::new_v4().to_string());
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", a.operator))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let response = a.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            // A stream (the feed's Server-Sent Events) does not end: its head answers.
            let streams = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v == "text/event-stream");
            let body: Value = match streams {
                true => Value::Null,
                false => serde_json::from_slice(
                    &axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap(),
                )
                .unwrap_or(Value::Null),
            };
            assert_ne!(body["code"], "http.route_not_found", "{method} {path}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            if path.starts_with("/api/v1/") {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
                assert!(
                    operation.get("security").is_none(),
                    "{method} {path} must use the document's bearer security"
                );
            }
            if path.contains("{id}") {
                assert!(responses.contains_key("404"), "{method} {path}: no 404");
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("400") && responses.contains_key("422"),
                    "{method} {path}: a body can be malformed (400) or refused (422)"
                );
            }
        }
    }
    // No route is registered around the document.
    let mut sources = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("src/http")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    for (path, text) in sources {
        let text = text.replace("OpenApiRouter::new()", "");
        for needle in [".route(", "Router::new()", ".route_service("] {
            assert!(
                !text.contains(needle),
                "{} registers a route outside utoipa_axum::routes! ({needle})",
                path.display()
            );
        }
    }
}

// --- runs of workspaces the directory does not know ---

#[tokio::test]
async fn an_operator_reads_a_run_of_a_workspace_the_directory_does_not_know_and_others_get_404() {
    let a = api().await;
    let (_, run) = common::console::run_of_unknown_workspace(&a.app).await;
    // Other tests' open transactions on the server may hold the views back a moment.
    common::wait_projected(&a._db, &a.app.projector).await;
    // The list already shows it to the operator (the system view) ...
    let (status, _, body) = call(&a.router, get_as("/api/v1/runs", &a.operator)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == serde_json::json!(run)),
        "{body}"
    );
    // ... and so does every read of the run itself.
    for suffix in ["", "/history", "/explain"] {
        let path = format!("/api/v1/runs/{run}{suffix}");
        let (status, _, body) = call(&a.router, get_as(&path, &a.operator)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let nowhere = raw(
            &a.router,
            get_as(
                &format!("/api/v1/runs/{}{suffix}", Uuid::new_v4()),
                &a.member,
            ),
        )
        .await;
        assert_eq!(nowhere.0, StatusCode::NOT_FOUND);
        for token in [&a.member, &a.outsider, &a.service] {
            let foreign = raw(&a.router, get_as(&path, token)).await;
            assert_eq!(foreign, nowhere, "{path}: byte for byte a missing run");
        }
    }
    let (_, _, body) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{run}"), &a.operator),
    )
    .await;
    assert_eq!(body["diagnostics"]["id"], serde_json::json!(run), "{body}");
}

#[tokio::test]
async fn reading_a_run_of_an_unknown_workspace_lets_nobody_drive_it() {
    let a = api().await;
    let (_, run) = common::console::run_of_unknown_workspace(&a.app).await;
    let start = format!("/api/v1/runs/{run}/start");
    // The operator reads the run, so a refusal is 403, not a 404 that denies what it
    // can GET ...
    let (status, _, body) = call(
        &a.router,
        common::http::send_as("POST", &start, &a.operator, &serde_json::json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "access.services_only");
    let restore = serde_json::json!({ "id": Uuid::new_v4(), "run": run });
    let (status, _, body) = call(
        &a.router,
        common::http::send_as("POST", "/api/v1/restores", &a.operator, &restore),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // ... a service of another workspace does not see it at all.
    let foreign = raw(
        &a.router,
        common::http::send_as("POST", &start, &a.service, &serde_json::json!({})),
    )
    .await;
    let nowhere = raw(
        &a.router,
        common::http::send_as(
            "POST",
            &format!("/api/v1/runs/{}/start", Uuid::new_v4()),
            &a.service,
            &serde_json::json!({}),
        ),
    )
    .await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, nowhere, "byte for byte a missing run");
    // Nothing was recorded.
    let state = a.app.lifecycle.load(run).await.unwrap();
    assert_eq!(state.state().unwrap().status.as_str(), "queued");
}

#[tokio::test]
async fn a_run_the_views_do_not_show_yet_is_503_for_whoever_may_see_it_and_404_for_the_rest() {
    let a = api().await;
    let holder = common::console::hold_the_horizon(&a._db).await;
    let direct = a.app.clone().without_read_your_writes();
    let ours = direct
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: a.ours,
                environment_id: None,
                run_type: "report.export".into(),
                identity_inputs: serde_json::json!({ "late": true }),
                context: serde_json::json!({}),
            },
            &common::operator(),
        )
        .await
        .unwrap()
        .run_id();
    let (_, unknown) = common::console::run_of_unknown_workspace(&direct).await;
    let mut conn = a.app.pool.acquire().await.unwrap();
    for run in [ours, unknown] {
        assert!(runproof_projections::operation_runs::get(&mut conn, run)
            .await
            .unwrap()
            .is_none());
    }
    drop(conn);
    let nowhere = raw(
        &a.router,
        get_as(&format!("/api/v1/runs/{}", Uuid::new_v4()), &a.outsider),
    )
    .await;
    for (run, who) in [
        (ours, &a.member),
        (ours, &a.operator),
        (unknown, &a.operator),
    ] {
        let path = format!("/api/v1/runs/{run}");
        let (status, headers, body) = call(&a.router, get_as(&path, who)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["code"], "run.not_yet_visible");
        assert_eq!(headers[header::RETRY_AFTER], "1");
        let outside = raw(&a.router, get_as(&path, &a.outsider)).await;
        assert_eq!(outside, nowhere, "{path}: byte for byte a missing run");
    }
    holder.rollback().await.unwrap();
    common::wait_projected(&a._db, &a.app.projector).await;
    let (status, _, body) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{unknown}"), &a.operator),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
