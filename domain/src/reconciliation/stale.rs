//! The generic stale rules: a run that stayed queued or running past its type's
//! thresholds is ended as failed, with the thresholds and timestamps as evidence.
//! Pure: "now" is an input, and the decision is a function of the evidence alone.

use chrono::{DateTime, Utc};

use crate::operation_run::{RunState, RunStatus};
use crate::reason::ReasonCode;
use crate::reconciliation::{Decision, DecisionKind, Evidence, TimeLabel};
use crate::run_type::RunType;

/// The evidence every reconciliation of `run` starts from: scope, status, timestamps,
/// thresholds and the evaluation time.
pub fn base_evidence(run: &RunState, now: DateTime<Utc>) -> Evidence {
    let mut evidence = Evidence {
        workspace_id: Some(run.workspace_id),
        environment_id: run.environment_id,
        run_status: Some(run.status),
        thresholds: Some(run.run_type.thresholds()),
        ..Evidence::default()
    };
    evidence
        .timestamps
        .insert(TimeLabel::RunQueuedAt, run.created_at);
    if let Some(started) = run.started_at {
        evidence.timestamps.insert(TimeLabel::RunStartedAt, started);
    }
    evidence.timestamps.insert(TimeLabel::EvaluatedAt, now);
    if let Some(since) = stale_since(&evidence) {
        evidence.timestamps.insert(TimeLabel::StaleSince, since);
    }
    evidence
}

/// When the run became (or becomes) stale, from the evidence: queued runs after the
/// queued threshold, running runs after the running threshold since they started.
pub fn stale_since(evidence: &Evidence) -> Option<DateTime<Utc>> {
    let thresholds = evidence.thresholds?;
    match evidence.run_status? {
        RunStatus::Queued => {
            Some(*evidence.timestamps.get(&TimeLabel::RunQueuedAt)? + thresholds.queued_after())
        }
        RunStatus::Running => {
            let started = evidence
                .timestamps
                .get(&TimeLabel::RunStartedAt)
                .or_else(|| evidence.timestamps.get(&TimeLabel::RunQueuedAt))?;
            Some(*started + thresholds.running_after())
        }
        RunStatus::Completed => None,
    }
}

/// The same rule as a cut-off, for queries: a run of `run_type` in `status` is stale at
/// `now` exactly when its anchor — queued time for queued runs, start time (else queued
/// time) for running runs — is at or before the returned time. `None` for completed
/// runs. Scans bind these values instead of restating the thresholds.
pub fn stale_cutoff(
    run_type: RunType,
    status: RunStatus,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let thresholds = run_type.thresholds();
    match status {
        RunStatus::Queued => Some(now - thresholds.queued_after()),
        RunStatus::Running => Some(now - thresholds.running_after()),
        RunStatus::Completed => None,
    }
}

/// Whether the evidence shows the run past its threshold at evaluation time.
pub fn is_stale(evidence: &Evidence) -> bool {
    match (
        stale_since(evidence),
        evidence.timestamps.get(&TimeLabel::EvaluatedAt),
    ) {
        (Some(since), Some(now)) => *now >= since,
        _ => false,
    }
}

