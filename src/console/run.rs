//! `/runs/{id}`: one run, decision first — what was decided, why, by whom (its job, an
//! adapter `name@version`, or the stale path) and when — then the evidence the decision
//! was made on as a table, then the diagnostics, then the raw context folded away, and
//! last the run's history as a timeline (`#event-N` anchors, each with an "as of here"
//! link). The same `RunView` and history document as `runs show` and `history`, so the
//! page and the CLI agree.
//!
//! `/runs/{id}?at=POINT` is the run as the log stood at that point (a log position — what
//! the "as of here" links carry — or a time, as `runs show --at` takes them; see
//! [`crate::point_in_time`]): a banner naming the point with a link back to now, the
//! decision then, what the run's event at that point changed, the evidence and
//! diagnostics then, and the history up to there. A point that cannot be shown (not a
//! point, beyond the log, in the future) is a 400 page with its reason.
//!
//! A run outside the operator's scope — and, as of a point, a run that had no event by
//! then — is the not-found page of an id that exists nowhere. Scope is the API's rule for
//! runs (`scope::sees_runs_of`): a platform operator opens every run, also one of a
//! workspace the directory does not know. A run the log records but the views do not
//! show yet is the "not yet visible" page (503), for an operator who may see it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use runproof_domain::operation_run::RunStatus;
use runproof_domain::reconciliation::ReconciliationSource;
use runproof_projections::directory;
use uuid::Uuid;

use super::auth::SignedIn;
use super::changes::{self, Change};
use super::evidence::{self, short, Fact, Names};
use super::page::{render, Chrome, Message, Nav, PageError};
use super::scope::{self, internal, run_not_found};
use super::text::ConsoleText;
use super::time;
use super::timeline::{self, Entry, Linked};
use crate::cli::out::Out;
use crate::cli::runs::RunView;
use crate::cli::text::UiText;
use crate::explain::decision_label;
use crate::history::{self, History, StreamKind};
use crate::http::ApiState;
use crate::point_in_time::{self, AsOf, AsOfError, Cut};
use runproof_projections::operation_runs::RunRow;

/// A named page (workspace, environment): its name and a link to it when the directory
/// knows it; else the start of its id, not linked — there is no page for it (a run's
/// workspace need not be in the directory: the operator's system view shows such runs).
pub struct Named {
    pub text: String,
    pub href: Option<String>,
    pub id: String,
}

impl Named {
    pub fn of(id: Uuid, name: Option<&String>, path: &str) -> Named {
        Named {
            text: name.cloned().unwrap_or_else(|| short(id)),
            href: name.map(|_| format!("{path}/{id}")),
            id: id.to_string(),
        }
    }
}

/// What the reconciler would decide now (for an active run).
struct Explained {
    sentence: String,
    evidence: Vec<Fact>,
}

/// The run as of an earlier point: the banner, and what the run's event there changed.
struct AsOfPart {
    /// "As of log position N (recorded T)."
    banner: String,
    back: String,
    /// The run's event at the point: its number in the stream and its type.
    event: Option<(i64, String)>,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "console/run.html")]
struct RunPage {
    c: Chrome,
    as_of: Option<AsOfPart>,
    short_id: String,
    type_label: &'static str,
    workspace: Named,
    environment: Option<Named>,
    status: &'static str,
    status_label: &'static str,
    outcome: &'static str,
    outcome_label: &'static str,
    attention: bool,
    why: String,
    why_code: Option<String>,
    decided_by: String,
    decision: Option<String>,
    decided_at: Option<(String, String)>,
    reconciled: bool,
    evidence: Vec<Fact>,
    explained: Option<Explained>,
    diagnostics: Vec<Fact>,
    failures: Vec<String>,
    context: String,
    timeline: Vec<Entry>,
    reviews: Vec<Linked>,
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

/// The run page's query: `at` (besides `lang`, which the layer reads); anything else is
/// refused, as on every page.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunQuery {
    #[allow(dead_code)]
    lang: Option<String>,
    at: Option<String>,
}

/// A point the page cannot show: the 400 page with its reason.
fn refused(e: AsOfError) -> PageError {
    match e.refusal() {
        Some((reason, args)) => PageError::BadRequest(Message::Reason(reason, args)),
        None => internal(e),
    }
}

