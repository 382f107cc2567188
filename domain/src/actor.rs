//! Actors: the people and services that act in workspaces, and what they may do beyond
//! their workspaces.
//!
//! An actor is created as a plain **member** (it acts on the workspaces it belongs to),
//! as a **service** (a job system: it may also drive run lifecycles in the workspaces it
//! belongs to), and either may hold the **operator** role (it sees every workspace).
//! The operator role is given at creation or granted later, and can be revoked; each
//! is an event, whose metadata names who did it. A service actor may also be granted the
//! **feed** role: it follows every workspace's events (the downstream feed,
//! `GET /api/v1/events`) without seeing anything else of them. What a caller may do in one workspace
//! is decided by [`crate::access::authorize`].

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::text_input::valid_name;
use crate::upcasting::{self, Body};

/// What an actor is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person (or anything else) that acts on the workspaces it belongs to. Actors
    /// recorded before kinds existed are members.
    #[default]
    Member,
    /// A service actor (a job system): it may also drive the run lifecycles of the
    /// workspaces it belongs to.
    Service,
}

impl ActorKind {
    pub const ALL: [ActorKind; 2] = [ActorKind::Member, ActorKind::Service];

    /// The stored value (`member`, `service`).
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Member => "member",
            ActorKind::Service => "service",
        }
    }
}

/// A role an actor holds beyond its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A platform operator: sees every workspace.
    Operator,
    /// A reader of the whole feed: a service actor (a downstream projection, a relay)
    /// that follows every workspace's events, and the platform's own (actors, tokens).
    /// Only a service actor can hold it.
    Feed,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Operator, Role::Feed];

    /// The stored value (`operator`, `feed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Feed => "feed",
        }
    }
}

/// A role name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// An actor as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorState {
    pub id: Uuid,
    pub display_name: String,
    pub kind: ActorKind,
    /// Whether the actor holds the operator role now.
    pub operator: bool,
    pub created_at: DateTime<Utc>,
    /// Whether the actor holds the feed role now (states written before the role
    /// existed hold it not).
    #[serde(default)]
    pub feed: bool,
}

impl ActorState {
    /// Whether the actor holds `role` now.
    pub fn has_role(&self, role: Role) -> bool {
        match role {
            Role::Operator => self.operator,
            Role::Feed => self.feed,
        }
    }
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    state: Option<ActorState>,
}

/// Create an actor (kept as its own type: the directory's plain `create_actor` builds it).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateActor {
    pub actor_id: Uuid,
    pub display_name: String,
    pub kind: ActorKind,
    /// Created holding the operator role.
    pub operator: bool,
    pub created_at: DateTime<Utc>,
}

/// Commands to an actor.
#[derive(Debug, Clone, PartialEq)]
pub enum ActorCommand {
    Create(CreateActor),
    /// Grants a role; granting a role the actor holds records nothing.
    GrantRole {
        role: Role,
        granted_at: DateTime<Utc>,
    },
    /// Revokes a role; revoking a role the actor does not hold records nothing.
    RevokeRole {
        role: Role,
        revoked_at: DateTime<Utc>,
    },
}

impl From<CreateActor> for ActorCommand {
    fn from(c: CreateActor) -> Self {
        ActorCommand::Create(c)
    }
}

/// Events of the `actor` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActorEvent {
    ActorCreated(ActorCreated),
    ActorRoleGranted(ActorRoleGranted),
    ActorRoleRevoked(ActorRoleRevoked),
}

/// Version 2.0: `kind` and `operator` are required. 1.0 had neither (see
/// [`actor_created_2_0`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorCreated {
    pub actor_id: Uuid,
    pub display_name: String,
    pub kind: ActorKind,
    pub operator: bool,
    pub created_at: DateTime<Utc>,
}

/// Upcasts an `ActorCreated` 1.0 body to 2.0: an actor recorded before kinds and roles
/// existed is a plain member without the operator role.
pub(crate) fn actor_created_2_0(mut body: Body) -> Result<Body, &'static str> {
    if !body.get("actor_id").is_some_and(Value::is_string) {
        return Err("`actor_id` is missing");
    }
    body.insert("kind".into(), Value::from(ActorKind::Member.as_str()));
    body.insert("operator".into(), Value::Bool(false));
    Ok(body)
}

/// The actor was granted a role (who granted it is in the event's metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorRoleGranted {
    pub role: Role,
    pub granted_at: DateTime<Utc>,
}

/// The actor lost a role (who revoked it is in the event's metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorRoleRevoked {
    pub role: Role,
    pub revoked_at: DateTime<Utc>,
}

