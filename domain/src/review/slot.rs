//! The fingerprint slot: one stream per (workspace, environment, fingerprint) naming the
//! review that holds it. Claiming the slot and drafting the review are appended in one
//! transaction; concurrent claims conflict on the slot stream's sequence, so at most one
//! mutable review per fingerprint is ever written (invariant 4).

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::fingerprint::Fingerprint;
use crate::review::aggregate::ReviewState;
use crate::review::status::ReviewStatus;

/// The slot stream's id for a scope and fingerprint.
pub fn slot_key(workspace_id: Uuid, environment_id: Uuid, fingerprint: &Fingerprint) -> String {
    format!("{workspace_id}/{environment_id}/{fingerprint}")
}

/// The slot's event stream: its aggregate type and id.
pub fn slot_stream(
    workspace_id: Uuid,
    environment_id: Uuid,
    fingerprint: &Fingerprint,
) -> (&'static str, String) {
    (
        <ReviewSlot as Aggregate>::TYPE,
        slot_key(workspace_id, environment_id, fingerprint),
    )
}

/// The slot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewSlot {
    holder: Option<Uuid>,
}

/// Claim the slot for a new review; the caller saw `observed_holder` when it decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimReviewSlot {
    pub slot_key: String,
    pub review_id: Uuid,
    pub observed_holder: Option<Uuid>,
    pub claimed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReviewSlotEvent {
    ReviewSlotClaimed(ReviewSlotClaimed),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSlotClaimed {
    pub slot_key: String,
    pub review_id: Uuid,
    pub previous_review_id: Option<Uuid>,
    pub claimed_at: DateTime<Utc>,
}

/// The slot changed after it was read: reload and decide again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the review slot changed since it was read")]
pub struct SlotOutdated;

impl ReviewSlot {
    pub fn holder(&self) -> Option<Uuid> {
        self.holder
    }

    pub fn decide(&self, cmd: ClaimReviewSlot) -> Result<Vec<ReviewSlotEvent>, SlotOutdated> {
        if cmd.observed_holder != self.holder {
            return Err(SlotOutdated);
        }
        Ok(vec![ReviewSlotEvent::ReviewSlotClaimed(
            ReviewSlotClaimed {
                slot_key: cmd.slot_key,
                review_id: cmd.review_id,
                previous_review_id: self.holder,
                claimed_at: cmd.claimed_at,
            },
        )])
    }
}

/// What a review means to the next compose run for its fingerprint. One rule, used by
/// the slot choice (the worker), `create_or_refresh` and the review-compose adapter, so
/// none of them can disagree about whether a review is available or still held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// `ready` or `published`: a repeated trigger reuses it (invariant 6).
    Available,
    /// A `draft` whose drafting run is still queued or running: that run composes it.
    InProgress,
    /// A `draft` whose drafting run is no longer active (it ended with any outcome, or
    /// has no history): nobody will finish it, so the next compose run for the
    /// fingerprint takes it over (invariant 11).
    Orphaned,
    /// `failed`: the next compose run for the fingerprint drafts it again.
    Failed,
    /// `archived` or `superseded`: historical lineage; a new review is composed beside it.
    Historical,
}

/// Pure: the standing of a review in `status` whose drafting run is (or is not) active.
pub fn standing(status: ReviewStatus, drafting_run_active: bool) -> Standing {
    match status {
        ReviewStatus::Ready | ReviewStatus::Published => Standing::Available,
        ReviewStatus::Draft if drafting_run_active => Standing::InProgress,
        ReviewStatus::Draft => Standing::Orphaned,
        ReviewStatus::Failed => Standing::Failed,
        ReviewStatus::Archived | ReviewStatus::Superseded => Standing::Historical,
    }
}

/// What a compose run may do, given the slot's holder as read from its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotChoice {
    /// No review holds the slot, or only historical lineage: claim it with a new draft.
    ClaimNew,
    /// The holder failed, or its draft was orphaned by a run that ended: this run drafts
    /// it again (recorded with the previous run, so the history shows the handover).
    Redraft {
        review_id: Uuid,
        previous_run_id: Uuid,
    },
    /// A ready or published review with this fingerprint exists: nothing to compose.
    Available(Uuid),
    /// An active run is drafting the holder: this run lost the race.
    HeldByActiveRun(Uuid),
}

/// A slot's holder as the slot choice needs it: the review, and whether the run that
/// drafted it is still active (read from the run's own stream).
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub review: &'a ReviewState,
    pub drafting_run_active: bool,
}

/// Pure: decides the slot choice.
///
/// A compose run never sees a draft of its own here: a run is executed once (its start
/// event is appended once) and a claim that fails writes nothing. Should it see one
/// anyway, the draft counts as held by an active run, and the review-compose adapter then
/// decides the run from its own draft.
pub fn choose(holder: Option<Holder<'_>>) -> SlotChoice {
    let Some(h) = holder else {
        return SlotChoice::ClaimNew;
    };
    match standing(h.review.status, h.drafting_run_active) {
        Standing::Available => SlotChoice::Available(h.review.id),
        Standing::InProgress => SlotChoice::HeldByActiveRun(h.review.id),
        Standing::Orphaned | Standing::Failed => SlotChoice::Redraft {
            review_id: h.review.id,
            previous_run_id: h.review.run_id,
        },
        Standing::Historical => SlotChoice::ClaimNew,
    }
}

impl DomainEvent for ReviewSlotEvent {
    fn event_type(&self) -> String {
        "ReviewSlotClaimed".to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

impl Aggregate for ReviewSlot {
    const TYPE: &'static str = "review_slot";
    type Command = ClaimReviewSlot;
    type Event = ReviewSlotEvent;
    type Error = SlotOutdated;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ReviewSlotEvent::ReviewSlotClaimed(e) => self.holder = Some(e.review_id),
        }
    }
}
