//! The restore precedent: a `restore.execute` run follows its own restore record.
//! Pure: the evidence names the record (or its absence) and its status.

use crate::reason::ReasonCode;
use crate::reconciliation::{Decision, DecisionKind, Evidence, RecordKind, RecordStatus};

/// The restore adapter's decision table.
///
/// | restore record | decision |
/// |---|---|
/// | `completed` | proven succeeded |
/// | `completed_with_errors` | proven partially succeeded |
/// | `failed` | proven failed |
/// | `queued` / `running` | not provable yet |
/// | none in the run's scope | not provable yet |
pub fn decide(evidence: &Evidence) -> Decision {
    let record = evidence.record.filter(|r| r.kind == RecordKind::Restore);
    match record.map(|r| r.status) {
        Some(RecordStatus::Completed) => Decision::decided(
            DecisionKind::ProvenSucceeded,
            ReasonCode::RestoreCompleted,
            evidence,
        ),
        Some(RecordStatus::CompletedWithErrors) => Decision::decided(
            DecisionKind::ProvenPartiallySucceeded,
            ReasonCode::RestoreCompletedWithErrors,
            evidence,
        ),
        Some(RecordStatus::Failed) => Decision::decided(
            DecisionKind::ProvenFailed,
            ReasonCode::RestoreFailed,
            evidence,
        ),
        Some(_) => Decision::not_provable_yet(ReasonCode::RestoreNotFinished, evidence),
        None => Decision::not_provable_yet(ReasonCode::RestoreRecordMissing, evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconciliation::RecordRef;
    use uuid::Uuid;

    fn with(status: RecordStatus) -> Evidence {
        Evidence {
            record: Some(RecordRef {
                kind: RecordKind::Restore,
                id: Uuid::from_u128(9),
                status,
            }),
            ..Evidence::default()
        }
    }

    #[test]
    fn a_completed_restore_proves_the_run_succeeded() {
        let d = decide(&with(RecordStatus::Completed));
        assert_eq!(
            (d.kind(), d.reason()),
            (
                Some(DecisionKind::ProvenSucceeded),
                ReasonCode::RestoreCompleted
            )
        );
    }

    #[test]
    fn a_restore_completed_with_errors_proves_the_run_partially_succeeded() {
        let d = decide(&with(RecordStatus::CompletedWithErrors));
        assert_eq!(
            (d.kind(), d.reason()),
            (
                Some(DecisionKind::ProvenPartiallySucceeded),
                ReasonCode::RestoreCompletedWithErrors
            )
        );
    }

    #[test]
    fn a_failed_restore_proves_the_run_failed() {
        let d = decide(&with(RecordStatus::Failed));
        assert_eq!(
            (d.kind(), d.reason()),
            (Some(DecisionKind::ProvenFailed), ReasonCode::RestoreFailed)
        );
    }

    #[test]
    fn an_unfinished_restore_proves_nothing_yet() {
        for status in [RecordStatus::Queued, RecordStatus::Running] {
            let d = decide(&with(status));
            assert_eq!(
                (d.kind(), d.reason()),
                (None, ReasonCode::RestoreNotFinished)
            );
        }
    }

    #[test]
    fn no_restore_record_proves_nothing() {
        let d = decide(&Evidence::default());
        assert_eq!(
            (d.kind(), d.reason()),
            (None, ReasonCode::RestoreRecordMissing)
        );
    }

    #[test]
    fn a_record_of_another_kind_is_not_a_restore_record() {
        let mut e = with(RecordStatus::Completed);
        e.record = e.record.map(|r| RecordRef {
            kind: RecordKind::EnvironmentReview,
            ..r
        });
        assert_eq!(decide(&e).kind(), None);
    }
}
