//! The run lifecycle and restore records over HTTP, as a job system drives them: ensure,
//! start, complete; request, start and finish a restore — through the real router against
//! PostgreSQL, with the lifecycle's rules, the access rule and the log as the witness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{Duration, Utc};
use common::http::{api, call, get_as, raw, send_as, Api};
use runproof::lifecycle::EnsureRun;
use runproof::restore::RestoreScope;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_projections::operation_runs;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

fn post(path: &str, token: &str, body: &Value) -> Request<Body> {
    send_as("POST", path, token, body)
}

fn put(path: &str, token: &str, body: &Value) -> Request<Body> {
    send_as("PUT", path, token, body)
}

/// A request whose body is sent as it is (not necessarily JSON).
fn post_text(path: &str, token: &str, text: &str) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(text.to_string()))
        .unwrap()
}

fn german(mut request: Request<Body>) -> Request<Body> {
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
    request
}

fn export(workspace: Uuid, key: &str) -> Value {
    json!({ "workspace": workspace, "type": "report.export", "identity": { "report": key } })
}

/// The events of one stream, oldest first: (type, metadata).
async fn events(a: &Api, stream: Uuid) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_type, metadata::text FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(stream.to_string())
    .fetch_all(&a._db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(t, m)| (t, serde_json::from_str(&m).unwrap()))
        .collect()
}

fn id_of(document: &Value) -> Uuid {
    document["diagnostics"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Ensures a report export run as the service and starts it; returns its id.
async fn running_export(a: &Api, key: &str) -> Uuid {
    let (status, _, run) = call(
        &a.router,
        post("/api/v1/runs", &a.service, &export(a.ours, key)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = id_of(&run);
    let (status, _, _) = call(
        &a.router,
        post(&format!("/api/v1/runs/{id}/start"), &a.service, &json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    id
}

async fn environment(a: &Api, workspace: Uuid) -> Uuid {
    a.app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "Production", &common::operator())
        .await
        .unwrap()
}

// --- ensure ---

#[tokio::test]
async fn a_service_ensures_a_run_and_gets_the_same_active_run_back() {
    let a = api().await;
    let request_id = Uuid::new_v4();
    let mut first = post("/api/v1/runs", &a.service, &export(a.ours, "weekly"));
    first
        .headers_mut()
        .insert("x-request-id", request_id.to_string().parse().unwrap());
    let (status, headers, run) = call(&a.router, first).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = id_of(&run);
    assert_eq!(headers[header::LOCATION], format!("/api/v1/runs/{id}"));
    assert_eq!(run["decision"]["status"], "queued");
    assert_eq!(run["decision"]["outcome"], "pending");
    assert_eq!(run["diagnostics"]["run_type"], "report.export");
    assert_eq!(
        run["diagnostics"]["initiator"],
        format!("actor:{}", a.service_id)
    );

    let (status, _, again) = call(
        &a.router,
        post("/api/v1/runs", &a.service, &export(a.ours, "weekly")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the active run is returned");
    assert_eq!(id_of(&again), id);
    let (status, _, other) = call(
        &a.router,
        post("/api/v1/runs", &a.service, &export(a.ours, "monthly")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "another identity is another run"
    );
    assert_ne!(id_of(&other), id);

    // The log names the caller and the request that wrote the run.
    let written = events(&a, id).await;
    assert_eq!(written.len(), 1);
    let (event, metadata) = &written[0];
    assert_eq!(event, "RunQueued");
    assert_eq!(metadata["actor"], format!("actor:{}", a.service_id));
    assert_eq!(metadata["correlation_id"], request_id.to_string());
}

#[tokio::test]
async fn ensure_refuses_bodies_it_cannot_read_with_400_and_values_it_cannot_accept_with_422() {
    let a = api().await;
    let env = environment(&a, a.ours).await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_text("/api/v1/runs", &a.service, "{not json"),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "type": "report.export", "identity": 1, "priority": 9 }),
            ),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "type": "report.export" }),
            ),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": "Contoso", "type": "report.export", "identity": 1 }),
            ),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "type": "coffee.brew", "identity": 1 }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.unknown_type",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "environment": env, "type": "environment.review.compose", "identity": 1 }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.driven_by_engine",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "type": "report.export", "identity": 1, "context": [1] }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.invalid_input",
        ),
        (
            post(
                "/api/v1/runs",
                &a.service,
                &json!({ "workspace": a.ours, "type": "report.export", "identity": 1, "context": { "completion": 1 } }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.invalid_input",
        ),
    ];
    for (request, status, code) in cases {
        let (got, headers, body) = call(&a.router, request).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    }
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'RunQueued'")
            .fetch_one(&a._db.pool)
            .await
            .unwrap();
    assert_eq!(queued, 2, "only the world's two runs: nothing was queued");
}

