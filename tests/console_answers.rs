//! The console's answers at its edges, through the real router over PostgreSQL: a run of
//! a workspace the directory does not know (an operator opens it, anyone else gets the
//! not-found page of a missing run), a run the views do not show yet (a "not yet visible"
//! page for whoever may see it), and what the layers around the routes refuse — a wrong
//! method, a request over its time, a full server — as pages in the operator's language
//! on the console's paths, while the API's paths keep their problem+json.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, StatusCode};
use common::console::{
    console, hold_the_horizon, overloaded, run_of_unknown_workspace, timed_out, while_full,
    Browser, Page,
};
use common::http::{api, call, get_as};
use runproof::console::text::ConsoleText;
use runproof_domain::Lang;
use uuid::Uuid;

/// The page's text with the entities the templates write decoded.
fn text(page: &Page) -> String {
    common::console::unescape(&page.body)
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

fn says(page: &Page, phrase: ConsoleText, lang: Lang) -> bool {
    text(page).contains(&phrase.text(lang))
}

/// A console page, not a problem: HTML in `lang` with the console's security headers.
fn is_console_page(page: &Page, lang: Lang) {
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(
        page.body.contains(&format!("<html lang=\"{lang}\"")),
        "{}",
        page.body
    );
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(page.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    for internal in ["http.", "problem", "timeout", "Overloaded", "Elapsed"] {
        assert!(!page.body.contains(internal), "{internal}: {}", page.body);
    }
}

// --- one rule for runs ---

#[tokio::test]
async fn an_operator_opens_a_run_of_a_workspace_the_directory_does_not_know() {
    let a = api().await;
    let (workspace, run) = run_of_unknown_workspace(&a.app).await;
    // Other tests' open transactions on the server may hold the views back a moment.
    common::wait_projected(&a._db, &a.app.projector).await;
    let mut operator = Browser::signed_in(console(&a), &a.operator).await;
    // The runs list shows it (the system view) ...
    let list = operator.get("/runs").await;
    assert!(list.run_links().contains(&run.to_string()), "{}", list.body);
    // ... also filtered by that workspace, as the API's list filters by any id.
    let filtered = operator.get(&format!("/runs?workspace={workspace}")).await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    assert_eq!(filtered.run_links(), vec![run.to_string()]);
    // ... and its page opens: the workspace by the start of its id, linking no page.
    let page = operator.get(&format!("/runs/{run}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let short = &workspace.simple().to_string()[..8];
    assert!(
        page.body.contains(&format!(
            "<span class=\"mono\" title=\"{workspace}\">{short}</span>"
        )),
        "{}",
        page.body
    );
    assert!(!page
        .body
        .contains(&format!("href=\"/workspaces/{workspace}\"")));

    // Anyone else gets the not-found page of a run that exists nowhere, byte for byte.
    for token in [&a.member, &a.outsider] {
        let mut b = Browser::signed_in(console(&a), token).await;
        let foreign = b.get(&format!("/runs/{run}")).await;
        let nowhere = b.get(&format!("/runs/{}", Uuid::new_v4())).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert_eq!(foreign.body, nowhere.body);
        assert!(!b.get("/runs").await.run_links().contains(&run.to_string()));
        // A member filtering by it gets the page of a workspace that exists nowhere.
        let by_foreign = b.get(&format!("/runs?workspace={workspace}")).await;
        let by_nowhere = b.get(&format!("/runs?workspace={}", Uuid::new_v4())).await;
        assert_eq!(by_foreign.status, StatusCode::NOT_FOUND);
        assert_eq!(by_foreign.body, by_nowhere.body);
    }
}

#[tokio::test]
async fn a_run_the_views_do_not_show_yet_is_a_not_yet_visible_page_for_whoever_may_see_it() {
    let a = api().await;
    let mut member = Browser::signed_in(console(&a), &a.member).await;
    let mut outsider = Browser::signed_in(console(&a), &a.outsider).await;
    let mut operator = Browser::signed_in(console(&a), &a.operator).await;
    let holder = hold_the_horizon(&a._db).await;
    let direct = a.app.clone().without_read_your_writes();
    let ours = direct
        .lifecycle
        .ensure(
            runproof::lifecycle::EnsureRun {
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
    let (_, unknown) = run_of_unknown_workspace(&direct).await;

    for (is_operator, run) in [(false, ours), (true, ours), (true, unknown)] {
        let b = if is_operator {
            &mut operator
        } else {
            &mut member
        };
        for lang in [Lang::En, Lang::De] {
            let page = b.get(&format!("/runs/{run}?lang={lang}")).await;
            assert_eq!(
                page.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                page.body
            );
            assert_eq!(page.headers[header::RETRY_AFTER], "1");
            is_console_page(&page, lang);
            assert!(
                says(&page, ConsoleText::NotYetVisibleText, lang),
                "{}",
                page.body
            );
            assert!(
                page.body.contains(&format!(
                    "<a href=\"/runs/{run}\">{}</a>",
                    ConsoleText::Reload.text(lang)
                )),
                "{}",
                page.body
            );
        }
    }
    // A caller who may not see the run gets the page of a run that exists nowhere.
    let nowhere = outsider.get(&format!("/runs/{}", Uuid::new_v4())).await;
    for run in [ours, unknown] {
        let page = outsider.get(&format!("/runs/{run}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(page.body, nowhere.body);
    }

    holder.rollback().await.unwrap();
    common::wait_projected(&a._db, &a.app.projector).await;
    assert_eq!(
        member.get(&format!("/runs/{ours}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        operator.get(&format!("/runs/{unknown}")).await.status,
        StatusCode::OK
    );
}

// --- what the layers refuse ---

#[tokio::test]
async fn a_wrong_method_is_a_page_on_a_console_path_and_a_problem_on_the_api() {
    let a = api().await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let csrf = b.get("/").await.field("csrf");
    for (method, path, lang) in [
        ("POST", "/runs", Lang::En),
        ("GET", "/sign-out", Lang::De),
        ("DELETE", "/reviews/x/publish", Lang::En),
    ] {
        let path = format!("{path}?lang={lang}");
        let form = (method != "GET").then(|| format!("csrf={csrf}"));
        let page = b.send(method, &path, form).await;
        assert_eq!(
            page.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        is_console_page(&page, lang);
        assert!(
            page.headers.contains_key(header::ALLOW),
            "{:?}",
            page.headers
        );
        assert!(
            says(&page, ConsoleText::MethodNotAllowedHeading, lang),
            "{}",
            page.body
        );
        assert!(says(&page, ConsoleText::MethodNotAllowedText, lang));
        assert!(
            page.body.contains("<a href=\"/\">"),
            "a link back: {}",
            page.body
        );
    }
    // The API keeps its problem.
    for (method, path) in [("DELETE", "/api/v1/runs"), ("POST", "/healthz")] {
        let answer = b.send(method, path, None).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert!(
            answer.body.contains("\"code\":\"http.method_not_allowed\""),
            "{}",
            answer.body
        );
    }
}

#[tokio::test]
async fn a_request_over_its_time_is_a_busy_page_on_a_console_path_and_a_problem_on_the_api() {
    let a = api().await;
    let b = Browser::signed_in(console(&a), &a.member).await;
    for lang in [Lang::En, Lang::De] {
        let path = format!("/runs?lang={lang}");
        let page = timed_out(&a, &b, &path).await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            page.body
        );
        assert_eq!(page.headers[header::RETRY_AFTER], "1");
        is_console_page(&page, lang);
        assert!(says(&page, ConsoleText::BusyHeading, lang), "{}", page.body);
        assert!(
            says(&page, ConsoleText::TimedOutText, lang),
            "{}",
            page.body
        );
        assert!(
            page.body.contains(&format!(
                "<a href=\"{path}\">{}</a>",
                ConsoleText::TryAgain.text(lang)
            )),
            "{}",
            page.body
        );
    }
    // The API's path, over the same lock and time: its problem.
    let router = common::console::console_with(
        &a,
        runproof::http::Limits {
            request_timeout: std::time::Duration::from_millis(300),
            ..runproof::http::Limits::default()
        },
    );
    let mut holder = a._db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE operation_runs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let (status, headers, body) = call(&router, get_as("/api/v1/runs", &a.member)).await;
    holder.rollback().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "http.timeout");
    assert_eq!(headers[header::RETRY_AFTER], "1");
}

#[tokio::test]
async fn a_full_server_answers_a_console_path_with_a_busy_page_and_an_api_path_with_a_problem() {
    let a = api().await;
    for lang in [Lang::En, Lang::De] {
        let path = format!("/runs/{}?lang={lang}", a.our_run);
        let page = overloaded(&a, &path).await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            page.body
        );
        assert_eq!(page.headers[header::RETRY_AFTER], "1");
        is_console_page(&page, lang);
        assert!(says(&page, ConsoleText::BusyHeading, lang), "{}", page.body);
        assert!(
            says(&page, ConsoleText::OverloadedText, lang),
            "{}",
            page.body
        );
        assert!(
            page.body.contains(&format!("<a href=\"{path}\">")),
            "a link to try again: {}",
            page.body
        );
    }
    // A form sent to a full server is not offered to be sent again blindly.
    let page = while_full(&a, async |router: &axum::Router| {
        Browser::new(router.clone())
            .post("/sign-in", &[("token", "x")])
            .await
    })
    .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        says(&page, ConsoleText::OverloadedText, Lang::En),
        "{}",
        page.body
    );
    let again = format!(">{}</a>", ConsoleText::TryAgain.text(Lang::En));
    assert!(!page.body.contains(&again), "{}", page.body);
    // The API's path: its problem.
    let (status, headers, body) = while_full(&a, async |router: &axum::Router| {
        call(router, get_as("/api/v1/runs", &a.member)).await
    })
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "http.overloaded");
    assert_eq!(headers[header::RETRY_AFTER], "1");
}
