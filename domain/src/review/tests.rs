//! Given / when / then specifications of the review lifecycle and the slot choice.

use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::findings::FindingsDocument;
use crate::fingerprint::Fingerprint;
use crate::reason::ReasonCode;

type ReviewTest = TestFramework<EnvironmentReview>;

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn fingerprint() -> Fingerprint {
    Fingerprint::compute(
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        "sha256:x",
        COMPOSER_VERSION,
    )
}

fn run() -> Uuid {
    Uuid::from_u128(0xAA)
}

fn drafted() -> ReviewEvent {
    ReviewEvent::ReviewDrafted(ReviewDrafted {
        review_id: Uuid::from_u128(7),
        workspace_id: Uuid::from_u128(1),
        environment_id: Uuid::from_u128(2),
        fingerprint: fingerprint(),
        snapshot_id: Uuid::from_u128(3),
        run_id: run(),
        drafted_at: at(),
    })
}

fn content() -> ReviewContent {
    compose(
        &FindingsDocument::parse(&json!({"findings": []})).unwrap(),
        "sha256:x",
    )
}

fn composed() -> ReviewEvent {
    ReviewEvent::ReviewComposed(ReviewComposed {
        content: content(),
        composed_at: at(),
    })
}

fn failed() -> ReviewEvent {
    ReviewEvent::ReviewCompositionFailed(ReviewCompositionFailed {
        reason_code: ReasonCode::ReviewComposeFailed,
        failed_at: at(),
    })
}

fn published() -> ReviewEvent {
    ReviewEvent::ReviewPublished(ReviewPublished {
        supersedes: None,
        published_at: at(),
    })
}

#[test]
fn it_should_draft_a_new_review() {
    ReviewTest::with(())
        .given_no_previous_events()
        .when(ReviewCommand::Draft(DraftReview {
            review_id: Uuid::from_u128(7),
            workspace_id: Uuid::from_u128(1),
            environment_id: Uuid::from_u128(2),
            fingerprint: fingerprint(),
            snapshot_id: Uuid::from_u128(3),
            run_id: run(),
            drafted_at: at(),
        }))
        .then_expect_events(vec![drafted()]);
}

#[test]
fn it_should_become_ready_when_its_own_run_composes_it() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Compose {
            run_id: run(),
            content: content(),
            composed_at: at(),
        })
        .then_expect_events(vec![composed()]);
}

#[test]
fn it_should_not_let_another_run_compose_or_fail_a_draft() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Compose {
            run_id: Uuid::from_u128(0xBB),
            content: content(),
            composed_at: at(),
        })
        .then_expect_error(ReviewError::NotHeldByRun);
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Fail {
            run_id: Uuid::from_u128(0xBB),
            reason_code: ReasonCode::ReviewComposeFailed,
            failed_at: at(),
        })
        .then_expect_error(ReviewError::NotHeldByRun);
}

#[test]
fn it_should_fail_and_be_drafted_again_by_a_new_run() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Fail {
            run_id: run(),
            reason_code: ReasonCode::ReviewComposeFailed,
            failed_at: at(),
        })
        .then_expect_events(vec![failed()]);
    ReviewTest::with(())
        .given(vec![drafted(), failed()])
        .when(ReviewCommand::Redraft {
            run_id: Uuid::from_u128(0xCC),
            previous_run_ended: true,
            drafted_at: at(),
        })
        .then_expect_events(vec![ReviewEvent::ReviewRedrafted(ReviewRedrafted {
            run_id: Uuid::from_u128(0xCC),
            drafted_at: at(),
        })]);
}

fn taken_over(by: u128) -> ReviewEvent {
    ReviewEvent::ReviewDraftTakenOver(ReviewDraftTakenOver {
        run_id: Uuid::from_u128(by),
        previous_run_id: run(),
        drafted_at: at(),
    })
}

#[test]
fn it_should_let_a_new_run_take_over_a_draft_whose_run_ended_naming_the_previous_run() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Redraft {
            run_id: Uuid::from_u128(0xCC),
            previous_run_ended: true,
            drafted_at: at(),
        })
        .then_expect_events(vec![taken_over(0xCC)]);
}