#[tokio::test]
async fn a_workspace_or_environment_the_caller_cannot_see_is_not_found_byte_for_byte() {
    let a = api().await;
    let theirs_env = environment(&a, a.theirs).await;
    let ask = |workspace: Value, environment: Option<Value>| {
        let mut body = json!({ "workspace": workspace, "type": "inventory.sync", "identity": 1 });
        if let Some(e) = environment {
            body["environment"] = e;
        }
        post("/api/v1/runs", &a.service, &body)
    };
    let foreign = raw(&a.router, ask(json!(a.theirs), None)).await;
    let nowhere = raw(&a.router, ask(json!(Uuid::new_v4()), None)).await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, nowhere, "byte for byte");
    let body: Value = serde_json::from_slice(&foreign.1).unwrap();
    assert_eq!(body["code"], "workspace.not_found");

    let foreign_env = raw(&a.router, ask(json!(a.ours), Some(json!(theirs_env)))).await;
    let missing_env = raw(&a.router, ask(json!(a.ours), Some(json!(Uuid::new_v4())))).await;
    assert_eq!(foreign_env.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign_env, missing_env, "byte for byte");

    // An outsider (a member of the other workspace only) is told the same.
    let outsider = raw(
        &a.router,
        post("/api/v1/runs", &a.outsider, &export(a.ours, "x")),
    )
    .await;
    let outsider_nowhere = raw(
        &a.router,
        post("/api/v1/runs", &a.outsider, &export(Uuid::new_v4(), "x")),
    )
    .await;
    assert_eq!(outsider.0, StatusCode::NOT_FOUND);
    assert_eq!(outsider, outsider_nowhere, "byte for byte");
}

#[tokio::test]
async fn a_caller_that_sees_the_workspace_but_is_not_its_service_is_refused_with_403() {
    let a = api().await;
    for token in [&a.member, &a.operator] {
        let (status, _, body) =
            call(&a.router, post("/api/v1/runs", token, &export(a.ours, "x"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "access.services_only");
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("only a service actor"));
    }
    let (_, _, body) = call(
        &a.router,
        german(post("/api/v1/runs", &a.member, &export(a.ours, "x"))),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("Dienstakteur"),
        "{body}"
    );
    // Start and complete alike: the member sees the run, may not drive it.
    for path in ["start", "complete"] {
        let (status, _, body) = call(
            &a.router,
            post(
                &format!("/api/v1/runs/{}/{path}", a.our_run),
                &a.member,
                &json!({ "outcome": "succeeded" }),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["code"], "access.services_only");
    }
    let no_token = Request::post("/api/v1/runs")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(export(a.ours, "x").to_string()))
        .unwrap();
    assert_eq!(call(&a.router, no_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(events(&a, a.our_run).await.len(), 1, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_ensures_with_one_identity_give_exactly_one_run() {
    let a = Arc::new(api().await);
    let barrier = Arc::new(Barrier::new(32));
    let body = json!({
        "workspace": a.ours,
        "type": "inventory.sync",
        "identity": { "tenant": "contoso", "scope": "all" },
        "context": { "scope": "all" }
    });
    let mut calls = Vec::new();
    for _ in 0..32 {
        let (a, barrier, body) = (a.clone(), barrier.clone(), body.clone());
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            call(&a.router, post("/api/v1/runs", &a.service, &body)).await
        }));
    }
    let mut answers = Vec::new();
    for c in calls {
        let (status, _, run) = c.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {run}"
        );
        answers.push((status, id_of(&run)));
    }
    let ids: HashSet<Uuid> = answers.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), 1, "all 32 answers name the same run");
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one answer queued it");
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'RunQueued' AND payload::text LIKE '%inventory.sync%'",
    )
    .fetch_one(&a._db.pool)
    .await
    .unwrap();
    assert_eq!(queued, 1, "the log holds one queued run");
    let run = *ids.iter().next().unwrap();
    let mut conn = a._db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, run).await.unwrap().unwrap();
    let active = operation_runs::find_active_by_identity(&mut conn, &row.state.identity_hash)
        .await
        .unwrap();
    assert_eq!(active.len(), 1, "the view shows one active run");
}

