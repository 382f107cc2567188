//! `runproof runs list` and `runproof runs show`.

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use runproof_domain::operation_run::attention::needs_attention;
use runproof_domain::operation_run::{OperationRunEvent, RunOutcome, RunStatus};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::operation_runs::{self, RunFilter, RunRow};
use runproof_projections::LIST_LIMIT_MAX;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::explain::{self, when, Why};
use crate::lifecycle::RUN_AGGREGATE;

/// The JSON form of a run: the decision first, then everything recorded.
#[derive(Debug, Serialize)]
pub struct RunView {
    pub id: Uuid,
    pub run_type: &'static str,
    pub run_type_label: &'static str,
    pub status: &'static str,
    pub outcome: &'static str,
    pub why: Why,
    /// Failed, blocked, partially succeeded, or active past its stale threshold now.
    pub needs_attention: bool,
    pub workspace_id: Uuid,
    pub managed_environment_id: Option<Uuid>,
    pub initiator: String,
    pub identity_hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
    pub summary_counts: Value,
    pub failure_summary: Value,
    pub context: Value,
}

impl RunView {
    /// The document of one run, decision first: what `runs show --json` prints and
    /// `GET /api/v1/runs/{id}` answers.
    pub fn decision_first(&self) -> Value {
        let view = self;
        serde_json::json!({
            "decision": {
                "status": view.status,
                "outcome": view.outcome,
                "why": view.why,
                "needs_attention": view.needs_attention,
                "reconciliation": view.context.get("reconciliation"),
            },
            "diagnostics": {
                "id": view.id,
                "run_type": view.run_type,
                "run_type_label": view.run_type_label,
                "workspace_id": view.workspace_id,
                "managed_environment_id": view.managed_environment_id,
                "initiator": view.initiator,
                "identity_hash": view.identity_hash,
                "created_at": view.created_at,
                "started_at": view.started_at,
                "completed_at": view.completed_at,
                "updated_at": view.updated_at,
                "version": view.version,
                "summary_counts": view.summary_counts,
                "failure_summary": view.failure_summary,
            },
            "context": view.context,
        })
    }

    pub fn of(row: &RunRow, now: DateTime<Utc>, out: &Out) -> RunView {
        let s = &row.state;
        RunView {
            id: s.id,
            run_type: s.run_type.key(),
            run_type_label: s.run_type.label(out.lang),
            status: s.status.as_str(),
            outcome: s.outcome.as_str(),
            why: explain::why(s, out.lang),
            needs_attention: needs_attention(s, now),
            workspace_id: s.workspace_id,
            managed_environment_id: s.environment_id,
            initiator: s.initiator.to_string(),
            identity_hash: s.identity_hash.to_string(),
            created_at: s.created_at,
            started_at: s.started_at,
            completed_at: s.completed_at,
            updated_at: row.updated_at,
            version: row.version,
            summary_counts: serde_json::to_value(&s.summary).unwrap_or(Value::Null),
            failure_summary: serde_json::to_value(&s.failures).unwrap_or(Value::Null),
            context: row.context_column(),
        }
    }
}

/// Parses an id argument, with the operator's error on failure.
pub fn parse_id(value: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(value.trim()).map_err(|_| {
        CliError::input(
            ReasonCode::CliInvalidUuid,
            vec![("value", value.to_string())],
        )
    })
}

/// The list filters as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ListArgs<'a> {
    pub workspace: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub status: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub run_type: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub limit: i64,
}

/// Parses the list filters. "Needs attention" is evaluated when the list is read.
pub fn parse_filter(args: &ListArgs<'_>) -> Result<RunFilter, CliError> {
    Ok(RunFilter {
        workspace_id: args.workspace.map(parse_id).transpose()?,
        environment_id: args.environment.map(parse_id).transpose()?,
        status: args
            .status
            .map(|s| {
                s.parse::<RunStatus>().map_err(|_| {
                    CliError::input(ReasonCode::CliUnknownStatus, vec![("value", s.to_string())])
                })
            })
            .transpose()?,
        outcome: args
            .outcome
            .map(|o| {
                o.parse::<RunOutcome>().map_err(|_| {
                    CliError::input(
                        ReasonCode::CliUnknownOutcome,
                        vec![("value", o.to_string())],
                    )
                })
            })
            .transpose()?,
        run_type: args
            .run_type
            .map(|t| {
                t.parse::<RunType>().map_err(|_| {
                    CliError::input(ReasonCode::RunUnknownType, vec![("type", t.to_string())])
                })
            })
            .transpose()?,
        needs_attention_at: None,
        visible_to: args.actor.map(parse_id).transpose()?,
        limit: parse_limit(args.limit)?,
        ..RunFilter::default()
    })
}

