//! `/reviews/{id}`: one environment review — its status, its lineage (the review it
//! superseded, the one that superseded it, the compose runs in its history), its
//! sections, its history as a timeline — and the two steps of its lineage a person
//! takes: publish a ready review, archive a published one.
//!
//! Both steps confirm first, without JavaScript: the page's "Publish…" / "Archive…"
//! links open a confirmation page (`GET /reviews/{id}/publish`), whose form POSTs with
//! the session's CSRF token and `confirm=1`. A POST without `confirm=1` only shows the
//! confirmation. After the step, the browser is sent back to the review (303) with
//! `done=published|archived` for the banner. The same review service as `runproof
//! reviews publish` and the API; its refusals are the review page again with the reason.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use runproof_domain::findings::Severity;
use runproof_domain::review::{ReviewEvent, ReviewState, ReviewStatus};
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::directory;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

use super::auth::{CheckedForm, SignedIn};
use super::evidence::{short, Fact, Names};
use super::page::{link, render, Chrome, Message, Nav, PageError};
use super::run::Named;
use super::scope::{self, internal, review_not_found};
use super::text::ConsoleText;
use super::time;
use super::timeline::{self, Entry, Linked};
use crate::cli::directory::context;
use crate::cli::text::UiText;
use crate::history::{self, Decoded, StreamKind};
use crate::http::ApiState;
use crate::service_error::ServiceError;

/// The two steps a person takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Publish,
    Archive,
}

impl Step {
    fn path(self, id: Uuid) -> String {
        match self {
            Step::Publish => format!("/reviews/{id}/publish"),
            Step::Archive => format!("/reviews/{id}/archive"),
        }
    }

    fn done(self) -> &'static str {
        match self {
            Step::Publish => "published",
            Step::Archive => "archived",
        }
    }

    /// Whether a review in `status` can take this step.
    fn allowed(self, status: ReviewStatus) -> bool {
        match self {
            Step::Publish => status == ReviewStatus::Ready,
            Step::Archive => status == ReviewStatus::Published,
        }
    }
}

/// What the page says above everything else.
enum Banner {
    Done(String),
    Refused(String),
}

/// One section's line: a category and its counts per severity.
struct SectionLine {
    category: String,
    total: u64,
    counts: Vec<u64>,
}

#[derive(Template)]
#[template(path = "console/review.html")]
struct ReviewPage {
    c: Chrome,
    intro: String,
    workspace: Named,
    environment: Named,
    short_id: String,
    banner: Option<Banner>,
    status: &'static str,
    status_label: &'static str,
    failure: Option<String>,
    facts: Vec<Fact>,
    lineage: Vec<Fact>,
    runs: Vec<Linked>,
    severities: Vec<String>,
    totals: Option<(u64, Vec<u64>)>,
    sections: Vec<SectionLine>,
    can_act: bool,
    publish: Option<String>,
    archive: Option<String>,
    timeline: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    text: String,
    supersedes: Option<String>,
    action: String,
    button: String,
    back: String,
}

fn severity_label(s: Severity, lang: Lang) -> String {
    match s {
        Severity::Critical => ConsoleText::SeverityCritical,
        Severity::High => ConsoleText::SeverityHigh,
        Severity::Medium => ConsoleText::SeverityMedium,
        Severity::Low => ConsoleText::SeverityLow,
        Severity::Info => ConsoleText::SeverityInfo,
    }
    .text(lang)
}

fn fact(label: String, value: String) -> Fact {
    Fact {
        label,
        value,
        href: None,
        full: None,
        machine: None,
    }
}

fn time_fact(label: String, t: chrono::DateTime<chrono::Utc>) -> Fact {
    Fact {
        machine: Some(time::machine(t)),
        ..fact(label, time::exact(t))
    }
}

fn review_link(label: String, id: Uuid, lang: Lang) -> Fact {
    Fact {
        href: Some(format!("/reviews/{id}")),
        full: Some(id.to_string()),
        ..fact(
            label,
            format!("{} {}", UiText::LabelReview.text(lang), short(id)),
        )
    }
}

