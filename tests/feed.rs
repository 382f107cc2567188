//! The downstream feed over HTTP (`GET /api/v1/events`), against a real PostgreSQL
//! through the real router: every event once, in commit order, from any cursor, never
//! skipping a transaction that commits late, and only within the caller's scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use common::feed::{check_format, ids, log_ids, log_len, page, read};
use common::http::{api, call, get_as, token, Api};
use runproof::feed::Cursor;
use runproof::service_error::ServiceError;
use runproof_domain::actor::Role;
use runproof_domain::ReasonCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Appends one event in a transaction the caller holds open (a writer that commits
/// late): a workspace created by hand.
async fn begin_late(conn: &mut PgConnection) -> (sqlx::Transaction<'_, sqlx::Postgres>, Uuid) {
    let mut tx = conn.begin().await.unwrap();
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('workspace', $1, 1, 'WorkspaceCreated', '1.0', $2, $3)",
    )
    .bind(id.to_string())
    .bind(json!({"WorkspaceCreated": {"workspace_id": id, "name": "Late", "created_at": "2026-01-01T00:00:00Z"}}))
    .bind(json!({"actor": "system:test", "correlation_id": id, "causation_id": id,
                 "occurred_at": "2026-01-01T00:00:00Z", "schema_version": "1.0"}))
    .execute(&mut *tx)
    .await
    .unwrap();
    (tx, id)
}

