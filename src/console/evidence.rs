//! A decision's bounded evidence (invariant 8) as a table a person reads: one row per
//! fact, labelled in the operator's language, ids linked to their pages — never raw JSON.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use runproof_domain::reconciliation::{Evidence, RecordKind, RecordRef, RecordStatus, TimeLabel};
use runproof_domain::Lang;
use uuid::Uuid;

use super::text::ConsoleText;
use super::time;
use crate::cli::text::UiText;

/// The start of an id, as pages show it (the whole id goes in a `title`).
pub fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_string()
}

/// One fact of the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: String,
    pub value: String,
    /// The page the value names, when it has one.
    pub href: Option<String>,
    /// The full value, when `value` shows only its start (an id, a hash).
    pub full: Option<String>,
    /// A machine time (`<time datetime>`), when the value is a time.
    pub machine: Option<String>,
}

impl Fact {
    fn text(label: String, value: String) -> Fact {
        Fact {
            label,
            value,
            href: None,
            full: None,
            machine: None,
        }
    }

    fn time(label: String, t: DateTime<Utc>) -> Fact {
        Fact {
            machine: Some(time::machine(t)),
            ..Fact::text(label, time::exact(t))
        }
    }
}

/// Names the directory knows, for the ids evidence holds.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub workspaces: HashMap<Uuid, String>,
    pub environments: HashMap<Uuid, String>,
}

impl Names {
    /// A named link to a page: the name, linked, when the directory knows it; else the
    /// id's start, not linked (the directory has no page for it).
    fn link(label: String, id: Uuid, name: Option<&String>, path: &str) -> Fact {
        Fact {
            label,
            value: name.cloned().unwrap_or_else(|| short(id)),
            href: name.map(|_| format!("{path}/{id}")),
            full: Some(id.to_string()),
            machine: None,
        }
    }
}

fn kind_label(kind: RecordKind, lang: Lang) -> String {
    match kind {
        RecordKind::EnvironmentReview => ConsoleText::KindReview,
        RecordKind::Restore => ConsoleText::KindRestore,
        RecordKind::OperationRun => ConsoleText::KindRun,
    }
    .text(lang)
}

/// A record's state in the words its own kind uses (a review's status, a run's status
/// or outcome), so evidence reads as the pages of those records do.
fn status_label(status: RecordStatus, lang: Lang) -> String {
    use runproof_domain::operation_run::{RunOutcome, RunStatus};
    use runproof_domain::review::ReviewStatus;
    match status {
        RecordStatus::Draft => ReviewStatus::Draft.label(lang),
        RecordStatus::Ready => ReviewStatus::Ready.label(lang),
        RecordStatus::Published => ReviewStatus::Published.label(lang),
        RecordStatus::Archived => ReviewStatus::Archived.label(lang),
        RecordStatus::Superseded => ReviewStatus::Superseded.label(lang),
        RecordStatus::Queued => RunStatus::Queued.label(lang),
        RecordStatus::Running => RunStatus::Running.label(lang),
        RecordStatus::Completed => RunStatus::Completed.label(lang),
        RecordStatus::Failed => RunOutcome::Failed.label(lang),
        RecordStatus::CompletedWithErrors => {
            return ConsoleText::RecordCompletedWithErrors.text(lang)
        }
    }
    .to_string()
}

fn time_label(label: TimeLabel, lang: Lang) -> String {
    match label {
        TimeLabel::RunQueuedAt => ConsoleText::TimeRunQueuedAt,
        TimeLabel::RunStartedAt => ConsoleText::TimeRunStartedAt,
        TimeLabel::StaleSince => ConsoleText::TimeStaleSince,
        TimeLabel::EvaluatedAt => ConsoleText::TimeEvaluatedAt,
        TimeLabel::RecordUpdatedAt => ConsoleText::TimeRecordUpdatedAt,
    }
    .text(lang)
}

