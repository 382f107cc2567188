//! Actors: the people who trigger composes and publish reviews.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_input::valid_name;

/// An actor as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorState {
    pub id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    state: Option<ActorState>,
}

/// Create an actor.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateActor {
    pub actor_id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// Events of the `actor` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActorEvent {
    ActorCreated(ActorCreated),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorCreated {
    pub actor_id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// Why an actor command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    #[error("actor already exists")]
    AlreadyExists,
    #[error("invalid name")]
    InvalidName,
}

impl Actor {
    pub fn state(&self) -> Option<&ActorState> {
        self.state.as_ref()
    }

    pub fn decide(&self, c: CreateActor) -> Result<Vec<ActorEvent>, ActorError> {
        if self.state.is_some() {
            return Err(ActorError::AlreadyExists);
        }
        let display_name = valid_name(&c.display_name).ok_or(ActorError::InvalidName)?;
        Ok(vec![ActorEvent::ActorCreated(ActorCreated {
            actor_id: c.actor_id,
            display_name,
            created_at: c.created_at,
        })])
    }
}

impl ActorEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            ActorEvent::ActorCreated(e) => e.created_at,
        }
    }
}

impl ActorState {
    pub fn fold(state: Option<ActorState>, event: ActorEvent) -> Option<ActorState> {
        match (state, event) {
            (None, ActorEvent::ActorCreated(e)) => Some(ActorState {
                id: e.actor_id,
                display_name: e.display_name,
                created_at: e.created_at,
            }),
            (state, _) => state,
        }
    }
}

impl DomainEvent for ActorEvent {
    fn event_type(&self) -> String {
        "ActorCreated".to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

impl Aggregate for Actor {
    const TYPE: &'static str = "actor";
    type Command = CreateActor;
    type Event = ActorEvent;
    type Error = ActorError;
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
        self.state = ActorState::fold(self.state.take(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    #[test]
    fn it_should_create_an_actor_once() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let cmd = CreateActor {
            actor_id: Uuid::from_u128(1),
            display_name: "Ada".into(),
            created_at: at,
        };
        let created = ActorEvent::ActorCreated(ActorCreated {
            actor_id: Uuid::from_u128(1),
            display_name: "Ada".into(),
            created_at: at,
        });
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(cmd.clone())
            .then_expect_events(vec![created.clone()]);
        TestFramework::<Actor>::with(())
            .given(vec![created])
            .when(cmd)
            .then_expect_error(ActorError::AlreadyExists);
    }
}
