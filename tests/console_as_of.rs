//! The console's run page as of an earlier point (`/runs/{id}?at=POSITION`), through the
//! real router over PostgreSQL: every history event links to it; it shows the run's state
//! at that event, decision first, and what the event changed, with a banner naming the
//! point and a link back to now — in English and German; a point that cannot be shown is
//! a 400 page with its reason; and outside the operator's scope, or before the run
//! existed, it is the not-found page of an id that exists nowhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use chrono::Duration;
use common::console::{console, unescape, Browser, Page};
use common::http::{api, Api};
use runproof_domain::operation_run::TerminalOutcome;
use uuid::Uuid;

/// Our run queued (by `api()`), then started a minute later and completed another
/// minute later; the positions of its three events.
async fn story(a: &Api) -> Vec<i64> {
    a.clock.advance(Duration::minutes(1));
    a.app
        .lifecycle
        .start(a.our_run, &common::worker())
        .await
        .unwrap();
    a.clock.advance(Duration::minutes(1));
    a.app
        .lifecycle
        .complete(
            a.our_run,
            TerminalOutcome::Succeeded,
            [("items".to_string(), 4)].into_iter().collect(),
            vec![],
            &common::worker(),
        )
        .await
        .unwrap();
    common::wait_projected(&a._db, &a.app.projector).await;
    sqlx::query_scalar("SELECT position FROM events WHERE aggregate_id = $1 ORDER BY sequence")
        .bind(a.our_run.to_string())
        .fetch_all(&a.app.pool)
        .await
        .unwrap()
}

fn text(page: &Page) -> String {
    unescape(&page.body).replace("&#39;", "'")
}

/// Where `needle` is on the page (fails when it is not).
fn at(page: &Page, needle: &str) -> usize {
    text(page)
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{}", page.body))
}

#[tokio::test]
async fn every_history_event_links_to_the_run_as_of_that_event() {
    let a = api().await;
    let positions = story(&a).await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let now = b.get(&format!("/runs/{}", a.our_run)).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.body);
    for p in &positions {
        assert!(
            now.body
                .contains(&format!("href=\"/runs/{}?at={p}\"", a.our_run)),
            "{}",
            now.body
        );
    }
    assert!(text(&now).contains(">as of here</a>"));
}

