//! `/runs`: the runs the operator may see, decision first, newest first, filtered and
//! paged by keyset ("older" / "newer", never OFFSET). The whole view — every filter, the
//! page, live or paused — is in the address, so the back button and a shared link
//! restore it. While live, htmx re-reads the same address every 5 seconds and swaps in
//! only the list (the filters, the page and the scroll position stay as they are).
//!
//! - [`view`]: the address's parameters, checked, as the list's filter and the view.
//! - [`paging`]: keyset pages in both directions.

pub mod paging;
pub mod view;

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, Utc};
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::run_type::RunType;
use runproof_projections::directory;
use runproof_projections::operation_runs::RunRow;
use uuid::Uuid;

use self::paging::Start;
use self::view::{RunsQuery, Scope};
use super::auth::{is_htmx, SignedIn};
use super::page::{render, replace_param, Chrome, Nav, PageError};
use super::text::ConsoleText;
use super::time;
use crate::cli::out::Out;
use crate::cli::runs::RunView;
use crate::http::ApiState;

/// One option of a filter's list.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The environments of one workspace, for the environment filter.
struct EnvironmentGroup {
    workspace: String,
    options: Vec<Choice>,
}

/// A workspace's or environment's name; for one the directory does not know (yet),
/// the start of its id, with the whole id beside it.
pub(crate) struct Name {
    pub(crate) text: String,
    pub(crate) id: Option<String>,
}

impl Name {
    pub(crate) fn of(id: Uuid, names: &HashMap<Uuid, String>) -> Name {
        match names.get(&id) {
            Some(name) => Name {
                text: name.clone(),
                id: None,
            },
            None => Name {
                text: id.simple().to_string()[..8].to_string(),
                id: Some(id.to_string()),
            },
        }
    }
}

/// One run's line: the decision first.
pub(crate) struct Line {
    pub(crate) href: String,
    pub(crate) short_id: String,
    pub(crate) status: &'static str,
    pub(crate) status_label: &'static str,
    pub(crate) outcome: &'static str,
    pub(crate) outcome_label: &'static str,
    pub(crate) why: String,
    pub(crate) attention: bool,
    pub(crate) type_label: &'static str,
    pub(crate) workspace: Name,
    pub(crate) environment: Option<Name>,
    pub(crate) queued: String,
    pub(crate) queued_exact: String,
    pub(crate) queued_machine: String,
}

/// The part of the page live refresh replaces.
struct Region {
    /// The address htmx re-reads while live (this view, this page).
    refresh: String,
    live: bool,
    pause: String,
    resume: String,
    lines: Vec<Line>,
    older: Option<String>,
    newer: Option<String>,
    newest: Option<String>,
    /// The page was reached by a cursor and is empty now.
    page_empty: bool,
    count: String,
}

#[derive(Template)]
#[template(path = "console/runs.html")]
struct RunsPage {
    c: Chrome,
    r: Region,
    workspaces: Vec<Choice>,
    environments: Vec<EnvironmentGroup>,
    types: Vec<Choice>,
    statuses: Vec<Choice>,
    outcomes: Vec<Choice>,
    attention: bool,
    from: String,
    to: String,
    limit: String,
    live: bool,
}

#[derive(Template)]
#[template(path = "console/runs_fragment.html")]
struct RunsFragment {
    c: Chrome,
    r: Region,
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    selected: &str,
) -> Vec<Choice> {
    all.iter()
        .map(|t| Choice {
            value: value(*t).to_string(),
            label: label(*t).to_string(),
            selected: value(*t) == selected,
        })
        .collect()
}

