//! The review-compose decision table (DESIGN.md). For a compose run R in workspace W,
//! environment E, fingerprint F the evidence holds R's own review (`record`) and every
//! candidate with W, E and F (`considered`: reviews, plus the runs holding other drafts).
//! Nothing else is ever read, and ambiguity fails closed.
//!
//! | what the evidence shows | decision | outcome |
//! |---|---|---|
//! | R's own review is `ready` or `published` | proven from domain truth | succeeded |
//! | R's own review is `archived` or `superseded` | proven (historical lineage) | succeeded |
//! | R's own review is `failed` | review compose failed | failed |
//! | R's own review is `draft`, R not yet stale | not provable yet | — |
//! | R's own review is `draft`, R stale | draft never finished | blocked |
//! | no own review; exactly one candidate `ready`/`published` | duplicate recovered | succeeded |
//! | more than one `ready`/`published` candidate | ambiguous | blocked, candidates listed |
//! | only a draft held by another active run | not provable yet (deferred, even when stale) | — |
//! | only a draft whose run ended (orphaned), or a failed review | not provable yet (the next compose run takes it over; R stale: the stale path fails R) | — |
//! | nothing (R stale: the stale path then fails it) | not provable yet | — |
//!
//! "Available" (ready or published) and "held" (a draft of an active run) follow the one
//! standing rule of [`crate::review::standing`], which the worker's slot choice uses too.

use crate::reason::ReasonCode;
use crate::reconciliation::{stale, Decision, DecisionKind, Evidence, RecordKind, RecordStatus};
use crate::review::{standing, ReviewStatus, Standing};

/// Decides a compose run from its evidence. Pure.
pub fn decide(evidence: &Evidence) -> Decision {
    if let Some(own) = evidence
        .record
        .filter(|r| r.kind == RecordKind::EnvironmentReview)
    {
        return match own.status {
            RecordStatus::Ready | RecordStatus::Published => Decision::decided(
                DecisionKind::ProvenSucceeded,
                ReasonCode::ReviewReady,
                evidence,
            ),
            RecordStatus::Archived | RecordStatus::Superseded => Decision::decided(
                DecisionKind::ProvenSucceeded,
                ReasonCode::ReviewHistorical,
                evidence,
            ),
            RecordStatus::Failed => Decision::decided(
                DecisionKind::ProvenFailed,
                ReasonCode::ReviewFailed,
                evidence,
            ),
            _ if stale::is_stale(evidence) => Decision::decided(
                DecisionKind::Blocked,
                ReasonCode::ReviewDraftStale,
                evidence,
            ),
            _ => Decision::not_provable_yet(ReasonCode::ReviewDraftInProgress, evidence),
        };
    }
    let reviews = || {
        evidence
            .considered
            .iter()
            .filter(|r| r.kind == RecordKind::EnvironmentReview)
    };
    let available = reviews()
        .filter(|r| matches!(r.status, RecordStatus::Ready | RecordStatus::Published))
        .count();
    match available {
        1 => Decision::decided(
            DecisionKind::ProvenSucceeded,
            ReasonCode::ReviewDuplicateRecovered,
            evidence,
        ),
        n if n > 1 => {
            Decision::decided(DecisionKind::Blocked, ReasonCode::ReviewAmbiguous, evidence)
        }
        _ => {
            // No review is available. What holds the slot, by the one standing rule the
            // worker's slot choice uses too.
            let drafting_run_active = evidence.considered.iter().any(|r| {
                r.kind == RecordKind::OperationRun
                    && matches!(r.status, RecordStatus::Queued | RecordStatus::Running)
            });
            let standings: Vec<Standing> = reviews()
                .filter_map(|r| review_status(r.status))
                .map(|s| standing(s, drafting_run_active))
                .collect();
            if standings.contains(&Standing::InProgress) {
                Decision::deferred(ReasonCode::ReviewDraftHeldElsewhere, evidence)
            } else if standings.contains(&Standing::Orphaned) {
                Decision::not_provable_yet(ReasonCode::ReviewDraftOrphaned, evidence)
            } else if standings.contains(&Standing::Failed) {
                Decision::not_provable_yet(ReasonCode::ReviewFailedAwaitingRetry, evidence)
            } else {
                Decision::not_provable_yet(ReasonCode::ReviewNoneFound, evidence)
            }
        }
    }
}

