//! What one event changed about a run, as rows of a table: each field the domain finds
//! changed ([`changed_fields`]) with its label and its value before and after, in the
//! operator's language — the run page's "as of here" section.

use runproof_domain::operation_run::changes::{changed_fields, RunField};
use runproof_domain::operation_run::RunState;
use runproof_domain::Lang;

use super::evidence::{short, Names};
use super::text::ConsoleText;
use super::time;
use crate::cli::text::UiText;
use crate::explain::decision_label;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub label: String,
    pub before: String,
    pub after: String,
}

/// The fields `after` changed against `before` (`None`: the event queued the run).
pub fn rows(before: Option<&RunState>, after: &RunState, names: &Names, lang: Lang) -> Vec<Change> {
    changed_fields(before, after)
        .into_iter()
        .map(|field| Change {
            label: label(field, lang),
            before: before.map_or_else(
                || ConsoleText::Dash.text(lang),
                |b| value(field, b, names, lang),
            ),
            after: value(field, after, names, lang),
        })
        .collect()
}

fn label(field: RunField, lang: Lang) -> String {
    match field {
        RunField::Status => UiText::LabelStatus,
        RunField::Outcome => UiText::LabelOutcome,
        RunField::Reconciliation => UiText::LabelReconciliation,
        RunField::Completion => UiText::LabelCompletionNote,
        RunField::RunType => UiText::LabelType,
        RunField::Workspace => UiText::LabelWorkspace,
        RunField::Environment => UiText::LabelEnvironment,
        RunField::Initiator => UiText::LabelInitiator,
        RunField::Identity => UiText::LabelIdentity,
        RunField::Created => UiText::LabelCreated,
        RunField::Started => UiText::LabelStarted,
        RunField::Completed => UiText::LabelCompleted,
        RunField::Summary => UiText::LabelSummary,
        RunField::Failures => UiText::LabelFailures,
        RunField::Context => UiText::HeadingContext,
    }
    .text(lang)
}

/// The field's value in `s`, as the run page shows it; an unset value reads "not yet"
/// (or "none" for an environment, which a run never gets later).
fn value(field: RunField, s: &RunState, names: &Names, lang: Lang) -> String {
    let unset = || ConsoleText::Dash.text(lang);
    match field {
        RunField::Status => s.status.label(lang).to_string(),
        RunField::Outcome => s.outcome.label(lang).to_string(),
        RunField::Reconciliation => s.reconciliation.as_ref().map_or_else(unset, |r| {
            format!(
                "{} — {} [{}]",
                decision_label(r.source, r.decision, lang),
                r.reason_code.text(lang),
                r.reason_code
            )
        }),
        RunField::Completion => s.completion.as_ref().map_or_else(unset, |n| {
            format!("{} [{}]", n.reason_code.text(lang), n.reason_code)
        }),
        RunField::RunType => s.run_type.label(lang).to_string(),
        RunField::Workspace => names
            .workspaces
            .get(&s.workspace_id)
            .cloned()
            .unwrap_or_else(|| short(s.workspace_id)),
        RunField::Environment => s.environment_id.map_or_else(
            || UiText::LabelNone.text(lang),
            |e| {
                names
                    .environments
                    .get(&e)
                    .cloned()
                    .unwrap_or_else(|| short(e))
            },
        ),
        RunField::Initiator => s.initiator.to_string(),
        RunField::Identity => s.identity_hash.to_string(),
        RunField::Created => time::exact(s.created_at),
        RunField::Started => s.started_at.map_or_else(unset, time::exact),
        RunField::Completed => s.completed_at.map_or_else(unset, time::exact),
        RunField::Summary if s.summary.is_empty() => unset(),
        RunField::Summary => s
            .summary
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        RunField::Failures if s.failures.is_empty() => unset(),
        RunField::Failures => s
            .failures
            .iter()
            .map(|f| format!("{} [{}]", f.reason_code.text(lang), f.reason_code))
            .collect::<Vec<_>>()
            .join("; "),
        RunField::Context => serde_json::to_string(&s.context).unwrap_or_default(),
    }
}
