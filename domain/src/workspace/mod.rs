//! Workspaces — the tenants — and their members. An actor sees only the workspaces it
//! belongs to; everything else answers "not found".

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_input::valid_name;

/// A workspace as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceState {
    pub id: Uuid,
    pub name: String,
    pub members: BTreeSet<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    state: Option<WorkspaceState>,
}

/// Commands to a workspace.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkspaceCommand {
    Create {
        workspace_id: Uuid,
        name: String,
        created_at: DateTime<Utc>,
    },
    /// The caller checked that the actor exists.
    AddMember {
        actor_id: Uuid,
        added_at: DateTime<Utc>,
    },
}

/// Events of the `workspace` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WorkspaceEvent {
    WorkspaceCreated(WorkspaceCreated),
    MemberAdded(MemberAdded),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceCreated {
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAdded {
    pub actor_id: Uuid,
    pub added_at: DateTime<Utc>,
}

/// Why a workspace command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    #[error("workspace already exists")]
    AlreadyExists,
    #[error("workspace not found")]
    NotFound,
    #[error("actor is already a member")]
    AlreadyMember,
    #[error("invalid name")]
    InvalidName,
}

impl Workspace {
    pub fn state(&self) -> Option<&WorkspaceState> {
        self.state.as_ref()
    }

    /// Whether `actor` belongs to this workspace.
    pub fn has_member(&self, actor: Uuid) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.members.contains(&actor))
    }

    pub fn decide(&self, command: WorkspaceCommand) -> Result<Vec<WorkspaceEvent>, WorkspaceError> {
        match (command, &self.state) {
            (
                WorkspaceCommand::Create {
                    workspace_id,
                    name,
                    created_at,
                },
                None,
            ) => {
                let name = valid_name(&name).ok_or(WorkspaceError::InvalidName)?;
                Ok(vec![WorkspaceEvent::WorkspaceCreated(WorkspaceCreated {
                    workspace_id,
                    name,
                    created_at,
                })])
            }
            (WorkspaceCommand::Create { .. }, Some(_)) => Err(WorkspaceError::AlreadyExists),
            (WorkspaceCommand::AddMember { .. }, None) => Err(WorkspaceError::NotFound),
            (WorkspaceCommand::AddMember { actor_id, added_at }, Some(s)) => {
                if s.members.contains(&actor_id) {
                    Err(WorkspaceError::AlreadyMember)
                } else {
                    Ok(vec![WorkspaceEvent::MemberAdded(MemberAdded {
                        actor_id,
                        added_at,
                    })])
                }
            }
        }
    }
}

impl WorkspaceEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            WorkspaceEvent::WorkspaceCreated(e) => e.created_at,
            WorkspaceEvent::MemberAdded(e) => e.added_at,
        }
    }

    /// Whether the event can take sight of the workspace away from anyone (remove a
    /// member, delete the workspace). None can: sight of a workspace only grows, so the
    /// `workspaces` view, which shows a prefix of the log, never grants more than the log
    /// does. Readers rely on it — the HTTP API shows a run when the view grants sight of
    /// its workspace and asks the stream only when it does not. An event that answers
    /// `true` here must end that shortcut (`http::api::runs::visible_run`).
    pub fn narrows_sight(&self) -> bool {
        match self {
            WorkspaceEvent::WorkspaceCreated(_) | WorkspaceEvent::MemberAdded(_) => false,
        }
    }
}

impl WorkspaceState {
    /// Folds one event into an optional state.
    pub fn fold(state: Option<WorkspaceState>, event: WorkspaceEvent) -> Option<WorkspaceState> {
        match (state, event) {
            (None, WorkspaceEvent::WorkspaceCreated(e)) => Some(WorkspaceState {
                id: e.workspace_id,
                name: e.name,
                members: BTreeSet::new(),
                created_at: e.created_at,
            }),
            (Some(mut s), WorkspaceEvent::MemberAdded(e)) => {
                s.members.insert(e.actor_id);
                Some(s)
            }
            (state, _) => state,
        }
    }
}

impl DomainEvent for WorkspaceEvent {
    fn event_type(&self) -> String {
        match self {
            WorkspaceEvent::WorkspaceCreated(_) => "WorkspaceCreated",
            WorkspaceEvent::MemberAdded(_) => "MemberAdded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

impl Aggregate for Workspace {
    const TYPE: &'static str = "workspace";
    type Command = WorkspaceCommand;
    type Event = WorkspaceEvent;
    type Error = WorkspaceError;
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
        self.state = WorkspaceState::fold(self.state.take(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn created() -> WorkspaceEvent {
        WorkspaceEvent::WorkspaceCreated(WorkspaceCreated {
            workspace_id: Uuid::from_u128(1),
            name: "Contoso".into(),
            created_at: at(),
        })
    }

    #[test]
    fn it_should_create_a_workspace_and_add_a_member_once() {
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(WorkspaceCommand::Create {
                workspace_id: Uuid::from_u128(1),
                name: " Contoso ".into(),
                created_at: at(),
            })
            .then_expect_events(vec![created()]);
        let added = WorkspaceEvent::MemberAdded(MemberAdded {
            actor_id: Uuid::from_u128(9),
            added_at: at(),
        });
        TestFramework::<Workspace>::with(())
            .given(vec![created()])
            .when(WorkspaceCommand::AddMember {
                actor_id: Uuid::from_u128(9),
                added_at: at(),
            })
            .then_expect_events(vec![added.clone()]);
        TestFramework::<Workspace>::with(())
            .given(vec![created(), added])
            .when(WorkspaceCommand::AddMember {
                actor_id: Uuid::from_u128(9),
                added_at: at(),
            })
            .then_expect_error(WorkspaceError::AlreadyMember);
    }

    #[test]
    fn no_event_takes_sight_of_a_workspace_away() {
        let added = WorkspaceEvent::MemberAdded(MemberAdded {
            actor_id: Uuid::from_u128(9),
            added_at: at(),
        });
        let mut state: Option<WorkspaceState> = None;
        for event in [created(), added] {
            assert!(!event.narrows_sight());
            let before = state
                .as_ref()
                .map(|s| s.members.clone())
                .unwrap_or_default();
            state = WorkspaceState::fold(state, event);
            let after = state.as_ref().map(|s| s.members.clone());
            assert!(after.is_some_and(|a| a.is_superset(&before)));
        }
    }

    #[test]
    fn it_should_refuse_a_second_creation_a_blank_name_and_members_of_nothing() {
        TestFramework::<Workspace>::with(())
            .given(vec![created()])
            .when(WorkspaceCommand::Create {
                workspace_id: Uuid::from_u128(1),
                name: "x".into(),
                created_at: at(),
            })
            .then_expect_error(WorkspaceError::AlreadyExists);
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(WorkspaceCommand::Create {
                workspace_id: Uuid::from_u128(1),
                name: " ".into(),
                created_at: at(),
            })
            .then_expect_error(WorkspaceError::InvalidName);
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(WorkspaceCommand::AddMember {
                actor_id: Uuid::from_u128(9),
                added_at: at(),
            })
            .then_expect_error(WorkspaceError::NotFound);
    }
}