/// The run page, now or as of a point (`?at=`).
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = scope::id(&raw, run_not_found())?;
    let query: RunQuery = scope::parameters(&me.uri)?;
    let now = s.app.clock.now();
    let Some(at) = query.at else {
        let Some(row) = scope::run_row(&s, id).await? else {
            return Err(scope::run_not_shown(&s, &me.caller, id).await);
        };
        if !scope::sees_runs_of(&s, &me.caller, row.state.workspace_id).await? {
            return Err(run_not_found());
        }
        let found = history::load(&s.app.pool, id, Some(StreamKind::Run))
            .await
            .map_err(internal)?;
        return assemble(&s, &me, id, &row, found, now, None).await;
    };
    // The point first: whether it can be shown does not depend on the run.
    let asked: AsOf = at.parse().map_err(refused)?;
    let cut = point_in_time::resolve(&s.app.pool, asked, now)
        .await
        .map_err(refused)?;
    let run = point_in_time::run(&s.app.pool, id, &cut)
        .await
        .map_err(internal)?
        .ok_or_else(run_not_found)?;
    if !scope::sees_runs_of(&s, &me.caller, run.row.state.workspace_id).await? {
        return Err(run_not_found());
    }
    let found = history::load_upto(&s.app.pool, id, Some(StreamKind::Run), Some(cut.last))
        .await
        .map_err(internal)?;
    // The run's own event at the point (its last one by then).
    let last = run.events.last().map(|e| e.at.position).unwrap_or_default();
    let around = run.around(last).map_err(internal)?;
    let part = AsOfFound {
        cut,
        event: run
            .events
            .last()
            .map(|e| (e.sequence, e.event_type.clone(), e.at.position)),
        around,
    };
    assemble(&s, &me, id, &run.row, found, now, Some(part)).await
}

/// What [`page`] found for an "as of" page.
struct AsOfFound {
    cut: Cut,
    /// The run's event at the point: number in the stream, type, position.
    event: Option<(i64, String, i64)>,
    /// The run right before and right after that event.
    around: Option<(Option<RunRow>, RunRow)>,
}

