//! `runproof reviews …` and `runproof worker`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::review::{ReviewContent, ReviewStatus};
use runproof_domain::ReasonCode;
use runproof_projections::environment_reviews::{self, ReviewFilter, ReviewRow};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::directory::context;
use super::error::CliError;
use super::lag;
use super::out::Out;
use super::runs::{parse_id, parse_limit};
use super::text::UiText;
use crate::app::App;
use crate::explain::when;
use crate::reviews::worker::Executed;
use crate::reviews::Feedback;

pub async fn compose(
    app: &App,
    workspace: Uuid,
    environment: Uuid,
    actor: Uuid,
    out: &Out,
) -> Result<(), CliError> {
    let feedback = app
        .reviews
        .create_or_refresh(actor, workspace, environment, &context(Some(actor)))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "result": feedback,
            "message": feedback_text(&feedback, out),
            "lag": lag::json(app.lag(), out),
        }));
    } else {
        out.line(feedback_text(&feedback, out));
    }
    Ok(())
}

/// The operator's sentence for a compose request's answer.
pub fn feedback_text(feedback: &Feedback, out: &Out) -> String {
    match feedback {
        Feedback::Queued { run_id } => {
            UiText::FeedbackQueued.render(out.lang, &[("run", &run_id.to_string())])
        }
        Feedback::AlreadyRunning { run_id } => {
            UiText::FeedbackAlreadyRunning.render(out.lang, &[("run", &run_id.to_string())])
        }
        Feedback::AlreadyAvailable { review_id } => {
            UiText::FeedbackAlreadyAvailable.render(out.lang, &[("review", &review_id.to_string())])
        }
    }
}

/// A review as `reviews show --json` prints it and the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// The review's id.
    pub id: Uuid,
    /// `draft`, `ready` or `failed` while it is being made; `published`, `archived` or
    /// `superseded` afterwards.
    #[schema(value_type = String, example = "ready")]
    pub status: ReviewStatus,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    /// What the review is composed from: `sha256:<hex>` over the environment, the
    /// evidence and the composer version.
    #[schema(value_type = String)]
    pub fingerprint: Fingerprint,
    /// The evidence snapshot it is composed from.
    pub snapshot_id: Uuid,
    /// The compose run that drafted it (most recently).
    pub run_id: Uuid,
    pub drafted_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    /// The review that superseded it, when published after it.
    pub superseded_by: Option<Uuid>,
    pub superseded_at: Option<DateTime<Utc>>,
    /// Why composing failed (a reason code), for a `failed` review.
    #[schema(value_type = Option<String>)]
    pub failure_reason: Option<ReasonCode>,
    /// The composed content (findings by severity and by section), once ready.
    #[schema(value_type = Option<Object>)]
    pub content: Option<ReviewContent>,
    /// The review stream's version as the view shows it.
    pub version: i64,
}

impl ReviewView {
    pub fn of(r: &ReviewRow) -> Self {
        let s = &r.state;
        ReviewView {
            id: s.id,
            status: s.status,
            workspace_id: s.workspace_id,
            environment_id: s.environment_id,
            fingerprint: s.fingerprint.clone(),
            snapshot_id: s.snapshot_id,
            run_id: s.run_id,
            drafted_at: s.drafted_at,
            ready_at: s.ready_at,
            published_at: s.published_at,
            archived_at: s.archived_at,
            superseded_by: s.superseded_by,
            superseded_at: s.superseded_at,
            failure_reason: s.failure,
            content: s.content.clone(),
            version: r.version,
        }
    }
}

/// The filters of a review list as given (command line or query string).
#[derive(Debug, Clone, Default)]
pub struct ReviewListArgs<'a> {
    pub workspace: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub status: Option<&'a str>,
    pub limit: i64,
}

/// Parses a review list's filters; the caller sets the scope and the page.
pub fn parse_review_filter(args: &ReviewListArgs<'_>) -> Result<ReviewFilter, CliError> {
    Ok(ReviewFilter {
        workspace_id: args.workspace.map(parse_id).transpose()?,
        environment_id: args.environment.map(parse_id).transpose()?,
        status: args
            .status
            .map(|s| {
                s.trim().parse::<ReviewStatus>().map_err(|_| {
                    CliError::input(
                        ReasonCode::CliUnknownReviewStatus,
                        vec![("value", s.to_string())],
                    )
                })
            })
            .transpose()?,
        visible_to: None,
        limit: parse_limit(args.limit)?,
        after: None,
    })
}

