//! Why a run is where it is: the one-sentence decision an operator reads first.

use chrono::{DateTime, Utc};
use runproof_domain::operation_run::{CompletionNote, RunState, RunStatus};
use runproof_domain::reconciliation::{DecisionKind, ReconciliationSource};
use runproof_domain::{Lang, ReasonCode};
use serde::Serialize;

use crate::cli::text::UiText;

/// The explanation of a run's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Why {
    /// The reason code behind it, when there is one.
    pub code: Option<ReasonCode>,
    pub text: String,
}

/// How a recorded decision reads: an adapter's proof by its kind, a stale end as such
/// (it is not a proof).
pub fn decision_label(source: ReconciliationSource, kind: DecisionKind, lang: Lang) -> String {
    match source {
        ReconciliationSource::Stale => UiText::DecisionStale.text(lang),
        ReconciliationSource::Adapter => kind.label(lang).to_string(),
    }
}

/// Formats a timestamp for people: UTC, to the second.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Explains `run` in `lang`.
pub fn why(run: &RunState, lang: Lang) -> Why {
    if let Some(r) = &run.reconciliation {
        let by = match (r.source, &r.adapter) {
            (ReconciliationSource::Adapter, Some(adapter)) => {
                UiText::ByAdapter.render(lang, &[("adapter", &adapter.to_string())])
            }
            _ => UiText::ByStale.text(lang),
        };
        return Why {
            code: Some(r.reason_code),
            text: UiText::WhyReconciled.render(
                lang,
                &[
                    (
                        "decision",
                        capitalised(&decision_label(r.source, r.decision, lang)).as_str(),
                    ),
                    ("by", &by),
                    ("reason", &r.reason_code.text(lang)),
                ],
            ),
        };
    }
    let thresholds = run.run_type.thresholds();
    match run.status {
        RunStatus::Completed => {
            // The job's note (always recorded since RunCompleted 1.1; a row projected by
            // an older build may lack it, and gets the note its completion implied).
            let note = run
                .completion
                .clone()
                .unwrap_or_else(|| CompletionNote::implied(&run.failures));
            if !note.has_reason() {
                return Why {
                    code: None,
                    text: UiText::WhyCompletedByJob
                        .render(lang, &[("outcome", run.outcome.label(lang))]),
                };
            }
            let mut reason = note.reason_code.text(lang);
            let message = run
                .failures
                .iter()
                .find(|f| f.reason_code == note.reason_code)
                .and_then(|f| f.message.as_deref());
            if let Some(m) = message {
                reason = format!("{reason} ({m})");
            }
            Why {
                code: Some(note.reason_code),
                text: UiText::WhyReportedByJob.render(
                    lang,
                    &[("outcome", run.outcome.label(lang)), ("reason", &reason)],
                ),
            }
        }
        RunStatus::Running => {
            let since = run.started_at.unwrap_or(run.created_at);
            Why {
                code: None,
                text: UiText::WhyRunning.render(
                    lang,
                    &[
                        ("since", &when(since)),
                        ("deadline", &when(since + thresholds.running_after())),
                    ],
                ),
            }
        }
        RunStatus::Queued => Why {
            code: None,
            text: UiText::WhyQueued.render(
                lang,
                &[
                    ("since", &when(run.created_at)),
                    (
                        "deadline",
                        &when(run.created_at + thresholds.queued_after()),
                    ),
                ],
            ),
        },
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}