/// Builds the page from the run's row (now, or folded as of a point) and its history.
async fn assemble(
    s: &ApiState,
    me: &SignedIn,
    id: Uuid,
    row: &RunRow,
    found: Option<History>,
    now: chrono::DateTime<chrono::Utc>,
    as_of: Option<AsOfFound>,
) -> Result<Response, PageError> {
    let lang = me.lang;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let run = &row.state;

    let mut names = Names::default();
    if let Some(w) = directory::workspace(&mut conn, run.workspace_id)
        .await
        .map_err(internal)?
    {
        names.workspaces.insert(w.state.id, w.state.name);
    }
    if let Some(e) = run.environment_id {
        if let Some(env) = directory::environment(&mut conn, e)
            .await
            .map_err(internal)?
        {
            names.environments.insert(env.state.id, env.state.name);
        }
    }
    let actors: HashMap<Uuid, String> = match &found {
        Some(h) => directory::actor_names(&mut conn, &timeline::actors_of(h))
            .await
            .map_err(internal)?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    };
    drop(conn);

    let out = Out { json: false, lang };
    // As of a point, "needs attention" is judged at the point's time.
    let judged_at = as_of.as_ref().map_or(now, |a| a.cut.judged_at(now));
    let view = RunView::of(row, judged_at, &out);

    // Who decided, and when.
    let (decided_by, decision, decided_at, evidence) = match &run.reconciliation {
        Some(r) => (
            match (&r.source, &r.adapter) {
                (ReconciliationSource::Adapter, Some(a)) => {
                    UiText::ByAdapter.render(lang, &[("adapter", &a.to_string())])
                }
                _ => UiText::ByStale.text(lang),
            },
            Some(decision_label(r.source, r.decision, lang)),
            Some((time::exact(r.decided_at), time::machine(r.decided_at))),
            evidence::facts(&r.evidence, &names, lang),
        ),
        None if run.status == RunStatus::Completed => (
            ConsoleText::DecidedByJob.text(lang),
            None,
            run.completed_at.map(|t| (time::exact(t), time::machine(t))),
            Vec::new(),
        ),
        None => (
            ConsoleText::NotDecidedYet.text(lang),
            None,
            None,
            Vec::new(),
        ),
    };

    // For an active run: what a pass would decide now (records nothing). A failure here
    // costs the section, not the page. Not on a page as of an earlier point: it is about
    // now.
    let explained = if run.status.is_active() && as_of.is_none() {
        match crate::reconciliation::reconciler(&s.app) {
            Ok(reconciler) => match reconciler.explain(id, now).await {
                Ok(Some((_, Some(e)))) => Some(Explained {
                    sentence: crate::cli::reconcile::evaluation_text(&e, &out),
                    evidence: evidence::facts(e.decision.evidence(), &names, lang),
                }),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, run = %id, "the run page could not ask the reconciler");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "the run page could not build the reconciler");
                None
            }
        }
    } else {
        None
    };

    let mut diagnostics = vec![
        fact(UiText::LabelRun.text(lang), run.id.to_string()),
        fact(UiText::LabelType.text(lang), run.run_type.key().to_string()),
        fact(UiText::LabelInitiator.text(lang), view.initiator.clone()),
        fact(UiText::LabelIdentity.text(lang), view.identity_hash.clone()),
        time_fact(UiText::LabelCreated.text(lang), run.created_at),
    ];
    if let Some(t) = run.started_at {
        diagnostics.push(time_fact(UiText::LabelStarted.text(lang), t));
    }
    if let Some(t) = run.completed_at {
        diagnostics.push(time_fact(UiText::LabelCompleted.text(lang), t));
    }
    diagnostics.push(time_fact(UiText::LabelUpdated.text(lang), row.updated_at));
    diagnostics.push(fact(
        UiText::LabelVersion.text(lang),
        row.version.to_string(),
    ));
    if !run.summary.is_empty() {
        let counts: Vec<String> = run
            .summary
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        diagnostics.push(fact(UiText::LabelSummary.text(lang), counts.join(", ")));
    }
    let failures = run
        .failures
        .iter()
        .map(|f| {
            let mut text = format!("{} [{}]", f.reason_code.text(lang), f.reason_code);
            if let Some(m) = &f.message {
                text.push_str(&format!(" — {m}"));
            }
            text
        })
        .collect();

    let (mut timeline, reviews) = match &found {
        Some(h) => (
            timeline::entries(h, &names, &actors, lang),
            timeline::linked(h, StreamKind::Review),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let current = as_of.as_ref().and_then(|a| a.event.as_ref().map(|e| e.2));
    timeline::with_as_of_links(&mut timeline, id, current);
    let as_of = as_of.map(|a| AsOfPart {
        banner: a.cut.describe(lang),
        back: format!("/runs/{id}"),
        event: a.event.map(|(n, event_type, _)| (n, event_type)),
        changes: a.around.map_or_else(Vec::new, |(before, after)| {
            changes::rows(
                before.as_ref().map(|b| &b.state),
                &after.state,
                &names,
                lang,
            )
        }),
    });
    let short_id = short(id);
    let title = ConsoleText::RunTitle.render(lang, &[("id", &short_id)]);
    render(&RunPage {
        c: me.chrome(Nav::None, title),
        as_of,
        short_id,
        type_label: run.run_type.label(lang),
        workspace: Named::of(
            run.workspace_id,
            names.workspaces.get(&run.workspace_id),
            "/workspaces",
        ),
        environment: run
            .environment_id
            .map(|e| Named::of(e, names.environments.get(&e), "/environments")),
        status: run.status.as_str(),
        status_label: run.status.label(lang),
        outcome: run.outcome.as_str(),
        outcome_label: run.outcome.label(lang),
        attention: view.needs_attention,
        why: view.why.text.clone(),
        why_code: view.why.code.map(|c| c.to_string()),
        decided_by,
        decision,
        decided_at,
        reconciled: run.reconciliation.is_some(),
        evidence,
        explained,
        diagnostics,
        failures,
        context: serde_json::to_string_pretty(&view.context).unwrap_or_default(),
        timeline,
        reviews,
    })
}