/// A list's `--limit`: refused outside `1..=LIST_LIMIT_MAX` (a larger list is read with
/// narrower filters, not one huge page).
pub fn parse_limit(limit: i64) -> Result<i64, CliError> {
    if (1..=LIST_LIMIT_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(CliError::input(
            ReasonCode::CliLimitOutOfRange,
            vec![
                ("max", LIST_LIMIT_MAX.to_string()),
                ("value", limit.to_string()),
            ],
        ))
    }
}

/// With an actor: a run outside the actor's workspaces answers "not found".
pub async fn check_visible(
    app: &App,
    workspace_id: Uuid,
    run_id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), CliError> {
    let Some(actor) = actor else { return Ok(()) };
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let member = runproof_projections::directory::is_member(&mut conn, workspace_id, actor)
        .await
        .map_err(|e| CliError::internal(&e))?;
    if member {
        Ok(())
    } else {
        Err(CliError::input(
            ReasonCode::RunNotFound,
            vec![("run", run_id.to_string())],
        ))
    }
}

/// The workspace a run's stream was queued in (its first event).
pub fn queued_workspace(events: &[StoredEvent]) -> Option<Uuid> {
    events
        .first()
        .and_then(|e| match e.decode::<OperationRunEvent>() {
            Ok(OperationRunEvent::RunQueued(q)) => Some(q.workspace_id),
            _ => None,
        })
}

/// The answer for a run the view does not have: "not found" — unless its events are in
/// the log and the caller may see it, and the view just has not caught up: then that,
/// and what holds it back.
async fn not_in_view(app: &App, id: Uuid, actor: Option<Uuid>, out: &Out) -> CliError {
    let not_found = || CliError::input(ReasonCode::RunNotFound, vec![("run", id.to_string())]);
    let mut conn = match app.pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return CliError::internal(&e),
    };
    let events = match log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string()).await {
        Ok(events) => events,
        Err(e) => return CliError::internal(&e),
    };
    let (Some(first), Some(workspace)) = (events.first(), queued_workspace(&events)) else {
        return not_found();
    };
    if let Err(e) = check_visible(app, workspace, id, actor).await {
        return e;
    }
    let holder = match log::oldest_transaction(&mut conn).await {
        Ok(oldest) => oldest.filter(|o| o.holds_back(first.at)).map(|o| o.holder),
        Err(e) => return CliError::internal(&e),
    };
    CliError::environment_state(
        ReasonCode::RunNotYetVisible,
        vec![
            ("run", id.to_string()),
            ("cause", super::lag::cause_text(holder.as_ref(), out)),
        ],
    )
}

/// Lists runs; with `needs_attention`, only those that need attention now.
pub async fn list(
    app: &App,
    mut filter: RunFilter,
    needs_attention: bool,
    out: &Out,
) -> Result<(), CliError> {
    let now = app.clock.now();
    filter.needs_attention_at = needs_attention.then_some(now);
    super::error::catch_up_for(app, runproof_projections::operation_runs::NAME, out.lang).await?;
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let rows = operation_runs::list(&mut conn, &filter)
        .await
        .map_err(|e| CliError::internal(&e))?;
    render_list(&rows, now, out);
    Ok(())
}

/// Prints a list of runs (`--json`: their views, needs-attention judged at `now`).
pub fn render_list(rows: &[RunRow], now: DateTime<Utc>, out: &Out) {
    if out.json {
        let views: Vec<RunView> = rows.iter().map(|r| RunView::of(r, now, out)).collect();
        out.json(&views);
        return;
    }
    if rows.is_empty() {
        out.say(UiText::NoRuns, &[]);
        return;
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            out.t(UiText::LabelRun),
            out.t(UiText::LabelType),
            out.t(UiText::LabelStatus),
            out.t(UiText::LabelOutcome),
            out.t(UiText::LabelWorkspace),
            out.t(UiText::LabelCreated),
            out.t(UiText::LabelWhy),
        ]);
    for r in rows {
        let s = &r.state;
        table.add_row(vec![
            s.id.to_string(),
            s.run_type.key().to_string(),
            s.status.label(out.lang).to_string(),
            s.outcome.label(out.lang).to_string(),
            s.workspace_id.to_string(),
            when(s.created_at),
            explain::why(s, out.lang).text,
        ]);
    }
    out.line(table);
    out.say(UiText::RunsShown, &[("count", &rows.len().to_string())]);
}

