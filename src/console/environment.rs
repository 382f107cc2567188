//! `/environments/{id}`: one managed environment — the runs that need attention, its
//! recent runs, its current (ready or published) review, its evidence snapshots — and
//! the "Create or refresh review" button.
//!
//! The button is a POST form (CSRF-checked) to `/environments/{id}/reviews`, which asks
//! the review service exactly what `runproof reviews compose` and `POST
//! /api/v1/environments/{id}/reviews` ask. Its answer comes back as a redirect to this
//! page (POST-redirect-GET) with the answer in the query — `compose=queued|running|
//! available` and the run or review it names — which the page shows as a banner in the
//! operator's language, with a link to the run ("Open operation") or the review ("View
//! review"). The banner is checked against the environment: a query naming a run or a
//! review of another environment is refused, never shown.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use runproof_domain::environment::{EnvironmentState, ManagedEnvironment};
use runproof_domain::review::ReviewStatus;
use runproof_domain::Lang;
use runproof_projections::environment_reviews::{self, ReviewFilter};
use runproof_projections::operation_runs::{self, RunFilter};
use runproof_projections::{directory, evidence_snapshots};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::{CheckedForm, SignedIn};
use super::evidence::short;
use super::page::{link, render, Chrome, Message, Nav, PageError};
use super::runs::view::Scope;
use super::runs::{line, Line};
use super::scope::{self, environment_not_found, internal};
use super::text::ConsoleText;
use super::time;
use crate::cli::directory::context;
use crate::cli::out::Out;
use crate::cli::text::UiText;
use crate::http::ApiState;
use crate::reviews::Feedback;
use crate::service_error::ServiceError;

/// How many runs each list on the page shows (the runs page has them all).
const RUNS: i64 = 10;
/// How many evidence snapshots the page shows.
const SNAPSHOTS: i64 = 10;

/// The address's parameters: the answer of the compose button, after its redirect.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentQuery {
    compose: Option<String>,
    run: Option<String>,
    review: Option<String>,
    /// The language (the console's layer reads it).
    #[allow(dead_code)]
    lang: Option<String>,
}

/// What the page says above everything else.
enum Banner {
    /// The compose button's answer: which one, and the link to follow.
    Answer {
        kind: &'static str,
        heading: String,
        text: String,
        link_text: String,
        href: String,
    },
    /// The button's request was refused (the service's reason).
    Refused(String),
}

impl Banner {
    fn of(feedback: Feedback, lang: Lang) -> Banner {
        let answer =
            |kind, heading: ConsoleText, text: ConsoleText, link_text: ConsoleText, href| {
                Banner::Answer {
                    kind,
                    heading: heading.text(lang),
                    text: text.text(lang),
                    link_text: link_text.text(lang),
                    href,
                }
            };
        match feedback {
            Feedback::Queued { run_id } => answer(
                "queued",
                ConsoleText::BannerQueued,
                ConsoleText::BannerQueuedText,
                ConsoleText::OpenOperation,
                format!("/runs/{run_id}"),
            ),
            Feedback::AlreadyRunning { run_id } => answer(
                "running",
                ConsoleText::BannerRunning,
                ConsoleText::BannerRunningText,
                ConsoleText::OpenOperation,
                format!("/runs/{run_id}"),
            ),
            Feedback::AlreadyAvailable { review_id } => answer(
                "available",
                ConsoleText::BannerAvailable,
                ConsoleText::BannerAvailableText,
                ConsoleText::ViewReview,
                format!("/reviews/{review_id}"),
            ),
        }
    }

    /// The address the compose button's answer is shown at.
    fn redirect(environment: Uuid, feedback: Feedback) -> String {
        let path = format!("/environments/{environment}");
        match feedback {
            Feedback::Queued { run_id } => link(
                &path,
                &[("compose", "queued"), ("run", &run_id.to_string())],
            ),
            Feedback::AlreadyRunning { run_id } => link(
                &path,
                &[("compose", "running"), ("run", &run_id.to_string())],
            ),
            Feedback::AlreadyAvailable { review_id } => link(
                &path,
                &[("compose", "available"), ("review", &review_id.to_string())],
            ),
        }
    }
}

/// A review the environment has now.
struct CurrentReview {
    label: String,
    href: String,
    short: String,
    status: &'static str,
    status_label: &'static str,
    /// When it became ready or was published: relative, exact, machine.
    since: Option<(String, String, String)>,
    findings: Option<u64>,
}

/// One evidence snapshot's line.
struct SnapshotLine {
    short: String,
    id: String,
    captured: (String, String, String),
    findings: i64,
    hash: String,
    hash_full: String,
    newest: bool,
}