/// Why an actor command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    #[error("actor already exists")]
    AlreadyExists,
    #[error("invalid name")]
    InvalidName,
    #[error("actor not found")]
    NotFound,
    /// The role can be held by a service actor only (the feed role): create the reader
    /// as a service actor.
    #[error("only a service actor can hold this role")]
    ServicesOnly,
}

impl Actor {
    pub fn state(&self) -> Option<&ActorState> {
        self.state.as_ref()
    }

    pub fn decide(&self, command: impl Into<ActorCommand>) -> Result<Vec<ActorEvent>, ActorError> {
        match (command.into(), &self.state) {
            (ActorCommand::Create(_), Some(_)) => Err(ActorError::AlreadyExists),
            (ActorCommand::Create(c), None) => {
                let display_name = valid_name(&c.display_name).ok_or(ActorError::InvalidName)?;
                Ok(vec![ActorEvent::ActorCreated(ActorCreated {
                    actor_id: c.actor_id,
                    display_name,
                    kind: c.kind,
                    operator: c.operator,
                    created_at: c.created_at,
                })])
            }
            (ActorCommand::GrantRole { .. } | ActorCommand::RevokeRole { .. }, None) => {
                Err(ActorError::NotFound)
            }
            (ActorCommand::GrantRole { role, granted_at }, Some(s)) => Ok(if s.has_role(role) {
                vec![]
            } else if role == Role::Feed && s.kind != ActorKind::Service {
                return Err(ActorError::ServicesOnly);
            } else {
                vec![ActorEvent::ActorRoleGranted(ActorRoleGranted {
                    role,
                    granted_at,
                })]
            }),
            (ActorCommand::RevokeRole { role, revoked_at }, Some(s)) => Ok(if s.has_role(role) {
                vec![ActorEvent::ActorRoleRevoked(ActorRoleRevoked {
                    role,
                    revoked_at,
                })]
            } else {
                vec![]
            }),
        }
    }
}

impl ActorEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            ActorEvent::ActorCreated(e) => e.created_at,
            ActorEvent::ActorRoleGranted(e) => e.granted_at,
            ActorEvent::ActorRoleRevoked(e) => e.revoked_at,
        }
    }
}

impl ActorState {
    pub fn fold(state: Option<ActorState>, event: ActorEvent) -> Option<ActorState> {
        match (state, event) {
            (None, ActorEvent::ActorCreated(e)) => Some(ActorState {
                id: e.actor_id,
                display_name: e.display_name,
                kind: e.kind,
                operator: e.operator,
                created_at: e.created_at,
                feed: false,
            }),
            (Some(mut s), ActorEvent::ActorRoleGranted(e)) => {
                match e.role {
                    Role::Operator => s.operator = true,
                    Role::Feed => s.feed = true,
                }
                Some(s)
            }
            (Some(mut s), ActorEvent::ActorRoleRevoked(e)) => {
                match e.role {
                    Role::Operator => s.operator = false,
                    Role::Feed => s.feed = false,
                }
                Some(s)
            }
            (state, _) => state,
        }
    }
}

impl DomainEvent for ActorEvent {
    fn event_type(&self) -> String {
        match self {
            ActorEvent::ActorCreated(_) => "ActorCreated",
            ActorEvent::ActorRoleGranted(_) => "ActorRoleGranted",
            ActorEvent::ActorRoleRevoked(_) => "ActorRoleRevoked",
        }
        .to_string()
    }

    /// From the upcasting registry: a new version is one entry there.
    fn event_version(&self) -> String {
        upcasting::current_version(&self.event_type()).to_string()
    }
}