pub async fn show(app: &App, id: Uuid, actor: Option<Uuid>, out: &Out) -> Result<(), CliError> {
    super::error::catch_up_for(app, runproof_projections::operation_runs::NAME, out.lang).await?;
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let row = operation_runs::get(&mut conn, id)
        .await
        .map_err(|e| CliError::internal(&e))?;
    drop(conn);
    let Some(row) = row else {
        return Err(not_in_view(app, id, actor, out).await);
    };
    check_visible(app, row.state.workspace_id, id, actor).await?;
    let view = RunView::of(&row, app.clock.now(), out);
    if out.json {
        out.json(&view.decision_first());
        return Ok(());
    }
    render_show(&row, &view, out);
    Ok(())
}

/// Prints one run, decision first (the text form of `runs show`).
pub fn render_show(row: &RunRow, view: &RunView, out: &Out) {
    let s = &row.state;
    let lang = out.lang;
    let field = |label: UiText, value: String| format!("  {:<18} {value}", label.text(lang));
    out.line(format!(
        "{} {} — {}",
        out.t(UiText::LabelRun),
        s.id,
        s.run_type.label(lang)
    ));
    out.line("");
    out.line(out.t(UiText::HeadingDecision));
    out.line(field(UiText::LabelStatus, s.status.label(lang).to_string()));
    out.line(field(
        UiText::LabelOutcome,
        s.outcome.label(lang).to_string(),
    ));
    out.line(field(UiText::LabelWhy, view.why.text.clone()));
    if let Some(r) = &s.reconciliation {
        let by = match &r.adapter {
            Some(a) => UiText::ByAdapter.render(lang, &[("adapter", &a.to_string())]),
            None => UiText::ByStale.text(lang),
        };
        out.line(field(
            UiText::LabelDecidedBy,
            format!("{by}, {}", when(r.decided_at)),
        ));
        out.line(field(
            UiText::HeadingEvidence,
            serde_json::to_string(&r.evidence).unwrap_or_default(),
        ));
    }
    out.line("");
    out.line(out.t(UiText::HeadingDiagnostics));
    out.line(field(UiText::LabelType, s.run_type.key().to_string()));
    out.line(field(UiText::LabelWorkspace, s.workspace_id.to_string()));
    out.line(field(
        UiText::LabelEnvironment,
        s.environment_id
            .map(|e| e.to_string())
            .unwrap_or_else(|| out.t(UiText::LabelNone)),
    ));
    out.line(field(UiText::LabelInitiator, s.initiator.to_string()));
    out.line(field(UiText::LabelIdentity, s.identity_hash.to_string()));
    out.line(field(UiText::LabelCreated, when(s.created_at)));
    if let Some(t) = s.started_at {
        out.line(field(UiText::LabelStarted, when(t)));
    }
    if let Some(t) = s.completed_at {
        out.line(field(UiText::LabelCompleted, when(t)));
    }
    out.line(field(UiText::LabelUpdated, when(row.updated_at)));
    out.line(field(UiText::LabelVersion, row.version.to_string()));
    if !s.summary.is_empty() {
        let counts: Vec<String> = s.summary.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.line(field(UiText::LabelSummary, counts.join(", ")));
    }
    for f in &s.failures {
        let mut text = format!("{} — {}", f.reason_code, f.reason_code.text(lang));
        if let Some(m) = &f.message {
            text.push_str(&format!(" ({m})"));
        }
        out.line(field(UiText::LabelFailures, text));
    }
    out.line("");
    out.line(out.t(UiText::HeadingContext));
    let raw = serde_json::to_string_pretty(&view.context).unwrap_or_default();
    for line in raw.lines() {
        out.line(format!("  {line}"));
    }
}