#[derive(Template)]
#[template(path = "console/environment.html")]
struct EnvironmentPage {
    c: Chrome,
    intro: String,
    workspace_name: String,
    workspace_href: String,
    banner: Option<Banner>,
    can_act: bool,
    has_evidence: bool,
    action: String,
    attention: Vec<Line>,
    attention_link: String,
    recent: Vec<Line>,
    runs_link: String,
    reviews: Vec<CurrentReview>,
    snapshots: Vec<SnapshotLine>,
}

fn since(
    t: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
    lang: Lang,
) -> Option<(String, String, String)> {
    t.map(|t| {
        (
            time::relative(t, now, lang),
            time::exact(t),
            time::machine(t),
        )
    })
}

/// The environment `id` names, if the operator may see it (with whether they may act).
async fn visible(
    s: &ApiState,
    me: &SignedIn,
    raw: &str,
) -> Result<(EnvironmentState, bool), PageError> {
    let id = scope::id(raw, environment_not_found())?;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let row = directory::environment(&mut conn, id)
        .await
        .map_err(internal)?
        .ok_or_else(environment_not_found)?;
    drop(conn);
    let access = scope::access(s, &me.caller, row.state.workspace_id).await?;
    if !access.see {
        return Err(environment_not_found());
    }
    Ok((row.state, access.act))
}

/// The banner the address asks for, checked against the environment: the run or review
/// it names must be this environment's.
async fn banner_of(
    s: &ApiState,
    me: &SignedIn,
    env: &EnvironmentState,
) -> Result<Option<Banner>, PageError> {
    let bad = || PageError::BadRequest(Message::Console(ConsoleText::BadParameter, vec![]));
    let q: EnvironmentQuery =
        serde_urlencoded::from_str(me.uri.query().unwrap_or("")).map_err(|_| bad())?;
    let id = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .ok_or_else(bad)
    };
    let feedback = match q.compose.as_deref().map(str::trim) {
        None | Some("") => {
            return match (&q.run, &q.review) {
                (None, None) => Ok(None),
                _ => Err(bad()),
            }
        }
        Some("queued") => Feedback::Queued {
            run_id: id(&q.run)?,
        },
        Some("running") => Feedback::AlreadyRunning {
            run_id: id(&q.run)?,
        },
        Some("available") => Feedback::AlreadyAvailable {
            review_id: id(&q.review)?,
        },
        Some(_) => return Err(bad()),
    };
    // Read from the streams, as the service answered from them: the views may not show
    // a run or review the answer names yet.
    let here = match feedback {
        Feedback::Queued { run_id } | Feedback::AlreadyRunning { run_id } => s
            .app
            .lifecycle
            .load(run_id)
            .await
            .map_err(internal)?
            .state()
            .is_some_and(|r| r.environment_id == Some(env.id)),
        Feedback::AlreadyAvailable { review_id } => s
            .app
            .reviews
            .load(review_id)
            .await
            .map_err(|e| PageError::internal(&e))?
            .is_some_and(|r| r.environment_id == env.id),
    };
    if !here {
        return Err(bad());
    }
    Ok(Some(Banner::of(feedback, me.lang)))
}

/// The environment page.
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let (env, can_act) = visible(&s, &me, &raw).await?;
    let banner = banner_of(&s, &me, &env).await?;
    show(&s, &me, env, can_act, banner).await
}

