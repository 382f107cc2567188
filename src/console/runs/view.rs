//! What the runs list's address asks for: its parameters, checked and turned into the
//! list's filter, the page's start, and the view links are built from.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use runproof_domain::access::Caller;
use runproof_domain::ReasonCode;
use runproof_projections::operation_runs::RunFilter;
use serde::Deserialize;
use uuid::Uuid;

use super::paging::Start;
use crate::cli::runs::{parse_filter, ListArgs};
use crate::console::page::{link, Message, PageError};
use crate::console::text::ConsoleText;
use crate::http::api::cursor;

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

impl RunsQuery {
    /// The query string's parameters, or the 400 page for one this page does not know.
    pub fn parse(query: Option<&str>) -> Result<RunsQuery, PageError> {
        serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|_| bad(ConsoleText::BadParameter, vec![]))
    }
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

/// The view as links carry it: every filter in its canonical form, the page size,
/// live or paused (the page's start is added per link).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub workspace: String,
    pub environment: String,
    pub run_type: String,
    pub status: String,
    pub outcome: String,
    pub attention: bool,
    pub from: String,
    pub to: String,
    /// Empty for the default page size.
    pub limit: String,
    pub live: bool,
}

impl View {
    /// `/runs` with this view, starting the page at `start` (`after=` / `before=`).
    pub fn link(&self, start: Start) -> String {
        let cursor = match start {
            Start::Top => None,
            Start::After((at, id)) => Some(("after", cursor::encode(at, id))),
            Start::Before((at, id)) => Some(("before", cursor::encode(at, id))),
        };
        let attention = if self.attention { "1" } else { "" };
        let live = if self.live { "" } else { "0" };
        let mut params = vec![
            ("workspace", self.workspace.as_str()),
            ("environment", self.environment.as_str()),
            ("type", self.run_type.as_str()),
            ("status", self.status.as_str()),
            ("outcome", self.outcome.as_str()),
            ("attention", attention),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("limit", self.limit.as_str()),
            ("live", live),
        ];
        if let Some((k, v)) = &cursor {
            params.push((k, v.as_str()));
        }
        link("/runs", &params)
    }
}

/// The workspaces and environments the operator sees, by id, with their names.
pub struct Scope {
    pub workspaces: HashMap<Uuid, String>,
    pub environments: HashMap<Uuid, String>,
}

/// What the address asks for.
pub struct Asked {
    pub filter: RunFilter,
    pub start: Start,
    pub limit: i64,
    pub view: View,
}

/// An id filter naming something in `known` — or, for a caller who sees every run (a
/// platform operator), any id, as the API's list takes it: runs of a workspace the
/// directory does not know are the operator's too. Anything else — outside the
/// operator's scope, nowhere, not an id — is the same not-found page.
fn scoped(
    value: &Option<String>,
    known: &HashMap<Uuid, String>,
    sees_everything: bool,
    reason: ReasonCode,
    key: &'static str,
) -> Result<Option<Uuid>, PageError> {
    set(value)
        .map(|v| {
            Uuid::parse_str(v)
                .ok()
                .filter(|id| sees_everything || known.contains_key(id))
                .ok_or(PageError::not_found(reason, key))
        })
        .transpose()
}

/// Checks the address's parameters for `caller` at `now`.
pub fn read(
    q: &RunsQuery,
    scope: &Scope,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Asked, PageError> {
    let sees_everything = caller.visible_to().is_none();
    let workspace_id = scoped(
        &q.workspace,
        &scope.workspaces,
        sees_everything,
        ReasonCode::WorkspaceNotFound,
        "workspace",
    )?;
    let environment_id = scoped(
        &q.environment,
        &scope.environments,
        sees_everything,
        ReasonCode::EnvironmentNotFound,
        "environment",
    )?;
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
    // The CLI's and the API's reading of a type, a status and an outcome.
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
    let cursor = |v: &Option<String>| {
        set(v)
            .map(|c| cursor::decode(c).map_err(|_| bad(ConsoleText::BadCursor, vec![])))
            .transpose()
    };
    let start = match (cursor(&q.after)?, cursor(&q.before)?) {
        (None, None) => Start::Top,
        (Some(k), None) => Start::After(k),
        (None, Some(k)) => Start::Before(k),
        (Some(_), Some(_)) => return Err(bad(ConsoleText::BadCursor, vec![])),
    };
    let attention = set(&q.attention).is_some_and(|v| v != "0");
    filter.workspace_id = workspace_id;
    filter.environment_id = environment_id;
    filter.visible_to = caller.visible_to();
    filter.needs_attention_at = attention.then_some(now);
    filter.created_from = time(&q.from)?;
    filter.created_to = time(&q.to)?;
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    let view = View {
        workspace: text(workspace_id.map(|i| i.to_string()).as_deref()),
        environment: text(environment_id.map(|i| i.to_string()).as_deref()),
        run_type: text(filter.run_type.map(|t| t.key())),
        status: text(filter.status.map(|s| s.as_str())),
        outcome: text(filter.outcome.map(|o| o.as_str())),
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
    Ok(Asked {
        filter,
        start,
        limit,
        view,
    })
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

    #[test]
    fn a_views_link_holds_every_filter_set_and_nothing_unset() {
        let view = View {
            status: "queued".into(),
            attention: true,
            live: false,
            limit: "3".into(),
            ..View::default()
        };
        assert_eq!(
            view.link(Start::Top),
            "/runs?status=queued&attention=1&limit=3&live=0"
        );
        let live = View {
            live: true,
            ..View::default()
        };
        assert_eq!(live.link(Start::Top), "/runs");
        let at = DateTime::from_timestamp(0, 0).unwrap();
        assert!(live
            .link(Start::After((at, Uuid::nil())))
            .starts_with("/runs?after="));
    }
}
