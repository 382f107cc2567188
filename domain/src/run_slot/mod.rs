//! The run slot: one stream per run identity that names the identity's current run.
//!
//! "One active run per identity" spans two aggregates (the slot and the run), so it is
//! made at write time: claiming the slot and queueing the run are appended in one
//! transaction, and the slot stream's (aggregate, sequence) key makes two concurrent
//! claims conflict. The loser re-reads the slot and returns the winner's run.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::IdentityHash;

/// The schema version of slot events at this release.
pub const SLOT_EVENT_VERSION: &str = "1.0";

/// The slot of one run identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSlot {
    holder: Option<Uuid>,
    version: u64,
}

/// Claim the slot for a new run. The caller looks the current holder up first and
/// passes what it saw, so the decision itself stays pure.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRunSlot {
    pub run_id: Uuid,
    pub identity_hash: IdentityHash,
    /// The holder the caller saw when it loaded the slot.
    pub observed_holder: Option<Uuid>,
    /// Whether that holder was still queued or running.
    pub observed_holder_active: bool,
    pub claimed_at: DateTime<Utc>,
}

/// The slot now names `run_id` as the identity's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSlotClaimed {
    pub identity_hash: IdentityHash,
    pub run_id: Uuid,
    pub previous_run_id: Option<Uuid>,
    pub claimed_at: DateTime<Utc>,
}

/// Events of the `run_slot` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunSlotEvent {
    RunSlotClaimed(RunSlotClaimed),
}

/// Why a claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunSlotError {
    /// An active run holds the slot: use that run.
    #[error("the identity's run {0} is still active")]
    Held(Uuid),
    /// The slot changed after the caller looked at it: reload and decide again.
    #[error("the slot changed since it was read")]
    ObservationOutdated,
}

impl RunSlot {
    /// The run the slot names, if any.
    pub fn holder(&self) -> Option<Uuid> {
        self.holder
    }

    /// The slot stream's last sequence number.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Decides a claim. Pure.
    pub fn decide(&self, cmd: ClaimRunSlot) -> Result<Vec<RunSlotEvent>, RunSlotError> {
        if cmd.observed_holder != self.holder {
            return Err(RunSlotError::ObservationOutdated);
        }
        if let (Some(holder), true) = (self.holder, cmd.observed_holder_active) {
            return Err(RunSlotError::Held(holder));
        }
        Ok(vec![RunSlotEvent::RunSlotClaimed(RunSlotClaimed {
            identity_hash: cmd.identity_hash,
            run_id: cmd.run_id,
            previous_run_id: self.holder,
            claimed_at: cmd.claimed_at,
        })])
    }
}

impl DomainEvent for RunSlotEvent {
    fn event_type(&self) -> String {
        match self {
            RunSlotEvent::RunSlotClaimed(_) => "RunSlotClaimed".to_string(),
        }
    }

    fn event_version(&self) -> String {
        SLOT_EVENT_VERSION.to_string()
    }
}

impl Aggregate for RunSlot {
    const TYPE: &'static str = "run_slot";
    type Command = ClaimRunSlot;
    type Event = RunSlotEvent;
    type Error = RunSlotError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            RunSlotEvent::RunSlotClaimed(e) => self.holder = Some(e.run_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    use crate::run_type::RunType;

    type SlotTest = TestFramework<RunSlot>;

    fn hash() -> IdentityHash {
        IdentityHash::of(Uuid::nil(), None, RunType::ReportExport, &json!({}))
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn claimed(run: u128, previous: Option<u128>) -> RunSlotEvent {
        RunSlotEvent::RunSlotClaimed(RunSlotClaimed {
            identity_hash: hash(),
            run_id: Uuid::from_u128(run),
            previous_run_id: previous.map(Uuid::from_u128),
            claimed_at: at(),
        })
    }

    fn claim(run: u128, observed: Option<u128>, active: bool) -> ClaimRunSlot {
        ClaimRunSlot {
            run_id: Uuid::from_u128(run),
            identity_hash: hash(),
            observed_holder: observed.map(Uuid::from_u128),
            observed_holder_active: active,
            claimed_at: at(),
        }
    }

    #[test]
    fn it_should_claim_an_empty_slot() {
        SlotTest::with(())
            .given_no_previous_events()
            .when(claim(1, None, false))
            .then_expect_events(vec![claimed(1, None)]);
    }

    #[test]
    fn it_should_refuse_a_slot_held_by_an_active_run() {
        SlotTest::with(())
            .given(vec![claimed(1, None)])
            .when(claim(2, Some(1), true))
            .then_expect_error(RunSlotError::Held(Uuid::from_u128(1)));
    }

    #[test]
    fn it_should_reclaim_a_slot_whose_run_has_ended() {
        SlotTest::with(())
            .given(vec![claimed(1, None)])
            .when(claim(2, Some(1), false))
            .then_expect_events(vec![claimed(2, Some(1))]);
    }

    #[test]
    fn it_should_refuse_a_claim_made_on_an_outdated_observation() {
        SlotTest::with(())
            .given(vec![claimed(1, None), claimed(2, Some(1))])
            .when(claim(3, Some(1), false))
            .then_expect_error(RunSlotError::ObservationOutdated);
    }
}