/// The generic decision: failed as `run.stale_queued` / `run.stale_running` once past
/// the threshold; otherwise not provable yet.
pub fn decide(evidence: &Evidence) -> Decision {
    if !is_stale(evidence) {
        return Decision::not_provable_yet(ReasonCode::RunNotStale, evidence);
    }
    let reason = match evidence.run_status {
        Some(RunStatus::Running) => ReasonCode::RunStaleRunning,
        _ => ReasonCode::RunStaleQueued,
    };
    Decision::decided(DecisionKind::ProvenFailed, reason, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityHash;
    use crate::initiator::Initiator;
    use crate::operation_run::RunOutcome;
    use crate::run_type::RunType;
    use chrono::Duration;
    use serde_json::json;
    use uuid::Uuid;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn run(status: RunStatus, started: Option<i64>) -> RunState {
        RunState {
            id: Uuid::from_u128(1),
            workspace_id: Uuid::from_u128(2),
            environment_id: Some(Uuid::from_u128(3)),
            run_type: RunType::InventorySync, // queued 15 min, running 60 min
            status,
            outcome: RunOutcome::Pending,
            initiator: Initiator::system("test"),
            identity_hash: IdentityHash::of(Uuid::nil(), None, RunType::InventorySync, &json!({})),
            context: Default::default(),
            summary: Default::default(),
            failures: vec![],
            created_at: t0(),
            started_at: started.map(|m| t0() + Duration::minutes(m)),
            completed_at: None,
            reconciliation: None,
            completion: None,
        }
    }

    #[test]
    fn a_queued_run_before_its_threshold_is_not_provable_yet() {
        let d = decide(&base_evidence(
            &run(RunStatus::Queued, None),
            t0() + Duration::minutes(14),
        ));
        assert_eq!(d.kind(), None);
        assert_eq!(d.reason(), ReasonCode::RunNotStale);
    }

    #[test]
    fn a_queued_run_past_its_threshold_fails_as_stale_queued() {
        let e = base_evidence(&run(RunStatus::Queued, None), t0() + Duration::minutes(15));
        let d = decide(&e);
        assert_eq!(d.kind(), Some(DecisionKind::ProvenFailed));
        assert_eq!(d.reason(), ReasonCode::RunStaleQueued);
        assert_eq!(
            e.timestamps.get(&TimeLabel::StaleSince),
            Some(&(t0() + Duration::minutes(15)))
        );
    }

    #[test]
    fn a_running_run_is_measured_from_its_start() {
        // Started 10 minutes after queueing; the running threshold is 60 minutes.
        let early = base_evidence(
            &run(RunStatus::Running, Some(10)),
            t0() + Duration::minutes(69),
        );
        assert_eq!(decide(&early).kind(), None);
        let late = base_evidence(
            &run(RunStatus::Running, Some(10)),
            t0() + Duration::minutes(70),
        );
        let d = decide(&late);
        assert_eq!(d.kind(), Some(DecisionKind::ProvenFailed));
        assert_eq!(d.reason(), ReasonCode::RunStaleRunning);
    }

    #[test]
    fn the_cutoff_asks_the_same_question_as_the_evidence() {
        for (status, started) in [(RunStatus::Queued, None), (RunStatus::Running, Some(10))] {
            let r = run(status, started);
            let anchor = r.started_at.unwrap_or(r.created_at);
            for minutes in [0, 14, 15, 16, 69, 70, 71, 200] {
                let now = t0() + Duration::minutes(minutes);
                let cutoff = stale_cutoff(r.run_type, status, now).unwrap();
                assert_eq!(
                    anchor <= cutoff,
                    is_stale(&base_evidence(&r, now)),
                    "{status} at +{minutes} min"
                );
            }
        }
        assert_eq!(
            stale_cutoff(RunType::InventorySync, RunStatus::Completed, t0()),
            None
        );
    }

    #[test]
    fn a_completed_run_is_never_stale() {
        let e = base_evidence(
            &run(RunStatus::Completed, Some(1)),
            t0() + Duration::days(30),
        );
        assert!(!is_stale(&e));
        assert_eq!(decide(&e).kind(), None);
    }

    #[test]
    fn the_evidence_carries_scope_thresholds_and_times() {
        let now = t0() + Duration::minutes(20);
        let e = base_evidence(&run(RunStatus::Queued, None), now);
        assert_eq!(e.workspace_id, Some(Uuid::from_u128(2)));
        assert_eq!(e.environment_id, Some(Uuid::from_u128(3)));
        assert_eq!(e.run_status, Some(RunStatus::Queued));
        assert_eq!(e.thresholds, Some(RunType::InventorySync.thresholds()));
        assert_eq!(e.timestamps.get(&TimeLabel::EvaluatedAt), Some(&now));
    }
}