/// The review status a recorded review status stands for.
fn review_status(status: RecordStatus) -> Option<ReviewStatus> {
    Some(match status {
        RecordStatus::Draft => ReviewStatus::Draft,
        RecordStatus::Ready => ReviewStatus::Ready,
        RecordStatus::Failed => ReviewStatus::Failed,
        RecordStatus::Published => ReviewStatus::Published,
        RecordStatus::Archived => ReviewStatus::Archived,
        RecordStatus::Superseded => ReviewStatus::Superseded,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation_run::RunStatus;
    use crate::reconciliation::{RecordRef, TimeLabel};
    use crate::run_type::RunType;
    use chrono::{DateTime, Duration};
    use uuid::Uuid;

    fn review(id: u128, status: RecordStatus) -> RecordRef {
        RecordRef {
            kind: RecordKind::EnvironmentReview,
            id: Uuid::from_u128(id),
            status,
        }
    }

    fn run(id: u128, status: RecordStatus) -> RecordRef {
        RecordRef {
            kind: RecordKind::OperationRun,
            id: Uuid::from_u128(id),
            status,
        }
    }

    /// Evidence of a running compose run, `minutes` after it started (stale at 30).
    fn evidence(minutes: i64, own: Option<RecordRef>, considered: Vec<RecordRef>) -> Evidence {
        let t0 = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let mut e = Evidence {
            run_status: Some(RunStatus::Running),
            thresholds: Some(RunType::EnvironmentReviewCompose.thresholds()),
            record: own,
            considered,
            ..Evidence::default()
        };
        e.timestamps.insert(TimeLabel::RunQueuedAt, t0);
        e.timestamps.insert(TimeLabel::RunStartedAt, t0);
        e.timestamps
            .insert(TimeLabel::EvaluatedAt, t0 + Duration::minutes(minutes));
        e
    }

    fn verdict(e: &Evidence) -> (Option<DecisionKind>, ReasonCode) {
        let d = decide(e);
        (d.kind(), d.reason())
    }

    #[test]
    fn own_ready_or_published_review_proves_success() {
        for s in [RecordStatus::Ready, RecordStatus::Published] {
            let e = evidence(1, Some(review(1, s)), vec![review(1, s)]);
            assert_eq!(
                verdict(&e),
                (Some(DecisionKind::ProvenSucceeded), ReasonCode::ReviewReady)
            );
        }
    }

    #[test]
    fn own_archived_or_superseded_review_proves_success_from_lineage() {
        for s in [RecordStatus::Archived, RecordStatus::Superseded] {
            let e = evidence(1, Some(review(1, s)), vec![review(1, s)]);
            assert_eq!(
                verdict(&e),
                (
                    Some(DecisionKind::ProvenSucceeded),
                    ReasonCode::ReviewHistorical
                )
            );
        }
    }

    #[test]
    fn own_failed_review_proves_failure() {
        let e = evidence(
            1,
            Some(review(1, RecordStatus::Failed)),
            vec![review(1, RecordStatus::Failed)],
        );
        assert_eq!(
            verdict(&e),
            (Some(DecisionKind::ProvenFailed), ReasonCode::ReviewFailed)
        );
    }

    #[test]
    fn own_draft_is_not_provable_until_the_run_is_stale_then_blocked() {
        let fresh = evidence(
            29,
            Some(review(1, RecordStatus::Draft)),
            vec![review(1, RecordStatus::Draft)],
        );
        assert_eq!(verdict(&fresh), (None, ReasonCode::ReviewDraftInProgress));
        let stale = evidence(
            30,
            Some(review(1, RecordStatus::Draft)),
            vec![review(1, RecordStatus::Draft)],
        );
        assert_eq!(
            verdict(&stale),
            (Some(DecisionKind::Blocked), ReasonCode::ReviewDraftStale)
        );
    }

    #[test]
    fn exactly_one_available_candidate_recovers_the_duplicate() {
        for s in [RecordStatus::Ready, RecordStatus::Published] {
            let e = evidence(
                1,
                None,
                vec![review(2, s), review(3, RecordStatus::Superseded)],
            );
            assert_eq!(
                verdict(&e),
                (
                    Some(DecisionKind::ProvenSucceeded),
                    ReasonCode::ReviewDuplicateRecovered
                )
            );
        }
    }

    #[test]
    fn more_than_one_available_candidate_is_ambiguous_and_blocks_naming_them() {
        let e = evidence(
            1,
            None,
            vec![
                review(2, RecordStatus::Ready),
                review(3, RecordStatus::Published),
            ],
        );
        let d = decide(&e);
        assert_eq!(
            (d.kind(), d.reason()),
            (Some(DecisionKind::Blocked), ReasonCode::ReviewAmbiguous)
        );
        assert_eq!(
            d.evidence().considered.len(),
            2,
            "the candidates are listed"
        );
    }

    #[test]
    fn a_draft_held_by_another_active_run_is_not_provable_yet() {
        let e = evidence(
            45,
            None,
            vec![
                review(2, RecordStatus::Draft),
                run(9, RecordStatus::Running),
            ],
        );
        assert_eq!(verdict(&e), (None, ReasonCode::ReviewDraftHeldElsewhere));
    }

    #[test]
    fn nothing_found_is_left_to_the_stale_path() {
        let e = evidence(45, None, vec![]);
        assert_eq!(verdict(&e), (None, ReasonCode::ReviewNoneFound));
        assert!(stale::is_stale(&e));
    }

    #[test]
    fn a_draft_whose_run_ended_is_orphaned_and_left_to_the_next_compose_run() {
        let orphaned = evidence(
            45,
            None,
            vec![
                review(2, RecordStatus::Draft),
                run(9, RecordStatus::Completed),
            ],
        );
        let d = decide(&orphaned);
        assert_eq!(
            (d.kind(), d.reason()),
            (None, ReasonCode::ReviewDraftOrphaned)
        );
        assert!(
            d.allows_stale_path(),
            "a stale R still ends by the stale path"
        );
        // A draft whose run has no record at all is orphaned too (one rule with the slot).
        let no_run = evidence(45, None, vec![review(2, RecordStatus::Draft)]);
        assert_eq!(verdict(&no_run), (None, ReasonCode::ReviewDraftOrphaned));
        let failed = evidence(45, None, vec![review(2, RecordStatus::Failed)]);
        assert_eq!(
            verdict(&failed),
            (None, ReasonCode::ReviewFailedAwaitingRetry)
        );
    }
}
