//! `/`: the workspaces the operator sees, each with its active runs and the runs that
//! need attention now — the same overview `GET /api/v1/workspaces` answers. A platform
//! operator sees every workspace (the system view).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::auth::SignedIn;
use super::page::{link, render, Chrome, Nav, PageError};
use super::text::ConsoleText;
use crate::directory::{self, WorkspaceOverview};
use crate::http::ApiState;

/// One workspace's line.
struct Line {
    name: String,
    members: String,
    can_act: bool,
    active_runs: i64,
    runs_needing_attention: i64,
    runs_link: String,
    attention_link: String,
    runs_label: String,
    attention_label: String,
}

impl Line {
    fn of(o: WorkspaceOverview, c: &Chrome) -> Line {
        let id = o.workspace.id.to_string();
        let name = o.workspace.name;
        Line {
            members: c.tr(
                ConsoleText::MemberCount,
                &[("count", &o.workspace.members.len().to_string())],
            ),
            can_act: o.can_act,
            active_runs: o.active_runs,
            runs_needing_attention: o.runs_needing_attention,
            runs_link: link("/runs", &[("workspace", &id)]),
            attention_link: link("/runs", &[("workspace", &id), ("attention", "1")]),
            runs_label: c.tr(ConsoleText::ActiveRunsOf, &[("workspace", &name)]),
            attention_label: c.tr(ConsoleText::AttentionRunsOf, &[("workspace", &name)]),
            name,
        }
    }
}

#[derive(Template)]
#[template(path = "console/workspaces.html")]
struct WorkspacesPage {
    c: Chrome,
    system_view: bool,
    lines: Vec<Line>,
}

/// The start page.
pub async fn page(State(s): State<ApiState>, me: SignedIn) -> Result<Response, PageError> {
    let c = me.chrome(Nav::Workspaces, ConsoleText::NavWorkspaces.text(me.lang));
    let mut conn = s
        .app
        .pool
        .acquire()
        .await
        .map_err(|e| PageError::internal(&e))?;
    let overview = directory::overview(&mut conn, &me.caller, s.app.clock.now())
        .await
        .map_err(|e| PageError::internal(&e))?;
    let lines = overview.into_iter().map(|o| Line::of(o, &c)).collect();
    render(&WorkspacesPage {
        system_view: me.caller.operator,
        lines,
        c,
    })
}