/// Renders the page of `env` with `banner`.
async fn show(
    s: &ApiState,
    me: &SignedIn,
    env: EnvironmentState,
    can_act: bool,
    banner: Option<Banner>,
) -> Result<Response, PageError> {
    let lang = me.lang;
    let now = s.app.clock.now();
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let workspace_name = directory::workspace(&mut conn, env.workspace_id)
        .await
        .map_err(internal)?
        .map_or_else(|| short(env.workspace_id), |w| w.state.name);
    let filter = RunFilter {
        workspace_id: Some(env.workspace_id),
        environment_id: Some(env.id),
        visible_to: me.caller.visible_to(),
        limit: RUNS,
        ..RunFilter::default()
    };
    let recent = operation_runs::list(&mut conn, &filter)
        .await
        .map_err(internal)?;
    let attention = operation_runs::list(
        &mut conn,
        &RunFilter {
            needs_attention_at: Some(now),
            ..filter.clone()
        },
    )
    .await
    .map_err(internal)?;
    let mut reviews = Vec::new();
    if let Some(published) = env.published_review {
        if let Some(r) = environment_reviews::get(&mut conn, published)
            .await
            .map_err(internal)?
        {
            reviews.push((ConsoleText::ReviewPublishedNow, r));
        }
    }
    let ready = environment_reviews::list(
        &mut conn,
        &ReviewFilter {
            workspace_id: Some(env.workspace_id),
            environment_id: Some(env.id),
            status: Some(ReviewStatus::Ready),
            limit: 5,
            ..ReviewFilter::default()
        },
    )
    .await
    .map_err(internal)?;
    reviews.extend(ready.into_iter().map(|r| (ConsoleText::ReviewReadyNow, r)));
    let snapshots =
        evidence_snapshots::of_environment(&mut conn, env.workspace_id, env.id, SNAPSHOTS)
            .await
            .map_err(internal)?;
    drop(conn);

    let names = Scope {
        workspaces: [(env.workspace_id, workspace_name.clone())].into(),
        environments: [(env.id, env.name.clone())].into(),
    };
    let out = Out { json: false, lang };
    let lines = |rows: &[runproof_projections::operation_runs::RunRow]| {
        rows.iter()
            .map(|r| line(r, now, &out, &names))
            .collect::<Vec<_>>()
    };
    let newest = env.latest_snapshot.as_ref().map(|l| l.snapshot_id);
    let id = env.id.to_string();
    let c = me.chrome(Nav::None, env.name.clone());
    render(&EnvironmentPage {
        intro: c.tr(
            ConsoleText::EnvironmentIntro,
            &[("workspace", &workspace_name)],
        ),
        workspace_href: format!("/workspaces/{}", env.workspace_id),
        workspace_name,
        banner,
        can_act,
        has_evidence: env.latest_snapshot.is_some(),
        action: format!("/environments/{id}/reviews"),
        attention: lines(&attention),
        attention_link: link("/runs", &[("environment", &id), ("attention", "1")]),
        recent: lines(&recent),
        runs_link: link("/runs", &[("environment", &id)]),
        reviews: reviews
            .into_iter()
            .map(|(label, r)| {
                let st = r.state;
                CurrentReview {
                    label: label.text(lang),
                    href: format!("/reviews/{}", st.id),
                    short: short(st.id),
                    status: st.status.as_str(),
                    status_label: st.status.label(lang),
                    since: since(st.published_at.or(st.ready_at), now, lang),
                    findings: st.content.as_ref().map(|c| c.total_findings),
                }
            })
            .collect(),
        snapshots: snapshots
            .into_iter()
            .map(|sn| SnapshotLine {
                short: short(sn.id),
                id: sn.id.to_string(),
                captured: (
                    time::relative(sn.captured_at, now, lang),
                    time::exact(sn.captured_at),
                    time::machine(sn.captured_at),
                ),
                findings: sn.finding_count,
                hash: sn.content_hash.chars().take(19).collect::<String>() + "…",
                hash_full: sn.content_hash,
                newest: Some(sn.id) == newest,
            })
            .collect(),
        c,
    })
}

/// The compose button's form: nothing but its CSRF token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// "Create or refresh review": asks the review service, then shows its answer on the
/// environment page (303 to it, the answer in the query). A refusal (no evidence yet, a
/// view-only operator) is the page again with the reason, and nothing recorded.
pub async fn compose(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: CheckedForm<NoFields>,
) -> Result<Response, PageError> {
    let mut me = form.signed_in;
    let id = scope::id(&raw, environment_not_found())?;
    // Read from the environment's stream, as the API does: the answer must not depend on
    // a lagging projection.
    let loaded = s
        .app
        .store
        .load::<ManagedEnvironment>(&id.to_string())
        .await
        .map_err(internal)?;
    let env = loaded
        .aggregate
        .state()
        .cloned()
        .ok_or_else(environment_not_found)?;
    let access = scope::access(&s, &me.caller, env.workspace_id).await?;
    if !access.see {
        return Err(environment_not_found());
    }
    // The page a refusal is shown on (its language links, its title) is the
    // environment's, not the form's target.
    me.uri = format!("/environments/{id}").parse().map_err(internal)?;
    if !access.act {
        let text = runproof_domain::ReasonCode::AccessMembersOnly.text(me.lang);
        return refused(&s, &me, env, false, StatusCode::FORBIDDEN, text).await;
    }
    let actor = me.caller.actor_id;
    let answer = s
        .app
        .reviews
        .create_or_refresh(actor, env.workspace_id, env.id, &context(Some(actor)))
        .await;
    let (status, text) = match answer {
        Ok(feedback) => {
            return Ok(Redirect::to(&Banner::redirect(env.id, feedback)).into_response())
        }
        Err(ServiceError::Refused { reason, args }) => {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                reason.render(me.lang, &args),
            )
        }
        Err(ServiceError::Conflict(reason)) => (StatusCode::CONFLICT, reason.text(me.lang)),
        Err(e) => return Err(PageError::internal(&e)),
    };
    refused(&s, &me, env, true, status, text).await
}

/// The environment page with a refusal's reason above everything, answered with
/// `status`.
async fn refused(
    s: &ApiState,
    me: &SignedIn,
    env: EnvironmentState,
    can_act: bool,
    status: StatusCode,
    text: String,
) -> Result<Response, PageError> {
    let page = show(s, me, env, can_act, Some(Banner::Refused(text))).await?;
    Ok((status, page).into_response())
}
