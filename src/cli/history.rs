//! `runproof history ID` (a run or a review) and `runproof reviews history ID`: the
//! stream's events in order, each in its current shape with what it means, each
//! decision with its evidence, and the streams it links to.

use runproof_domain::metadata::EventMetadata;
use runproof_domain::operation_run::{OperationRunEvent, RunOutcome};
use runproof_domain::review::ReviewEvent;
use runproof_domain::{Lang, ReasonCode};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::explain::when;
use crate::history::{self, Decoded, History, Link, Recorded, StreamKind};
use crate::point_in_time::{AsOfView, Cut};

/// A history as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub stream: StreamKind,
    pub id: Uuid,
    pub events: Vec<HistoryEntry>,
    /// Streams to follow with `runproof history ID`.
    pub links: Vec<Link>,
    /// With `--until`: the point the history stops at (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<AsOfView>,
}

/// One event of a history, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub sequence: i64,
    pub position: i64,
    pub transaction_id: i64,
    pub event_type: String,
    /// The version the event is shown in (its current version once upcast).
    pub event_version: String,
    /// The version it was stored in.
    pub stored_version: String,
    pub summary: String,
    /// Set when this build cannot read the event; `payload` is then as stored.
    pub undecodable: Option<Undecodable>,
    /// Set when the event's metadata is not what runproof's writer writes: it was added
    /// some other way (`history.foreign_metadata`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign: Option<Undecodable>,
    pub metadata: Option<EventMetadata>,
    pub payload: Value,
}

/// Why an event is shown as stored instead of decoded, or flagged as written some other
/// way: a reason code and its text.
#[derive(Debug, Serialize)]
pub struct Undecodable {
    pub reason_code: ReasonCode,
    pub message: String,
}

/// Shows the history of `id`. Without `only`, `id` may be a run or a review; with it,
/// only that kind is looked up. With an actor, a stream outside its workspaces answers
/// "not found" like one that does not exist.
pub async fn history(
    app: &App,
    id: Uuid,
    actor: Option<Uuid>,
    only: Option<StreamKind>,
    out: &Out,
) -> Result<(), CliError> {
    history_upto(app, id, actor, only, None, out).await
}

/// [`history`] up to `cut` when given (`history --until`): the events up to there, led
/// by a line naming the point. A stream with no event by then — like one that does not
/// exist or is outside the actor's workspaces — "did not exist" at that point.
pub async fn history_upto(
    app: &App,
    id: Uuid,
    actor: Option<Uuid>,
    only: Option<StreamKind>,
    cut: Option<&Cut>,
    out: &Out,
) -> Result<(), CliError> {
    let not_found = || match (cut, only) {
        (Some(cut), Some(StreamKind::Run)) => CliError::input(
            ReasonCode::RunNotFoundAt,
            vec![("run", id.to_string()), ("at", cut.point(out.lang))],
        ),
        (Some(cut), _) => CliError::input(
            ReasonCode::HistoryNotFoundAt,
            vec![("id", id.to_string()), ("at", cut.point(out.lang))],
        ),
        (None, _) => not_found(only, id),
    };
    let found = history::load_upto(&app.pool, id, only, cut.map(|c| c.last))
        .await
        .map_err(|e| CliError::internal(&e))?
        .ok_or_else(not_found)?;
    if let Some(actor) = actor {
        let Some(workspace) = found.workspace_id else {
            return Err(not_found());
        };
        let mut conn = app
            .pool
            .acquire()
            .await
            .map_err(|e| CliError::internal(&e))?;
        let member = runproof_projections::directory::is_member(&mut conn, workspace, actor)
            .await
            .map_err(|e| CliError::internal(&e))?;
        if !member {
            return Err(not_found());
        }
    }
    let mut view = view(&found, out.lang);
    view.as_of = cut.map(Cut::view);
    if out.json {
        out.json(&view);
        return Ok(());
    }
    if let Some(cut) = cut {
        out.line(cut.describe(out.lang));
    }
    render(&found, &view, out);
    Ok(())
}

/// The answer for an id that names no stream of the kind asked.
fn not_found(only: Option<StreamKind>, id: Uuid) -> CliError {
    match only {
        Some(StreamKind::Review) => {
            CliError::input(ReasonCode::ReviewNotFound, vec![("review", id.to_string())])
        }
        Some(StreamKind::Run) => {
            CliError::input(ReasonCode::RunNotFound, vec![("run", id.to_string())])
        }
        None => CliError::input(ReasonCode::HistoryNotFound, vec![("id", id.to_string())]),
    }
}

/// The JSON document of a history (`history --json`, `GET …/history`).
pub fn view(h: &History, lang: Lang) -> HistoryView {
    HistoryView {
        stream: h.stream,
        id: h.id,
        events: h.events.iter().map(|e| entry(e, lang)).collect(),
        links: h.links.clone(),
        as_of: None,
    }
}