#[test]
fn it_should_not_let_a_new_run_take_over_a_draft_whose_run_is_still_active() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Redraft {
            run_id: Uuid::from_u128(0xCC),
            previous_run_ended: false,
            drafted_at: at(),
        })
        .then_expect_error(ReviewError::NotHeldByRun);
}

#[test]
fn it_should_let_only_the_run_that_took_over_compose_the_draft() {
    ReviewTest::with(())
        .given(vec![drafted(), taken_over(0xCC)])
        .when(ReviewCommand::Compose {
            run_id: run(),
            content: content(),
            composed_at: at(),
        })
        .then_expect_error(ReviewError::NotHeldByRun);
    ReviewTest::with(())
        .given(vec![drafted(), taken_over(0xCC)])
        .when(ReviewCommand::Compose {
            run_id: Uuid::from_u128(0xCC),
            content: content(),
            composed_at: at(),
        })
        .then_expect_events(vec![composed()]);
}

#[test]
fn a_redraft_keeps_every_earlier_run_as_attempt_history() {
    let events = vec![
        drafted(),
        taken_over(0xCC),
        ReviewEvent::ReviewCompositionFailed(ReviewCompositionFailed {
            reason_code: ReasonCode::ReviewComposeFailed,
            failed_at: at(),
        }),
        ReviewEvent::ReviewRedrafted(ReviewRedrafted {
            run_id: Uuid::from_u128(0xDD),
            drafted_at: at(),
        }),
    ];
    let state = events.into_iter().fold(None, ReviewState::fold).unwrap();
    assert_eq!(state.run_id, Uuid::from_u128(0xDD));
    assert_eq!(state.previous_run_ids, vec![run(), Uuid::from_u128(0xCC)]);
    assert_eq!(state.status, ReviewStatus::Draft);
}

#[test]
fn it_should_publish_only_ready_reviews_and_archive_or_supersede_only_published_ones() {
    ReviewTest::with(())
        .given(vec![drafted(), composed()])
        .when(ReviewCommand::Publish {
            supersedes: None,
            published_at: at(),
        })
        .then_expect_events(vec![published()]);
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Publish {
            supersedes: None,
            published_at: at(),
        })
        .then_expect_error(ReviewError::InvalidTransition {
            from: ReviewStatus::Draft,
            action: "published",
        });
    ReviewTest::with(())
        .given(vec![drafted(), composed(), published()])
        .when(ReviewCommand::Archive { archived_at: at() })
        .then_expect_events(vec![ReviewEvent::ReviewArchived(ReviewArchived {
            archived_at: at(),
        })]);
    ReviewTest::with(())
        .given(vec![drafted(), composed()])
        .when(ReviewCommand::Archive { archived_at: at() })
        .then_expect_error(ReviewError::InvalidTransition {
            from: ReviewStatus::Ready,
            action: "archived",
        });
    ReviewTest::with(())
        .given(vec![drafted(), composed(), published()])
        .when(ReviewCommand::Supersede {
            by: Uuid::from_u128(8),
            superseded_at: at(),
        })
        .then_expect_events(vec![ReviewEvent::ReviewSuperseded(ReviewSuperseded {
            superseded_by: Uuid::from_u128(8),
            superseded_at: at(),
        })]);
    ReviewTest::with(())
        .given(vec![
            drafted(),
            composed(),
            published(),
            ReviewEvent::ReviewArchived(ReviewArchived { archived_at: at() }),
        ])
        .when(ReviewCommand::Supersede {
            by: Uuid::from_u128(8),
            superseded_at: at(),
        })
        .then_expect_error(ReviewError::InvalidTransition {
            from: ReviewStatus::Archived,
            action: "superseded",
        });
}

#[test]
fn it_should_not_draft_twice_or_act_on_a_missing_review() {
    ReviewTest::with(())
        .given(vec![drafted()])
        .when(ReviewCommand::Redraft {
            run_id: run(),
            previous_run_ended: true,
            drafted_at: at(),
        })
        .then_expect_error(ReviewError::InvalidTransition {
            from: ReviewStatus::Draft,
            action: "drafted again",
        });
    ReviewTest::with(())
        .given(vec![drafted(), composed()])
        .when(ReviewCommand::Redraft {
            run_id: Uuid::from_u128(0xCC),
            previous_run_ended: true,
            drafted_at: at(),
        })
        .then_expect_error(ReviewError::InvalidTransition {
            from: ReviewStatus::Ready,
            action: "drafted again",
        });
    ReviewTest::with(())
        .given_no_previous_events()
        .when(ReviewCommand::Archive { archived_at: at() })
        .then_expect_error(ReviewError::NotFound);
}