// --- start and complete ---

#[tokio::test]
async fn a_job_systems_full_lifecycle_over_http() {
    let a = api().await;
    let (status, _, run) = call(
        &a.router,
        post("/api/v1/runs", &a.service, &export(a.ours, "q4")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = id_of(&run);

    // Completing a run that never started is a conflict, and records nothing.
    let (status, _, body) = call(
        &a.router,
        post(
            &format!("/api/v1/runs/{id}/complete"),
            &a.service,
            &json!({ "outcome": "succeeded" }),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "run.not_started")
    );

    let (status, _, started) = call(
        &a.router,
        post(&format!("/api/v1/runs/{id}/start"), &a.service, &json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["decision"]["status"], "running");
    let (status, _, body) = call(
        &a.router,
        post(&format!("/api/v1/runs/{id}/start"), &a.service, &json!({})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "run.already_running"),
        "a run is claimed once"
    );

    let completion = json!({
        "outcome": "partially_succeeded",
        "summary": { "reports": 12, "failed": 2 },
        "failures": [{ "reason_code": "job.items_failed", "message": "2 reports had no data" }],
        "note": { "reason_code": "job.items_failed" }
    });
    let (status, _, done) = call(
        &a.router,
        post(
            &format!("/api/v1/runs/{id}/complete"),
            &a.service,
            &completion,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["decision"]["status"], "completed");
    assert_eq!(done["decision"]["outcome"], "partially_succeeded");
    assert_eq!(done["diagnostics"]["summary_counts"]["reports"], 12);
    assert_eq!(
        done["diagnostics"]["failure_summary"][0]["reason_code"],
        "job.items_failed"
    );
    let recorded = events(&a, id).await;
    let types: Vec<&str> = recorded.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["RunQueued", "RunStarted", "RunCompleted"]);

    // GET shows it decision first, as the completion answered.
    let (status, _, shown) =
        call(&a.router, get_as(&format!("/api/v1/runs/{id}"), &a.member)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, done);
    let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["context", "decision", "diagnostics"]);

    // The same completion again: 200, and nothing new in the log.
    let (status, _, again) = call(
        &a.router,
        post(
            &format!("/api/v1/runs/{id}/complete"),
            &a.service,
            &completion,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["decision"], done["decision"]);
    assert_eq!(events(&a, id).await.len(), 3, "a repeat records nothing");

    // Another outcome never flips it.
    let (status, _, body) = call(
        &a.router,
        german(post(
            &format!("/api/v1/runs/{id}/complete"),
            &a.service,
            &json!({ "outcome": "succeeded" }),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "run.outcome_conflict");
    assert_eq!(
        body["detail"],
        "Der Lauf endete bereits mit einem anderen Ergebnis; ein Ergebnis ändert sich nie."
    );
    let (status, _, body) = call(
        &a.router,
        post(&format!("/api/v1/runs/{id}/start"), &a.service, &json!({})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "run.already_completed")
    );
    assert_eq!(events(&a, id).await.len(), 3);
    let mut conn = a._db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(row.state.outcome, RunOutcome::PartiallySucceeded);
}

#[tokio::test]
async fn a_completion_it_cannot_read_is_400_and_one_it_cannot_accept_is_422() {
    let a = api().await;
    let id = running_export(&a, "bad-completions").await;
    let path = format!("/api/v1/runs/{id}/complete");
    let cases = [
        (
            json!({ "outcome": "succeeded", "duration": 3 }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "summary": {} }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "outcome": "succeeded", "summary": { "n": -1 } }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "outcome": "succeeded", "failures": [{ "reason": "job.failed" }] }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "outcome": "done" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.unknown_outcome",
        ),
        (
            json!({ "outcome": "pending" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.unknown_outcome",
        ),
        (
            json!({ "outcome": "failed", "failures": [{ "reason_code": "job.exploded" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.unknown_reason",
        ),
        (
            json!({ "outcome": "failed", "note": { "reason_code": "nope" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.unknown_reason",
        ),
        (
            json!({ "outcome": "succeeded", "summary": { "Bad Key": 1 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.invalid_input",
        ),
        (
            json!({ "outcome": "failed", "failures": [{ "reason_code": "job.failed", "message": "two\nlines" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "run.invalid_input",
        ),
    ];
    for (body, status, code) in cases {
        let (got, _, answer) = call(&a.router, post(&path, &a.service, &body)).await;
        assert_eq!(
            (got, answer["code"].as_str().unwrap()),
            (status, code),
            "{body} -> {answer}"
        );
    }
    let (_, _, answer) = call(&a.router, post_text(&path, &a.service, "")).await;
    assert_eq!(answer["code"], "http.invalid_body");
    assert_eq!(
        events(&a, id).await.len(),
        2,
        "still only queued and started"
    );
}

#[tokio::test]
async fn every_lifecycle_route_answers_a_foreign_run_exactly_like_a_missing_one() {
    let a = api().await;
    let completion = json!({ "outcome": "failed" });
    for suffix in ["start", "complete"] {
        let at = |id: &str| {
            post(
                &format!("/api/v1/runs/{id}/{suffix}"),
                &a.service,
                &completion,
            )
        };
        let foreign = raw(&a.router, at(&a.their_run.to_string())).await;
        let nowhere = raw(&a.router, at(&Uuid::new_v4().to_string())).await;
        let malformed = raw(&a.router, at("not-an-id")).await;
        assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{suffix}");
        assert_eq!(foreign, nowhere, "{suffix}: byte for byte");
        assert_eq!(foreign, malformed, "{suffix}: byte for byte");
        let body: Value = serde_json::from_slice(&foreign.1).unwrap();
        assert_eq!(body["code"], "run.not_found");
    }
    assert_eq!(
        events(&a, a.their_run).await.len(),
        1,
        "their run is untouched"
    );
}

#[tokio::test]
async fn a_review_compose_run_is_runproofs_own_and_cannot_be_driven_over_the_api() {
    let a = api().await;
    let env = environment(&a, a.ours).await;
    let compose = a
        .app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: a.ours,
                environment_id: Some(env),
                run_type: "environment.review.compose".into(),
                identity_inputs: json!({ "fingerprint": "sha256:1" }),
                context: json!({}),
            },
            &common::operator(),
        )
        .await
        .unwrap()
        .run_id();
    for suffix in ["start", "complete"] {
        let (status, _, body) = call(
            &a.router,
            post(
                &format!("/api/v1/runs/{compose}/{suffix}"),
                &a.service,
                &json!({ "outcome": "succeeded" }),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{suffix}");
        assert_eq!(body["code"], "run.driven_by_engine");
    }
    assert_eq!(events(&a, compose).await.len(), 1);
}

// --- restore records ---

/// A running `restore.execute` run of the service's workspace naming `restore_id`.
async fn restore_run(a: &Api, env: Uuid, restore_id: Uuid) -> Uuid {
    restore_run_for(a, env, restore_id, "2026-11-29T02:00Z").await
}

/// Like [`restore_run`], of the backup `backup` (part of the run's identity).
async fn restore_run_for(a: &Api, env: Uuid, restore_id: Uuid, backup: &str) -> Uuid {
    let (status, _, run) = call(
        &a.router,
        post(
            "/api/v1/runs",
            &a.service,
            &json!({
                "workspace": a.ours,
                "environment": env,
                "type": "restore.execute",
                "identity": { "backup": backup, "restore": restore_id },
                "context": { "restore_id": restore_id }
            }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let id = id_of(&run);
    let (status, _, _) = call(
        &a.router,
        post(&format!("/api/v1/runs/{id}/start"), &a.service, &json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    id
}

#[tokio::test]
async fn a_restore_reported_over_http_proves_its_stale_run_through_the_adapter() {
    let a = api().await;
    let env = environment(&a, a.ours).await;
    let restore_id = Uuid::new_v4();
    let run = restore_run(&a, env, restore_id).await;

    let request = json!({ "id": restore_id, "run": run });
    let (status, headers, record) =
        call(&a.router, post("/api/v1/restores", &a.service, &request)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    assert_eq!(
        headers[header::LOCATION],
        format!("/api/v1/restores/{restore_id}")
    );
    assert_eq!(record["status"], "queued");
    assert_eq!(record["run_id"], json!(run));
    assert_eq!(record["workspace_id"], json!(a.ours));
    assert_eq!(record["environment_id"], json!(env));
    let (status, _, _) = call(&a.router, post("/api/v1/restores", &a.service, &request)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same request again records nothing"
    );

    let at = format!("/api/v1/restores/{restore_id}");
    let (status, _, record) = call(
        &a.router,
        put(&at, &a.service, &json!({ "status": "running" })),
    )
    .await;
    assert_eq!(
        (status, record["status"].as_str()),
        (StatusCode::OK, Some("running"))
    );
    let result =
        json!({ "status": "finished", "result": { "items_total": 27, "items_failed": 0 } });
    let (status, _, record) = call(&a.router, put(&at, &a.service, &result)).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "completed");
    assert_eq!(record["items_total"], 27);
    let (status, _, _) = call(&a.router, put(&at, &a.service, &result)).await;
    assert_eq!(status, StatusCode::OK, "the same result again");
    let written: Vec<String> = events(&a, restore_id)
        .await
        .into_iter()
        .map(|(t, m)| {
            assert_eq!(m["actor"], format!("actor:{}", a.service_id));
            t
        })
        .collect();
    assert_eq!(
        written,
        ["RestoreRequested", "RestoreStarted", "RestoreFinished"],
        "repeats record nothing"
    );
    let (status, _, body) = call(
        &a.router,
        put(
            &at,
            &a.service,
            &json!({ "status": "finished", "result": { "failed": true, "items_total": 27 } }),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "restore.already_finished")
    );

    // The job never completes its run. Past the run's stale threshold the reconciler
    // proves it from the restore record instead of ending it as stale.
    common::wait_projected(&a._db, &a.app.projector).await;
    let reconciler = runproof::reconciliation::reconciler(&a.app).unwrap();
    let report = reconciler
        .pass(Utc::now() + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(report.counts().decided_by_adapter, 1, "{report:?}");
    let (status, _, shown) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{run}"), &a.service),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["decision"]["status"], "completed");
    assert_eq!(shown["decision"]["outcome"], "succeeded");
    let reconciliation = &shown["decision"]["reconciliation"];
    assert_eq!(reconciliation["source"], "adapter", "{shown}");
    assert_eq!(reconciliation["reason_code"], "restore.completed");
    assert_eq!(
        reconciliation["evidence"]["record"]["id"],
        json!(restore_id)
    );
    let mut conn = a._db.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, run).await.unwrap().unwrap();
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );
    assert_eq!(
        row.state
            .reconciliation
            .unwrap()
            .adapter
            .unwrap()
            .to_string(),
        "restore@1.0.0"
    );
}

#[tokio::test]
async fn restore_reports_refuse_what_the_adapter_could_never_use() {
    let a = api().await;
    let env = environment(&a, a.ours).await;
    let restore_id = Uuid::new_v4();
    let run = restore_run(&a, env, restore_id).await;
    let export_run = running_export(&a, "not-a-restore").await;
    let cases = [
        (
            json!({ "id": restore_id, "run": run, "environment": env }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "id": restore_id }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "id": "r-1", "run": run }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "id": Uuid::new_v4(), "run": run }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "restore.run_mismatch",
        ),
        (
            json!({ "id": restore_id, "run": export_run }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "restore.run_mismatch",
        ),
    ];
    for (body, status, code) in cases {
        let (got, _, answer) = call(&a.router, post("/api/v1/restores", &a.service, &body)).await;
        assert_eq!(
            (got, answer["code"].as_str().unwrap()),
            (status, code),
            "{body} -> {answer}"
        );
    }
    let (status, _, body) = call(
        &a.router,
        post(
            "/api/v1/restores",
            &a.member,
            &json!({ "id": restore_id, "run": run }),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::FORBIDDEN, "access.services_only")
    );
    assert!(
        events(&a, restore_id).await.is_empty(),
        "nothing recorded yet"
    );

    let (status, _, _) = call(
        &a.router,
        post(
            "/api/v1/restores",
            &a.service,
            &json!({ "id": restore_id, "run": run }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The id is taken: another run naming it cannot record it again.
    let other = restore_run_for(&a, env, restore_id, "2026-11-28T02:00Z").await;
    let (status, _, body) = call(
        &a.router,
        post(
            "/api/v1/restores",
            &a.service,
            &json!({ "id": restore_id, "run": other }),
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "restore.already_exists")
    );

    let at = format!("/api/v1/restores/{restore_id}");
    let reports = [
        (
            json!({ "status": "finished", "result": { "items_total": 3 } }),
            StatusCode::CONFLICT,
            "restore.not_started",
        ),
        (
            json!({ "status": "done" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "restore.unknown_status",
        ),
        (
            json!({ "status": "finished" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "restore.result_mismatch",
        ),
        (
            json!({ "status": "running", "result": { "items_total": 1 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "restore.result_mismatch",
        ),
        (
            json!({ "status": "finished", "result": { "items_failed": 1 } }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
        (
            json!({ "status": "running", "eta": 5 }),
            StatusCode::BAD_REQUEST,
            "http.invalid_body",
        ),
    ];
    for (body, status, code) in reports {
        let (got, _, answer) = call(&a.router, put(&at, &a.service, &body)).await;
        assert_eq!(
            (got, answer["code"].as_str().unwrap()),
            (status, code),
            "{body} -> {answer}"
        );
    }
    let (status, _, _) = call(
        &a.router,
        put(&at, &a.service, &json!({ "status": "running" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(
        &a.router,
        german(put(
            &at,
            &a.service,
            &json!({ "status": "finished", "result": { "items_total": 2, "items_failed": 3 } }),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "restore.invalid_counts");
    assert!(
        body["detail"].as_str().unwrap().starts_with("Es sind mehr"),
        "{body}"
    );
    let (status, _, body) = call(
        &a.router,
        put(&at, &a.member, &json!({ "status": "running" })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (StatusCode::FORBIDDEN, "access.services_only")
    );
    let written: Vec<String> = events(&a, restore_id)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(written, ["RestoreRequested", "RestoreStarted"]);
}

#[tokio::test]
async fn a_foreign_restore_or_run_is_not_found_exactly_like_a_missing_one() {
    let a = api().await;
    // A restore in the other workspace, recorded by its own job system.
    let env = environment(&a, a.theirs).await;
    let restore_id = Uuid::new_v4();
    let run = a
        .app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: a.theirs,
                environment_id: Some(env),
                run_type: "restore.execute".into(),
                identity_inputs: json!({ "r": restore_id }),
                context: json!({ "restore_id": restore_id }),
            },
            &common::operator(),
        )
        .await
        .unwrap()
        .run_id();
    a.app
        .restores
        .request(
            RestoreScope {
                restore_id,
                run_id: run,
                workspace_id: a.theirs,
                environment_id: env,
            },
            &common::worker(),
        )
        .await
        .unwrap();

    let report = json!({ "status": "running" });
    let at = |id: &str| put(&format!("/api/v1/restores/{id}"), &a.service, &report);
    let foreign = raw(&a.router, at(&restore_id.to_string())).await;
    let nowhere = raw(&a.router, at(&Uuid::new_v4().to_string())).await;
    let malformed = raw(&a.router, at("not-an-id")).await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, nowhere, "byte for byte");
    assert_eq!(foreign, malformed, "byte for byte");
    let body: Value = serde_json::from_slice(&foreign.1).unwrap();
    assert_eq!(body["code"], "restore.not_found");
    assert_eq!(body["detail"], "Restore with this id was not found.");

    // Naming their run in a new restore is as if the run did not exist.
    let ask = |run: Uuid| {
        post(
            "/api/v1/restores",
            &a.service,
            &json!({ "id": restore_id, "run": run }),
        )
    };
    let foreign = raw(&a.router, ask(run)).await;
    let nowhere = raw(&a.router, ask(Uuid::new_v4())).await;
    assert_eq!(foreign.0, StatusCode::NOT_FOUND);
    assert_eq!(foreign, nowhere, "byte for byte");
    assert_eq!(
        events(&a, restore_id).await.len(),
        1,
        "their restore is untouched"
    );
}
