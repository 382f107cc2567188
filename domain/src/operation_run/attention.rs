//! "Needs attention": what an operator's dashboard lists first — runs that ended badly
//! (failed, blocked, partially succeeded) and runs still queued or running past their
//! type's stale threshold (the reconciler will end them; someone should look why).

use chrono::{DateTime, Utc};

use crate::operation_run::{RunOutcome, RunState};
use crate::reconciliation::stale;

/// The outcomes that need an operator's attention.
pub const ATTENTION_OUTCOMES: [RunOutcome; 3] = [
    RunOutcome::Failed,
    RunOutcome::Blocked,
    RunOutcome::PartiallySucceeded,
];

/// Whether `run` needs attention at `now`. Queries ask the same question with
/// [`ATTENTION_OUTCOMES`] and [`stale::stale_cutoff`] as bound values.
pub fn needs_attention(run: &RunState, now: DateTime<Utc>) -> bool {
    ATTENTION_OUTCOMES.contains(&run.outcome) || stale::is_stale(&stale::base_evidence(run, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityHash;
    use crate::initiator::Initiator;
    use crate::operation_run::RunStatus;
    use crate::run_type::RunType;
    use chrono::Duration;
    use serde_json::json;
    use uuid::Uuid;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn run(status: RunStatus, outcome: RunOutcome) -> RunState {
        RunState {
            id: Uuid::from_u128(1),
            workspace_id: Uuid::from_u128(2),
            environment_id: None,
            run_type: RunType::ReportExport, // queued 10 min, running 30 min
            status,
            outcome,
            initiator: Initiator::system("test"),
            identity_hash: IdentityHash::of(Uuid::nil(), None, RunType::ReportExport, &json!({})),
            context: Default::default(),
            summary: Default::default(),
            failures: vec![],
            created_at: t0(),
            started_at: (status != RunStatus::Queued).then(t0),
            completed_at: (status == RunStatus::Completed).then(t0),
            reconciliation: None,
            completion: None,
        }
    }

    #[test]
    fn failed_blocked_and_partial_runs_need_attention_and_succeeded_ones_do_not() {
        let now = t0() + Duration::days(1);
        for (outcome, expected) in [
            (RunOutcome::Failed, true),
            (RunOutcome::Blocked, true),
            (RunOutcome::PartiallySucceeded, true),
            (RunOutcome::Succeeded, false),
        ] {
            assert_eq!(
                needs_attention(&run(RunStatus::Completed, outcome), now),
                expected,
                "{outcome}"
            );
        }
    }

    #[test]
    fn an_active_run_needs_attention_once_it_is_past_its_stale_threshold() {
        let queued = run(RunStatus::Queued, RunOutcome::Pending);
        assert!(!needs_attention(&queued, t0() + Duration::minutes(9)));
        assert!(needs_attention(&queued, t0() + Duration::minutes(10)));
        let running = run(RunStatus::Running, RunOutcome::Pending);
        assert!(!needs_attention(&running, t0() + Duration::minutes(29)));
        assert!(needs_attention(&running, t0() + Duration::minutes(30)));
    }
}