fn cursor_of(e: &Value) -> Cursor {
    Cursor::decode(e["cursor"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn paging_from_the_start_gives_every_event_once_in_commit_order() {
    let a = api().await;
    let want = log_ids(&a._db).await;
    let (events, _) = read(&a.router, &a.operator, None, 3, want.len()).await;
    assert_eq!(ids(&events), want, "every event, once, in commit order");
    for e in &events {
        check_format(e).unwrap_or_else(|why| panic!("{why}: {e}"));
        assert_eq!(e["source"], "runproof/default");
    }
    assert!(
        events
            .windows(2)
            .all(|w| cursor_of(&w[0]) < cursor_of(&w[1])),
        "cursors strictly increase"
    );
}

#[tokio::test]
async fn resuming_from_every_cursor_gives_exactly_the_rest() {
    let a = api().await;
    let want = log_ids(&a._db).await;
    let (events, last) = read(&a.router, &a.operator, None, 1000, want.len()).await;
    assert_eq!(ids(&events), want);
    for (i, e) in events.iter().enumerate() {
        let (rest, _) = read(
            &a.router,
            &a.operator,
            Some(e["cursor"].as_str().unwrap()),
            1000,
            want.len() - i - 1,
        )
        .await;
        assert_eq!(ids(&rest), want[i + 1..], "after event {i}");
    }
    // A page's next_cursor goes on where the page ended.
    let (_, first) = page(&a.router, &a.operator, "?limit=4").await;
    assert_eq!(ids(first["events"].as_array().unwrap()), want[..4]);
    let next = first["next_cursor"].as_str().unwrap();
    let (_, second) = page(&a.router, &a.operator, &format!("?limit=4&after={next}")).await;
    assert_eq!(ids(second["events"].as_array().unwrap()), want[4..8]);
    // At the end: nothing more, caught up, and the cursor stays where it is.
    let (_, end) = page(&a.router, &a.operator, &format!("?after={last}")).await;
    assert_eq!(end["events"], json!([]));
    assert_eq!(end["caught_up"], true);
    assert_eq!(end["next_cursor"], last.as_str());
}

#[tokio::test]
async fn a_transaction_that_commits_late_is_never_skipped() {
    let a = api().await;
    let before = log_len(&a._db).await;
    let mut conn = PgConnection::connect(&a._db.url()).await.unwrap();
    // It writes first (the smaller position) ...
    let (late, late_id) = begin_late(&mut conn).await;
    // ... others write and commit after it ...
    for i in 0..3 {
        a.app
            .directory
            .create_workspace(Uuid::new_v4(), &format!("W{i}"), &common::operator())
            .await
            .unwrap();
    }
    // ... and a reader pages meanwhile: it gets nothing past the open transaction.
    let (seen, cursor) = read(&a.router, &a.operator, None, 5, before).await;
    assert_eq!(
        seen.len(),
        before,
        "nothing behind an open transaction is served"
    );
    let (again, _) = read(&a.router, &a.operator, Some(&cursor), 5, 0).await;
    assert!(again.is_empty());

    late.commit().await.unwrap();
    drop(conn);
    let total = log_len(&a._db).await;
    let (rest, _) = read(&a.router, &a.operator, Some(&cursor), 5, total - before).await;
    assert_eq!(
        rest[0]["subject"],
        late_id.to_string(),
        "the late event first"
    );
    let all: Vec<Value> = seen.into_iter().chain(rest).collect();
    assert_eq!(
        ids(&all),
        log_ids(&a._db).await,
        "nothing skipped, nothing twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_a_late_commit_during_paging_never_cause_a_skip() {
    let a = api().await;
    let mut conn = PgConnection::connect(&a._db.url()).await.unwrap();
    let (late, late_id) = begin_late(&mut conn).await;

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let router = a.router.clone();
        let operator = a.operator.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let stopping = stop.load(Ordering::SeqCst);
                let query = match &cursor {
                    Some(c) => format!("?limit=7&after={c}"),
                    None => "?limit=7".to_string(),
                };
                let (status, body) = page(&router, &operator, &query).await;
                assert_eq!(status, StatusCode::OK);
                seen.extend(body["events"].as_array().unwrap().iter().cloned());
                cursor = Some(body["next_cursor"].as_str().unwrap().to_string());
                if stopping {
                    return (seen, cursor.unwrap());
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = a.app.clone().without_read_your_writes();
            tokio::spawn(async move {
                for i in 0..12 {
                    let ctx = common::operator();
                    let ws = app
                        .directory
                        .create_workspace(Uuid::new_v4(), &format!("W{w}-{i}"), &ctx)
                        .await
                        .unwrap();
                    // Two streams in one transaction: the run's slot and the run.
                    app.lifecycle
                        .ensure(
                            runproof::lifecycle::EnsureRun {
                                workspace_id: ws,
                                environment_id: None,
                                run_type: "report.export".into(),
                                identity_inputs: json!({ "w": w, "i": i }),
                                context: json!({}),
                            },
                            &ctx,
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    late.commit().await.unwrap();
    drop(conn);
    stop.store(true, Ordering::SeqCst);
    let (seen, cursor) = reader.await.unwrap();

    let want = log_ids(&a._db).await;
    let (rest, _) = read(
        &a.router,
        &a.operator,
        Some(&cursor),
        50,
        want.len() - seen.len(),
    )
    .await;
    let all: Vec<Value> = seen.into_iter().chain(rest).collect();
    let got = ids(&all);
    assert_eq!(got.len(), want.len(), "every event");
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        got.len(),
        "none twice"
    );
    assert_eq!(got, want, "in commit order");
    assert!(all.iter().any(|e| e["subject"] == late_id.to_string()));
}

// --- scope ---

/// The world of `api()` with an environment, evidence and a composed review in each
/// workspace, so every rule that places an event in a workspace is exercised.
async fn scoped_world() -> Api {
    let a = api().await;
    let ctx = common::operator();
    let d = &a.app.directory;
    let ours = d
        .create_environment(a.ours, Uuid::new_v4(), "prod", &ctx)
        .await
        .unwrap();
    let theirs = d
        .create_environment(a.theirs, Uuid::new_v4(), "edge", &ctx)
        .await
        .unwrap();
    let document =
        json!({"findings": [{"severity": "high", "category": "identity", "title": "t"}]});
    for env in [ours, theirs] {
        d.capture_evidence(env, document.clone(), &ctx)
            .await
            .unwrap();
    }
    for (env, token) in [(ours, &a.member), (theirs, &a.outsider)] {
        let request = axum::http::Request::post(format!("/api/v1/environments/{env}/reviews"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, _, body) = call(&a.router, request).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    a.app.worker().run_until_idle().await.unwrap();
    common::wait_projected(&a._db, &a.app.projector).await;
    a
}

/// Each event's workspace as the projections show it — independent of the feed's own
/// rules: `(event id, workspace)` in commit order.
async fn placed_by_the_views(a: &Api) -> Vec<(String, Option<Uuid>, String)> {
    let rows: Vec<(String, String, i64, Option<Uuid>)> = sqlx::query_as(
        "SELECT e.aggregate_type, e.aggregate_id, e.sequence, CASE e.aggregate_type \
           WHEN 'workspace' THEN e.aggregate_id::uuid \
           WHEN 'operation_run' THEN (SELECT workspace_id FROM operation_runs WHERE id = e.aggregate_id::uuid) \
           WHEN 'restore' THEN (SELECT workspace_id FROM restore_runs WHERE restore_id = e.aggregate_id::uuid) \
           WHEN 'managed_environment' THEN (SELECT workspace_id FROM managed_environments WHERE id = e.aggregate_id::uuid) \
           WHEN 'environment_review' THEN (SELECT workspace_id FROM environment_reviews WHERE id = e.aggregate_id::uuid) \
           WHEN 'review_slot' THEN split_part(e.aggregate_id, '/', 1)::uuid \
           WHEN 'run_slot' THEN (SELECT workspace_id FROM operation_runs \
                                 WHERE id = (e.payload -> 'RunSlotClaimed' ->> 'run_id')::uuid) \
         END \
         FROM events e ORDER BY e.transaction_id, e.position",
    )
    .fetch_all(&a._db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(t, id, s, ws)| {
            (
                runproof::feed::cloudevent::event_id(&t, &id, s).to_string(),
                ws,
                t,
            )
        })
        .collect()
}

/// Everything `token` reads from the start, once the whole log is readable.
async fn everything(a: &Api, token: &str) -> Vec<Value> {
    // The operator's read waits until the whole log is below the horizon.
    read(&a.router, &a.operator, None, 1000, log_len(&a._db).await).await;
    read(&a.router, token, None, 1000, 0).await.0
}

fn in_workspaces(placed: &[(String, Option<Uuid>, String)], workspaces: &[Uuid]) -> Vec<String> {
    placed
        .iter()
        .filter(|(_, ws, _)| ws.is_some_and(|w| workspaces.contains(&w)))
        .map(|(id, _, _)| id.clone())
        .collect()
}

#[tokio::test]
async fn a_member_reads_only_its_workspaces_events_and_no_foreign_one_leaks() {
    let a = scoped_world().await;
    let placed = placed_by_the_views(&a).await;
    let kinds: HashSet<&str> = placed.iter().map(|(_, _, t)| t.as_str()).collect();
    for kind in [
        "workspace",
        "operation_run",
        "managed_environment",
        "environment_review",
        "review_slot",
        "run_slot",
        "actor",
        "api_token",
    ] {
        assert!(kinds.contains(kind), "the world has {kind} events");
    }

    // The operator reads everything, each event naming the workspace the views place
    // it in (none for the platform's own: actors, tokens).
    let all = everything(&a, &a.operator).await;
    assert_eq!(
        ids(&all),
        placed.iter().map(|p| p.0.clone()).collect::<Vec<_>>()
    );
    for (e, (_, ws, _)) in all.iter().zip(&placed) {
        check_format(e).unwrap_or_else(|why| panic!("{why}: {e}"));
        assert_eq!(e.get("workspace").cloned(), ws.map(|w| json!(w)), "{e}");
    }

    // A member reads exactly its workspace's events — its directory events included —
    // and nothing of the other workspace or of the platform.
    let ours = everything(&a, &a.member).await;
    assert_eq!(ids(&ours), in_workspaces(&placed, &[a.ours]));
    for e in &ours {
        assert_eq!(e["workspace"], json!(a.ours), "{e}");
    }
    let types: HashSet<&str> = ours.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "runproof.workspace.WorkspaceCreated.v1.0",
        "runproof.workspace.MemberAdded.v1.0",
        "runproof.run_slot.RunSlotClaimed.v1.0",
        "runproof.review_slot.ReviewSlotClaimed.v1.0",
        "runproof.environment_review.ReviewComposed.v1.0",
    ] {
        assert!(types.contains(t), "a member reads {t}");
    }
    assert!(!types
        .iter()
        .any(|t| t.starts_with("runproof.actor.") || t.starts_with("runproof.api_token.")));
    let theirs_subjects = [a.theirs.to_string(), a.their_run.to_string()];
    assert!(ours
        .iter()
        .all(|e| !theirs_subjects.contains(&e["subject"].as_str().unwrap().to_string())));

    let foreign = everything(&a, &a.outsider).await;
    assert_eq!(ids(&foreign), in_workspaces(&placed, &[a.theirs]));
    assert!(!foreign.is_empty());

    // A service actor without the feed role is a member like any other.
    assert_eq!(ids(&everything(&a, &a.service).await), ids(&ours));

    // An actor of no workspace reads nothing at all.
    let loner = a
        .app
        .directory
        .create_actor(Uuid::new_v4(), "Loner", &common::operator())
        .await
        .unwrap();
    let loner = token(&a.app, loner).await;
    assert!(everything(&a, &loner).await.is_empty());
}

#[tokio::test]
async fn a_service_granted_the_feed_reads_everything_until_the_role_is_revoked() {
    let a = scoped_world().await;
    let d = &a.app.directory;
    let ctx = common::operator();
    assert!(d.grant_role(a.service_id, Role::Feed, &ctx).await.unwrap());
    let all = everything(&a, &a.operator).await;
    assert_eq!(
        ids(&everything(&a, &a.service).await),
        ids(&all),
        "the feed role reads the whole log"
    );
    // It sees events, not more: the workspaces it is not a member of stay unseen.
    let (status, _, _) = call(
        &a.router,
        get_as(&format!("/api/v1/runs/{}", a.their_run), &a.service),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert!(d.revoke_role(a.service_id, Role::Feed, &ctx).await.unwrap());
    let placed = placed_by_the_views(&a).await;
    assert_eq!(
        ids(&everything(&a, &a.service).await),
        in_workspaces(&placed, &[a.ours])
    );

    // Only a service actor can hold it.
    match d.grant_role(a.member_id, Role::Feed, &ctx).await {
        Err(ServiceError::Refused { reason, .. }) => {
            assert_eq!(reason, ReasonCode::ActorRoleServicesOnly)
        }
        other => panic!("{other:?}"),
    }
}

// --- the request ---

#[tokio::test]
async fn types_narrow_the_feed_to_the_named_event_types() {
    let a = api().await;
    let total = log_len(&a._db).await;
    read(&a.router, &a.operator, None, 1000, total).await;
    let want: Vec<String> = {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, sequence FROM events \
             WHERE event_type IN ('RunQueued', 'MemberAdded') ORDER BY transaction_id, position",
        )
        .fetch_all(&a._db.pool)
        .await
        .unwrap();
        rows.iter()
            .map(|(t, id, s)| runproof::feed::cloudevent::event_id(t, id, *s).to_string())
            .collect()
    };
    let (status, body) = page(&a.router, &a.operator, "?types=RunQueued,MemberAdded").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(body["events"].as_array().unwrap()), want);
    assert_eq!(want.len(), 5, "two runs, three memberships");
}

#[tokio::test]
async fn a_bad_request_is_a_problem_and_reads_nothing() {
    let a = api().await;
    let problem = |query: &'static str, code: &'static str| {
        let router = a.router.clone();
        let token = a.operator.clone();
        async move {
            let (status, headers, body) =
                call(&router, get_as(&format!("/api/v1/events{query}"), &token)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(body["code"], code, "{query}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        }
    };
    problem("?after=not-a-cursor", "feed.cursor_invalid").await;
    problem("?after=MS41", "feed.cursor_invalid").await;
    problem("?limit=0", "cli.limit_out_of_range").await;
    problem("?limit=1001", "cli.limit_out_of_range").await;
    problem("?limit=many", "http.invalid_query").await;
    problem("?types=RunQueued,Tick", "feed.type_unknown").await;
    problem("?types=", "http.invalid_query").await;
    problem("?position=3", "http.invalid_query").await;
    problem("/stream?after=not-a-cursor", "feed.cursor_invalid").await;

    let request = axum::http::Request::get("/api/v1/events/stream")
        .header(header::AUTHORIZATION, format!("Bearer {}", a.operator))
        .header("last-event-id", "forged")
        .header(header::ACCEPT_LANGUAGE, "de")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, body) = call(&a.router, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "feed.cursor_invalid");
    assert!(
        body["detail"].as_str().unwrap().contains("Feed-Cursor"),
        "{body}"
    );

    for path in ["/api/v1/events", "/api/v1/events/stream"] {
        let (status, _, body) = call(&a.router, common::http::get(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["code"], "token.unauthorized");
    }
}

#[tokio::test]
async fn the_feed_routes_are_described_in_the_openapi_document() {
    let doc = serde_json::to_value(runproof::http::openapi()).unwrap();
    for path in ["/api/v1/events", "/api/v1/events/stream"] {
        let get = &doc["paths"][path]["get"];
        assert_eq!(get["tags"], json!(["feed"]), "{path}");
        assert!(get["responses"]["400"].is_object(), "{path}");
    }
    let stream = &doc["paths"]["/api/v1/events/stream"]["get"];
    assert!(stream["responses"]["200"]["content"]["text/event-stream"].is_object());
    assert!(stream["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "Last-Event-ID" && p["in"] == "header"));
}

#[tokio::test]
async fn the_feed_role_is_granted_on_the_command_line_to_service_actors_only() {
    use common::cli::{one_line_error, runproof, runproof_json};
    let db = common::TestDb::new().await;
    let url = db.url();
    let service = runproof_json(
        &url,
        &["actors", "create", "--name", "Reporting", "--service"],
    )["actor_id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = runproof_json(&url, &["actors", "create", "--name", "Ada"])["actor_id"]
        .as_str()
        .unwrap()
        .to_string();

    let o = runproof(
        &url,
        &["actors", "grant", "--actor", &service, "--role", "feed"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("now holds the role feed"), "{}", o.stdout);
    let o = runproof(
        &url,
        &["actors", "grant", "--actor", &member, "--role", "feed"],
    );
    one_line_error(&o, 2, "actor.role_services_only");
    let o = runproof(
        &url,
        &[
            "actors",
            "revoke-role",
            "--actor",
            &service,
            "--role",
            "feed",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("no longer holds the role feed"),
        "{}",
        o.stdout
    );
    let o = runproof(
        &url,
        &["actors", "grant", "--actor", &service, "--role", "admin"],
    );
    one_line_error(&o, 2, "actor.role_unknown");
    assert!(o.stderr.contains("operator and feed"), "{}", o.stderr);
}

#[tokio::test]
async fn a_sequenced_event_carries_its_leaf_and_one_not_yet_sequenced_does_not() {
    let a = api().await;
    let want = log_ids(&a._db).await;
    // Before the sequencer ran over the newest events, they come without leaf attributes.
    sqlx::query("DELETE FROM log_leaves")
        .execute(&a._db.pool)
        .await
        .unwrap();
    let (events, _) = read(&a.router, &a.operator, None, 1000, want.len()).await;
    assert!(events
        .iter()
        .all(|e| e.get("leafindex").is_none() && e.get("leafhash").is_none()));
    let leaves: Vec<(i64, i64, Vec<u8>)> = {
        sqlx::query("DELETE FROM projection_checkpoints WHERE projection = 'log_leaves'")
            .execute(&a._db.pool)
            .await
            .unwrap();
        common::wait_projected(&a._db, &a.app.projector).await;
        sqlx::query_as("SELECT position, leaf_index, leaf_hash FROM log_leaves")
            .fetch_all(&a._db.pool)
            .await
            .unwrap()
    };
    assert_eq!(leaves.len(), want.len());
    let (events, _) = read(&a.router, &a.operator, None, 1000, want.len()).await;
    for e in &events {
        check_format(e).unwrap_or_else(|why| panic!("{why}: {e}"));
        let position: i64 = e["position"].as_str().unwrap().parse().unwrap();
        let (_, index, hash) = leaves.iter().find(|(p, _, _)| *p == position).unwrap();
        assert_eq!(e["leafindex"], index.to_string());
        assert_eq!(e["leafhash"], hex::encode(hash));
    }
}
