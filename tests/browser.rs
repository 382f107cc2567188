//! Tests in a real browser: Debian's Chromium, headless, through ChromeDriver (see
//! tests/common/browser.rs and docs/console.md, "Browser tests").
//!
//! Each journey opens its own Chromium (`Browser::open`) against a real server on a free
//! port (`common::http::api().await.serve()`), so journeys run in parallel and never share
//! a sign-in. The first tests prove the harness itself; the console's journeys go beside
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::AssertUnwindSafe;
use std::path::Path;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use common::browser::{installed, Browser, CHROMEDRIVER, CHROMIUM, LAPTOP, PHONE};
use common::http::{api, serve};
use futures::FutureExt;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------

/// A page axe-core has nothing serious to say about, with a form and a link.
const TIDY: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tidy</title></head>
<body>
<main>
<h1>Tidy</h1>
<form action="/echo" method="get">
  <label for="q">Query</label>
  <input id="q" name="q">
  <button type="submit">Search</button>
</form>
<p><a href="/careless">A careless page</a></p>
</main>
</body>
</html>"#;

/// A page with one critical and serious violation after another.
const CARELESS: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>Careless</title></head>
<body>
<img src="/nothing.png">
<button></button>
<p style="color:#eeeeee;background:#ffffff">Almost invisible</p>
</body>
</html>"#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The harness's own pages: not the product, just enough HTML to drive every helper.
fn pages() -> Router {
    Router::new()
        .route("/tidy", get(|| async { Html(TIDY) }))
        .route("/careless", get(|| async { Html(CARELESS) }))
        .route(
            "/echo",
            get(
                |Query(query): Query<std::collections::HashMap<String, String>>,
                 headers: HeaderMap| async move {
                    let q = query.get("q").cloned().unwrap_or_default();
                    let language = headers
                        .get("accept-language")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    Html(format!(
                        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Echo</title></head><body><main><h1>Echo</h1>
<p>You asked for <output id="echo">{}</output>.</p>
<p id="language">{}</p>
<p><a href="/tidy">Back to the form</a></p></main></body></html>"#,
                        escape(&q),
                        escape(&language)
                    ))
                },
            ),
        )
}

