//! The environment, review and directory routes of the API against PostgreSQL, through
//! the real router: evidence capture, review compose requests (one run under 64
//! concurrent requests), the review list and its keyset pages, publish and archive with
//! their conflicts, the workspaces a caller sees, and "not found" for everything outside
//! the caller's scope, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::http::{api, call, get_as, raw, router, send_as, Api};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::http::Limits;
use runproof::lifecycle::EnsureRun;
use runproof_domain::operation_run::TerminalOutcome;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

/// The API world, with an environment with evidence in each workspace, one without any
/// in ours, and the services on the system clock (as the server's) for the worker.
struct World {
    a: Api,
    our_env: Uuid,
    their_env: Uuid,
    bare_env: Uuid,
    system: App,
}

fn findings(n: usize, tag: &str) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let severity = ["critical", "high", "medium", "low", "info"][i % 5];
            let category = ["identity", "network", "backup"][i % 3];
            json!({"severity": severity, "category": category, "title": format!("{tag} {i}")})
        })
        .collect();
    json!({ "findings": items })
}

async fn world() -> World {
    let a = api().await;
    let ctx = common::operator();
    let d = &a.app.directory;
    let our_env = d
        .create_environment(a.ours, Uuid::new_v4(), "prod", &ctx)
        .await
        .unwrap();
    let bare_env = d
        .create_environment(a.ours, Uuid::new_v4(), "staging", &ctx)
        .await
        .unwrap();
    let their_env = d
        .create_environment(a.theirs, Uuid::new_v4(), "edge", &ctx)
        .await
        .unwrap();
    for env in [our_env, their_env] {
        d.capture_evidence(env, findings(3, "first"), &ctx)
            .await
            .unwrap();
    }
    let system = App::from_pool(a._db.pool.clone(), Arc::new(SystemClock));
    World {
        a,
        our_env,
        their_env,
        bare_env,
        system,
    }
}