#[tokio::test]
async fn the_run_as_of_an_event_reads_decision_then_what_the_event_changed_in_english_and_german() {
    let a = api().await;
    let positions = story(&a).await;
    let (queued, started, completed) = (positions[0], positions[1], positions[2]);
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let run = a.our_run;

    // As of the start: running, and the start is what changed.
    let page = b.get(&format!("/runs/{run}?at={started}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let banner = at(
        &page,
        &format!("As of log position {started} (recorded 2026-01-01 00:01:00 UTC)."),
    );
    let back = at(
        &page,
        &format!("<a href=\"/runs/{run}\">Back to the run now</a>"),
    );
    let decision = at(&page, "<h2 id=\"decision-heading\">Decision</h2>");
    let status = at(&page, "status-running");
    let changed = at(&page, "What event #2 changed");
    let evidence = at(&page, "<h2 id=\"evidence-heading\">Evidence</h2>");
    let history = at(&page, "<h2 id=\"history-heading\">History</h2>");
    assert!(banner < back && back < decision && decision < status);
    assert!(status < changed && changed < evidence && evidence < history);
    let t = text(&page);
    let changes = &t[changed..evidence];
    assert!(changes.contains("RunStarted"), "{changes}");
    assert!(
        changes.contains("<th scope=\"row\">Status</th>")
            && changes.contains(">queued</td>")
            && changes.contains(">running</td>"),
        "{changes}"
    );
    assert!(
        changes.contains("<th scope=\"row\">Started at</th>") && changes.contains(">not yet</td>")
    );
    assert!(!changes.contains("Outcome"), "only what changed: {changes}");
    // The history stops at the event shown, which is marked.
    assert!(t.contains("id=\"event-2\" class=\"as-of-current\" aria-current=\"step\""));
    assert!(!t.contains("id=\"event-3\""), "no later event");
    assert!(!t.contains("Completed at"));
    // Nothing about now: no "if the reconciler looked now".
    assert!(!t.contains("If the reconciler looked now"));

    // As of the completion: succeeded, with the job's note and counts.
    let page = b.get(&format!("/runs/{run}?at={completed}")).await;
    let t = text(&page);
    assert!(t.contains("outcome-succeeded") && t.contains("What event #3 changed"));
    assert!(t.contains("items = 4") && t.contains("Job's note"));

    // As of the queueing: every field it set, nothing before it.
    let page = b.get(&format!("/runs/{run}?at={queued}")).await;
    let t = text(&page);
    assert!(t.contains("status-queued") && t.contains("What event #1 changed"));
    assert!(t.contains("<th scope=\"row\">Queued at</th>"), "{t}");

    // In German.
    let page = b.get(&format!("/runs/{run}?at={started}&lang=de")).await;
    assert_eq!(page.status, StatusCode::OK);
    at(
        &page,
        &format!("Stand: Log-Position {started} (aufgezeichnet 2026-01-01 00:01:00 UTC)."),
    );
    at(&page, "Zurück zum aktuellen Stand");
    at(&page, "Was Ereignis #2 änderte");
    at(&page, "Vorher");
    at(&page, ">in Warteschlange</td>");
    at(&page, ">noch nicht</td>");

    // A time works as well as a position.
    let page = b
        .get(&format!("/runs/{run}?at=2026-01-01T00:01:30Z&lang=en"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    at(
        &page,
        &format!("As of 2026-01-01 00:01:30 UTC (log position {started})."),
    );
}

#[tokio::test]
async fn a_point_that_cannot_be_shown_is_a_page_with_its_reason() {
    let a = api().await;
    let positions = story(&a).await;
    let mut b = Browser::signed_in(console(&a), &a.member).await;
    let run = a.our_run;
    for (point, text_en) in [
        ("garbage".to_string(), "garbage is neither a log position"),
        ("-1".to_string(), "-1 is neither a log position"),
        (
            (positions[2] + 1_000).to_string(),
            "is beyond the end of the log",
        ),
        ("2999-01-01T00:00:00Z".to_string(), "is in the future"),
    ] {
        let page = b.get(&format!("/runs/{run}?at={point}&lang=en")).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{point}: {}",
            page.body
        );
        assert!(text(&page).contains(text_en), "{point}: {}", page.body);
        let de = b.get(&format!("/runs/{run}?at={point}&lang=de")).await;
        assert_eq!(de.status, StatusCode::BAD_REQUEST);
        assert!(!text(&de).contains(text_en), "{}", de.body);
    }
    // An unknown parameter is still refused.
    let page = b.get(&format!("/runs/{run}?when=1")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn outside_the_scope_or_before_the_run_existed_it_is_the_page_of_a_missing_id() {
    let a = api().await;
    let positions = story(&a).await;
    // A position before our run was queued: the workspace's creation.
    let before: i64 = sqlx::query_scalar("SELECT min(position) FROM events")
        .fetch_one(&a.app.pool)
        .await
        .unwrap();
    assert!(before < positions[0]);
    let mut member = Browser::signed_in(console(&a), &a.member).await;
    let mut outsider = Browser::signed_in(console(&a), &a.outsider).await;
    let at = positions[1];
    let missing = outsider
        .get(&format!("/runs/{}?at={at}", Uuid::new_v4()))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for page in [
        outsider.get(&format!("/runs/{}?at={at}", a.our_run)).await,
        outsider.get(&format!("/runs/not-an-id?at={at}")).await,
        member
            .get(&format!("/runs/{}?at={before}", a.our_run))
            .await,
        member
            .get(&format!("/runs/{}?at={at}", Uuid::new_v4()))
            .await,
    ] {
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
        assert_eq!(page.body, missing.body);
    }
    // Their member sees their run as of a point.
    let their = sqlx::query_scalar::<_, i64>(
        "SELECT position FROM events WHERE aggregate_id = $1 ORDER BY sequence LIMIT 1",
    )
    .bind(a.their_run.to_string())
    .fetch_one(&a.app.pool)
    .await
    .unwrap();
    let page = outsider
        .get(&format!("/runs/{}?at={their}", a.their_run))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}