/// The runs page, or — for htmx's live refresh (`HX-Request`) — only its list.
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let q = RunsQuery::parse(me.uri.query())?;
    let lang = me.lang;
    let now = s.app.clock.now();
    let internal = |e: sqlx::Error| PageError::internal(&e);
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;

    // What the operator sees: the names for the filters and the lines.
    let workspaces = directory::workspaces(&mut conn, me.caller.visible_to())
        .await
        .map_err(internal)?;
    let ids: Vec<Uuid> = workspaces.iter().map(|w| w.state.id).collect();
    let environments = directory::environments_of(&mut conn, &ids)
        .await
        .map_err(internal)?;
    let scope = Scope {
        workspaces: workspaces
            .iter()
            .map(|w| (w.state.id, w.state.name.clone()))
            .collect(),
        environments: environments
            .iter()
            .map(|e| (e.state.id, e.state.name.clone()))
            .collect(),
    };

    let asked = view::read(&q, &scope, &me.caller, now)?;
    let page = paging::read(&mut conn, &asked.filter, asked.start, asked.limit)
        .await
        .map_err(internal)?;
    drop(conn);

    let view = &asked.view;
    let out = Out { json: false, lang };
    let on_cursor = asked.start != Start::Top;
    let region = Region {
        refresh: replace_param(&me.uri, "lang", None),
        pause: replace_param(&me.uri, "live", Some("0")),
        resume: replace_param(&me.uri, "live", None),
        live: view.live,
        older: page.older().map(|k| view.link(Start::After(k))),
        newer: page.newer().map(|k| view.link(Start::Before(k))),
        newest: on_cursor.then(|| view.link(Start::Top)),
        page_empty: on_cursor && page.rows.is_empty(),
        count: ConsoleText::RunsOnPage.render(lang, &[("count", &page.rows.len().to_string())]),
        lines: page
            .rows
            .iter()
            .map(|row| line(row, now, &out, &scope))
            .collect(),
    };
    let c = me.chrome(Nav::Runs, ConsoleText::NavRuns.text(lang));
    let mut response = if is_htmx(&headers) {
        render(&RunsFragment { c, r: region })?
    } else {
        let selected = |id: Uuid, chosen: Option<Uuid>| Some(id) == chosen;
        render(&RunsPage {
            workspaces: workspaces
                .iter()
                .map(|w| Choice {
                    value: w.state.id.to_string(),
                    label: w.state.name.clone(),
                    selected: selected(w.state.id, asked.filter.workspace_id),
                })
                .collect(),
            environments: workspaces
                .iter()
                .map(|w| EnvironmentGroup {
                    workspace: w.state.name.clone(),
                    options: environments
                        .iter()
                        .filter(|e| e.state.workspace_id == w.state.id)
                        .map(|e| Choice {
                            value: e.state.id.to_string(),
                            label: e.state.name.clone(),
                            selected: selected(e.state.id, asked.filter.environment_id),
                        })
                        .collect(),
                })
                .filter(|g| !g.options.is_empty())
                .collect(),
            types: choices(
                &RunType::ALL,
                RunType::key,
                |t| t.label(lang),
                &view.run_type,
            ),
            statuses: choices(
                &RunStatus::ALL,
                RunStatus::as_str,
                |t| t.label(lang),
                &view.status,
            ),
            outcomes: choices(
                &RunOutcome::ALL,
                RunOutcome::as_str,
                |t| t.label(lang),
                &view.outcome,
            ),
            attention: view.attention,
            from: view.from.clone(),
            to: view.to.clone(),
            limit: view.limit.clone(),
            live: view.live,
            c,
            r: region,
        })?
    };
    // The same address answers a page or a list: caches must tell them apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("HX-Request"));
    Ok(response)
}

/// A run's line, decision first (the runs list's, and the environment page's).
pub(crate) fn line(row: &RunRow, now: DateTime<Utc>, out: &Out, scope: &Scope) -> Line {
    let s = &row.state;
    let view = RunView::of(row, now, out);
    let lang = out.lang;
    Line {
        href: format!("/runs/{}", s.id),
        short_id: s.id.simple().to_string()[..8].to_string(),
        status: s.status.as_str(),
        status_label: s.status.label(lang),
        outcome: s.outcome.as_str(),
        outcome_label: s.outcome.label(lang),
        why: view.why.text,
        attention: view.needs_attention,
        type_label: view.run_type_label,
        workspace: Name::of(s.workspace_id, &scope.workspaces),
        environment: s.environment_id.map(|e| Name::of(e, &scope.environments)),
        queued: time::relative(s.created_at, now, lang),
        queued_exact: time::exact(s.created_at),
        queued_machine: time::machine(s.created_at),
    }
}
