//! `/workspaces/{id}`: one workspace — its run counts (as the start page counts them)
//! and its managed environments, each with its newest evidence and published review,
//! linked to the environment's page. A workspace outside the operator's scope is the
//! not-found page of an id that exists nowhere.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use runproof_projections::directory;

use super::auth::SignedIn;
use super::evidence::short;
use super::page::{link, render, Chrome, Nav, PageError};
use super::scope::{self, internal, workspace_not_found};
use super::text::ConsoleText;
use super::time;
use crate::http::ApiState;

/// One environment's line.
struct EnvironmentLine {
    name: String,
    href: String,
    /// Newest evidence: relative, exact, machine.
    evidence: Option<(String, String, String)>,
    published: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/workspace.html")]
struct WorkspacePage {
    c: Chrome,
    members: String,
    view_only: bool,
    active: String,
    attention: String,
    runs_link: String,
    attention_link: String,
    environments: Vec<EnvironmentLine>,
}

/// The workspace page.
pub async fn page(
    State(s): State<ApiState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = scope::id(&raw, workspace_not_found())?;
    scope::no_parameters(&me.uri)?;
    let access = scope::access(&s, &me.caller, id).await?;
    if !access.see {
        return Err(workspace_not_found());
    }
    let now = s.app.clock.now();
    let lang = me.lang;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    // The start page's overview, narrowed to this workspace: the same counts.
    let overview = crate::directory::overview(&mut conn, &me.caller, now)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|o| o.workspace.id == id)
        .ok_or_else(workspace_not_found)?;
    let rows = directory::environments(&mut conn, id)
        .await
        .map_err(internal)?;
    drop(conn);
    let environments = rows
        .into_iter()
        .map(|r| {
            let e = r.state;
            EnvironmentLine {
                href: format!("/environments/{}", e.id),
                name: e.name,
                evidence: e.latest_snapshot.map(|l| {
                    (
                        time::relative(l.captured_at, now, lang),
                        time::exact(l.captured_at),
                        time::machine(l.captured_at),
                    )
                }),
                published: e
                    .published_review
                    .map(|r| (format!("/reviews/{r}"), short(r))),
            }
        })
        .collect();
    let id_s = id.to_string();
    let c = me.chrome(Nav::None, overview.workspace.name.clone());
    render(&WorkspacePage {
        members: c.tr(
            ConsoleText::MemberCount,
            &[("count", &overview.workspace.members.len().to_string())],
        ),
        view_only: !access.act,
        active: c.tr(
            ConsoleText::ActiveOfWorkspace,
            &[("count", &overview.active_runs.to_string())],
        ),
        attention: c.tr(
            ConsoleText::AttentionOfWorkspace,
            &[("count", &overview.runs_needing_attention.to_string())],
        ),
        runs_link: link("/runs", &[("workspace", &id_s)]),
        attention_link: link("/runs", &[("workspace", &id_s), ("attention", "1")]),
        environments,
        c,
    })
}