impl Aggregate for Actor {
    const TYPE: &'static str = "actor";
    type Command = ActorCommand;
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
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(0, 0).unwrap()
    }

    fn create(kind: ActorKind, operator: bool) -> ActorCommand {
        ActorCommand::Create(CreateActor {
            actor_id: Uuid::from_u128(1),
            display_name: "Ada".into(),
            kind,
            operator,
            created_at: at(),
        })
    }

    fn created(kind: ActorKind, operator: bool) -> ActorEvent {
        ActorEvent::ActorCreated(ActorCreated {
            actor_id: Uuid::from_u128(1),
            display_name: "Ada".into(),
            kind,
            operator,
            created_at: at(),
        })
    }

    fn grant() -> ActorCommand {
        ActorCommand::GrantRole {
            role: Role::Operator,
            granted_at: at(),
        }
    }

    fn revoke() -> ActorCommand {
        ActorCommand::RevokeRole {
            role: Role::Operator,
            revoked_at: at(),
        }
    }

    #[test]
    fn it_should_create_an_actor_once() {
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(create(ActorKind::Member, false))
            .then_expect_events(vec![created(ActorKind::Member, false)]);
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, false)])
            .when(create(ActorKind::Member, false))
            .then_expect_error(ActorError::AlreadyExists);
    }

    #[test]
    fn it_should_create_a_service_actor_and_an_operator() {
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(create(ActorKind::Service, false))
            .then_expect_events(vec![created(ActorKind::Service, false)]);
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(create(ActorKind::Member, true))
            .then_expect_events(vec![created(ActorKind::Member, true)]);
    }

    #[test]
    fn it_should_grant_the_operator_role_once_and_revoke_it_once() {
        let granted = ActorEvent::ActorRoleGranted(ActorRoleGranted {
            role: Role::Operator,
            granted_at: at(),
        });
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, false)])
            .when(grant())
            .then_expect_events(vec![granted.clone()]);
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, false), granted.clone()])
            .when(grant())
            .then_expect_events(vec![]);
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, false), granted.clone()])
            .when(revoke())
            .then_expect_events(vec![ActorEvent::ActorRoleRevoked(ActorRoleRevoked {
                role: Role::Operator,
                revoked_at: at(),
            })]);
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, false)])
            .when(revoke())
            .then_expect_events(vec![]);
    }

    #[test]
    fn it_should_grant_the_feed_role_to_a_service_actor_only() {
        let feed = |at: DateTime<Utc>| ActorCommand::GrantRole {
            role: Role::Feed,
            granted_at: at,
        };
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Service, false)])
            .when(feed(at()))
            .then_expect_events(vec![ActorEvent::ActorRoleGranted(ActorRoleGranted {
                role: Role::Feed,
                granted_at: at(),
            })]);
        TestFramework::<Actor>::with(())
            .given(vec![created(ActorKind::Member, true)])
            .when(feed(at()))
            .then_expect_error(ActorError::ServicesOnly);
        let granted = ActorEvent::ActorRoleGranted(ActorRoleGranted {
            role: Role::Feed,
            granted_at: at(),
        });
        let state = [created(ActorKind::Service, false), granted.clone()]
            .into_iter()
            .fold(None, ActorState::fold)
            .unwrap();
        assert!(state.feed && !state.operator);
        let state = ActorState::fold(
            Some(state),
            ActorEvent::ActorRoleRevoked(ActorRoleRevoked {
                role: Role::Feed,
                revoked_at: at(),
            }),
        )
        .unwrap();
        assert!(!state.feed);
    }

    #[test]
    fn it_should_refuse_roles_for_an_actor_that_does_not_exist() {
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(grant())
            .then_expect_error(ActorError::NotFound);
        TestFramework::<Actor>::with(())
            .given_no_previous_events()
            .when(revoke())
            .then_expect_error(ActorError::NotFound);
    }

    #[test]
    fn the_fold_follows_grants_and_revocations() {
        let mut state = ActorState::fold(None, created(ActorKind::Service, false));
        assert!(!state.as_ref().unwrap().operator);
        for (event, operator) in [
            (
                ActorEvent::ActorRoleGranted(ActorRoleGranted {
                    role: Role::Operator,
                    granted_at: at(),
                }),
                true,
            ),
            (
                ActorEvent::ActorRoleRevoked(ActorRoleRevoked {
                    role: Role::Operator,
                    revoked_at: at(),
                }),
                false,
            ),
        ] {
            state = ActorState::fold(state, event);
            let s = state.as_ref().unwrap();
            assert_eq!((s.kind, s.operator), (ActorKind::Service, operator));
        }
    }

    #[test]
    fn an_actor_created_1_0_is_read_as_a_plain_member() {
        let stored = json!({"ActorCreated": {
            "actor_id": Uuid::from_u128(1),
            "display_name": "Ada",
            "created_at": "1970-01-01T00:00:00Z"
        }})
        .to_string();
        let event: ActorEvent = upcasting::decode("ActorCreated", "1.0", &stored).unwrap();
        assert_eq!(event, created(ActorKind::Member, false));
        assert_eq!(event.event_version(), "2.0");
    }

    #[test]
    fn roles_and_kinds_are_stored_by_their_names() {
        assert_eq!("operator".parse::<Role>(), Ok(Role::Operator));
        assert_eq!("feed".parse::<Role>(), Ok(Role::Feed));
        assert_eq!(
            "admin".parse::<Role>(),
            Err(UnknownRole("admin".to_string()))
        );
        for kind in ActorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }
}