/// Keeps only the reviews of workspaces `actor` belongs to (all, without an actor).
async fn visible(
    app: &App,
    rows: Vec<ReviewRow>,
    actor: Option<Uuid>,
) -> Result<Vec<ReviewRow>, CliError> {
    let Some(actor) = actor else { return Ok(rows) };
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let mut out = Vec::new();
    for r in rows {
        if runproof_projections::directory::is_member(&mut conn, r.state.workspace_id, actor)
            .await
            .map_err(|e| CliError::internal(&e))?
        {
            out.push(r);
        }
    }
    Ok(out)
}

/// Reviews matching `filter` (see [`parse_review_filter`]), newest draft first.
pub async fn list(app: &App, filter: &ReviewFilter, out: &Out) -> Result<(), CliError> {
    super::error::catch_up_for(
        app,
        runproof_projections::environment_reviews::NAME,
        out.lang,
    )
    .await?;
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let rows = environment_reviews::list(&mut conn, filter)
        .await
        .map_err(|e| CliError::internal(&e))?;
    drop(conn);
    if out.json {
        out.json(&rows.iter().map(ReviewView::of).collect::<Vec<_>>());
        return Ok(());
    }
    if rows.is_empty() {
        out.say(UiText::NoReviews, &[]);
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            out.t(UiText::LabelReview),
            out.t(UiText::LabelStatus),
            out.t(UiText::LabelEnvironment),
            out.t(UiText::LabelFingerprint),
            out.t(UiText::LabelComposedBy),
            out.t(UiText::LabelDrafted),
        ]);
    for r in &rows {
        let s = &r.state;
        let fingerprint: String = s.fingerprint.as_str().chars().take(19).collect();
        table.add_row(vec![
            s.id.to_string(),
            s.status.label(out.lang).to_string(),
            s.environment_id.to_string(),
            format!("{fingerprint}…"),
            s.run_id.to_string(),
            when(s.drafted_at),
        ]);
    }
    out.line(table);
    Ok(())
}

pub async fn show(app: &App, id: Uuid, actor: Option<Uuid>, out: &Out) -> Result<(), CliError> {
    super::error::catch_up_for(
        app,
        runproof_projections::environment_reviews::NAME,
        out.lang,
    )
    .await?;
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let row = environment_reviews::get(&mut conn, id)
        .await
        .map_err(|e| CliError::internal(&e))?;
    drop(conn);
    let not_found =
        || CliError::input(ReasonCode::ReviewNotFound, vec![("review", id.to_string())]);
    let row = row.ok_or_else(not_found)?;
    let row = visible(app, vec![row], actor)
        .await?
        .pop()
        .ok_or_else(not_found)?;
    if out.json {
        out.json(&ReviewView::of(&row));
        return Ok(());
    }
    let s = &row.state;
    let lang = out.lang;
    let field = |label: UiText, value: String| format!("  {:<20} {value}", label.text(lang));
    out.line(format!("{} {}", out.t(UiText::LabelReview), s.id));
    out.line(field(UiText::LabelStatus, s.status.label(lang).to_string()));
    out.line(field(UiText::LabelWorkspace, s.workspace_id.to_string()));
    out.line(field(
        UiText::LabelEnvironment,
        s.environment_id.to_string(),
    ));
    out.line(field(UiText::LabelFingerprint, s.fingerprint.to_string()));
    out.line(field(UiText::LabelSnapshot, s.snapshot_id.to_string()));
    out.line(field(UiText::LabelComposedBy, s.run_id.to_string()));
    out.line(field(UiText::LabelDrafted, when(s.drafted_at)));
    if let Some(t) = s.ready_at {
        out.line(field(UiText::LabelReady, when(t)));
    }
    if let Some(t) = s.published_at {
        out.line(field(UiText::LabelPublished, when(t)));
    }
    if let Some(by) = s.superseded_by {
        out.line(field(UiText::LabelSupersededBy, by.to_string()));
    }
    if let Some(reason) = s.failure {
        out.line(field(
            UiText::LabelWhy,
            format!("{} [{reason}]", reason.text(lang)),
        ));
    }
    if let Some(c) = &s.content {
        let totals: Vec<String> = c
            .by_severity
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.line(field(
            UiText::LabelFindings,
            format!("{} ({})", c.total_findings, totals.join(", ")),
        ));
        out.line("");
        out.line(out.t(UiText::HeadingSections));
        for section in &c.sections {
            let counts: Vec<String> = section
                .by_severity
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.line(format!(
                "  {:<24} {:>5}  {}",
                section.category,
                section.total,
                counts.join(", ")
            ));
        }
    }
    Ok(())
}