fn is_png(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[test]
fn a_missing_browser_fails_with_a_message_that_names_ci_run() {
    let missing = installed(Path::new("/nonexistent/chromium")).unwrap_err();
    assert!(missing.contains("/nonexistent/chromium"), "{missing}");
    assert!(missing.contains(".ci/run"), "{missing}");
    assert!(
        missing.contains("apt-get install -y chromium chromium-driver"),
        "{missing}"
    );
    // And on this machine both are there (`.ci/run` put them there).
    installed(Path::new(CHROMIUM)).unwrap();
    installed(Path::new(CHROMEDRIVER)).unwrap();
}

#[tokio::test]
async fn chromium_reads_the_real_servers_health_and_openapi_document() {
    let world = api().await;
    let server = world.serve().await;
    let browser = Browser::open(&server.url).await;

    browser.goto("/healthz").await;
    assert_eq!(browser.path().await, "/healthz");
    let health: serde_json::Value = serde_json::from_str(&browser.page_text().await).unwrap();
    assert_eq!(health, json!({ "status": "alive" }));

    browser.goto("/api/openapi.json").await;
    let text = browser.page_text().await;
    assert!(text.contains("\"openapi\""), "{text}");
    assert!(text.contains("/api/v1/runs"), "{text}");
    let shot = browser.screenshot("harness-openapi").await;
    assert!(is_png(&shot), "{} is not a PNG", shot.display());
}

#[tokio::test]
async fn a_journey_fills_a_form_follows_links_uses_the_keyboard_and_fits_a_phone() {
    let server = serve(pages()).await;
    let browser = Browser::open(&server.url).await;

    browser.goto("/tidy").await;
    browser.axe("tidy").await;
    browser.fill("#q", "runs & <reviews>").await;
    browser.submit("form").await;
    assert_eq!(
        browser.path().await,
        "/echo?q=runs+%26+%3Creviews%3E",
        "a GET form puts the whole view in the URL"
    );
    assert_eq!(browser.text("#echo").await, "runs & <reviews>");
    browser.axe("echo").await;

    browser.click_link("Back to the form").await;
    assert_eq!(browser.path().await, "/tidy");

    // The keyboard reaches every control, in order, and Enter submits.
    assert_eq!(browser.tab().await, "input#q");
    assert_eq!(browser.tab().await, "button \"Search\"");
    assert_eq!(browser.tab().await, "a \"A careless page\"");
    browser.click("#q").await;
    browser.fill("#q", "by keyboard").await;
    browser.mark_page().await;
    browser.press(fantoccini::key::Key::Enter).await;
    browser.next_page().await;
    assert_eq!(browser.text("#echo").await, "by keyboard");

    browser.phone().await;
    let width = browser.run("return window.innerWidth", vec![]).await;
    assert_eq!(width, json!(PHONE.0));
    let shot = browser.screenshot("harness-phone").await;
    assert!(is_png(&shot));
    browser.laptop().await;
    let width = browser.run("return window.innerWidth", vec![]).await;
    assert_eq!(width, json!(LAPTOP.0));
}

#[tokio::test]
async fn axe_fails_a_page_on_serious_or_critical_violations_and_names_each_one() {
    let server = serve(pages()).await;
    let browser = Browser::open(&server.url).await;
    browser.goto("/careless").await;

    let violations = browser.axe_violations().await;
    let impact = |id: &str| {
        violations
            .iter()
            .find(|v| v.id == id)
            .and_then(|v| v.impact.clone())
            .unwrap_or_else(|| panic!("axe did not report {id}: {violations:?}"))
    };
    assert_eq!(impact("image-alt"), "critical");
    assert_eq!(impact("button-name"), "critical");
    assert_eq!(impact("html-has-lang"), "serious");
    assert_eq!(impact("color-contrast"), "serious");

    let failed = AssertUnwindSafe(browser.axe("careless"))
        .catch_unwind()
        .await
        .expect_err("axe must fail a careless page");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    for expected in [
        "axe on careless",
        "image-alt (critical)",
        "Images must have alternative text",
        "[\"img\"]",
        "button-name (critical)",
        "color-contrast (serious)",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
}

#[tokio::test]
async fn a_browser_opened_in_german_asks_for_german() {
    let server = serve(pages()).await;
    let browser = Browser::open_in(&server.url, "de-DE,de").await;
    browser.goto("/echo").await;
    let language = browser.text("#language").await;
    assert!(language.starts_with("de-DE"), "{language}");
}

// ---------------------------------------------------------------------------------------
// The console's smoke journey
// ---------------------------------------------------------------------------------------

/// Tabs on (at most 80 times) until the focused element's description contains `needle`;
/// fails when the keyboard never reaches it.
async fn tab_to(browser: &Browser, needle: &str) -> String {
    let mut seen = Vec::new();
    for _ in 0..80 {
        let focused = browser.tab().await;
        if focused.contains(needle) {
            return focused;
        }
        seen.push(focused);
    }
    panic!("the keyboard never reached {needle:?}; it went through {seen:?}");
}

/// The text of the banner the compose button's answer shows.
async fn banner(browser: &Browser) -> String {
    browser.text("#compose-banner .banner").await
}

/// An operator's day, in a real browser against the real server on a seeded database:
/// sign in; the runs, decision first; only those that need attention; a reconciled run,
/// its decision before its evidence before its diagnostics; the same in German; on an
/// environment, "Create or refresh review" twice (queued, then already running), the
/// worker, once more (already available); publish it, confirmed; sign out, and the run's
/// page asks to sign in. A member of another workspace gets the not-found page for the
/// same run. axe-core on every page, the keyboard on the main controls, a screenshot at
/// each step and one at phone width.
#[tokio::test]
async fn an_operator_signs_in_follows_a_run_composes_and_publishes_a_review_and_signs_out() {
    use runproof::app::App;
    use runproof::clock::SystemClock;
    use std::sync::Arc;
    use uuid::Uuid;

    let world = api().await;
    let ctx = common::operator();
    let d = &world.app.directory;
    let env = d
        .create_environment(world.ours, Uuid::new_v4(), "Production", &ctx)
        .await
        .unwrap();
    d.capture_evidence(env, common::console::findings(12, "first"), &ctx)
        .await
        .unwrap();
    let run = common::console::reconciled_restore(&world, world.ours, env).await;
    // The platform operator is also a member of ours, so it may act there.
    let operator = world
        .app
        .tokens
        .authenticate(&world.operator, chrono::Utc::now())
        .await
        .unwrap()
        .actor_id;
    d.add_member(world.ours, operator, &ctx).await.unwrap();
    let server = world.serve().await;
    let browser = Browser::open(&server.url).await;

    // Sign in with the operator's token.
    browser.goto("/sign-in").await;
    browser.screenshot("journey-01-sign-in").await;
    browser.axe("sign-in").await;
    browser.fill("#token", &world.operator).await;
    browser.submit("form[action='/sign-in']").await;
    assert_eq!(browser.path().await, "/");
    browser.axe("workspaces").await;
    browser.screenshot("journey-02-workspaces").await;

    // The runs list: every row decision first.
    browser.click_link("Runs").await;
    assert!(browser.path().await.starts_with("/runs"));
    let headings = browser.texts("table.runs thead th").await;
    assert_eq!(&headings[..3], ["Status", "Outcome", "Why"], "{headings:?}");
    let rows = browser.texts("table.runs tbody tr").await;
    assert!(rows.len() >= 2, "{rows:?}");
    browser.screenshot("journey-03-runs").await;
    browser.axe("runs").await;
    browser.phone().await;
    browser.screenshot("journey-04-runs-phone").await;
    browser.axe("runs at phone width").await;
    browser.laptop().await;

    // Only the runs that need attention: the keyboard reaches the filter and its button.
    browser.click("#f-attention").await;
    tab_to(&browser, "Apply filters").await;
    browser.mark_page().await;
    browser.press(fantoccini::key::Key::Enter).await;
    browser.next_page().await;
    assert!(browser.path().await.contains("attention=1"));
    let all = browser.texts("table.runs tbody tr").await;
    let marked = browser.texts("table.runs tbody tr.needs-attention").await;
    assert!(!all.is_empty(), "the stale-ended run needs attention");
    assert_eq!(all, marked, "only runs that need attention");
    assert!(
        !browser.exists(&format!("a[href='/runs/{run}']")).await,
        "the proven restore does not need attention"
    );
    browser.screenshot("journey-05-runs-attention").await;
    browser.axe("runs (needs attention)").await;

    // The reconciled run: its decision, then its evidence, then its diagnostics.
    browser.goto("/runs").await;
    browser.follow(&format!("a[href='/runs/{run}']")).await;
    assert_eq!(browser.path().await, format!("/runs/{run}"));
    let order: Vec<String> = browser.texts("main h2").await;
    assert_eq!(
        &order[..3],
        ["Decision", "Evidence", "Diagnostics"],
        "{order:?}"
    );
    let decision = browser.text("section.decision").await;
    assert!(decision.contains("adapter restore@1.0.0"), "{decision}");
    assert!(decision.contains("succeeded"), "{decision}");
    let evidence = browser.text("section.evidence").await;
    assert!(evidence.contains("Deciding record"), "{evidence}");
    assert!(
        !browser.exists("details.raw[open]").await,
        "the raw context is folded"
    );
    browser.screenshot("journey-06-run").await;
    browser.axe("run").await;
    browser.phone().await;
    browser.screenshot("journey-06-run-phone").await;
    browser.axe("run at phone width").await;
    browser.laptop().await;
    // Each event of its history has an anchor to link to.
    browser.click("a[href='#event-3']").await;
    let at = browser.run("return location.hash", vec![]).await;
    assert_eq!(at, json!("#event-3"));
    assert!(browser.text("#event-3").await.contains("RunReconciled"));
    browser.screenshot("journey-06-run-history").await;

    // As of its start: the run then, decision first, and what the start changed; the
    // banner names the point and leads back to now.
    browser.follow("#event-2 a.as-of-link").await;
    assert!(browser
        .path()
        .await
        .starts_with(&format!("/runs/{run}?at=")));
    let order: Vec<String> = browser.texts("main h2").await;
    assert_eq!(
        &order[..4],
        [
            "Decision",
            "What event #2 changed",
            "Evidence",
            "Diagnostics"
        ],
        "{order:?}"
    );
    assert!(browser
        .text(".banner-as-of")
        .await
        .starts_with("As of log position"));
    let changes = browser.text("section.changes").await;
    assert!(
        changes.contains("queued") && changes.contains("running"),
        "{changes}"
    );
    assert!(!browser.exists("#event-3").await, "nothing after the point");
    browser.screenshot("journey-06b-run-as-of").await;
    browser.axe("run as of an event").await;
    browser.phone().await;
    browser.axe("run as of an event at phone width").await;
    browser.laptop().await;
    browser.follow(".banner-as-of a").await;
    assert!(browser.exists("#event-3").await, "back to now");

    // German: labels and the reason text.
    browser.follow("nav.lang a[hreflang='de']").await;
    let order: Vec<String> = browser.texts("main h2").await;
    assert_eq!(
        &order[..3],
        ["Entscheidung", "Belege", "Diagnose"],
        "{order:?}"
    );
    let decision = browser.text("section.decision").await;
    assert!(decision.contains("Adapter restore@1.0.0"), "{decision}");
    assert!(decision.contains("Entschieden von"), "{decision}");
    assert!(
        decision.contains("Wiederherstellung") || decision.contains("wiederhergestellt"),
        "the reason in German: {decision}"
    );
    browser.screenshot("journey-07-run-de").await;
    browser.axe("run (de)").await;
    browser.follow("nav.lang a[hreflang='en']").await;

    // The run's workspace lists its environments.
    browser
        .follow(&format!("nav.crumbs a[href='/workspaces/{}']", world.ours))
        .await;
    assert!(browser.text("main h1").await.starts_with("Contoso"));
    browser.axe("workspace").await;
    browser.screenshot("journey-07b-workspace").await;

    // The environment: compose twice — queued, then already running — with working links.
    browser
        .follow(&format!("a[href='/environments/{env}']"))
        .await;
    assert_eq!(browser.path().await, format!("/environments/{env}"));
    browser.axe("environment").await;
    let button = tab_to(&browser, "Create or refresh review").await;
    assert!(button.starts_with("button"), "{button}");
    browser.mark_page().await;
    browser.press(fantoccini::key::Key::Enter).await;
    browser.next_page().await;
    let queued = banner(&browser).await;
    assert!(queued.starts_with("Queued"), "{queued}");
    let operation = browser
        .attr("#compose-banner .banner a", "href")
        .await
        .unwrap();
    assert!(operation.starts_with("/runs/"), "{operation}");
    browser.screenshot("journey-08-environment-queued").await;
    browser.axe("environment (queued)").await;
    browser.submit("form.compose-form").await;
    let running = banner(&browser).await;
    assert!(running.starts_with("Already running"), "{running}");
    assert_eq!(
        browser
            .attr("#compose-banner .banner a", "href")
            .await
            .unwrap(),
        operation
    );
    browser.screenshot("journey-09-environment-running").await;
    browser.axe("environment (already running)").await;
    browser.click_link("Open operation").await;
    assert_eq!(browser.path().await, operation);
    assert!(browser.text("section.decision").await.contains("queued"));
    browser.axe("compose run").await;

    // The worker composes it; pressing again finds it available.
    let system = App::from_pool(world._db.pool.clone(), Arc::new(SystemClock));
    let done = system.worker().run_until_idle().await.unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    browser.goto(&format!("/environments/{env}")).await;
    browser.submit("form.compose-form").await;
    let available = banner(&browser).await;
    assert!(available.starts_with("Already available"), "{available}");
    browser.screenshot("journey-10-environment-available").await;
    browser.axe("environment (available)").await;
    browser.click_link("View review").await;
    assert!(browser.path().await.starts_with("/reviews/"));
    let review_path = browser.path().await;
    browser.axe("review").await;
    browser.screenshot("journey-11-review").await;

    // Publish it: the keyboard reaches the button; a confirmation first.
    tab_to(&browser, "Publish").await;
    browser.mark_page().await;
    browser.press(fantoccini::key::Key::Enter).await;
    browser.next_page().await;
    assert_eq!(browser.path().await, format!("{review_path}/publish"));
    assert_eq!(browser.text("main h1").await, "Publish this review?");
    browser.axe("publish confirmation").await;
    browser.screenshot("journey-12-publish-confirm").await;
    browser.submit("main form").await;
    assert_eq!(
        browser.path().await,
        format!("{review_path}?done=published")
    );
    assert_eq!(browser.text(".banner-done").await, "Published.");
    assert_eq!(browser.text(".review-status").await, "published");
    browser.screenshot("journey-13-review-published").await;
    browser.axe("review (published)").await;

    // Sign out: the run's page now asks to sign in.
    browser.submit("form.sign-out").await;
    browser.goto(&format!("/runs/{run}")).await;
    let path = browser.path().await;
    assert!(path.starts_with("/sign-in?next="), "{path}");
    assert!(browser.exists("#token").await);
    browser.screenshot("journey-14-signed-out").await;

    // A member of another workspace gets the not-found page for the same run.
    let outsider = Browser::open(&server.url).await;
    outsider.goto("/sign-in").await;
    outsider.fill("#token", &world.outsider).await;
    outsider.submit("form[action='/sign-in']").await;
    outsider.goto(&format!("/runs/{run}")).await;
    assert_eq!(outsider.text("main h1").await, "Not found");
    assert!(outsider
        .page_text()
        .await
        .contains("Run with this id was not found."));
    outsider.screenshot("journey-15-outsider-not-found").await;
    outsider.axe("not found").await;
}
