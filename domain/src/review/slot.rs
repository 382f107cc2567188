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

/// What compose run `run_id` may do, given the slot's holder as read from its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotChoice {
    /// No mutable review holds the slot: claim it with a new draft.
    ClaimNew,
    /// The holder failed earlier: draft it again with this run.
    RetryFailed(Uuid),
    /// This run already drafted the holder (a restarted worker): carry on with it.
    ResumeOwnDraft(Uuid),
    /// A ready review with this fingerprint exists: nothing to compose.
    Available(Uuid),
    /// Another run is drafting the holder: this run lost the race.
    HeldByOtherDraft(Uuid),
}

/// Pure: decides the slot choice.
pub fn choose(holder: Option<&ReviewState>, run_id: Uuid) -> SlotChoice {
    let Some(h) = holder else {
        return SlotChoice::ClaimNew;
    };
    match h.status {
        ReviewStatus::Draft if h.run_id == run_id => SlotChoice::ResumeOwnDraft(h.id),
        ReviewStatus::Draft => SlotChoice::HeldByOtherDraft(h.id),
        ReviewStatus::Ready => SlotChoice::Available(h.id),
        ReviewStatus::Failed => SlotChoice::RetryFailed(h.id),
        // Historical lineage is not mutable: a new review may be composed beside it.
        ReviewStatus::Published | ReviewStatus::Archived | ReviewStatus::Superseded => {
            SlotChoice::ClaimNew
        }
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