/// A POST with a raw body (or none), the caller's token and optionally a language.
fn post(path: &str, token: &str, body: Option<&str>, lang: Option<&str>) -> Request<Body> {
    let mut r = Request::post(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(lang) = lang {
        r = r.header(header::ACCEPT_LANGUAGE, lang);
    }
    match body {
        Some(body) => r
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => r.body(Body::empty()).unwrap(),
    }
}

impl World {
    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.a._db.pool)
            .await
            .unwrap()
    }

    async fn events(&self) -> i64 {
        self.count("SELECT count(*) FROM events").await
    }

    /// Asks for the environment's review as `token`, runs the worker, asks again: the
    /// ready review's id.
    async fn compose(&self, env: Uuid, token: &str) -> Uuid {
        let path = format!("/api/v1/environments/{env}/reviews");
        let (status, _, body) = call(&self.a.router, post(&path, token, None, None)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        self.system.worker().run_until_idle().await.unwrap();
        let (status, _, body) = call(&self.a.router, post(&path, token, None, None)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"], "already_available", "{body}");
        body["review_id"].as_str().unwrap().parse().unwrap()
    }

    /// Captures a new document for `env` (so the next compose has new evidence).
    async fn capture(&self, env: Uuid, tag: &str) {
        self.a
            .app
            .directory
            .capture_evidence(env, findings(4, tag), &common::operator())
            .await
            .unwrap();
    }
}

// --- evidence ---

#[tokio::test]
async fn evidence_is_captured_over_http_and_an_invalid_document_records_nothing() {
    let w = world().await;
    let path = format!("/api/v1/environments/{}/evidence", w.our_env);
    let document = findings(5, "posted").to_string();
    let (status, _, body) =
        call(&w.a.router, post(&path, &w.a.member, Some(&document), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["finding_count"], 5);
    assert_eq!(body["environment_id"], json!(w.our_env));
    assert!(body["content_hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(body["snapshot_id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .is_ok());
    // The environment now shows it as its newest evidence.
    let (_, _, listed) = call(
        &w.a.router,
        get_as(
            &format!("/api/v1/workspaces/{}/environments", w.a.ours),
            &w.a.member,
        ),
    )
    .await;
    let prod = listed["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!(w.our_env))
        .unwrap();
    assert_eq!(prod["latest_evidence"]["snapshot_id"], body["snapshot_id"]);

    let before = w.events().await;
    // Not JSON: the client's malformed request, with the CLI's reason and the position.
    let (status, headers, body) = call(
        &w.a.router,
        post(&path, &w.a.member, Some("{\"findings\": ["), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "evidence.invalid");
    assert!(
        body["detail"].as_str().unwrap().contains("line 1"),
        "{body}"
    );
    // JSON, but no findings document: refused by the service, 422.
    for (document, says) in [
        (r#"{"findings": "many"}"#, "findings array"),
        (
            r#"{"findings": [{"severity": "dire", "category": "x"}]}"#,
            "finding 1",
        ),
        (r#"{"findings": [], "note": "a\u0000b"}"#, "U+0000"),
        ("[]", "findings array"),
    ] {
        let (status, _, body) =
            call(&w.a.router, post(&path, &w.a.member, Some(document), None)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{document}: {body}"
        );
        assert_eq!(body["code"], "evidence.invalid");
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{document}: {body}"
        );
    }
    // In German, the detail too.
    let (_, _, body) = call(
        &w.a.router,
        post(
            &path,
            &w.a.member,
            Some(r#"{"findings": [], "note": "a\u0000b"}"#),
            Some("de"),
        ),
    )
    .await;
    assert_eq!(
        body["detail"],
        "Die Belegdatei ist ungültig: das Dokument enthält das Zeichen U+0000 (\\u0000), das \
         nicht gespeichert werden kann."
    );
    // Over the 1 MiB bound: refused before it is read.
    let huge = format!(
        r#"{{"findings": [], "pad": "{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let (status, _, body) = call(&w.a.router, post(&path, &w.a.member, Some(&huge), None)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "http.body_too_large");
    // An operator sees the workspace but only members capture.
    let (status, _, body) = call(
        &w.a.router,
        post(&path, &w.a.operator, Some(&document), None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "access.members_only");
    assert_eq!(w.events().await, before, "nothing refused was recorded");
}

// --- review compose requests ---

#[tokio::test]
async fn a_review_request_queues_a_run_then_finds_it_running_and_after_the_worker_available() {
    let w = world().await;
    let path = format!("/api/v1/environments/{}/reviews", w.our_env);
    let (status, _, queued) = call(&w.a.router, post(&path, &w.a.member, None, None)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["result"], "queued");
    let run_id = queued["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        queued["message"],
        format!("Queued compose run {run_id}; open it with `runproof runs show {run_id}`.")
    );
    assert_eq!(queued["run"]["decision"]["status"], "queued", "{queued}");
    assert_eq!(
        queued["run"]["diagnostics"]["id"],
        json!(run_id),
        "{queued}"
    );

    // Asked again (in German, with an empty object as body): the same run.
    let (status, _, running) = call(
        &w.a.router,
        post(&path, &w.a.member, Some("{}"), Some("de-DE,de;q=0.9")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{running}");
    assert_eq!(running["result"], "already_running");
    assert_eq!(running["run_id"], json!(run_id));
    assert_eq!(
        running["message"],
        format!(
            "Ein Erstellungslauf für dieselben Belege läuft bereits: {run_id}; öffnen mit \
             `runproof runs show {run_id}`."
        )
    );

    // The worker composes it; the next request finds the ready review.
    let done = w.system.worker().run_until_idle().await.unwrap();
    assert_eq!(done.len(), 1);
    let (status, _, available) = call(&w.a.router, post(&path, &w.a.member, None, None)).await;
    assert_eq!(status, StatusCode::OK, "{available}");
    assert_eq!(available["result"], "already_available");
    let review_id = available["review_id"].as_str().unwrap();
    assert_eq!(available["review"]["id"], json!(review_id));
    assert_eq!(available["review"]["status"], "ready");
    assert_eq!(available["review"]["run_id"], json!(run_id));
    assert!(available.get("run_id").is_none(), "{available}");
    assert!(available["message"]
        .as_str()
        .unwrap()
        .contains(&format!("already available: {review_id}")));
}

#[tokio::test]
async fn a_review_request_without_evidence_a_body_or_membership_is_refused_and_records_nothing() {
    let w = world().await;
    let before = w.events().await;
    let bare = format!("/api/v1/environments/{}/reviews", w.bare_env);
    let (status, _, body) = call(&w.a.router, post(&bare, &w.a.member, None, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "evidence.missing");
    let path = format!("/api/v1/environments/{}/reviews", w.our_env);
    for body in [
        r#"{"force": true}"#,
        "[]",
        "not json",
        r#"{"workspace": null}"#,
    ] {
        let (status, _, answer) =
            call(&w.a.router, post(&path, &w.a.member, Some(body), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], "http.invalid_body");
    }
    let (status, _, german) = call(
        &w.a.router,
        post(&path, &w.a.member, Some(r#"{"force": true}"#), Some("de")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(german["detail"]
        .as_str()
        .unwrap()
        .starts_with("Der Anfrageinhalt passt nicht zu dieser Ressource"));
    let (status, _, body) = call(&w.a.router, post(&path, &w.a.operator, None, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "access.members_only");
    assert_eq!(
        body["detail"],
        "Only members of this workspace can do this; the token's actor may see the workspace \
         but is not a member of it."
    );
    assert_eq!(w.events().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_review_requests_on_one_environment_give_exactly_one_run() {
    let w = world().await;
    // Room for all of them at once, so none is shed and none times out on this machine.
    let r = router(
        &w.a._db,
        Limits {
            max_concurrent_requests: 128,
            request_timeout: Duration::from_secs(120),
            ..Limits::default()
        },
    )
    .await;
    let path = format!("/api/v1/environments/{}/reviews", w.our_env);
    let barrier = Arc::new(Barrier::new(64));
    let mut calls = Vec::new();
    for _ in 0..64 {
        let (r, barrier, path, token) =
            (r.clone(), barrier.clone(), path.clone(), w.a.member.clone());
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            call(&r, send_as("POST", &path, &token, &json!({}))).await
        }));
    }
    let (mut queued, mut running, mut runs) = (0, 0, HashSet::new());
    for c in calls {
        let (status, _, body) = c.await.unwrap();
        match (status, body["result"].as_str()) {
            (StatusCode::ACCEPTED, Some("queued")) => queued += 1,
            (StatusCode::OK, Some("already_running")) => running += 1,
            other => panic!("{other:?}: {body}"),
        }
        runs.insert(body["run_id"].as_str().unwrap().to_string());
    }
    assert_eq!((queued, running, runs.len()), (1, 63, 1));
    let compose_runs_in_the_log = w
        .count(
            "SELECT count(*) FROM events WHERE event_type = 'RunQueued' \
             AND payload -> event_type ->> 'run_type' = 'environment.review.compose'",
        )
        .await;
    assert_eq!(compose_runs_in_the_log, 1);
    let compose_runs = w
        .count("SELECT count(*) FROM operation_runs WHERE run_type = 'environment.review.compose'")
        .await;
    assert_eq!(compose_runs, 1);
}

// --- reviews ---

#[tokio::test]
async fn a_review_is_shown_to_those_who_see_its_workspace() {
    let w = world().await;
    let review = w.compose(w.our_env, &w.a.member).await;
    let path = format!("/api/v1/reviews/{review}");
    let (status, _, body) = call(&w.a.router, get_as(&path, &w.a.member)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], json!(review));
    assert_eq!(body["status"], "ready");
    assert_eq!(body["workspace_id"], json!(w.a.ours));
    assert_eq!(body["environment_id"], json!(w.our_env));
    assert_eq!(body["content"]["total_findings"], 3);
    assert!(body["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    let (status, _, _) = call(&w.a.router, get_as(&path, &w.a.operator)).await;
    assert_eq!(status, StatusCode::OK, "an operator sees every workspace");
    let (status, _, body) = call(&w.a.router, get_as(&path, &w.a.outsider)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "review.not_found");
}

#[tokio::test]
async fn the_review_list_is_scoped_filtered_and_pages_by_keyset_without_gaps_or_repeats() {
    let w = world().await;
    let mut ours = vec![w.compose(w.our_env, &w.a.member).await];
    for tag in ["second", "third", "fourth"] {
        w.capture(w.our_env, tag).await;
        ours.push(w.compose(w.our_env, &w.a.member).await);
    }
    let theirs = w.compose(w.their_env, &w.a.outsider).await;
    let ids = |body: &Value| -> Vec<String> {
        body["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Newest first; each caller sees its workspaces' reviews, an operator all.
    let (status, _, mine) = call(&w.a.router, get_as("/api/v1/reviews", &w.a.member)).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let newest_first: Vec<String> = ours.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(ids(&mine), newest_first);
    assert_eq!(mine["next_cursor"], Value::Null);
    let (_, _, outsiders) = call(&w.a.router, get_as("/api/v1/reviews", &w.a.outsider)).await;
    assert_eq!(ids(&outsiders), vec![theirs.to_string()]);
    let (_, _, everything) = call(&w.a.router, get_as("/api/v1/reviews", &w.a.operator)).await;
    assert_eq!(ids(&everything).len(), 5);
    // Naming a workspace one does not see shows nothing from it.
    let (_, _, foreign) = call(
        &w.a.router,
        get_as(
            &format!("/api/v1/reviews?workspace={}", w.a.theirs),
            &w.a.member,
        ),
    )
    .await;
    assert_eq!(ids(&foreign), Vec::<String>::new());

    // Pages of three, following next_cursor: the same four, once each, in order.
    let mut paged = Vec::new();
    let mut path = "/api/v1/reviews?limit=3".to_string();
    let mut pages = 0;
    loop {
        let (status, _, page) = call(&w.a.router, get_as(&path, &w.a.member)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/reviews?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, newest_first);
    assert_eq!(pages, 2);

    // Filters combine with the scope.
    let publish = format!("/api/v1/reviews/{}/publish", ours[1]);
    let (status, _, _) = call(&w.a.router, post(&publish, &w.a.member, None, None)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, published) = call(
        &w.a.router,
        get_as("/api/v1/reviews?status=published", &w.a.operator),
    )
    .await;
    assert_eq!(ids(&published), vec![ours[1].to_string()]);
    let (_, _, of_env) = call(
        &w.a.router,
        get_as(
            &format!(
                "/api/v1/reviews?environment={}&workspace={}&status=ready",
                w.our_env, w.a.ours
            ),
            &w.a.member,
        ),
    )
    .await;
    assert_eq!(ids(&of_env).len(), 3);
    assert!(!ids(&of_env).contains(&ours[1].to_string()));

    // Bad input is a 400 problem naming what was wrong.
    for (bad, code) in [
        (
            "/api/v1/reviews?status=sideways",
            "cli.unknown_review_status",
        ),
        ("/api/v1/reviews?limit=0", "cli.limit_out_of_range"),
        ("/api/v1/reviews?limit=1001", "cli.limit_out_of_range"),
        ("/api/v1/reviews?cursor=nope", "http.cursor_invalid"),
        ("/api/v1/reviews?workspace=not-an-id", "cli.invalid_uuid"),
        ("/api/v1/reviews?colour=blue", "http.invalid_query"),
        ("/api/v1/reviews?limit=many", "http.invalid_query"),
    ] {
        let (status, headers, body) = call(&w.a.router, get_as(bad, &w.a.member)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["code"], code, "{bad}");
    }
}

#[tokio::test]
async fn publish_and_archive_follow_the_lineage_and_refuse_steps_the_status_does_not_allow() {
    let w = world().await;
    let first = w.compose(w.our_env, &w.a.member).await;
    let step = |review: Uuid, action: &str| format!("/api/v1/reviews/{review}/{action}");

    // A ready review cannot be archived: 409 with the reason, in the caller's language.
    let (status, headers, body) = call(
        &w.a.router,
        post(&step(first, "archive"), &w.a.member, None, Some("de")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "review.invalid_transition");
    assert_eq!(
        body["detail"],
        "Das Review ist ready; dieser Schritt ist nicht möglich."
    );
    // Only members act; a body is refused.
    let (status, _, body) = call(
        &w.a.router,
        post(&step(first, "publish"), &w.a.operator, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "access.members_only");
    let (status, _, body) = call(
        &w.a.router,
        post(
            &step(first, "publish"),
            &w.a.member,
            Some(r#"{"note": "go"}"#),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "http.invalid_body");

    // Published; publishing again is a conflict.
    let (status, _, body) = call(
        &w.a.router,
        post(&step(first, "publish"), &w.a.member, Some("{}"), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["review_id"], json!(first));
    assert_eq!(body["superseded"], Value::Null);
    assert_eq!(body["review"]["status"], "published");
    let (status, _, body) = call(
        &w.a.router,
        post(&step(first, "publish"), &w.a.member, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "review.invalid_transition");
    assert_eq!(
        body["detail"],
        "The review is published; it cannot take this step."
    );

    // A newer review published supersedes the first; the environment names it.
    w.capture(w.our_env, "newer").await;
    let second = w.compose(w.our_env, &w.a.member).await;
    let (status, _, body) = call(
        &w.a.router,
        post(&step(second, "publish"), &w.a.member, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["superseded"], json!(first));
    let (_, _, old) = call(
        &w.a.router,
        get_as(&format!("/api/v1/reviews/{first}"), &w.a.member),
    )
    .await;
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["superseded_by"], json!(second));
    let (_, _, envs) = call(
        &w.a.router,
        get_as(
            &format!("/api/v1/workspaces/{}/environments", w.a.ours),
            &w.a.member,
        ),
    )
    .await;
    assert!(envs["environments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["published_review_id"] == json!(second)));

    // A superseded review cannot be archived; the published one can, once.
    let (status, _, body) = call(
        &w.a.router,
        post(&step(first, "archive"), &w.a.member, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _, body) = call(
        &w.a.router,
        post(&step(second, "archive"), &w.a.member, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "archived");
    assert_eq!(body["review"]["status"], "archived");
    let (status, _, body) = call(
        &w.a.router,
        post(&step(second, "archive"), &w.a.member, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "review.invalid_transition");
}

// --- the directory ---

#[tokio::test]
async fn workspaces_are_listed_as_the_caller_sees_them_with_active_and_attention_counts() {
    let w = world().await;
    // In ours: the world's queued run (queued on the test clock's 2026-01-01, so past its
    // stale threshold by the server's clock), a failed run, a succeeded one.
    let ctx = common::operator();
    for (n, outcome) in [
        (1, TerminalOutcome::Failed),
        (2, TerminalOutcome::Succeeded),
    ] {
        let run = w
            .system
            .lifecycle
            .ensure(
                EnsureRun {
                    workspace_id: w.a.ours,
                    environment_id: None,
                    run_type: "inventory.sync".into(),
                    identity_inputs: json!({ "n": n }),
                    context: json!({}),
                },
                &ctx,
            )
            .await
            .unwrap()
            .run_id();
        w.system.lifecycle.start(run, &ctx).await.unwrap();
        w.system
            .lifecycle
            .complete(run, outcome, Default::default(), vec![], &ctx)
            .await
            .unwrap();
    }
    let names = |body: &Value| -> Vec<String> {
        body["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, _, mine) = call(&w.a.router, get_as("/api/v1/workspaces", &w.a.member)).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(names(&mine), vec!["Contoso"]);
    let contoso = &mine["workspaces"][0];
    assert_eq!(contoso["id"], json!(w.a.ours));
    assert_eq!(contoso["can_act"], true);
    assert_eq!(
        contoso["member_count"], 2,
        "the member and the service actor"
    );
    assert_eq!(contoso["active_runs"], 1);
    // Exactly what the run list's needs_attention filter pages through.
    let (_, _, attention) = call(
        &w.a.router,
        get_as(
            &format!("/api/v1/runs?workspace={}&needs_attention=true", w.a.ours),
            &w.a.member,
        ),
    )
    .await;
    assert_eq!(
        attention["runs"].as_array().unwrap().len(),
        2,
        "{attention}"
    );
    assert_eq!(contoso["runs_needing_attention"], 2);

    let (_, _, theirs) = call(&w.a.router, get_as("/api/v1/workspaces", &w.a.outsider)).await;
    assert_eq!(names(&theirs), vec!["Fabrikam"]);
    let (_, _, all) = call(&w.a.router, get_as("/api/v1/workspaces", &w.a.operator)).await;
    assert_eq!(names(&all), vec!["Contoso", "Fabrikam"]);
    for workspace in all["workspaces"].as_array().unwrap() {
        assert_eq!(workspace["can_act"], false, "the operator is no member");
    }
    // A route without parameters refuses any.
    let (status, _, body) = call(
        &w.a.router,
        get_as("/api/v1/workspaces?colour=blue", &w.a.member),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "http.invalid_query");
}

#[tokio::test]
async fn a_workspaces_environments_are_listed_with_their_newest_evidence() {
    let w = world().await;
    let path = format!("/api/v1/workspaces/{}/environments", w.a.ours);
    let (status, _, body) = call(&w.a.router, get_as(&path, &w.a.member)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["workspace_id"], json!(w.a.ours));
    let envs = body["environments"].as_array().unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["prod", "staging"]);
    assert_eq!(envs[0]["id"], json!(w.our_env));
    assert!(envs[0]["latest_evidence"]["content_hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(envs[1]["id"], json!(w.bare_env));
    assert_eq!(envs[1]["latest_evidence"], Value::Null);
    assert_eq!(envs[1]["published_review_id"], Value::Null);
    let (status, _, _) = call(&w.a.router, get_as(&path, &w.a.operator)).await;
    assert_eq!(status, StatusCode::OK);
}

// --- scope and authentication ---

/// Every route here that takes an id: method, path template, a body it accepts.
fn id_routes() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "POST",
            "/api/v1/environments/{id}/evidence",
            findings(2, "scope").to_string(),
        ),
        ("POST", "/api/v1/environments/{id}/reviews", String::new()),
        ("GET", "/api/v1/reviews/{id}", String::new()),
        ("POST", "/api/v1/reviews/{id}/publish", String::new()),
        ("POST", "/api/v1/reviews/{id}/archive", String::new()),
        ("GET", "/api/v1/workspaces/{id}/environments", String::new()),
    ]
}

fn request(method: &str, path: &str, token: &str, body: &str, lang: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn every_id_route_outside_the_callers_scope_answers_exactly_like_a_missing_or_malformed_id() {
    let w = world().await;
    let their_review = w.compose(w.their_env, &w.a.outsider).await;
    let our_review = w.compose(w.our_env, &w.a.member).await;
    let foreign_id = |template: &str| -> Uuid {
        if template.contains("/environments/{id}") {
            w.their_env
        } else if template.contains("/reviews/{id}") {
            their_review
        } else {
            w.a.theirs
        }
    };
    let own_id = |template: &str| -> Uuid {
        if template.contains("/environments/{id}") {
            w.our_env
        } else if template.contains("/reviews/{id}") {
            our_review
        } else {
            w.a.ours
        }
    };
    let before = w.events().await;
    for (method, template, body) in id_routes() {
        for lang in ["en", "de"] {
            let at = |id: &str| template.replace("{id}", id);
            let foreign = raw(
                &w.a.router,
                request(
                    method,
                    &at(&foreign_id(template).to_string()),
                    &w.a.member,
                    &body,
                    lang,
                ),
            )
            .await;
            let nowhere = raw(
                &w.a.router,
                request(
                    method,
                    &at(&Uuid::new_v4().to_string()),
                    &w.a.member,
                    &body,
                    lang,
                ),
            )
            .await;
            let malformed = raw(
                &w.a.router,
                request(method, &at("not-an-id"), &w.a.member, &body, lang),
            )
            .await;
            let label = format!("{method} {template} ({lang})");
            assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{label}");
            assert_eq!(foreign, nowhere, "{label}: byte for byte");
            assert_eq!(foreign, malformed, "{label}: byte for byte");
            let problem: Value = serde_json::from_slice(&foreign.1).unwrap();
            assert!(
                problem["code"].as_str().unwrap().ends_with(".not_found"),
                "{label}: {problem}"
            );
            assert!(
                !String::from_utf8_lossy(&foreign.1).contains(&foreign_id(template).to_string()),
                "{label}: the answer names no id"
            );
        }
    }
    assert_eq!(
        w.events().await,
        before,
        "nothing was recorded out of scope"
    );
    // The same routes in the caller's own scope are served (reads by an operator too).
    for (method, template, body) in id_routes() {
        let path = template.replace("{id}", &own_id(template).to_string());
        let (status, _) = raw(
            &w.a.router,
            request(method, &path, &w.a.member, &body, "en"),
        )
        .await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {template}");
        if method == "GET" {
            let path = template.replace("{id}", &foreign_id(template).to_string());
            let (status, _) = raw(
                &w.a.router,
                request(method, &path, &w.a.operator, &body, "en"),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "the operator reads {template}");
        }
    }
    let (_, _, german) = call(
        &w.a.router,
        request(
            "GET",
            &format!("/api/v1/reviews/{their_review}"),
            &w.a.member,
            "",
            "de",
        ),
    )
    .await;
    assert_eq!(
        german["detail"],
        "Review mit dieser ID wurde nicht gefunden."
    );
}

#[tokio::test]
async fn without_a_valid_token_every_route_here_answers_401() {
    let w = world().await;
    let routes = [
        (
            "POST",
            format!("/api/v1/environments/{}/evidence", w.our_env),
        ),
        (
            "POST",
            format!("/api/v1/environments/{}/reviews", w.our_env),
        ),
        ("GET", "/api/v1/reviews".to_string()),
        ("GET", format!("/api/v1/reviews/{}", Uuid::new_v4())),
        (
            "POST",
            format!("/api/v1/reviews/{}/publish", Uuid::new_v4()),
        ),
        (
            "POST",
            format!("/api/v1/reviews/{}/archive", Uuid::new_v4()),
        ),
        ("GET", "/api/v1/workspaces".to_string()),
        (
            "GET",
            format!("/api/v1/workspaces/{}/environments", w.a.ours),
        ),
    ];
    let before = w.events().await;
    for (method, path) in routes {
        let anonymous = Request::builder()
            .method(method)
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(findings(1, "anon").to_string()))
            .unwrap();
        let (status, _, body) = call(&w.a.router, anonymous).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(body["code"], "token.unauthorized");
        let forged = request(method, &path, "rp_nonsense", "{}", "en");
        let (status, _, _) = call(&w.a.router, forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_eq!(w.events().await, before);
}