fn holder(status: ReviewStatus, run_id: Uuid) -> ReviewState {
    let mut s = ReviewState::fold(None, drafted()).unwrap();
    s.status = status;
    s.run_id = run_id;
    s
}

fn choice(status: ReviewStatus, drafting_run_active: bool) -> SlotChoice {
    let review = holder(status, Uuid::from_u128(0xBB));
    choose(Some(Holder {
        review: &review,
        drafting_run_active,
    }))
}

#[test]
fn the_slot_choice_follows_the_holder_and_its_drafting_run() {
    let review = Uuid::from_u128(7);
    let previous_run_id = Uuid::from_u128(0xBB);
    assert_eq!(choose(None), SlotChoice::ClaimNew);
    assert_eq!(
        choice(ReviewStatus::Draft, true),
        SlotChoice::HeldByActiveRun(review)
    );
    assert_eq!(
        choice(ReviewStatus::Draft, false),
        SlotChoice::Redraft {
            review_id: review,
            previous_run_id
        },
        "a draft whose run ended is orphaned and taken over"
    );
    for active in [true, false] {
        assert_eq!(
            choice(ReviewStatus::Ready, active),
            SlotChoice::Available(review)
        );
        assert_eq!(
            choice(ReviewStatus::Published, active),
            SlotChoice::Available(review),
            "a published review of the same fingerprint is available"
        );
        assert_eq!(
            choice(ReviewStatus::Failed, active),
            SlotChoice::Redraft {
                review_id: review,
                previous_run_id
            }
        );
        assert_eq!(choice(ReviewStatus::Archived, active), SlotChoice::ClaimNew);
        assert_eq!(
            choice(ReviewStatus::Superseded, active),
            SlotChoice::ClaimNew
        );
    }
}

#[test]
fn one_standing_rule_for_every_status() {
    use Standing::*;
    let expected = [
        (ReviewStatus::Draft, InProgress, Orphaned),
        (ReviewStatus::Ready, Available, Available),
        (ReviewStatus::Failed, Failed, Failed),
        (ReviewStatus::Published, Available, Available),
        (ReviewStatus::Archived, Historical, Historical),
        (ReviewStatus::Superseded, Historical, Historical),
    ];
    for (status, active, ended) in expected {
        assert_eq!(standing(status, true), active, "{status}, run active");
        assert_eq!(standing(status, false), ended, "{status}, run ended");
    }
}

#[test]
fn a_slot_claim_on_an_outdated_observation_is_refused() {
    let key = slot_key(Uuid::from_u128(1), Uuid::from_u128(2), &fingerprint());
    let claimed = ReviewSlotEvent::ReviewSlotClaimed(ReviewSlotClaimed {
        slot_key: key.clone(),
        review_id: Uuid::from_u128(7),
        previous_review_id: None,
        claimed_at: at(),
    });
    TestFramework::<ReviewSlot>::with(())
        .given_no_previous_events()
        .when(ClaimReviewSlot {
            slot_key: key.clone(),
            review_id: Uuid::from_u128(7),
            observed_holder: None,
            claimed_at: at(),
        })
        .then_expect_events(vec![claimed.clone()]);
    TestFramework::<ReviewSlot>::with(())
        .given(vec![claimed])
        .when(ClaimReviewSlot {
            slot_key: key,
            review_id: Uuid::from_u128(8),
            observed_holder: None,
            claimed_at: at(),
        })
        .then_expect_error(SlotOutdated);
}

#[test]
fn only_draft_ready_and_failed_are_mutable() {
    let mutable: Vec<ReviewStatus> = ReviewStatus::ALL
        .into_iter()
        .filter(|s| s.is_mutable())
        .collect();
    assert_eq!(
        mutable,
        [
            ReviewStatus::Draft,
            ReviewStatus::Ready,
            ReviewStatus::Failed
        ]
    );
}
