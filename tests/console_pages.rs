//! The console's pages of one run, one workspace, one environment and one review, through
//! the real router over PostgreSQL, as a browser without JavaScript uses them: decision
//! first in English and German, escaping, scope (not found byte for byte as a missing id),
//! the compose button's three answers with working links, publish and archive with their
//! confirmation and CSRF check — and a walk over every page in both languages (the error
//! pages included: not found, a wrong method, not yet visible, busy) that fails on an
//! untranslated phrase.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::console::{
    console, findings, hold_the_horizon, overloaded, reconciled_restore, timed_out, unescape,
    Browser, Page,
};
use common::http::{api, Api};
use runproof::cli::text::UiText;
use runproof::console::text::ConsoleText;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::review::ReviewStatus;
use runproof_domain::run_type::RunType;
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::{environment_reviews, operation_runs};
use uuid::Uuid;

/// The API world with an environment with evidence in each workspace, one without any in
/// ours, and a restore run of ours proven by the restore adapter.
struct World {
    a: Api,
    env: Uuid,
    bare_env: Uuid,
    their_env: Uuid,
    restore_run: Uuid,
}

async fn world() -> World {
    let a = api().await;
    let ctx = common::operator();
    let d = &a.app.directory;
    let env = d
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
    for e in [env, their_env] {
        d.capture_evidence(e, findings(7, "first"), &ctx)
            .await
            .unwrap();
    }
    let restore_run = reconciled_restore(&a, a.ours, env).await;
    World {
        a,
        env,
        bare_env,
        their_env,
        restore_run,
    }
}

impl World {
    async fn member(&self) -> Browser {
        Browser::signed_in(console(&self.a), &self.a.member).await
    }

    async fn events(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.a.app.pool)
            .await
            .unwrap()
    }

    async fn review_status(&self, id: Uuid) -> ReviewStatus {
        common::wait_projected(&self.a._db, &self.a.app.projector).await;
        let mut conn = self.a.app.pool.acquire().await.unwrap();
        environment_reviews::get(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
            .state
            .status
    }

    /// A ready review of `env`: compose, then one worker pass.
    async fn ready_review(&self, b: &mut Browser, env: Uuid) -> Uuid {
        let answer = compose(b, env).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        self.a.app.worker().run_until_idle().await.unwrap();
        let answer = compose(b, env).await;
        let location = answer.location().to_string();
        let review = location
            .split("review=")
            .nth(1)
            .unwrap_or_else(|| panic!("no review in {location}"));
        Uuid::parse_str(review).unwrap()
    }
}

