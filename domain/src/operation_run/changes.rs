//! What one event changed about a run: the fields in which the state after it differs
//! from the state before it. Pure — the states come from the one fold
//! ([`RunState::fold`]); a reader (the console's "as of here" page) shows the fields.

use crate::operation_run::RunState;

/// A field of [`RunState`], in the order a person reads a run: the decision, then the
/// diagnostics, then the raw context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunField {
    Status,
    Outcome,
    Reconciliation,
    Completion,
    RunType,
    Workspace,
    Environment,
    Initiator,
    Identity,
    Created,
    Started,
    Completed,
    Summary,
    Failures,
    Context,
}

impl RunField {
    /// Every field, in reading order.
    pub const ALL: [RunField; 15] = [
        RunField::Status,
        RunField::Outcome,
        RunField::Reconciliation,
        RunField::Completion,
        RunField::RunType,
        RunField::Workspace,
        RunField::Environment,
        RunField::Initiator,
        RunField::Identity,
        RunField::Created,
        RunField::Started,
        RunField::Completed,
        RunField::Summary,
        RunField::Failures,
        RunField::Context,
    ];

    /// Whether `a` and `b` agree on this field.
    fn same(self, a: &RunState, b: &RunState) -> bool {
        match self {
            RunField::Status => a.status == b.status,
            RunField::Outcome => a.outcome == b.outcome,
            RunField::Reconciliation => a.reconciliation == b.reconciliation,
            RunField::Completion => a.completion == b.completion,
            RunField::RunType => a.run_type == b.run_type,
            RunField::Workspace => a.workspace_id == b.workspace_id,
            RunField::Environment => a.environment_id == b.environment_id,
            RunField::Initiator => a.initiator == b.initiator,
            RunField::Identity => a.identity_hash == b.identity_hash,
            RunField::Created => a.created_at == b.created_at,
            RunField::Started => a.started_at == b.started_at,
            RunField::Completed => a.completed_at == b.completed_at,
            RunField::Summary => a.summary == b.summary,
            RunField::Failures => a.failures == b.failures,
            RunField::Context => a.context == b.context,
        }
    }

    /// Whether the field holds a value in `s` (an unset time, an empty list, no
    /// reconciliation hold none).
    fn is_set(self, s: &RunState) -> bool {
        match self {
            RunField::Reconciliation => s.reconciliation.is_some(),
            RunField::Completion => s.completion.is_some(),
            RunField::Environment => s.environment_id.is_some(),
            RunField::Started => s.started_at.is_some(),
            RunField::Completed => s.completed_at.is_some(),
            RunField::Summary => !s.summary.is_empty(),
            RunField::Failures => !s.failures.is_empty(),
            RunField::Context => !s.context.is_empty(),
            _ => true,
        }
    }
}

/// The fields an event changed, in reading order: those in which `after` differs from
/// `before`. With no state before (the event queued the run), every field it set.
pub fn changed_fields(before: Option<&RunState>, after: &RunState) -> Vec<RunField> {
    RunField::ALL
        .into_iter()
        .filter(|f| match before {
            Some(b) => !f.same(b, after),
            None => f.is_set(after),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::identity::IdentityHash;
    use crate::initiator::Initiator;
    use crate::operation_run::{
        CompletionNote, OperationRunEvent, RunCompleted, RunQueued, RunStarted, TerminalOutcome,
    };
    use crate::run_type::RunType;
    use crate::ReasonCode;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
    }

    fn queued() -> OperationRunEvent {
        OperationRunEvent::RunQueued(RunQueued {
            run_id: Uuid::from_u128(1),
            workspace_id: Uuid::from_u128(2),
            environment_id: None,
            run_type: RunType::InventorySync,
            initiator: Initiator::system("test"),
            identity_hash: IdentityHash::of(
                Uuid::from_u128(2),
                None,
                RunType::InventorySync,
                &serde_json::json!({"n": 1}),
            ),
            context: serde_json::Map::new(),
            queued_at: at(1),
        })
    }

    fn fold(events: Vec<OperationRunEvent>) -> Option<RunState> {
        events.into_iter().fold(None, RunState::fold)
    }

    #[test]
    fn queueing_sets_the_fields_a_queued_run_has_and_no_others() {
        let after = fold(vec![queued()]).unwrap();
        assert_eq!(
            changed_fields(None, &after),
            vec![
                RunField::Status,
                RunField::Outcome,
                RunField::RunType,
                RunField::Workspace,
                RunField::Initiator,
                RunField::Identity,
                RunField::Created,
            ]
        );
    }

    #[test]
    fn starting_changes_the_status_and_the_start_time_only() {
        let before = fold(vec![queued()]).unwrap();
        let after = fold(vec![
            queued(),
            OperationRunEvent::RunStarted(RunStarted { started_at: at(2) }),
        ])
        .unwrap();
        assert_eq!(
            changed_fields(Some(&before), &after),
            vec![RunField::Status, RunField::Started]
        );
    }

    #[test]
    fn completing_changes_the_decision_and_what_the_job_reported() {
        let started = vec![
            queued(),
            OperationRunEvent::RunStarted(RunStarted { started_at: at(2) }),
        ];
        let before = fold(started.clone()).unwrap();
        let mut all = started;
        all.push(OperationRunEvent::RunCompleted(RunCompleted {
            outcome: TerminalOutcome::Succeeded,
            summary: [("items".to_string(), 3)].into_iter().collect(),
            failures: vec![],
            completed_at: at(3),
            note: CompletionNote {
                reason_code: ReasonCode::JobNoReason,
                record: None,
            },
        }));
        let after = fold(all).unwrap();
        assert_eq!(
            changed_fields(Some(&before), &after),
            vec![
                RunField::Status,
                RunField::Outcome,
                RunField::Completion,
                RunField::Completed,
                RunField::Summary,
            ]
        );
    }

    #[test]
    fn an_event_that_changes_nothing_changes_no_field() {
        let s = fold(vec![queued()]).unwrap();
        assert!(changed_fields(Some(&s), &s).is_empty());
    }
}