fn run_link(label: String, id: Uuid, lang: Lang) -> Fact {
    Fact {
        href: Some(format!("/runs/{id}")),
        full: Some(id.to_string()),
        ..fact(
            label,
            format!("{} {}", UiText::LabelRun.text(lang), short(id)),
        )
    }
}

/// The review `raw` names as its stream records it, if the operator may see it (with
/// whether they may act on it). Read from the stream, as the service decides on it.
async fn to_act_on(
    s: &ApiState,
    me: &SignedIn,
    raw: &str,
) -> Result<(ReviewState, bool), PageError> {
    let id = scope::id(raw, review_not_found())?;
    let review = s
        .app
        .reviews
        .load(id)
        .await
        .map_err(|e| PageError::internal(&e))?
        .ok_or_else(review_not_found)?;
    let access = scope::access(s, &me.caller, review.workspace_id).await?;
    if !access.see {
        return Err(review_not_found());
    }
    Ok((review, access.act))
}

/// The review page.
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = scope::id(&raw, review_not_found())?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Query {
        done: Option<String>,
        #[allow(dead_code)]
        lang: Option<String>,
    }
    let bad = || PageError::BadRequest(Message::Console(ConsoleText::BadParameter, vec![]));
    let q: Query = serde_urlencoded::from_str(me.uri.query().unwrap_or("")).map_err(|_| bad())?;
    let banner = match q.done.as_deref() {
        None | Some("") => None,
        Some("published") => Some(Banner::Done(ConsoleText::DonePublished.text(me.lang))),
        Some("archived") => Some(Banner::Done(ConsoleText::DoneArchived.text(me.lang))),
        Some(_) => return Err(bad()),
    };
    show(&s, &me, id, banner, StatusCode::OK).await
}

