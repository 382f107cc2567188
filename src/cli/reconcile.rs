//! `runproof reconcile --once | --watch | --explain RUN_ID`.

use std::time::Duration;

use runproof_adapters::reconciler::{Evaluation, PassReport};
use runproof_adapters::Reconciler;
use runproof_domain::operation_run::RunOutcome;
use runproof_domain::reconciliation::ReconciliationSource;
use runproof_domain::ReasonCode;
use serde_json::json;
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::explain::when;
use crate::reconciliation;

fn reconciler(app: &App) -> Result<Reconciler, CliError> {
    reconciliation::reconciler(app).map_err(|e| CliError::internal(&e))
}

fn by(evaluation: &Evaluation, out: &Out) -> String {
    match (&evaluation.source, &evaluation.adapter) {
        (ReconciliationSource::Adapter, Some(a)) => {
            UiText::ByAdapter.render(out.lang, &[("adapter", &a.to_string())])
        }
        _ => UiText::ByStale.text(out.lang),
    }
}

fn decision_label(e: &Evaluation, out: &Out) -> String {
    match e.decision.kind() {
        Some(kind) => crate::explain::decision_label(e.source, kind, out.lang),
        None => e.decision.label(out.lang).to_string(),
    }
}

fn decision_line(e: &Evaluation, out: &Out) -> String {
    let outcome = e
        .outcome()
        .map(|o| RunOutcome::from(o).label(out.lang))
        .unwrap_or("-");
    format!(
        "  {}  {:<27} {:<28} {:<20} {} [{}] ({})",
        e.run_id,
        e.run_type.key(),
        decision_label(e, out),
        outcome,
        e.decision.reason().text(out.lang),
        e.decision.reason(),
        by(e, out)
    )
}

pub async fn once(app: &App, out: &Out) -> Result<(), CliError> {
    let reconciler = reconciler(app)?;
    let report = reconciler
        .pass(app.clock.now())
        .await
        .map_err(|e| CliError::internal(&e))?;
    print_pass(&report, app, out);
    Ok(())
}

fn print_pass(report: &PassReport, app: &App, out: &Out) {
    let c = report.counts();
    if out.json {
        out.json(&json!({
            "leader": report.leader,
            "evaluated_at": report.evaluated_at,
            "counts": c,
            "runs": report.runs,
            "lag": super::lag::json(app.lag(), out),
        }));
        return;
    }
    if !report.leader {
        out.say(UiText::ReconcileNotLeader, &[]);
        return;
    }
    for e in report.decided() {
        out.line(decision_line(e, out));
    }
    out.say(
        UiText::ReconcileSummary,
        &[
            ("at", &report.evaluated_at.map(when).unwrap_or_default()),
            (
                "decided",
                &(c.decided_by_adapter + c.decided_stale).to_string(),
            ),
            ("adapter", &c.decided_by_adapter.to_string()),
            ("stale", &c.decided_stale.to_string()),
            ("waiting", &c.not_provable.to_string()),
            ("lost", &c.lost.to_string()),
            ("behind", &c.projection_behind.to_string()),
            ("failed", &c.failed.to_string()),
        ],
    );
}

pub async fn watch(app: &App, interval: u64, out: &Out) -> Result<(), CliError> {
    let reconciler = reconciler(app)?;
    let stop = super::shutdown_signal();
    out.say(
        UiText::ReconcileWatching,
        &[("interval", &interval.to_string())],
    );
    let clock = app.clock.clone();
    reconciler
        .watch(
            Duration::from_secs(interval.max(1)),
            move || clock.now(),
            stop,
            |result| match result {
                Ok(report) => print_pass(&report, app, out),
                // A failed pass is retried on the next one; the cause goes to the log.
                Err(e) => eprintln!("{}", CliError::internal(&e).message(out.lang)),
            },
        )
        .await;
    out.say(UiText::ReconcileStopped, &[]);
    Ok(())
}

/// What `reconcile --explain --json` prints and `GET /api/v1/runs/{id}/explain` answers.
pub fn explanation(
    run: &runproof_adapters::LoadedRun,
    evaluation: Option<&runproof_adapters::Evaluation>,
    evaluated_at: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    json!({
        "run_id": run.state.id,
        "status": run.state.status,
        "version": run.version,
        "evaluated_at": evaluated_at,
        "evaluation": evaluation,
    })
}

/// What an evaluation would do, in one sentence: "Would decide now: … by …, outcome …
/// — reason" or "Nothing to decide now (…): reason" — as `reconcile --explain` prints
/// it and the console's run page shows it.
pub fn evaluation_text(e: &Evaluation, out: &Out) -> String {
    let reason = format!(
        "{} [{}]",
        e.decision.reason().text(out.lang),
        e.decision.reason()
    );
    match e.outcome() {
        Some(outcome) => UiText::ExplainWouldDecide.render(
            out.lang,
            &[
                ("decision", &decision_label(e, out)),
                ("by", &by(e, out)),
                ("outcome", RunOutcome::from(outcome).label(out.lang)),
                ("reason", &reason),
            ],
        ),
        None => {
            UiText::ExplainWaiting.render(out.lang, &[("by", &by(e, out)), ("reason", &reason)])
        }
    }
}

pub async fn explain(app: &App, run_id: Uuid, out: &Out) -> Result<(), CliError> {
    let reconciler = reconciler(app)?;
    let now = app.clock.now();
    let Some((run, evaluation)) = reconciler
        .explain(run_id, now)
        .await
        .map_err(|e| CliError::internal(&e))?
    else {
        return Err(CliError::input(
            ReasonCode::RunNotFound,
            vec![("run", run_id.to_string())],
        ));
    };
    if out.json {
        out.json(&explanation(&run, evaluation.as_ref(), now));
        return Ok(());
    }
    out.line(format!(
        "{} {run_id} — {} ({}, {})",
        out.t(UiText::LabelRun),
        run.state.run_type.label(out.lang),
        run.state.status.label(out.lang),
        run.state.outcome.label(out.lang)
    ));
    let Some(e) = evaluation else {
        out.say(UiText::ExplainCompleted, &[]);
        return Ok(());
    };
    out.line(evaluation_text(&e, out));
    out.line(format!("{}:", out.t(UiText::HeadingEvidence)));
    let evidence = serde_json::to_string_pretty(e.decision.evidence()).unwrap_or_default();
    for line in evidence.lines() {
        out.line(format!("  {line}"));
    }
    Ok(())
}
