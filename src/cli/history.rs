//! `runproof history RUN_ID`: the run's events in order, each decision with its evidence.

use runproof_domain::metadata::EventMetadata;
use runproof_domain::operation_run::OperationRunEvent;
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::log::{self, StoredEvent};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::event_store::metadata_of;
use crate::explain::when;
use crate::lifecycle::RUN_AGGREGATE;

/// One event of a run's history, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub sequence: i64,
    pub position: i64,
    pub transaction_id: i64,
    pub event_type: String,
    pub event_version: String,
    pub summary: String,
    pub metadata: Option<EventMetadata>,
    pub payload: Value,
}

pub async fn history(
    app: &App,
    run_id: Uuid,
    actor: Option<Uuid>,
    out: &Out,
) -> Result<(), CliError> {
    let mut conn = app
        .pool
        .acquire()
        .await
        .map_err(|e| CliError::internal(&e))?;
    let events = log::read_stream(&mut conn, RUN_AGGREGATE, &run_id.to_string())
        .await
        .map_err(|e| CliError::internal(&e))?;
    if events.is_empty() {
        return Err(CliError::input(
            ReasonCode::RunNotFound,
            vec![("run", run_id.to_string())],
        ));
    }
    if actor.is_some() {
        match super::runs::queued_workspace(&events) {
            Some(ws) => super::runs::check_visible(app, ws, run_id, actor).await?,
            None => {
                return Err(CliError::input(
                    ReasonCode::RunNotFound,
                    vec![("run", run_id.to_string())],
                ))
            }
        }
    }
    let entries: Vec<HistoryEntry> = events.iter().map(|e| entry(e, out.lang)).collect();
    if out.json {
        out.json(&entries);
        return Ok(());
    }
    out.line(format!("{} {run_id}", out.t(UiText::LabelRun)));
    for e in &entries {
        let (time, actor) = match &e.metadata {
            Some(m) => (when(m.occurred_at), m.actor.to_string()),
            None => (String::from("?"), String::from("?")),
        };
        out.line(format!(
            "  #{:<3} {} {:<8} {}  {}",
            e.sequence,
            out.t(UiText::LabelPosition),
            e.position,
            time,
            actor
        ));
        out.line(format!("        {}: {}", e.event_type, e.summary));
        if let Ok(OperationRunEvent::RunReconciled(r)) =
            serde_json::from_value::<OperationRunEvent>(e.payload.clone())
        {
            let evidence =
                serde_json::to_string_pretty(&r.reconciliation.evidence).unwrap_or_default();
            out.line(format!("        {}:", out.t(UiText::HeadingEvidence)));
            for line in evidence.lines() {
                out.line(format!("          {line}"));
            }
        }
    }
    Ok(())
}

fn entry(e: &StoredEvent, lang: Lang) -> HistoryEntry {
    let payload: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
    let summary = match serde_json::from_str::<OperationRunEvent>(&e.payload) {
        Ok(event) => summarise(&event, lang),
        Err(_) => e.event_type.clone(),
    };
    HistoryEntry {
        sequence: e.sequence,
        position: e.at.position,
        transaction_id: e.at.transaction_id,
        event_type: e.event_type.clone(),
        event_version: e.event_version.clone(),
        summary,
        metadata: metadata_of(e),
        payload,
    }
}

/// One line saying what the event means.
pub fn summarise(event: &OperationRunEvent, lang: Lang) -> String {
    match event {
        OperationRunEvent::RunQueued(e) => format!(
            "{} — {} ({})",
            UiText::EventQueued.text(lang),
            e.run_type.label(lang),
            e.run_type
        ),
        OperationRunEvent::RunStarted(_) => UiText::EventStarted.text(lang),
        OperationRunEvent::RunCompleted(e) => {
            let mut s = format!(
                "{}: {}",
                UiText::EventCompleted.text(lang),
                runproof_domain::operation_run::RunOutcome::from(e.outcome).label(lang)
            );
            for f in &e.failures {
                s.push_str(&format!(
                    "; {} ({})",
                    f.reason_code.text(lang),
                    f.reason_code
                ));
            }
            s
        }
        OperationRunEvent::RunReconciled(e) => {
            let r = &e.reconciliation;
            let by = match &r.adapter {
                Some(a) => UiText::ByAdapter.render(lang, &[("adapter", &a.to_string())]),
                None => UiText::ByStale.text(lang),
            };
            format!(
                "{}: {} — {} [{}] ({by})",
                UiText::EventReconciled.text(lang),
                crate::explain::decision_label(r.source, r.decision, lang),
                r.reason_code.text(lang),
                r.reason_code
            )
        }
    }
}
