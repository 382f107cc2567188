//! `/runs`: the runs the operator may see, decision first, newest first, filtered and
//! paged by keyset ("older" / "newer", never OFFSET). The whole view — every filter, the
//! page, live or paused — is in the address, so the back button and a shared link
//! restore it. While live, htmx re-reads the same address every 5 seconds and swaps in
//! only the list (the filters, the page and the scroll position stay as they are).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::run_type::RunType;
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::directory;
use runproof_projections::operation_runs::{self, RunFilter, RunRow};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::{is_htmx, SignedIn};
use super::page::{link, render, replace_param, Chrome, Message, Nav, PageError};
use super::text::ConsoleText;
use super::time;
use crate::cli::out::Out;
use crate::cli::runs::{parse_filter, ListArgs, RunView};
use crate::http::api::cursor;
use crate::http::ApiState;

/// Runs on a page unless the address asks otherwise.
pub const PAGE: i64 = 50;
/// The most runs one page shows.
pub const PAGE_MAX: i64 = 200;

/// The address's parameters. Unknown ones are refused (a parameter someone believes
/// filters must never be silently ignored); empty ones are unset (a form's blank field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    workspace: Option<String>,
    environment: Option<String>,
    #[serde(rename = "type")]
    run_type: Option<String>,
    status: Option<String>,
    outcome: Option<String>,
    /// `1`: only runs that need attention now.
    attention: Option<String>,
    /// Queued at or after (UTC).
    from: Option<String>,
    /// Queued before (UTC).
    to: Option<String>,
    /// The page after (older than) this cursor.
    after: Option<String>,
    /// The page before (newer than) this cursor.
    before: Option<String>,
    limit: Option<String>,
    /// `0`: live refresh paused.
    live: Option<String>,
    /// The language (the console's layer reads it).
    #[allow(dead_code)]
    lang: Option<String>,
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn bad(text: ConsoleText, args: Vec<(&'static str, String)>) -> PageError {
    PageError::BadRequest(Message::Console(text, args))
}

/// A time filter: `YYYY-MM-DD` (midnight), `YYYY-MM-DDTHH:MM[:SS]` (what a browser's
/// date-time field sends), or RFC 3339; UTC unless the value names its offset.
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A time as a date-time field shows it.
fn field_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// The view the address asks for, checked, in the form links are built from.
#[derive(Debug, Clone, Default)]
struct View {
    workspace: String,
    environment: String,
    run_type: String,
    status: String,
    outcome: String,
    attention: bool,
    from: String,
    to: String,
    limit: String,
    live: bool,
}

impl View {
    /// The filters as link parameters (not the page: a new filter starts at the top).
    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("workspace", self.workspace.clone()),
            ("environment", self.environment.clone()),
            ("type", self.run_type.clone()),
            ("status", self.status.clone()),
            ("outcome", self.outcome.clone()),
            ("attention", if self.attention { "1" } else { "" }.into()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("limit", self.limit.clone()),
            ("live", if self.live { "" } else { "0" }.into()),
        ]
    }

    fn link(&self, extra: Option<(&'static str, String)>) -> String {
        let mut params = self.params();
        params.extend(extra);
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        link("/runs", &borrowed)
    }
}

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

/// Reads the address's query, refusing unknown parameters.
fn query(me: &SignedIn) -> Result<RunsQuery, PageError> {
    serde_urlencoded::from_str(me.uri.query().unwrap_or(""))
        .map_err(|_| bad(ConsoleText::BadParameter, vec![]))
}

/// Whether any run matches `filter` beyond the page (one row is enough).
async fn any(conn: &mut sqlx::PgConnection, filter: &RunFilter) -> Result<bool, PageError> {
    let probe = RunFilter {
        limit: 1,
        ..filter.clone()
    };
    operation_runs::list(conn, &probe)
        .await
        .map(|rows| !rows.is_empty())
        .map_err(|e| PageError::internal(&e))
}

fn key(row: &RunRow) -> (DateTime<Utc>, Uuid) {
    (row.state.created_at, row.state.id)
}

/// The runs page, or — for htmx's live refresh (`HX-Request`) — only its list.
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let q = query(&me)?;
    let lang = me.lang;
    let now = s.app.clock.now();
    let mut conn = s
        .app
        .pool
        .acquire()
        .await
        .map_err(|e| PageError::internal(&e))?;

    // What the operator sees: names for the filters and the lines.
    let workspaces = directory::workspaces(&mut conn, me.caller.visible_to())
        .await
        .map_err(|e| PageError::internal(&e))?;
    let ids: Vec<Uuid> = workspaces.iter().map(|w| w.state.id).collect();
    let environments = directory::environments_of(&mut conn, &ids)
        .await
        .map_err(|e| PageError::internal(&e))?;
    let workspace_names: HashMap<Uuid, String> = workspaces
        .iter()
        .map(|w| (w.state.id, w.state.name.clone()))
        .collect();
    let environment_names: HashMap<Uuid, String> = environments
        .iter()
        .map(|e| (e.state.id, e.state.name.clone()))
        .collect();

    // The filters. A workspace or environment outside the operator's scope is the very
    // page an id that exists nowhere gets.
    let workspace_id = set(&q.workspace)
        .map(|w| {
            Uuid::parse_str(w)
                .ok()
                .filter(|id| workspace_names.contains_key(id))
                .ok_or(PageError::not_found(
                    ReasonCode::WorkspaceNotFound,
                    "workspace",
                ))
        })
        .transpose()?;
    let environment_id = set(&q.environment)
        .map(|e| {
            Uuid::parse_str(e)
                .ok()
                .filter(|id| environment_names.contains_key(id))
                .ok_or(PageError::not_found(
                    ReasonCode::EnvironmentNotFound,
                    "environment",
                ))
        })
        .transpose()?;
    let limit = match set(&q.limit) {
        None => PAGE,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| {
                bad(
                    ConsoleText::BadLimit,
                    vec![("max", PAGE_MAX.to_string()), ("value", v.to_string())],
                )
            })?,
    };
    let mut filter = parse_filter(&ListArgs {
        status: set(&q.status),
        outcome: set(&q.outcome),
        run_type: set(&q.run_type),
        limit,
        ..ListArgs::default()
    })
    .map_err(|e| PageError::BadRequest(Message::Reason(e.reason, e.args)))?;
    let time = |v: &Option<String>| {
        set(v)
            .map(|t| {
                parse_time(t).ok_or_else(|| bad(ConsoleText::BadTime, vec![("value", t.into())]))
            })
            .transpose()
    };
    let attention = set(&q.attention).is_some_and(|v| v != "0");
    filter.workspace_id = workspace_id;
    filter.environment_id = environment_id;
    filter.visible_to = me.caller.visible_to();
    filter.needs_attention_at = attention.then_some(now);
    filter.created_from = time(&q.from)?;
    filter.created_to = time(&q.to)?;
    let cursor_of = |v: &Option<String>| {
        set(v)
            .map(|c| cursor::decode(c).map_err(|_| bad(ConsoleText::BadCursor, vec![])))
            .transpose()
    };
    let (after, before) = (cursor_of(&q.after)?, cursor_of(&q.before)?);
    if after.is_some() && before.is_some() {
        return Err(bad(ConsoleText::BadCursor, vec![]));
    }

    let view = View {
        workspace: workspace_id.map(|i| i.to_string()).unwrap_or_default(),
        environment: environment_id.map(|i| i.to_string()).unwrap_or_default(),
        run_type: filter
            .run_type
            .map(|t| t.key().to_string())
            .unwrap_or_default(),
        status: filter
            .status
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        outcome: filter
            .outcome
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        attention,
        from: filter.created_from.map(field_time).unwrap_or_default(),
        to: filter.created_to.map(field_time).unwrap_or_default(),
        limit: if limit == PAGE {
            String::new()
        } else {
            limit.to_string()
        },
        live: set(&q.live) != Some("0"),
    };

    // One page, one row more than shown in the direction of travel (is there a page
    // beyond?), and one probe the other way.
    let page_filter = RunFilter {
        limit: limit + 1,
        after,
        before,
        ..filter.clone()
    };
    let mut rows = operation_runs::list(&mut conn, &page_filter)
        .await
        .map_err(|e| PageError::internal(&e))?;
    let beyond = rows.len() as i64 > limit;
    if beyond {
        if before.is_some() {
            rows.remove(0);
        } else {
            rows.truncate(limit as usize);
        }
    }
    let probe = |side: &str, row: Option<&RunRow>| {
        let mut f = filter.clone();
        match (side, row) {
            ("newer", Some(r)) => f.before = Some(key(r)),
            ("older", Some(r)) => f.after = Some(key(r)),
            _ => return None,
        }
        Some(f)
    };
    let (has_older, has_newer) = match (after.is_some(), before.is_some()) {
        (false, false) => (beyond, false),
        (true, _) => {
            let newer = match probe("newer", rows.first()) {
                Some(f) => any(&mut conn, &f).await?,
                None => false,
            };
            (beyond, newer)
        }
        (false, true) => {
            let older = match probe("older", rows.last()) {
                Some(f) => any(&mut conn, &f).await?,
                None => false,
            };
            (older, beyond)
        }
    };
    drop(conn);

    let out = Out { json: false, lang };
    let lines = rows
        .iter()
        .map(|row| line(row, now, &out, &workspace_names, &environment_names))
        .collect::<Vec<_>>();
    let on_cursor = after.is_some() || before.is_some();
    let cursor_param = |k: &'static str, r: &RunRow| {
        let (at, id) = key(r);
        Some((k, cursor::encode(at, id)))
    };
    let refresh = replace_param(&me.uri, "lang", None);
    let region = Region {
        pause: replace_param(&me.uri, "live", Some("0")),
        resume: replace_param(&me.uri, "live", None),
        live: view.live,
        older: has_older
            .then(|| rows.last().map(|r| view.link(cursor_param("after", r))))
            .flatten(),
        newer: has_newer
            .then(|| rows.first().map(|r| view.link(cursor_param("before", r))))
            .flatten(),
        newest: on_cursor.then(|| view.link(None)),
        page_empty: on_cursor && lines.is_empty(),
        count: ConsoleText::RunsOnPage.render(lang, &[("count", &lines.len().to_string())]),
        lines,
        refresh,
    };
    let c = me.chrome(Nav::Runs, ConsoleText::NavRuns.text(lang));
    let mut response = if is_htmx(&headers) {
        render(&RunsFragment { c, r: region })?
    } else {
        render(&RunsPage {
            workspaces: workspaces
                .iter()
                .map(|w| Choice {
                    value: w.state.id.to_string(),
                    label: w.state.name.clone(),
                    selected: Some(w.state.id) == workspace_id,
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
                            selected: Some(e.state.id) == environment_id,
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

/// One run's line, decision first (the runs list's, and the environment page's).
pub(crate) fn line(
    row: &RunRow,
    now: DateTime<Utc>,
    out: &Out,
    workspaces: &HashMap<Uuid, String>,
    environments: &HashMap<Uuid, String>,
) -> Line {
    let s = &row.state;
    let view = RunView::of(row, now, out);
    let lang: Lang = out.lang;
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
        workspace: Name::of(s.workspace_id, workspaces),
        environment: s.environment_id.map(|e| Name::of(e, environments)),
        queued: time::relative(s.created_at, now, lang),
        queued_exact: time::exact(s.created_at),
        queued_machine: time::machine(s.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_filter_reads_dates_date_times_and_rfc_3339_as_utc() {
        let t = |s: &str| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2026-01-02").as_deref(),
            Some("2026-01-02T00:00:00+00:00")
        );
        assert_eq!(
            t("2026-01-02T03:04").as_deref(),
            Some("2026-01-02T03:04:00+00:00")
        );
        assert_eq!(
            t("2026-01-02T03:04:05+01:00").as_deref(),
            Some("2026-01-02T02:04:05+00:00")
        );
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("2026-13-01"), None);
    }
}