/// The page's text as a person reads it: entities decoded.
fn text(page: &Page) -> String {
    unescape(&page.body)
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

/// Where `needle` first is on the page (fails when it is not there).
fn at(page: &Page, needle: &str) -> usize {
    text(page)
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{}", page.body))
}

/// Presses "Create or refresh review" on `env`'s page: its form's action with the page's
/// CSRF token.
async fn compose(b: &mut Browser, env: Uuid) -> Page {
    let page = b.get(&format!("/environments/{env}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.field("csrf");
    b.post(&format!("/environments/{env}/reviews"), &[("csrf", &csrf)])
        .await
}

// --- one run ---

#[tokio::test]
async fn a_reconciled_run_reads_decision_then_evidence_then_diagnostics_then_history() {
    let w = world().await;
    let mut b = w.member().await;
    let path = format!("/runs/{}", w.restore_run);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut conn = w.a.app.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, w.restore_run)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(
        (row.state.status, row.state.outcome),
        (RunStatus::Completed, RunOutcome::Succeeded)
    );

    // The decision: outcome, the why `runs show` prints, who decided, when.
    let why = runproof::explain::why(&row.state, Lang::En).text;
    let decided_at = runproof::explain::when(row.state.reconciliation.as_ref().unwrap().decided_at);
    let order = [
        at(&page, ">Decision</h2>"),
        at(&page, "succeeded"),
        at(&page, &why),
        at(&page, "adapter restore@1.0.0"),
        at(&page, "proven succeeded"),
        at(&page, &decided_at),
        at(&page, "restore.completed"),
        at(&page, ">Evidence</h2>"),
        at(&page, "Deciding record"),
        at(&page, ">Diagnostics</h2>"),
        at(&page, "Raw context"),
        at(&page, ">History</h2>"),
    ];
    assert!(
        order.windows(2).all(|p| p[0] < p[1]),
        "decision, evidence, diagnostics, raw context, history — in that order: {order:?}"
    );
    // The evidence is a table of facts, not JSON; the deciding record is the restore.
    let evidence = &text(&page)[order[7]..order[9]];
    assert!(
        evidence.contains("<table class=\"list facts\">"),
        "{evidence}"
    );
    assert!(evidence.contains("restore "), "{evidence}");
    assert!(evidence.contains("— completed"), "{evidence}");
    assert!(evidence.contains("Contoso"), "{evidence}");
    assert!(!evidence.contains("\"record\""), "no raw JSON: {evidence}");
    // The raw context is folded away.
    let raw = &text(&page)[order[10] - 200..order[11]];
    assert!(raw.contains("<details class=\"raw\">"), "{raw}");
    assert!(!raw.contains("<details class=\"raw\" open"), "{raw}");
    // The timeline: every event with its anchor and a link to it; the decision with its
    // evidence.
    // Queued, started, reconciled.
    assert_eq!(
        page.body.matches("<li id=\"event-").count(),
        3,
        "{}",
        page.body
    );
    for n in 1..=3 {
        assert!(
            page.body.contains(&format!("id=\"event-{n}\"")),
            "event {n}"
        );
        assert!(
            page.body.contains(&format!("href=\"#event-{n}\"")),
            "event {n}"
        );
    }
    let reconciled = &text(&page)[at(&page, "id=\"event-3\"")..];
    assert!(reconciled.contains("RunReconciled"), "{reconciled}");
    assert!(reconciled.contains("Deciding record"), "{reconciled}");
    assert!(reconciled.contains("system: reconciler"), "{reconciled}");
    // Links out: its workspace and environment.
    assert!(page
        .body
        .contains(&format!("href=\"/workspaces/{}\"", w.a.ours)));
    assert!(page
        .body
        .contains(&format!("href=\"/environments/{}\"", w.env)));

    // German: the labels and the reason text.
    let page = b.get(&format!("{path}?lang=de")).await;
    assert_eq!(page.status, StatusCode::OK);
    let why = runproof::explain::why(&row.state, Lang::De).text;
    let order = [
        at(&page, ">Entscheidung</h2>"),
        at(&page, &why),
        at(&page, "Adapter restore@1.0.0"),
        at(&page, ">Belege</h2>"),
        at(&page, "Entscheidender Datensatz"),
        at(&page, ">Diagnose</h2>"),
        at(&page, "Rohkontext"),
        at(&page, ">Verlauf</h2>"),
    ];
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{order:?}");
    assert!(text(&page).contains("Wiederherstellung"));
}

#[tokio::test]
async fn an_active_run_says_nobody_decided_yet_and_what_the_reconciler_would_do() {
    let w = world().await;
    let mut b = w.member().await;
    let page = b.get(&format!("/runs/{}", w.a.our_run)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The world's queued run was ended as stale by the pass that proved the restore.
    let mut conn = w.a.app.pool.acquire().await.unwrap();
    let row = operation_runs::get(&mut conn, w.a.our_run)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(row.state.outcome, RunOutcome::Failed);
    assert!(
        text(&page).contains("the stale-run reconciler"),
        "{}",
        page.body
    );
    assert!(text(&page).contains("ended as stale"));

    // A fresh run: nobody decided; the reconciler would not decide yet.
    let run =
        w.a.app
            .lifecycle
            .ensure(
                runproof::lifecycle::EnsureRun {
                    workspace_id: w.a.ours,
                    environment_id: Some(w.env),
                    run_type: "inventory.sync".into(),
                    identity_inputs: serde_json::json!({ "fresh": true }),
                    context: serde_json::json!({}),
                },
                &common::operator(),
            )
            .await
            .unwrap()
            .run_id();
    let page = b.get(&format!("/runs/{run}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let t = text(&page);
    let nobody = at(&page, "Nobody yet: the run is still active.");
    assert!(nobody < at(&page, ">Evidence</h2>"));
    assert!(t.contains("No reconciliation decided this run"), "{t}");
    assert!(t.contains("If the reconciler looked now"), "{t}");
    assert!(t.contains("Nothing to decide now"), "{t}");
}

// --- one environment: the compose button ---

#[tokio::test]
async fn the_compose_button_answers_queued_then_already_running_then_already_available_with_links()
{
    let w = world().await;
    let mut b = w.member().await;

    // Queued: a redirect to the environment's page with the answer, which shows it as a
    // banner with a link to the run.
    let answer = compose(&mut b, w.env).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().to_string();
    assert!(
        location.starts_with(&format!("/environments/{}?compose=queued&run=", w.env)),
        "{location}"
    );
    let run = location.rsplit('=').next().unwrap().to_string();
    let page = b.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let banner =
        &text(&page)[at(&page, "id=\"compose-banner\"")..at(&page, "id=\"compose-heading\"")];
    assert!(banner.contains("Queued"), "{banner}");
    assert!(
        banner.contains(&format!("<a href=\"/runs/{run}\">Open operation</a>")),
        "{banner}"
    );
    let opened = b.get(&format!("/runs/{run}")).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert!(text(&opened).contains(RunType::EnvironmentReviewCompose.label(Lang::En)));

    // Already running: the same run, nothing new.
    let before = w.events().await;
    let answer = compose(&mut b, w.env).await;
    assert_eq!(
        answer.location(),
        format!("/environments/{}?compose=running&run={run}", w.env)
    );
    assert_eq!(w.events().await, before, "a second press records nothing");
    let page = b.get(answer.location()).await;
    assert!(text(&page).contains("Already running"));
    assert!(page
        .body
        .contains(&format!("<a href=\"/runs/{run}\">Open operation</a>")));
    // In German.
    let page = b.get(&format!("{}&lang=de", answer.location())).await;
    assert!(text(&page).contains("Läuft bereits"), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("<a href=\"/runs/{run}\">Vorgang öffnen</a>")));
    b.get("/?lang=en").await;

    // The worker composes it; the next press finds it available.
    w.a.app.worker().run_until_idle().await.unwrap();
    let answer = compose(&mut b, w.env).await;
    let location = answer.location().to_string();
    assert!(
        location.starts_with(&format!(
            "/environments/{}?compose=available&review=",
            w.env
        )),
        "{location}"
    );
    let review = location.rsplit('=').next().unwrap().to_string();
    let page = b.get(&location).await;
    assert!(text(&page).contains("Already available"), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("<a href=\"/reviews/{review}\">View review</a>")));
    let opened = b.get(&format!("/reviews/{review}")).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    // The environment shows it as its current review, and the compose run among its runs.
    assert!(page.body.contains(&format!("href=\"/reviews/{review}\"")));
    assert!(page.body.contains(&format!("href=\"/runs/{run}\"")));
    assert!(text(&page).contains("Ready to publish"));
}

#[tokio::test]
async fn the_environment_page_shows_attention_recent_runs_reviews_and_snapshots() {
    let w = world().await;
    let ctx = common::operator();
    w.a.app
        .directory
        .capture_evidence(w.env, findings(4, "second"), &ctx)
        .await
        .unwrap();
    let mut b = w.member().await;
    let page = b.get(&format!("/environments/{}", w.env)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let t = text(&page);
    assert!(t.contains("<h1>prod</h1>"), "{t}");
    // The proven restore is among the recent runs, not among those needing attention.
    let attention = &t[at(&page, "id=\"attention-heading\"")..at(&page, "id=\"recent-heading\"")];
    assert!(attention.contains("No run of this environment needs attention now."));
    let recent = &t[at(&page, "id=\"recent-heading\"")..at(&page, "id=\"snapshots-heading\"")];
    assert!(recent.contains(&format!("href=\"/runs/{}\"", w.restore_run)));
    assert!(
        recent.contains(RunType::RestoreExecute.label(Lang::En)),
        "{recent}"
    );
    // Two snapshots, newest first, the newest marked as what the next review is made of.
    let snapshots = &t[at(&page, "id=\"snapshots-heading\"")..];
    assert_eq!(snapshots.matches("<tr>").count(), 3, "{snapshots}");
    let newest = snapshots.find("newest: the next review").unwrap();
    let second_row = snapshots[snapshots.find("<tbody>").unwrap()..]
        .match_indices("<tr>")
        .nth(1)
        .unwrap()
        .0;
    assert!(newest < snapshots.find("<tbody>").unwrap() + second_row);
    assert!(
        snapshots.contains(">4<") && snapshots.contains(">7<"),
        "{snapshots}"
    );
    assert!(t.contains("No review of this environment is ready or published."));

    // An environment without evidence has no button, and pressing it anyway is refused
    // with the service's reason; nothing is recorded.
    let page = b.get(&format!("/environments/{}", w.bare_env)).await;
    assert!(text(&page).contains("Capture evidence for this environment first"));
    assert!(!page.body.contains("/reviews\""), "no compose form");
    let before = w.events().await;
    let csrf = page.field("csrf");
    let refused = b
        .post(
            &format!("/environments/{}/reviews", w.bare_env),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&refused).contains(&ReasonCode::EvidenceMissing.text(Lang::En)));
    assert_eq!(w.events().await, before);

    // A platform operator sees it but may not act: no button; a press is refused.
    let mut ops = Browser::signed_in(console(&w.a), &w.a.operator).await;
    let page = ops.get(&format!("/environments/{}", w.their_env)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page).contains("only its members can"));
    let csrf = page.field("csrf");
    let refused = ops
        .post(
            &format!("/environments/{}/reviews", w.their_env),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(text(&refused).contains(&ReasonCode::AccessMembersOnly.text(Lang::En)));
    assert_eq!(w.events().await, before);

    // A banner naming a run of another environment is refused, never shown.
    let page = b
        .get(&format!(
            "/environments/{}?compose=queued&run={}",
            w.env, w.a.our_run
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = b
        .get(&format!("/environments/{}?compose=maybe", w.env))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // A parameter a page does not read is refused, never ignored.
    for path in [
        format!("/runs/{}?status=failed", w.restore_run),
        format!("/workspaces/{}?environment={}", w.a.ours, w.env),
        format!("/environments/{}?limit=5", w.env),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::BAD_REQUEST, "{path}");
    }
}

// --- one review: publish, archive, lineage ---

#[tokio::test]
async fn publish_and_archive_confirm_first_check_the_csrf_token_and_follow_the_lineage() {
    let w = world().await;
    let mut b = w.member().await;
    let first = w.ready_review(&mut b, w.env).await;

    let page = b.get(&format!("/reviews/{first}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains(&format!("href=\"/reviews/{first}/publish\"")));
    assert!(
        !page.body.contains("/archive\""),
        "a ready review cannot be archived"
    );

    // The confirmation page, then a POST without `confirm=1`: still only the question.
    let confirm = b.get(&format!("/reviews/{first}/publish")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(text(&confirm).contains("Publish this review?"));
    assert!(confirm.body.contains("name=\"confirm\" value=\"1\""));
    let csrf = confirm.field("csrf");
    let again = b
        .post(&format!("/reviews/{first}/publish"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(text(&again).contains("Publish this review?"));
    assert_eq!(w.review_status(first).await, ReviewStatus::Ready);

    // Without this session's token: refused, nothing done.
    for token in ["", "forged"] {
        let refused = b
            .post(
                &format!("/reviews/{first}/publish"),
                &[("csrf", token), ("confirm", "1")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(w.review_status(first).await, ReviewStatus::Ready);

    // Confirmed: published, back to the review with the banner.
    let done = b
        .post(
            &format!("/reviews/{first}/publish"),
            &[("csrf", &csrf), ("confirm", "1")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("/reviews/{first}?done=published"));
    assert_eq!(w.review_status(first).await, ReviewStatus::Published);
    let page = b.get(done.location()).await;
    assert!(text(&page).contains("Published."));
    assert!(page
        .body
        .contains(&format!("href=\"/reviews/{first}/archive\"")));

    // A second review of new evidence supersedes it when published; each page links the
    // other.
    w.a.app
        .directory
        .capture_evidence(w.env, findings(2, "second"), &common::operator())
        .await
        .unwrap();
    let second = w.ready_review(&mut b, w.env).await;
    assert_ne!(second, first);
    let confirm = b.get(&format!("/reviews/{second}/publish")).await;
    assert!(
        text(&confirm).contains(&format!(
            "The review published now ({}) will be superseded by it.",
            &first.simple().to_string()[..8]
        )),
        "{}",
        confirm.body
    );
    let csrf = confirm.field("csrf");
    let done = b
        .post(
            &format!("/reviews/{second}/publish"),
            &[("csrf", &csrf), ("confirm", "1")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(w.review_status(first).await, ReviewStatus::Superseded);
    let page = b.get(&format!("/reviews/{second}")).await;
    let lineage =
        &text(&page)[at(&page, "id=\"lineage-heading\"")..at(&page, "id=\"sections-heading\"")];
    assert!(lineage.contains("Supersedes"), "{lineage}");
    assert!(
        lineage.contains(&format!("href=\"/reviews/{first}\"")),
        "{lineage}"
    );
    assert!(lineage.contains("Composed by run"), "{lineage}");
    let page = b.get(&format!("/reviews/{first}")).await;
    let lineage =
        &text(&page)[at(&page, "id=\"lineage-heading\"")..at(&page, "id=\"sections-heading\"")];
    assert!(lineage.contains("Superseded by"), "{lineage}");
    assert!(
        lineage.contains(&format!("href=\"/reviews/{second}\"")),
        "{lineage}"
    );
    // A superseded review offers no step, and asking for one is refused with the reason.
    assert!(!page.body.contains(&format!("/reviews/{first}/publish\"")));
    let refused = b.get(&format!("/reviews/{first}/publish")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        text(&refused).contains("it cannot take this step"),
        "{}",
        refused.body
    );

    // Archive, with its confirmation.
    let confirm = b.get(&format!("/reviews/{second}/archive")).await;
    assert!(text(&confirm).contains("Archive this review?"));
    let csrf = confirm.field("csrf");
    let done = b
        .post(
            &format!("/reviews/{second}/archive"),
            &[("csrf", &csrf), ("confirm", "1")],
        )
        .await;
    assert_eq!(done.location(), format!("/reviews/{second}?done=archived"));
    assert_eq!(w.review_status(second).await, ReviewStatus::Archived);
    let page = b.get(&format!("{}&lang=de", done.location())).await;
    assert!(text(&page).contains("Archiviert."));
    assert!(text(&page).contains("Herkunft"));

    // The review's sections and history.
    let page = b.get(&format!("/reviews/{first}?lang=en")).await;
    let sections = &text(&page)[at(&page, "id=\"sections-heading\"")..];
    for category in ["identity", "network", "backup"] {
        assert!(
            sections.contains(&format!(">{category}</th>")),
            "{sections}"
        );
    }
    assert!(page.body.contains("id=\"event-1\""));
    assert!(text(&page).contains("ReviewPublished"));
    assert!(text(&page).contains("ReviewSuperseded"));

    // The operator may look, not act.
    let mut ops = Browser::signed_in(console(&w.a), &w.a.operator).await;
    let page = ops.get(&format!("/reviews/{second}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page).contains("only its members can"));
}

// --- escaping ---

#[tokio::test]
async fn a_run_context_an_environment_name_and_a_review_section_with_script_render_as_text() {
    let w = world().await;
    let ctx = common::operator();
    let evil = "<script>alert(1)</script>";
    let env =
        w.a.app
            .directory
            .create_environment(
                w.a.ours,
                Uuid::new_v4(),
                "<img src=x onerror=alert(2)>",
                &ctx,
            )
            .await
            .unwrap();
    w.a.app
        .directory
        .capture_evidence(env, findings(3, evil), &ctx)
        .await
        .unwrap();
    let run =
        w.a.app
            .lifecycle
            .ensure(
                runproof::lifecycle::EnsureRun {
                    workspace_id: w.a.ours,
                    environment_id: Some(env),
                    run_type: "report.export".into(),
                    identity_inputs: serde_json::json!({ "evil": true }),
                    context: serde_json::json!({ "note": evil, "<b>": "\"'&" }),
                },
                &ctx,
            )
            .await
            .unwrap()
            .run_id();
    let mut b = w.member().await;
    let review = w.ready_review(&mut b, env).await;
    // A section as no service writes it (categories are short lowercase words) — as a
    // crafted event could: the page must still show it as text.
    sqlx::query(
        "UPDATE environment_reviews SET content = jsonb_set(content, '{sections,0,category}', to_jsonb($1::text)) WHERE id = $2",
    )
    .bind(evil)
    .bind(review)
    .execute(&w.a.app.pool)
    .await
    .unwrap();

    for path in [
        format!("/runs/{run}"),
        format!("/environments/{env}"),
        format!("/reviews/{review}"),
        format!("/workspaces/{}", w.a.ours),
        format!("/reviews/{review}/publish"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(!page.body.contains("<script>"), "{path}: {}", page.body);
        assert!(!page.body.contains("<img src=x"), "{path}");
    }
    let page = b.get(&format!("/runs/{run}")).await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    let page = b.get(&format!("/reviews/{review}")).await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;</th>")
            || page
                .body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;</th>"),
        "{}",
        page.body
    );
}

// --- scope ---

#[tokio::test]
async fn every_page_with_an_id_answers_a_foreign_id_exactly_like_a_missing_or_malformed_one() {
    let w = world().await;
    // A review of theirs, composed by one of their members.
    let mut theirs = Browser::signed_in(console(&w.a), &w.a.outsider).await;
    let their_review = w.ready_review(&mut theirs, w.their_env).await;
    let mut b = w.member().await;
    let csrf = b.get("/").await.field("csrf");
    let random = Uuid::new_v4().to_string();
    let cases: Vec<(&str, String, String)> = vec![
        ("GET", "/runs/{}".into(), w.a.their_run.to_string()),
        ("GET", "/workspaces/{}".into(), w.a.theirs.to_string()),
        ("GET", "/environments/{}".into(), w.their_env.to_string()),
        (
            "POST",
            "/environments/{}/reviews".into(),
            w.their_env.to_string(),
        ),
        ("GET", "/reviews/{}".into(), their_review.to_string()),
        (
            "GET",
            "/reviews/{}/publish".into(),
            their_review.to_string(),
        ),
        (
            "POST",
            "/reviews/{}/publish".into(),
            their_review.to_string(),
        ),
        (
            "GET",
            "/reviews/{}/archive".into(),
            their_review.to_string(),
        ),
        (
            "POST",
            "/reviews/{}/archive".into(),
            their_review.to_string(),
        ),
    ];
    for (method, pattern, foreign) in cases {
        let mut bodies = Vec::new();
        for id in [foreign.as_str(), random.as_str(), "not-an-id"] {
            let path = pattern.replace("{}", id);
            let page = match method {
                "GET" => b.get(&path).await,
                _ if path.ends_with("/reviews") => b.post(&path, &[("csrf", &csrf)]).await,
                _ => b.post(&path, &[("csrf", &csrf), ("confirm", "1")]).await,
            };
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                page.body
            );
            bodies.push(page.body);
        }
        assert_eq!(
            bodies[0], bodies[1],
            "{method} {pattern}: foreign vs missing"
        );
        assert_eq!(
            bodies[0], bodies[2],
            "{method} {pattern}: foreign vs malformed"
        );
        assert!(!bodies[0].contains("Fabrikam") && !bodies[0].contains("edge"));
    }
    assert_eq!(w.review_status(their_review).await, ReviewStatus::Ready);

    // Their member sees them all.
    for path in [
        format!("/runs/{}", w.a.their_run),
        format!("/workspaces/{}", w.a.theirs),
        format!("/environments/{}", w.their_env),
        format!("/reviews/{their_review}"),
    ] {
        assert_eq!(theirs.get(&path).await.status, StatusCode::OK, "{path}");
    }
}

// --- links between the pages ---

#[tokio::test]
async fn the_pages_link_workspace_to_environment_to_runs_and_reviews_and_back() {
    let w = world().await;
    let mut b = w.member().await;
    let start = b.get("/").await;
    assert!(start
        .body
        .contains(&format!("href=\"/workspaces/{}\"", w.a.ours)));
    let workspace = b.get(&format!("/workspaces/{}", w.a.ours)).await;
    assert_eq!(workspace.status, StatusCode::OK);
    let t = text(&workspace);
    assert!(
        t.contains(&format!("<a href=\"/environments/{}\">prod</a>", w.env)),
        "{t}"
    );
    assert!(t.contains(&format!(
        "<a href=\"/environments/{}\">staging</a>",
        w.bare_env
    )));
    assert!(t.contains(&format!("/runs?workspace={}", w.a.ours)));
    let runs = b.get("/runs").await;
    assert!(runs.run_links().contains(&w.restore_run.to_string()));
    let review = w.ready_review(&mut b, w.env).await;
    // The compose run's page links the review it drafted.
    let mut conn = w.a.app.pool.acquire().await.unwrap();
    let compose_run = environment_reviews::get(&mut conn, review)
        .await
        .unwrap()
        .unwrap()
        .state
        .run_id;
    drop(conn);
    let page = b.get(&format!("/runs/{compose_run}")).await;
    assert!(
        page.body.contains(&format!("href=\"/reviews/{review}\"")),
        "{}",
        page.body
    );
    assert!(text(&page).contains(RunType::EnvironmentReviewCompose.label(Lang::En)));
    let page = b.get(&format!("/reviews/{review}")).await;
    assert!(page.body.contains(&format!("href=\"/runs/{compose_run}\"")));
    assert!(page
        .body
        .contains(&format!("href=\"/environments/{}\"", w.env)));
}

// --- every page in both languages ---

/// Every phrase of a catalogue in both languages, for the walk.
fn phrases() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = Vec::new();
    all.extend(ConsoleText::ALL.iter().map(|t| {
        (
            t.template(Lang::En).to_string(),
            t.template(Lang::De).to_string(),
        )
    }));
    all.extend(UiText::ALL.iter().map(|t| {
        (
            t.template(Lang::En).to_string(),
            t.template(Lang::De).to_string(),
        )
    }));
    all.extend(ReasonCode::ALL.iter().map(|t| {
        (
            t.template(Lang::En).to_string(),
            t.template(Lang::De).to_string(),
        )
    }));
    let labels = |f: &dyn Fn(Lang) -> Vec<String>| {
        f(Lang::En).into_iter().zip(f(Lang::De)).collect::<Vec<_>>()
    };
    all.extend(labels(&|l| {
        RunStatus::ALL
            .iter()
            .map(|s| s.label(l).to_string())
            .collect()
    }));
    all.extend(labels(&|l| {
        RunOutcome::ALL
            .iter()
            .map(|s| s.label(l).to_string())
            .collect()
    }));
    all.extend(labels(&|l| {
        RunType::ALL
            .iter()
            .map(|s| s.label(l).to_string())
            .collect()
    }));
    all.extend(labels(&|l| {
        ReviewStatus::ALL
            .iter()
            .map(|s| s.label(l).to_string())
            .collect()
    }));
    all.into_iter().filter(|(en, de)| en != de).collect()
}

/// What a person reads on a page: its text nodes and the labels in its attributes.
fn readable(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let text = rest[..open].trim();
        if !text.is_empty() {
            out.push(unescape(text).replace("&#39;", "'"));
        }
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        let tag = &rest[open..close];
        for attribute in ["aria-label=\"", "data-label=\"", "title=\"", "label=\""] {
            let mut t = tag;
            while let Some(i) = t.find(attribute) {
                let v = &t[i + attribute.len()..];
                let end = v.find('"').unwrap_or(v.len());
                out.push(unescape(&v[..end]));
                t = &v[end..];
            }
        }
        // The raw context is data, not the console's words.
        if tag.starts_with("<pre") {
            let end = rest[close..]
                .find("</pre>")
                .map_or(rest.len(), |e| close + e);
            rest = &rest[end..];
        } else {
            rest = &rest[close..];
        }
    }
    out
}

/// Why a page in `lang` is not fully in `lang`, if it is not.
fn untranslated(body: &str, lang: Lang, phrases: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let texts = readable(body);
    for t in &texts {
        if t.starts_with("console.") || t.starts_with("ui.") {
            problems.push(format!("a catalogue key shown as text: {t}"));
        }
        let open = t.find('{');
        if let Some(i) = open {
            let name: String = t[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && t[i + 1 + name.len()..].starts_with('}') {
                problems.push(format!("a placeholder left unfilled: {t}"));
            }
        }
    }
    let joined = texts.join("\n");
    for (en, de) in phrases {
        let (other, own) = match lang {
            Lang::De => (en, de),
            Lang::En => (de, en),
        };
        // The phrase whole (for short labels: a whole text or label), or its fixed parts
        // (between placeholders) when they are long enough to be telling.
        if !other.contains('{') && texts.iter().any(|t| t == other) {
            problems.push(format!("{lang} page shows {other:?} (not {own:?})"));
        }
        for part in other.split(['{', '}']).map(str::trim) {
            if part.chars().count() >= 16 && !own.contains(part) && joined.contains(part) {
                problems.push(format!("{lang} page shows {part:?} of {other:?}"));
            }
        }
    }
    problems
}

#[tokio::test]
async fn every_page_in_english_and_german_has_every_phrase_in_its_language() {
    let w = world().await;
    let mut b = w.member().await;
    let queued = compose(&mut b, w.env).await.location().to_string();
    let running = compose(&mut b, w.env).await.location().to_string();
    w.a.app.worker().run_until_idle().await.unwrap();
    let available = compose(&mut b, w.env).await.location().to_string();
    let review = available.rsplit('=').next().unwrap().to_string();
    let compose_run = queued.rsplit('=').next().unwrap().to_string();
    // The restore run as of its first event and as of its reconciliation.
    let restore_positions: Vec<i64> =
        sqlx::query_scalar("SELECT position FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(w.restore_run.to_string())
            .fetch_all(&w.a.app.pool)
            .await
            .unwrap();
    let as_of = |p: i64| format!("/runs/{}?at={p}", w.restore_run);
    let pages = [
        as_of(restore_positions[0]),
        as_of(*restore_positions.last().unwrap()),
        format!("/runs/{}?at=999999999", w.restore_run),
        "/".to_string(),
        "/runs".to_string(),
        "/runs?attention=1&live=0".to_string(),
        format!("/runs/{}", w.restore_run),
        format!("/runs/{}", w.a.our_run),
        format!("/runs/{compose_run}"),
        format!("/workspaces/{}", w.a.ours),
        format!("/environments/{}", w.env),
        format!("/environments/{}", w.bare_env),
        queued,
        running,
        available,
        format!("/reviews/{review}"),
        format!("/reviews/{review}/publish"),
        format!("/reviews/{review}?done=published"),
        format!("/runs/{}", Uuid::new_v4()),
        "/no-such-page".to_string(),
        // A form's target opened as a page: 405.
        "/sign-out".to_string(),
    ];
    let phrases = phrases();
    let mut problems = Vec::new();
    for lang in [Lang::En, Lang::De] {
        for path in &pages {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = b.get(&format!("{path}{sep}lang={lang}")).await;
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::NOT_FOUND,
                    StatusCode::METHOD_NOT_ALLOWED,
                    StatusCode::BAD_REQUEST
                ]
                .contains(&page.status),
                "{path}: {}",
                page.status
            );
            assert!(
                page.body.contains(&format!("<html lang=\"{lang}\"")),
                "{path}"
            );
            problems.extend(
                untranslated(&page.body, lang, &phrases)
                    .into_iter()
                    .map(|p| format!("{path}: {p}")),
            );
        }
    }
    // The pages only a moment shows: a run the views do not show yet (503), a request
    // over its time and a full server (503).
    let holder = hold_the_horizon(&w.a._db).await;
    let late =
        w.a.app
            .clone()
            .without_read_your_writes()
            .lifecycle
            .ensure(
                runproof::lifecycle::EnsureRun {
                    workspace_id: w.a.ours,
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
    let mut moments = Vec::new();
    for lang in [Lang::En, Lang::De] {
        let path = format!("/runs/{late}?lang={lang}");
        moments.push((lang, "not yet visible", b.get(&path).await));
    }
    holder.rollback().await.unwrap();
    for lang in [Lang::En, Lang::De] {
        let path = format!("/runs?lang={lang}");
        moments.push((lang, "timed out", timed_out(&w.a, &b, &path).await));
        moments.push((lang, "overloaded", overloaded(&w.a, &path).await));
    }
    for (lang, what, page) in moments {
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert!(
            page.body.contains(&format!("<html lang=\"{lang}\"")),
            "{what}"
        );
        problems.extend(
            untranslated(&page.body, lang, &phrases)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The walk can fail: an English phrase on a German page is found.
    let english = format!("<p>{}</p>", ConsoleText::ComposeButton.text(Lang::En));
    assert!(!untranslated(&english, Lang::De, &phrases).is_empty());
    let unfilled = "<p>Run {id}</p>";
    assert!(!untranslated(unfilled, Lang::En, &phrases).is_empty());
}