/// Renders review `id`'s page with `banner`, answered with `status`.
async fn show(
    s: &ApiState,
    me: &SignedIn,
    id: Uuid,
    banner: Option<Banner>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let lang = me.lang;
    let row = scope::review_row(s, id)
        .await?
        .ok_or_else(review_not_found)?;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let r = row.state;
    let access = scope::access(s, &me.caller, r.workspace_id).await?;
    if !access.see {
        return Err(review_not_found());
    }
    let mut names = Names::default();
    if let Some(w) = directory::workspace(&mut conn, r.workspace_id)
        .await
        .map_err(internal)?
    {
        names.workspaces.insert(w.state.id, w.state.name);
    }
    if let Some(e) = directory::environment(&mut conn, r.environment_id)
        .await
        .map_err(internal)?
    {
        names.environments.insert(e.state.id, e.state.name);
    }
    let found = history::load(&s.app.pool, id, Some(StreamKind::Review))
        .await
        .map_err(internal)?;
    let actors: HashMap<Uuid, String> = match &found {
        Some(h) => directory::actor_names(&mut conn, &timeline::actors_of(h))
            .await
            .map_err(internal)?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    };
    drop(conn);

    let workspace = Named::of(
        r.workspace_id,
        names.workspaces.get(&r.workspace_id),
        "/workspaces",
    );
    let environment = Named::of(
        r.environment_id,
        names.environments.get(&r.environment_id),
        "/environments",
    );

    let mut facts = vec![
        fact(
            UiText::LabelFingerprint.text(lang),
            r.fingerprint.to_string(),
        ),
        fact(UiText::LabelSnapshot.text(lang), r.snapshot_id.to_string()),
        time_fact(UiText::LabelDrafted.text(lang), r.drafted_at),
    ];
    if let Some(t) = r.ready_at {
        facts.push(time_fact(UiText::LabelReady.text(lang), t));
    }
    if let Some(t) = r.published_at {
        facts.push(time_fact(UiText::LabelPublished.text(lang), t));
    }
    if let Some(t) = r.archived_at {
        facts.push(time_fact(ConsoleText::LabelArchivedAt.text(lang), t));
    }
    if let Some(t) = r.superseded_at {
        facts.push(time_fact(ConsoleText::LabelSupersededAt.text(lang), t));
    }

    // Lineage: what it superseded (its publication says), what superseded it, the
    // compose runs that drafted it.
    let supersedes = found.as_ref().and_then(|h| {
        h.events.iter().find_map(|e| match &e.decoded {
            Ok(Decoded::Review(ReviewEvent::ReviewPublished(p))) => p.supersedes,
            _ => None,
        })
    });
    let mut lineage = Vec::new();
    if let Some(p) = supersedes {
        lineage.push(review_link(
            ConsoleText::LabelSupersedes.text(lang),
            p,
            lang,
        ));
    }
    if let Some(by) = r.superseded_by {
        lineage.push(review_link(UiText::LabelSupersededBy.text(lang), by, lang));
    }
    lineage.push(run_link(UiText::LabelComposedBy.text(lang), r.run_id, lang));
    for previous in &r.previous_run_ids {
        lineage.push(run_link(
            ConsoleText::LabelEarlierAttempts.text(lang),
            *previous,
            lang,
        ));
    }

    let (totals, sections) = match &r.content {
        Some(content) => (
            Some((
                content.total_findings,
                Severity::ALL
                    .iter()
                    .map(|s| content.by_severity.get(s).copied().unwrap_or(0))
                    .collect(),
            )),
            content
                .sections
                .iter()
                .map(|section| SectionLine {
                    category: section.category.clone(),
                    total: section.total,
                    counts: Severity::ALL
                        .iter()
                        .map(|s| section.by_severity.get(s).copied().unwrap_or(0))
                        .collect(),
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let (timeline, runs) = match &found {
        Some(h) => (
            timeline::entries(h, &names, &actors, lang),
            timeline::linked(h, StreamKind::Run),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let short_id = short(id);
    let c = me.chrome(
        Nav::None,
        ConsoleText::ReviewTitle.render(lang, &[("id", &short_id)]),
    );
    let page = render(&ReviewPage {
        intro: c.tr(
            ConsoleText::ReviewIntro,
            &[
                ("environment", &environment.text),
                ("workspace", &workspace.text),
            ],
        ),
        workspace,
        environment,
        short_id,
        banner,
        status: r.status.as_str(),
        status_label: r.status.label(lang),
        failure: r.failure.map(|f| format!("{} [{f}]", f.text(lang))),
        facts,
        lineage,
        runs,
        severities: Severity::ALL
            .iter()
            .map(|s| severity_label(*s, lang))
            .collect(),
        totals,
        sections,
        can_act: access.act,
        publish: (access.act && Step::Publish.allowed(r.status)).then(|| Step::Publish.path(id)),
        archive: (access.act && Step::Archive.allowed(r.status)).then(|| Step::Archive.path(id)),
        timeline,
        c,
    })?;
    Ok((status, page).into_response())
}

/// The confirmation page of `step` for `review`.
async fn confirmation(
    s: &ApiState,
    me: &SignedIn,
    review: &ReviewState,
    step: Step,
) -> Result<Response, PageError> {
    let lang = me.lang;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let env = directory::environment(&mut conn, review.environment_id)
        .await
        .map_err(internal)?;
    drop(conn);
    let env_name = env
        .as_ref()
        .map_or_else(|| short(review.environment_id), |e| e.state.name.clone());
    let published_now = env
        .and_then(|e| e.state.published_review)
        .filter(|p| *p != review.id);
    let (title, text, button) = match step {
        Step::Publish => (
            ConsoleText::PublishConfirmTitle,
            ConsoleText::PublishConfirmText,
            ConsoleText::PublishConfirmButton,
        ),
        Step::Archive => (
            ConsoleText::ArchiveConfirmTitle,
            ConsoleText::ArchiveConfirmText,
            ConsoleText::ArchiveConfirmButton,
        ),
    };
    let c = me.chrome(Nav::None, title.text(lang));
    render(&ConfirmPage {
        text: c.tr(text, &[("environment", &env_name)]),
        supersedes: match step {
            Step::Publish => published_now.map(|p| {
                c.tr(
                    ConsoleText::PublishConfirmSupersedes,
                    &[("review", &short(p))],
                )
            }),
            Step::Archive => None,
        },
        action: step.path(review.id),
        button: button.text(lang),
        back: format!("/reviews/{}", review.id),
        c,
    })
}

/// `GET /reviews/{id}/publish|archive`: the confirmation page. A step the review's
/// status does not allow (or an operator who may not act) is the review page with the
/// reason.
async fn confirm(s: &ApiState, me: SignedIn, raw: &str, step: Step) -> Result<Response, PageError> {
    let (review, can_act) = to_act_on(s, &me, raw).await?;
    scope::no_parameters(&me.uri)?;
    if let Some(refusal) = refusal(&review, can_act, step, me.lang) {
        return show(
            s,
            &me,
            review.id,
            Some(Banner::Refused(refusal.1)),
            refusal.0,
        )
        .await;
    }
    confirmation(s, &me, &review, step).await
}

/// Why `step` cannot be taken now, if it cannot: with the status the answer carries.
fn refusal(
    review: &ReviewState,
    can_act: bool,
    step: Step,
    lang: Lang,
) -> Option<(StatusCode, String)> {
    if !can_act {
        return Some((
            StatusCode::FORBIDDEN,
            ReasonCode::AccessMembersOnly.text(lang),
        ));
    }
    if !step.allowed(review.status) {
        return Some((
            StatusCode::CONFLICT,
            ReasonCode::ReviewInvalidTransition
                .render(lang, &[("status", review.status.label(lang))]),
        ));
    }
    None
}

pub async fn confirm_publish(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    confirm(&s, me, &raw, Step::Publish).await
}

pub async fn confirm_archive(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    confirm(&s, me, &raw, Step::Archive).await
}

/// A step's form: `confirm=1` once the operator confirmed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepForm {
    confirm: Option<String>,
}

/// `POST /reviews/{id}/publish|archive`: without `confirm=1` the confirmation page;
/// with it, the step through the review service, then back to the review.
async fn take(
    s: &ApiState,
    form: CheckedForm<StepForm>,
    raw: &str,
    step: Step,
) -> Result<Response, PageError> {
    let mut me = form.signed_in;
    let (review, can_act) = to_act_on(s, &me, raw).await?;
    // Pages shown in answer to the form are the review's (their language links too).
    me.uri = format!("/reviews/{}", review.id)
        .parse()
        .map_err(internal)?;
    if !can_act {
        let text = ReasonCode::AccessMembersOnly.text(me.lang);
        return show(
            s,
            &me,
            review.id,
            Some(Banner::Refused(text)),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if form.form.confirm.as_deref() != Some("1") {
        return confirmation(s, &me, &review, step).await;
    }
    let actor = me.caller.actor_id;
    let ctx = context(Some(actor));
    let done = match step {
        Step::Publish => s
            .app
            .reviews
            .publish(review.id, Some(actor), &ctx)
            .await
            .map(|_| ()),
        Step::Archive => s.app.reviews.archive(review.id, Some(actor), &ctx).await,
    };
    let (status, text) = match done {
        Ok(()) => {
            let to = link(&format!("/reviews/{}", review.id), &[("done", step.done())]);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(ServiceError::Refused { reason, args }) => {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (StatusCode::CONFLICT, reason.render(me.lang, &args))
        }
        Err(ServiceError::Conflict(reason)) => (StatusCode::CONFLICT, reason.text(me.lang)),
        Err(e) => return Err(PageError::internal(&e)),
    };
    show(s, &me, review.id, Some(Banner::Refused(text)), status).await
}

pub async fn publish(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: CheckedForm<StepForm>,
) -> Result<Response, PageError> {
    take(&s, form, &raw, Step::Publish).await
}

pub async fn archive(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: CheckedForm<StepForm>,
) -> Result<Response, PageError> {
    take(&s, form, &raw, Step::Archive).await
}