pub async fn publish(app: &App, id: Uuid, actor: Option<Uuid>, out: &Out) -> Result<(), CliError> {
    let published = app
        .reviews
        .publish(id, actor, &context(actor))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        let mut answer = serde_json::to_value(published).unwrap_or_default();
        if let Some(fields) = answer.as_object_mut() {
            fields.insert("lag".into(), lag::json(app.lag(), out));
        }
        out.json(&answer);
    } else {
        match published.superseded {
            Some(previous) => out.say(
                UiText::PublishedSuperseding,
                &[
                    ("review", &id.to_string()),
                    ("previous", &previous.to_string()),
                ],
            ),
            None => out.say(UiText::PublishedReview, &[("review", &id.to_string())]),
        }
    }
    Ok(())
}

pub async fn archive(app: &App, id: Uuid, actor: Option<Uuid>, out: &Out) -> Result<(), CliError> {
    app.reviews
        .archive(id, actor, &context(actor))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(
            &json!({ "review_id": id, "status": "archived", "lag": lag::json(app.lag(), out) }),
        );
    } else {
        out.say(UiText::ArchivedReview, &[("review", &id.to_string())]);
    }
    Ok(())
}

fn executed_line(run: Uuid, e: &Executed, out: &Out) -> String {
    let run_s = run.to_string();
    match e {
        Executed::Composed { review_id } => UiText::WorkerComposed.render(
            out.lang,
            &[("run", &run_s), ("review", &review_id.to_string())],
        ),
        Executed::DuplicateRecovered { review_id } => UiText::WorkerDuplicate.render(
            out.lang,
            &[("run", &run_s), ("review", &review_id.to_string())],
        ),
        Executed::Failed { review_id } => UiText::WorkerFailed.render(
            out.lang,
            &[("run", &run_s), ("review", &review_id.to_string())],
        ),
        Executed::Interrupted => UiText::WorkerInterrupted.render(out.lang, &[("run", &run_s)]),
        Executed::Unexecutable { reason } => UiText::WorkerUnexecutable.render(
            out.lang,
            &[
                ("run", &run_s),
                ("reason", &format!("{} [{reason}]", reason.text(out.lang))),
            ],
        ),
        Executed::LostRace { decided } => {
            let outcome = match decided {
                Some(reason) => format!("{} [{reason}]", reason.text(out.lang)),
                None => UiText::WorkerLeftForReconciler.text(out.lang),
            };
            UiText::WorkerLostRace.render(out.lang, &[("run", &run_s), ("outcome", &outcome)])
        }
    }
}

pub async fn worker(
    app: &App,
    once: bool,
    interval: u64,
    batch: usize,
    out: &Out,
) -> Result<(), CliError> {
    let worker = app.worker().with_batch(batch);
    if once {
        let done = worker
            .run_until_idle()
            .await
            .map_err(|e| CliError::internal(&e))?;
        if out.json {
            out.json(
                &done
                    .iter()
                    .map(|(run, e)| json!({ "run_id": run, "executed": e }))
                    .collect::<Vec<_>>(),
            );
            return Ok(());
        }
        for (run, e) in &done {
            out.line(executed_line(*run, e, out));
        }
        out.say(UiText::WorkerSummary, &[("count", &done.len().to_string())]);
        return Ok(());
    }
    let stop = super::shutdown_signal();
    out.say(
        UiText::WorkerWatching,
        &[("interval", &interval.to_string())],
    );
    worker
        .watch(Duration::from_secs(interval.max(1)), stop, |run, e| {
            out.line(executed_line(run, e, out))
        })
        .await;
    out.say(UiText::ReconcileStopped, &[]);
    Ok(())
}