/// A considered or deciding record: "review 1a2b3c4d — ready", linked to its page when
/// the console has one (reviews, runs; a restore record has none).
fn record(label: String, r: &RecordRef, lang: Lang) -> Fact {
    let href = match r.kind {
        RecordKind::EnvironmentReview => Some(format!("/reviews/{}", r.id)),
        RecordKind::OperationRun => Some(format!("/runs/{}", r.id)),
        RecordKind::Restore => None,
    };
    Fact {
        label,
        value: format!(
            "{} {} — {}",
            kind_label(r.kind, lang),
            short(r.id),
            status_label(r.status, lang)
        ),
        href,
        full: Some(r.id.to_string()),
        machine: None,
    }
}

/// The facts of `evidence`, in a fixed order: scope, the run, the deciding record, what
/// else was considered, the times, the thresholds.
pub fn facts(evidence: &Evidence, names: &Names, lang: Lang) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(w) = evidence.workspace_id {
        out.push(Names::link(
            UiText::LabelWorkspace.text(lang),
            w,
            names.workspaces.get(&w),
            "/workspaces",
        ));
    }
    if let Some(e) = evidence.environment_id {
        out.push(Names::link(
            UiText::LabelEnvironment.text(lang),
            e,
            names.environments.get(&e),
            "/environments",
        ));
    }
    if let Some(s) = evidence.run_status {
        out.push(Fact::text(
            ConsoleText::EvRunStatus.text(lang),
            s.label(lang).to_string(),
        ));
    }
    if let Some(r) = &evidence.record {
        out.push(record(ConsoleText::EvRecord.text(lang), r, lang));
    }
    if let Some(f) = &evidence.fingerprint {
        let full = f.to_string();
        out.push(Fact {
            full: Some(full.clone()),
            ..Fact::text(
                UiText::LabelFingerprint.text(lang),
                full.chars().take(19).collect::<String>() + "…",
            )
        });
    }
    for r in &evidence.considered {
        out.push(record(ConsoleText::EvConsidered.text(lang), r, lang));
    }
    for (label, t) in &evidence.timestamps {
        out.push(Fact::time(time_label(*label, lang), *t));
    }
    if let Some(t) = &evidence.thresholds {
        let minutes =
            |secs: u32| ConsoleText::MinutesSpan.render(lang, &[("n", &(secs / 60).to_string())]);
        out.push(Fact::text(
            ConsoleText::EvQueuedAfter.text(lang),
            minutes(t.queued_after_secs),
        ));
        out.push(Fact::text(
            ConsoleText::EvRunningAfter.text(lang),
            minutes(t.running_after_secs),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use runproof_domain::run_type::RunType;

    #[test]
    fn evidence_reads_as_labelled_facts_with_links_in_both_languages() {
        let ws = Uuid::from_u128(1);
        let review = Uuid::from_u128(3);
        let mut evidence = Evidence {
            workspace_id: Some(ws),
            environment_id: Some(Uuid::from_u128(2)),
            record: Some(RecordRef {
                kind: RecordKind::EnvironmentReview,
                id: review,
                status: RecordStatus::Ready,
            }),
            thresholds: Some(RunType::RestoreExecute.thresholds()),
            ..Evidence::default()
        };
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        evidence.timestamps.insert(TimeLabel::EvaluatedAt, at);
        let names = Names {
            workspaces: [(ws, "Contoso".to_string())].into(),
            ..Names::default()
        };
        let en = facts(&evidence, &names, Lang::En);
        assert_eq!(en[0].value, "Contoso");
        assert_eq!(en[0].href.as_deref(), Some(&*format!("/workspaces/{ws}")));
        assert_eq!(
            en[1].value, "00000000",
            "an unknown name shows the id's start"
        );
        assert_eq!(en[1].href, None, "and links no page: there is none");
        assert_eq!(en[2].label, "Deciding record");
        assert_eq!(en[2].value, "review 00000000 — ready");
        assert_eq!(en[2].href.as_deref(), Some(&*format!("/reviews/{review}")));
        assert_eq!(en[3].label, "Evaluated at");
        assert_eq!(en[3].value, "2026-01-01 00:00:00 UTC");
        let de = facts(&evidence, &names, Lang::De);
        assert_eq!(de[2].label, "Entscheidender Datensatz");
        assert_eq!(de[2].value, "Review 00000000 — bereit");
        assert!(de[4].label.starts_with("Hängend"), "{:?}", de[4]);
    }
}
