//! The operator console through the real router over PostgreSQL, as a browser without
//! JavaScript uses it: sign-in and sessions (expiry on an injected clock), CSRF, the
//! security headers, escaping, the language, scope, and the workspaces and runs pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, StatusCode};
use common::console::{advance, console, unescape, Browser, Page};
use common::http::{api, Api};
use runproof::cli::serve::metrics_handle;
use runproof::database::DatabaseTarget;
use runproof::http::state::Shared;
use runproof::http::{ApiState, Limits};
use runproof::lifecycle::EnsureRun;
use uuid::Uuid;

async fn sessions(a: &Api) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM console_sessions")
        .fetch_one(&a.app.pool)
        .await
        .unwrap()
}

// --- sign-in and sessions ---

#[tokio::test]
async fn signing_in_with_a_good_token_opens_a_session_in_a_strict_http_only_cookie() {
    let a = api().await;
    let mut b = Browser::new(console(&a));
    let answer = b.sign_in(&a.member, "/runs?status=queued").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/runs?status=queued");
    let cookie = answer.set_cookie("runproof_session").unwrap();
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    let value = cookie["runproof_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert_eq!(value.len(), 43, "256 bits in base64url");
    assert_eq!(sessions(&a).await, 1);

    let start = b.get("/").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert!(start.body.contains("Contoso"), "{}", start.body);
    assert!(start.body.contains("Signed in as Ada"), "{}", start.body);

    // Only the id's hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT id_sha256 FROM console_sessions")
        .fetch_one(&a.app.pool)
        .await
        .unwrap();
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .unwrap();
    use sha2::Digest;
    assert_eq!(stored, sha2::Sha256::digest(&raw).to_vec());
    let holding: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM console_sessions t WHERE strpos(to_jsonb(t)::text, $1) > 0",
    )
    .bind(value)
    .fetch_one(&a.app.pool)
    .await
    .unwrap();
    assert_eq!(holding, 0);
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure() {
    let a = api().await;
    let mut b = Browser::new(console(&a)).with_header("x-forwarded-proto", "https");
    let answer = b.sign_in(&a.member, "/").await;
    let cookie = answer.set_cookie("runproof_session").unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    let told = runproof::http::router(ApiState::new(Shared {
        app: a.app.clone(),
        target: DatabaseTarget::parse(&a._db.url()).unwrap(),
        limits: Limits::default(),
        metrics: metrics_handle(),
        console: runproof::console::Settings {
            secure_cookies: true,
            ..Default::default()
        },
    }));
    let mut b = Browser::new(told);
    let answer = b.sign_in(&a.member, "/").await;
    assert!(answer
        .set_cookie("runproof_session")
        .unwrap()
        .ends_with("; Secure"));
}

#[tokio::test]
async fn a_wrong_revoked_or_malformed_token_is_refused_with_one_answer_and_no_session() {
    let a = api().await;
    let router = console(&a);
    let revoked = common::http::token(&a.app, a.member_id).await;
    let token_id = Uuid::parse_str(&revoked[3..35]).unwrap();
    a.app
        .tokens
        .revoke(token_id, &common::operator())
        .await
        .unwrap();
    let mut wrong = a.member.clone();
    wrong.pop();
    wrong.push(if a.member.ends_with('A') { 'B' } else { 'A' });

    let mut bodies = Vec::new();
    for token in [wrong.as_str(), revoked.as_str(), "rp_nonsense"] {
        let mut b = Browser::new(router.clone());
        let answer = b.sign_in(token, "/runs").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token}");
        assert!(answer.set_cookie("runproof_session").is_none());
        assert!(answer.body.contains("This token was not accepted"));
        assert!(!answer.body.contains(token), "the token is not echoed");
        // The form is shown again, with the way back kept.
        assert_eq!(answer.field("next"), "/runs");
        bodies.push(answer.body.replace(&answer.field("csrf"), ""));
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    assert_eq!(sessions(&a).await, 0);
}

#[tokio::test]
async fn a_sign_in_form_without_its_double_submit_token_is_refused() {
    let a = api().await;
    let mut b = Browser::new(console(&a));
    // No form cookie at all (a form posted from another site).
    let answer = b
        .post(
            "/sign-in",
            &[("csrf", "x"), ("next", "/"), ("token", &a.member)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A cookie, but a form token that is not its pair.
    b.get("/sign-in").await;
    let answer = b
        .post(
            "/sign-in",
            &[
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                ("next", "/"),
                ("token", &a.member),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("Form refused"), "{}", answer.body);
    assert_eq!(sessions(&a).await, 0);
}

#[tokio::test]
async fn after_signing_in_only_a_path_on_this_site_is_followed() {
    let a = api().await;
    for (next, expected) in [
        ("//evil.example/x", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2Fruns%3Fstatus%3Dqueued", "/runs?status=queued"),
    ] {
        let mut b = Browser::new(console(&a));
        let answer = b.sign_in(&a.member, next).await;
        assert_eq!(answer.location(), expected, "{next}");
    }
}

#[tokio::test]
async fn without_a_session_a_page_sends_the_operator_to_sign_in_and_back() {
    let a = api().await;
    let mut b = Browser::new(console(&a));
    let answer = b.get("/runs?status=queued").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/sign-in?next=%2Fruns%3Fstatus%3Dqueued");
    // An htmx request (a live refresh) is told to load the sign-in page instead of
    // swapping it into the list.
    let answer = b
        .send_with("GET", "/runs", None, &[("hx-request", "true")])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["hx-redirect"], "/sign-in?next=%2Fruns");
    // A made-up session id is no session.
    b.cookies.insert(
        "runproof_session".into(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    // Then signing in leads back.
    let answer = b.sign_in(&a.member, "%2Fruns%3Fstatus%3Dqueued").await;
    assert_eq!(answer.location(), "/runs?status=queued");
    assert_eq!(b.get(answer.location()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_ends_after_thirty_minutes_without_activity() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    advance(&a, 29);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    advance(&a, 29);
    assert_eq!(
        b.get("/").await.status,
        StatusCode::OK,
        "activity restarts it"
    );
    advance(&a, 30);
    let answer = b.get("/").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(answer.location().starts_with("/sign-in"));
    assert!(answer
        .set_cookie("runproof_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(sessions(&a).await, 0, "the ended session's row is deleted");
}

#[tokio::test]
async fn a_session_ends_after_twelve_hours_however_busy() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    for _ in 0..(12 * 60 / 20 - 1) {
        advance(&a, 20);
        assert_eq!(b.get("/").await.status, StatusCode::OK);
    }
    advance(&a, 20);
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(sessions(&a).await, 0);
}

#[tokio::test]
async fn live_refresh_does_not_keep_a_session_alive() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    for _ in 0..2 {
        advance(&a, 10);
        let poll = b
            .send_with("GET", "/runs", None, &[("hx-request", "true")])
            .await;
        assert_eq!(poll.status, StatusCode::OK);
    }
    advance(&a, 10);
    let poll = b
        .send_with("GET", "/runs", None, &[("hx-request", "true")])
        .await;
    assert_eq!(poll.status, StatusCode::UNAUTHORIZED);
    assert!(poll.headers.contains_key("hx-redirect"));
}

#[tokio::test]
async fn revoking_the_token_ends_its_sessions_at_the_next_request() {
    let a = api().await;
    let token = common::http::token(&a.app, a.member_id).await;
    let mut b = Browser::signed_in(console(&a), &token).await;
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    let token_id = Uuid::parse_str(&token[3..35]).unwrap();
    a.app
        .tokens
        .revoke(token_id, &common::operator())
        .await
        .unwrap();
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(sessions(&a).await, 0);
}

#[tokio::test]
async fn signing_out_ends_the_session_at_once() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let page = b.get("/").await;
    let csrf = page.field("csrf");
    let kept = b.cookies.clone();
    let answer = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/sign-in");
    assert!(answer
        .set_cookie("runproof_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(sessions(&a).await, 0);
    // The old cookie, replayed, is no session any more.
    b.cookies = kept;
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let mut other = Browser::signed_in(console(&a), &a.member).await;
    let foreign = other.get("/").await.field("csrf");
    for fields in [vec![], vec![("csrf", "")], vec![("csrf", foreign.as_str())]] {
        let answer = b.post("/sign-out", &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(answer.body.contains("Form refused"));
        assert!(answer.set_cookie("runproof_session").is_none());
    }
    assert_eq!(sessions(&a).await, 2, "nobody was signed out");
    assert_eq!(b.get("/").await.status, StatusCode::OK);
}

// --- what every response carries ---

#[tokio::test]
async fn every_console_answer_carries_the_security_headers() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let mut anonymous = Browser::new(console(&a));
    let answers = vec![
        ("/", b.get("/").await),
        ("/runs", b.get("/runs").await),
        ("/nothing-here", b.get("/nothing-here").await),
        ("/sign-in", anonymous.get("/sign-in").await),
        ("/runs (not signed in)", anonymous.get("/runs").await),
        (
            "/static/console.css",
            anonymous.get("/static/console.css").await,
        ),
        (
            "/static/htmx.min.js",
            anonymous.get("/static/htmx.min.js").await,
        ),
    ];
    for (what, page) in &answers {
        let h = &page.headers;
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "{what}"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
        assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{what}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{what}");
        if !what.starts_with("/static") {
            assert_eq!(h[header::CACHE_CONTROL], "no-store", "{what}");
        }
    }
    for (what, page) in &answers[..4] {
        assert!(
            page.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}"
        );
        // No inline script or style: everything comes from our own files.
        assert!(!page.body.contains("<script>"), "{what}");
        assert!(!page.body.contains("style="), "{what}");
        assert!(!page.body.contains("<style"), "{what}");
        assert!(!has_inline_handler(&page.body), "{what}: an inline handler");
    }
    assert_eq!(
        answers[5].1.headers[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
}

/// Whether an element has an `on…=` attribute.
fn has_inline_handler(body: &str) -> bool {
    body.match_indices(" on").any(|(i, _)| {
        let rest = &body[i + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    })
}

#[tokio::test]
async fn an_unknown_path_is_the_consoles_not_found_page_and_the_api_keeps_its_problems() {
    let a = api().await;
    let mut b = Browser::new(console(&a)).with_header("accept-language", "de");
    let page = b.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<html lang=\"de\">"), "{}", page.body);
    assert!(page.body.contains("Nicht gefunden"), "{}", page.body);
    assert!(!page.body.contains("route_not_found"));
    let problem = b.get("/api/v1/no-such-thing").await;
    assert_eq!(problem.status, StatusCode::NOT_FOUND);
    assert_eq!(
        problem.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(problem.body.contains("http.route_not_found"));
}

// --- language ---

#[tokio::test]
async fn the_language_is_the_querys_then_the_cookies_then_accept_languages() {
    let a = api().await;
    let router = console(&a);
    let mut b = Browser::signed_in(router.clone(), &a.member).await;
    let english = b.get("/").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains(">Workspaces<"));

    let german = b.get("/runs?status=queued&lang=de").await;
    assert!(
        german.body.contains("<html lang=\"de\">"),
        "{}",
        german.body
    );
    assert!(german.body.contains(">Läufe<"));
    assert!(german.body.contains("Abmelden"));
    let cookie = german.set_cookie("runproof_lang").unwrap();
    assert!(cookie.starts_with("runproof_lang=de; Path=/; HttpOnly; SameSite=Lax; Max-Age="));
    // The switch keeps the view: the other language's link is this address.
    assert!(german
        .body
        .contains("href=\"/runs?status=queued&#38;lang=en\""));

    // Remembered: no parameter, the cookie's language, whatever the browser says.
    let remembered = b
        .send_with("GET", "/", None, &[("accept-language", "en")])
        .await;
    assert!(remembered.body.contains(">Arbeitsbereiche<"));
    assert!(remembered.set_cookie("runproof_lang").is_none());

    // Without either: Accept-Language.
    let mut fresh = Browser::signed_in(router, &a.member).await;
    let page = fresh
        .send_with("GET", "/", None, &[("accept-language", "de-DE,de;q=0.9")])
        .await;
    assert!(page.body.contains(">Arbeitsbereiche<"));
}

// --- scope ---

#[tokio::test]
async fn a_workspace_outside_the_callers_scope_is_the_same_page_as_a_missing_one() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let foreign = b.get(&format!("/runs?workspace={}", a.theirs)).await;
    let missing = b.get(&format!("/runs?workspace={}", Uuid::new_v4())).await;
    let malformed = b.get("/runs?workspace=not-an-id").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.body, missing.body);
    assert_eq!(foreign.body, malformed.body);
    assert!(foreign
        .body
        .contains("Workspace with this id was not found."));
    assert!(!foreign.body.contains("Fabrikam"));
    let foreign = b
        .get(&format!("/runs?environment={}", Uuid::new_v4()))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    // The operator sees it.
    let mut ops = Browser::signed_in(console(&a), &a.operator).await;
    let page = ops.get(&format!("/runs?workspace={}", a.theirs)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.run_links(), vec![a.their_run.to_string()]);
}

// --- workspaces ---

#[tokio::test]
async fn the_workspaces_page_shows_the_callers_workspaces_with_their_run_counts() {
    let a = api().await;
    let ctx = common::operator();
    // Ours: the world's queued run, a failed run (needs attention), a running one.
    let failed = ensure(&a, a.ours, None, "report.export", serde_json::json!({})).await;
    a.app.lifecycle.start(failed, &ctx).await.unwrap();
    a.app
        .lifecycle
        .complete(
            failed,
            runproof_domain::operation_run::TerminalOutcome::Failed,
            Default::default(),
            vec![],
            &ctx,
        )
        .await
        .unwrap();
    let running = ensure(&a, a.ours, None, "inventory.sync", serde_json::json!({})).await;
    a.app.lifecycle.start(running, &ctx).await.unwrap();
    advance(&a, 1);

    let mut member = Browser::signed_in(console(&a), &a.member).await;
    let page = member.get("/").await;
    assert!(page.body.contains("Contoso"));
    assert!(!page.body.contains("Fabrikam"));
    assert!(!page.body.contains("System view"));
    let row = row_of(&page.body, "Contoso");
    assert!(row.contains("Runs of Contoso: 2\">2<"), "{row}");
    assert!(
        row.contains("Runs of Contoso that need attention: 1\">1<"),
        "{row}"
    );
    assert!(row.contains(&format!("/runs?workspace={}&#38;attention=1", a.ours)));

    let mut ops = Browser::signed_in(console(&a), &a.operator).await;
    let page = ops.get("/").await;
    assert!(page.body.contains("System view"));
    assert!(page.body.contains("Contoso") && page.body.contains("Fabrikam"));
    assert!(row_of(&page.body, "Fabrikam").contains("View only"));

    // Past the queued run's stale threshold (report.export: 10 min) it needs attention
    // too — as the API counts it.
    advance(&a, 15);
    let page = member.get("/").await;
    let row = row_of(&page.body, "Contoso");
    assert!(
        row.contains("Runs of Contoso that need attention: 2\">2<"),
        "{row}"
    );
}

/// The runs list's row of run `id` (up to its link).
fn run_row(body: &str, id: Uuid) -> String {
    let at = body
        .find(&format!("/runs/{id}"))
        .expect("the run is listed");
    let start = body[..at].rfind("<tr").unwrap();
    body[start..at].to_string()
}

/// The table row that names `name`.
fn row_of<'a>(body: &'a str, name: &str) -> &'a str {
    let at = body.find(&format!(">{name}</a>")).expect(name);
    let start = body[..at].rfind("<tr").unwrap();
    let end = at + body[at..].find("</tr>").unwrap();
    &body[start..end]
}

async fn ensure(
    a: &Api,
    workspace: Uuid,
    environment: Option<Uuid>,
    run_type: &str,
    context: serde_json::Value,
) -> Uuid {
    a.app
        .lifecycle
        .ensure(
            EnsureRun {
                workspace_id: workspace,
                environment_id: environment,
                run_type: run_type.into(),
                identity_inputs: serde_json::json!({ "n": Uuid::new_v4() }),
                context,
            },
            &common::operator(),
        )
        .await
        .unwrap()
        .run_id()
}

// --- escaping ---

#[tokio::test]
async fn what_people_typed_is_escaped_on_every_page() {
    let a = api().await;
    let ctx = common::operator();
    let evil = "<script>alert(1)</script>";
    let ws = a
        .app
        .directory
        .create_workspace(Uuid::new_v4(), evil, &ctx)
        .await
        .unwrap();
    a.app
        .directory
        .add_member(ws, a.member_id, &ctx)
        .await
        .unwrap();
    let env = a
        .app
        .directory
        .create_environment(ws, Uuid::new_v4(), "<img src=x onerror=alert(2)>", &ctx)
        .await
        .unwrap();
    ensure(
        &a,
        ws,
        Some(env),
        "report.export",
        serde_json::json!({ "note": evil, "<b>": "\"'&" }),
    )
    .await;
    let named = a
        .app
        .directory
        .create_actor(Uuid::new_v4(), "Mallory <script>x</script>", &ctx)
        .await
        .unwrap();
    a.app.directory.add_member(ws, named, &ctx).await.unwrap();
    let token = common::http::token(&a.app, named).await;

    let mut b = Browser::signed_in(console(&a), &token).await;
    for path in [
        "/",
        "/runs",
        &format!("/runs?workspace={ws}&environment={env}"),
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("<script>"), "{path}: {}", page.body);
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body.contains("Mallory &#60;script&#62;")
                || page.body.contains("Mallory &lt;script&gt;"),
            "{path}"
        );
    }
}

// --- runs ---

/// Runs across both workspaces, one a minute (so their order is known): returns them
/// newest first.
async fn many_runs(a: &Api, n: usize, same_instant: usize) -> Vec<Uuid> {
    let mut ids = vec![a.our_run];
    for i in 0..n {
        // The last `same_instant` runs share one time: the id breaks the tie.
        if i + same_instant <= n {
            advance(a, 1);
        }
        ids.push(ensure(a, a.ours, None, "report.export", serde_json::json!({})).await);
    }
    let mut conn = a.app.pool.acquire().await.unwrap();
    let rows = runproof_projections::operation_runs::list(
        &mut conn,
        &runproof_projections::operation_runs::RunFilter {
            workspace_id: Some(a.ours),
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), ids.len());
    rows.iter().map(|r| r.state.id).collect()
}

#[tokio::test]
async fn keyset_pages_go_older_and_newer_without_gaps_or_repeats() {
    let a = api().await;
    let all = many_runs(&a, 9, 4).await;
    let all: Vec<String> = all.iter().map(Uuid::to_string).collect();
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let mut pages = Vec::new();
    let mut page = b.get("/runs?limit=3").await;
    assert!(
        page.rel("prev").is_none(),
        "the first page has nothing newer"
    );
    loop {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages.push(page.run_links());
        match page.rel("next") {
            Some(older) => page = b.get(&older).await,
            None => break,
        }
    }
    assert_eq!(pages.concat(), all, "older pages: every run once, in order");
    assert_eq!(pages.len(), 4);
    assert_eq!(pages.last().unwrap().len(), 1);
    // And back: newer pages are the same pages.
    let mut back = vec![page.run_links()];
    while let Some(newer) = page.rel("prev") {
        page = b.get(&newer).await;
        back.push(page.run_links());
    }
    back.reverse();
    assert_eq!(back, pages, "newer pages retrace the older ones exactly");
    assert!(page.rel("prev").is_none());
    assert!(
        page.body.contains("Newest runs"),
        "a cursor page links to the top"
    );
    // Every page keeps the filters and the page size in its links.
    let filtered = b
        .get(&format!("/runs?limit=3&workspace={}&status=queued", a.ours))
        .await;
    let older = filtered.rel("next").unwrap();
    assert!(
        older.contains("limit=3") && older.contains("status=queued"),
        "{older}"
    );
    assert!(older.contains(&format!("workspace={}", a.ours)));
}

#[tokio::test]
async fn the_runs_filters_narrow_the_list_and_every_row_reads_decision_first() {
    let a = api().await;
    let ctx = common::operator();
    let env = a
        .app
        .directory
        .create_environment(a.ours, Uuid::new_v4(), "Production", &ctx)
        .await
        .unwrap();
    advance(&a, 60);
    let failed = ensure(&a, a.ours, None, "report.export", serde_json::json!({})).await;
    a.app.lifecycle.start(failed, &ctx).await.unwrap();
    a.app
        .lifecycle
        .complete(
            failed,
            runproof_domain::operation_run::TerminalOutcome::Failed,
            Default::default(),
            vec![],
            &ctx,
        )
        .await
        .unwrap();
    advance(&a, 60);
    let in_env = ensure(
        &a,
        a.ours,
        Some(env),
        "inventory.sync",
        serde_json::json!({}),
    )
    .await;
    a.app.lifecycle.start(in_env, &ctx).await.unwrap();
    advance(&a, 1);
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let ids = |p: &Page| p.run_links();
    let our = a.our_run.to_string();
    let (in_env_s, failed_s) = (in_env.to_string(), failed.to_string());

    let all = b.get("/runs").await;
    assert_eq!(
        ids(&all),
        vec![in_env_s.clone(), failed_s.clone(), our.clone()]
    );
    assert!(!all.body.contains(&a.their_run.to_string()), "scope");
    for (query, expected) in [
        (format!("environment={env}"), vec![in_env_s.clone()]),
        ("type=inventory.sync".into(), vec![in_env_s.clone()]),
        ("status=queued".into(), vec![our.clone()]),
        ("status=running".into(), vec![in_env_s.clone()]),
        ("outcome=failed".into(), vec![failed_s.clone()]),
        (
            "outcome=pending".into(),
            vec![in_env_s.clone(), our.clone()],
        ),
        // The queued run is past its stale threshold two hours on; the running one,
        // a minute old, is not.
        ("attention=1".into(), vec![failed_s.clone(), our.clone()]),
        (
            "from=2026-01-01T00:30".into(),
            vec![in_env_s.clone(), failed_s.clone()],
        ),
        (
            "to=2026-01-01T01:30".into(),
            vec![failed_s.clone(), our.clone()],
        ),
        (
            "from=2026-01-01T00:30&to=2026-01-01T01:30".into(),
            vec![failed_s.clone()],
        ),
        ("from=2026-01-02".into(), vec![]),
        (
            format!("workspace={}&type=&status=&outcome=&from=&to=", a.ours),
            vec![in_env_s.clone(), failed_s.clone(), our.clone()],
        ),
    ] {
        let page = b.get(&format!("/runs?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(ids(&page), expected, "{query}");
    }

    // Decision first: status, outcome, why, type label, names, relative and exact time.
    let row = run_row(&all.body, failed);
    let order = [
        "status-completed\">completed",
        "outcome-failed\">failed",
        "Needs attention",
        "Reported failed by its own job",
        "Export report",
        "Contoso",
        "no environment",
        "title=\"2026-01-01 01:00:00 UTC\"",
        "1 h ago",
    ];
    let mut last = 0;
    for part in order {
        let at = row[last..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} after the parts before it in {row}"));
        last += at;
    }
    let env_row = run_row(&all.body, in_env);
    assert!(env_row.contains("Production"), "{env_row}");
    assert!(env_row.contains("Synchronise inventory"), "{env_row}");
    assert!(!env_row.contains("Needs attention"), "{env_row}");

    // The filters are shown as set, so the form re-submits the view.
    let page = b
        .get(&format!(
            "/runs?environment={env}&status=running&attention=1&from=2026-01-01"
        ))
        .await;
    assert!(page.body.contains(&format!(
        "<option value=\"{env}\" selected>Production</option>"
    )));
    assert!(page.body.contains("<option value=\"running\" selected>"));
    assert!(page
        .body
        .contains("name=\"attention\" type=\"checkbox\" value=\"1\" checked"));
    assert!(page.body.contains("value=\"2026-01-01T00:00\""));

    // In German, the labels and the why.
    let german = b.get("/runs?lang=de").await;
    assert!(
        german.body.contains("Fehlgeschlagen") || german.body.contains("fehlgeschlagen"),
        "{}",
        german.body
    );
    assert!(
        german.body.contains("Vom eigenen Job als"),
        "{}",
        german.body
    );
    assert!(german.body.contains("keine Umgebung"));
}

#[tokio::test]
async fn the_runs_page_refuses_what_it_cannot_show_with_a_page_not_a_guess() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    for (query, says) in [
        ("statuss=queued", "does not know"),
        ("status=done", "Unknown status done"),
        ("type=nope", "nope"),
        ("from=yesterday", "yesterday is not a time"),
        ("limit=0", "between 1 and 200"),
        ("limit=201", "between 1 and 200"),
        ("after=garbage", "page link is not valid"),
    ] {
        let page = b.get(&format!("/runs?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.body.contains(says), "{query}: {}", page.body);
    }
}

#[tokio::test]
async fn live_refresh_rereads_the_same_view_and_can_be_paused() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let path = format!("/runs?workspace={}&status=queued&limit=5", a.ours);
    let page = b.get(&path).await;
    let region_start = page.body.find("<div id=\"runs-region\"").unwrap();
    let region_tag =
        &page.body[region_start..region_start + page.body[region_start..].find('>').unwrap()];
    assert!(
        region_tag.contains("hx-trigger=\"every 5s\""),
        "{region_tag}"
    );
    assert!(region_tag.contains("hx-swap=\"outerHTML\""));
    assert_eq!(
        unescape(&region_tag[region_tag.find("hx-get=\"").unwrap() + 8..])
            .split('"')
            .next()
            .unwrap(),
        path,
        "the refresh reads this very view"
    );
    // The refresh answers only the list.
    let fragment = b
        .send_with("GET", &path, None, &[("hx-request", "true")])
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(fragment
        .body
        .trim_start()
        .starts_with("<div id=\"runs-region\""));
    assert!(!fragment.body.contains("<html"));
    assert!(!fragment.body.contains("<form"));
    assert_eq!(fragment.run_links(), page.run_links());
    assert_eq!(fragment.headers[header::VARY], "HX-Request");

    // Paused: a plain link, no trigger, and the form keeps it paused.
    let pause = page.body.find("Pause live refresh").unwrap();
    let href_at = page.body[..pause].rfind("href=\"").unwrap() + 6;
    let pause_link =
        unescape(&page.body[href_at..page.body[href_at..].find('"').unwrap() + href_at]);
    assert!(pause_link.ends_with("&live=0"), "{pause_link}");
    let paused = b.get(&pause_link).await;
    assert!(!paused.body.contains("hx-trigger"));
    assert!(paused.body.contains("Resume live refresh"));
    assert!(paused
        .body
        .contains("<input type=\"hidden\" name=\"live\" value=\"0\">"));
    assert_eq!(paused.run_links(), page.run_links());
}

// --- sessions are operational state ---

#[tokio::test]
async fn losing_the_sessions_table_signs_everyone_out_and_nothing_more() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    sqlx::query("TRUNCATE console_sessions")
        .execute(&a.app.pool)
        .await
        .unwrap();
    assert_eq!(b.get("/runs").await.status, StatusCode::SEE_OTHER);
    let again = b.sign_in(&a.member, "/runs").await;
    assert_eq!(again.location(), "/runs");
    assert_eq!(
        b.get("/runs").await.run_links(),
        vec![a.our_run.to_string()]
    );
}

#[tokio::test]
async fn a_failure_is_the_500_page_in_the_operators_language_with_nothing_internal() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    sqlx::query("ALTER TABLE console_sessions RENAME TO console_sessions_gone")
        .execute(&a.app.pool)
        .await
        .unwrap();
    let page = b
        .send_with("GET", "/runs", None, &[("accept-language", "de")])
        .await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        page.body.contains("Etwas ist schiefgelaufen"),
        "{}",
        page.body
    );
    for internal in [
        "console_sessions",
        "relation",
        "SQL",
        "sqlx",
        "exist",
        "error returned",
    ] {
        assert!(!page.body.contains(internal), "{internal}: {}", page.body);
    }
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn ended_sessions_are_deleted_at_the_next_sign_in() {
    let a = api().await;
    let _idle = Browser::signed_in(console(&a), &a.member).await;
    let _other = Browser::signed_in(console(&a), &a.operator).await;
    assert_eq!(sessions(&a).await, 2);
    advance(&a, 31);
    let _fresh = Browser::signed_in(console(&a), &a.member).await;
    assert_eq!(sessions(&a).await, 1, "only the new session is left");
}

/// Every page, in each language, shows none of the console's phrases in the other one.
#[tokio::test]
async fn every_page_speaks_one_language_throughout() {
    use runproof::console::text::ConsoleText;
    use runproof_domain::Lang;
    let a = api().await;
    let ctx = common::operator();
    let env = a
        .app
        .directory
        .create_environment(a.ours, Uuid::new_v4(), "Production", &ctx)
        .await
        .unwrap();
    let run = ensure(
        &a,
        a.ours,
        Some(env),
        "inventory.sync",
        serde_json::json!({}),
    )
    .await;
    advance(&a, 90);
    let mut b = Browser::signed_in(console(&a), &a.operator).await;
    let mut anonymous = Browser::new(console(&a));
    for (lang, other) in [(Lang::De, Lang::En), (Lang::En, Lang::De)] {
        let q = format!("lang={lang}");
        let pages = [
            b.get(&format!("/?{q}")).await,
            b.get(&format!("/runs?{q}")).await,
            b.get(&format!("/runs?{q}&limit=1")).await,
            b.get(&format!("/runs?{q}&live=0&attention=1")).await,
            b.get(&format!("/runs?{q}&from=2099-01-01")).await,
            b.get(&format!("/runs?{q}&status=nope")).await,
            b.get(&format!("/nowhere?{q}")).await,
            b.get(&format!("/runs/{run}?{q}")).await,
            b.get(&format!("/workspaces/{}?{q}", a.ours)).await,
            b.get(&format!("/environments/{env}?{q}")).await,
            anonymous.get(&format!("/sign-in?{q}")).await,
        ];
        for page in &pages {
            assert!(page.body.contains(&format!("<html lang=\"{lang}\">")));
            for text in ConsoleText::ALL {
                let foreign = text.template(other);
                if foreign.contains('{') || foreign == text.template(lang) {
                    continue;
                }
                for shape in [format!(">{foreign}<"), format!("\"{foreign}\"")] {
                    assert!(
                        !page.body.contains(&shape),
                        "{lang} page shows {text} in {other}: {}",
                        page.body
                    );
                }
            }
        }
    }
}
