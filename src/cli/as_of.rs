//! `runs show --at`, `runs list --at` (and the point `history --until` resolves): the
//! engine's view at an earlier point, printed in the same shapes as the live commands
//! with a first line that says which point it is (see [`crate::point_in_time`]).

use std::io::IsTerminal;

use runproof_domain::ReasonCode;
use runproof_projections::operation_runs::RunFilter;
use runproof_projections::{as_of, NoProgress, Progress};
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::progress::CliProgress;
use super::runs::{render_list, render_show, RunView};
use crate::app::App;
use crate::point_in_time::{self, AsOf, AsOfError, Cut};

/// Parses a `--at` / `--until` value (before anything touches the database).
pub fn parse(value: &str) -> Result<AsOf, CliError> {
    value.parse::<AsOf>().map_err(|e| refusal(&e))
}

fn refusal(e: &AsOfError) -> CliError {
    match e.refusal() {
        Some((reason, args)) => CliError::input(reason, args),
        None => CliError::internal(e),
    }
}

/// Resolves the point against the log as it can be read now.
pub async fn resolve(app: &App, asked: AsOf) -> Result<Cut, CliError> {
    point_in_time::resolve(&app.pool, asked, app.clock.now())
        .await
        .map_err(|e| refusal(&e))
}

/// `runs show ID --at POINT`: the run folded from its events up to the point. A run
/// with no event by then, one that does not exist, and one outside `actor`'s workspaces
/// all get the same answer: it did not exist at that point.
pub async fn show(
    app: &App,
    id: Uuid,
    actor: Option<Uuid>,
    asked: AsOf,
    out: &Out,
) -> Result<(), CliError> {
    let cut = resolve(app, asked).await?;
    let not_found = || {
        CliError::input(
            ReasonCode::RunNotFoundAt,
            vec![("run", id.to_string()), ("at", cut.point(out.lang))],
        )
    };
    let found = point_in_time::run(&app.pool, id, &cut)
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    let Some(found) = found else {
        return Err(not_found());
    };
    let row = found.row;
    if let Some(actor) = actor {
        let mut conn = app
            .pool
            .acquire()
            .await
            .map_err(|e| CliError::internal(&e))?;
        let member =
            runproof_projections::directory::is_member(&mut conn, row.state.workspace_id, actor)
                .await
                .map_err(|e| CliError::internal(&e))?;
        if !member {
            return Err(not_found());
        }
    }
    let view = RunView::of(&row, cut.judged_at(app.clock.now()), out);
    if out.json {
        let mut document = view.decision_first();
        if let Some(object) = document.as_object_mut() {
            object.insert(
                "as_of".into(),
                serde_json::to_value(cut.view()).unwrap_or_default(),
            );
        }
        out.json(&document);
        return Ok(());
    }
    out.line(cut.describe(out.lang));
    out.line("");
    render_show(&row, &view, out);
    Ok(())
}

/// `runs list --at POINT`: `operation_runs` folded from the log up to the point into a
/// temporary table, listed with the same filters (needs attention judged at the point's
/// time). Progress goes to stderr, and only on a terminal. With `--json` the list is the
/// same array as the live list's and the line naming the point goes to stderr.
pub async fn list(
    app: &App,
    mut filter: RunFilter,
    needs_attention: bool,
    asked: AsOf,
    out: &Out,
) -> Result<(), CliError> {
    let cut = resolve(app, asked).await?;
    let judged_at = cut.judged_at(app.clock.now());
    filter.needs_attention_at = needs_attention.then_some(judged_at);
    let bar;
    let progress: &dyn Progress = if std::io::stderr().is_terminal() {
        bar = CliProgress::new(out.lang);
        &bar
    } else {
        &NoProgress
    };
    let rows = as_of::list_runs(&app.pool, cut.last, &filter, progress)
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    if out.json {
        eprintln!("{}", cut.describe(out.lang));
    } else {
        out.line(cut.describe(out.lang));
    }
    render_list(&rows, judged_at, out);
    Ok(())
}