fn entry(e: &Recorded, lang: Lang) -> HistoryEntry {
    let (summary, undecodable) = match &e.decoded {
        Ok(event) => (summarise(event, lang), None),
        Err(err) => {
            let args = err.reason_args(&e.stored.event_type, &e.stored.event_version);
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let message = err.reason().render(lang, &args);
            let marker = UiText::HistoryUndecodable
                .render(lang, &[("version", e.stored.event_version.as_str())]);
            (
                format!("⚠ {marker} — {message} [{}]", err.reason()),
                Some(Undecodable {
                    reason_code: err.reason(),
                    message,
                }),
            )
        }
    };
    HistoryEntry {
        sequence: e.stored.sequence,
        position: e.stored.at.position,
        transaction_id: e.stored.at.transaction_id,
        event_type: e.stored.event_type.clone(),
        event_version: e.version(),
        stored_version: e.stored.event_version.clone(),
        summary,
        undecodable,
        foreign: e.foreign.as_ref().map(|f| Undecodable {
            reason_code: ReasonCode::HistoryForeignMetadata,
            message: ReasonCode::HistoryForeignMetadata.render(lang, &[("field", f.field())]),
        }),
        metadata: e.metadata.clone(),
        payload: e.payload(),
    }
}

fn render(h: &History, view: &HistoryView, out: &Out) {
    let label = match h.stream {
        StreamKind::Run => UiText::LabelRun,
        StreamKind::Review => UiText::LabelReview,
    };
    out.line(format!("{} {}", out.t(label), h.id));
    for (recorded, e) in h.events.iter().zip(&view.events) {
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
        if let Some(f) = &e.foreign {
            out.line(format!("        ⚠ {} [{}]", f.message, f.reason_code));
        }
        if e.undecodable.is_none() && e.event_version != e.stored_version {
            out.line(format!(
                "        ({})",
                UiText::HistoryUpcast.render(
                    out.lang,
                    &[
                        ("stored", e.stored_version.as_str()),
                        ("current", e.event_version.as_str())
                    ]
                )
            ));
        }
        if let Ok(Decoded::Run(OperationRunEvent::RunReconciled(r))) = &recorded.decoded {
            let evidence =
                serde_json::to_string_pretty(&r.reconciliation.evidence).unwrap_or_default();
            out.line(format!("        {}:", out.t(UiText::HeadingEvidence)));
            for line in evidence.lines() {
                out.line(format!("          {line}"));
            }
        }
    }
    if !h.links.is_empty() {
        out.line("");
        out.line(out.t(UiText::HistoryLinks));
        for link in &h.links {
            let label = match link.stream {
                StreamKind::Run => UiText::LabelRun,
                StreamKind::Review => UiText::LabelReview,
            };
            out.line(format!("  {} {}", out.t(label), link.id));
        }
    }
}

/// One line saying what an event means.
pub fn summarise(event: &Decoded, lang: Lang) -> String {
    match event {
        Decoded::Run(e) => summarise_run(e, lang),
        Decoded::Review(e) => summarise_review(e, lang),
    }
}

/// One line saying what a run event means.
pub fn summarise_run(event: &OperationRunEvent, lang: Lang) -> String {
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
                RunOutcome::from(e.outcome).label(lang)
            );
            if e.note.has_reason() {
                s.push_str(&format!(
                    " — {} [{}]",
                    e.note.reason_code.text(lang),
                    e.note.reason_code
                ));
            }
            for f in e
                .failures
                .iter()
                .filter(|f| f.reason_code != e.note.reason_code)
            {
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

/// One line saying what a review event means. A new review event needs one arm here.
pub fn summarise_review(event: &ReviewEvent, lang: Lang) -> String {
    match event {
        ReviewEvent::ReviewDrafted(e) => UiText::EventReviewDrafted.render(
            lang,
            &[
                ("run", &e.run_id.to_string()),
                ("snapshot", &e.snapshot_id.to_string()),
            ],
        ),
        ReviewEvent::ReviewRedrafted(e) => {
            UiText::EventReviewRedrafted.render(lang, &[("run", &e.run_id.to_string())])
        }
        ReviewEvent::ReviewDraftTakenOver(e) => UiText::EventReviewDraftTakenOver.render(
            lang,
            &[
                ("run", &e.run_id.to_string()),
                ("previous", &e.previous_run_id.to_string()),
            ],
        ),
        ReviewEvent::ReviewComposed(e) => UiText::EventReviewComposed
            .render(lang, &[("count", &e.content.total_findings.to_string())]),
        ReviewEvent::ReviewCompositionFailed(e) => format!(
            "{} — {} [{}]",
            UiText::EventReviewCompositionFailed.text(lang),
            e.reason_code.text(lang),
            e.reason_code
        ),
        ReviewEvent::ReviewPublished(e) => match e.supersedes {
            Some(previous) => UiText::EventReviewPublishedSuperseding
                .render(lang, &[("previous", &previous.to_string())]),
            None => UiText::EventReviewPublished.text(lang),
        },
        ReviewEvent::ReviewArchived(_) => UiText::EventReviewArchived.text(lang),
        ReviewEvent::ReviewSuperseded(e) => {
            UiText::EventReviewSuperseded.render(lang, &[("review", &e.superseded_by.to_string())])
        }
    }
}
