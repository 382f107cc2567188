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
