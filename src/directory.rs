//! The directory service: workspaces, their members, actors and managed environments,
//! and the evidence captured for an environment.

use std::sync::Arc;

use runproof_domain::actor::{Actor, ActorError, CreateActor};
use runproof_domain::environment::{EnvironmentCommand, EnvironmentError, ManagedEnvironment};
use runproof_domain::findings::{content_hash, FindingsDocument};
use runproof_domain::metadata::CommandContext;
use runproof_domain::workspace::{Workspace, WorkspaceCommand, WorkspaceError};
use runproof_domain::ReasonCode;
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::service_error::ServiceError;
use crate::writer::Writer;

/// A captured evidence snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub snapshot_id: Uuid,
    pub content_hash: String,
    pub finding_count: u64,
}

/// Records workspaces, actors, memberships, environments and evidence.
#[derive(Clone)]
pub struct DirectoryService {
    writer: Writer,
    clock: Arc<dyn Clock>,
}

fn name_refused() -> ServiceError {
    ServiceError::refused(ReasonCode::NameInvalid, vec![])
}

impl DirectoryService {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        DirectoryService { writer, clock }
    }

    /// Creates a workspace; returns its id.
    pub async fn create_workspace(
        &self,
        workspace_id: Uuid,
        name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        let now = self.clock.now();
        self.writer
            .execute::<Workspace>(
                &workspace_id.to_string(),
                WorkspaceCommand::Create {
                    workspace_id,
                    name: name.to_string(),
                    created_at: now,
                },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    WorkspaceError::InvalidName => name_refused(),
                    _ => ServiceError::Conflict,
                })
            })?;
        Ok(workspace_id)
    }

    /// Creates an actor; returns its id.
    pub async fn create_actor(
        &self,
        actor_id: Uuid,
        display_name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        let now = self.clock.now();
        self.writer
            .execute::<Actor>(
                &actor_id.to_string(),
                CreateActor {
                    actor_id,
                    display_name: display_name.to_string(),
                    created_at: now,
                },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    ActorError::InvalidName => name_refused(),
                    ActorError::AlreadyExists => ServiceError::Conflict,
                })
            })?;
        Ok(actor_id)
    }

    /// Makes an actor a member of a workspace.
    pub async fn add_member(
        &self,
        workspace_id: Uuid,
        actor_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        let actor = self
            .writer
            .store()
            .load::<Actor>(&actor_id.to_string())
            .await?;
        if actor.aggregate.state().is_none() {
            return Err(ServiceError::refused(
                ReasonCode::ActorNotFound,
                vec![("actor", actor_id.to_string())],
            ));
        }
        let now = self.clock.now();
        self.writer
            .execute::<Workspace>(
                &workspace_id.to_string(),
                WorkspaceCommand::AddMember {
                    actor_id,
                    added_at: now,
                },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    WorkspaceError::NotFound => ServiceError::refused(
                        ReasonCode::WorkspaceNotFound,
                        vec![("workspace", workspace_id.to_string())],
                    ),
                    WorkspaceError::AlreadyMember => {
                        ServiceError::refused(ReasonCode::ActorAlreadyMember, vec![])
                    }
                    _ => ServiceError::Conflict,
                })
            })?;
        Ok(())
    }

    /// Creates a managed environment in an existing workspace; returns its id.
    pub async fn create_environment(
        &self,
        workspace_id: Uuid,
        environment_id: Uuid,
        name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        let workspace = self
            .writer
            .store()
            .load::<Workspace>(&workspace_id.to_string())
            .await?;
        if workspace.aggregate.state().is_none() {
            return Err(ServiceError::refused(
                ReasonCode::WorkspaceNotFound,
                vec![("workspace", workspace_id.to_string())],
            ));
        }
        let now = self.clock.now();
        self.writer
            .execute::<ManagedEnvironment>(
                &environment_id.to_string(),
                EnvironmentCommand::Create {
                    environment_id,
                    workspace_id,
                    name: name.to_string(),
                    created_at: now,
                },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    EnvironmentError::InvalidName => name_refused(),
                    _ => ServiceError::Conflict,
                })
            })?;
        Ok(environment_id)
    }

    /// Captures an evidence snapshot for an environment. An unknown environment or an
    /// invalid document records nothing.
    pub async fn capture_evidence(
        &self,
        environment_id: Uuid,
        document: Value,
        ctx: &CommandContext,
    ) -> Result<Captured, ServiceError> {
        let parsed = FindingsDocument::parse(&document).map_err(|d| {
            ServiceError::refused(ReasonCode::EvidenceInvalid, vec![("detail", d.to_string())])
        })?;
        let captured = Captured {
            snapshot_id: Uuid::new_v4(),
            content_hash: content_hash(&document),
            finding_count: parsed.findings.len() as u64,
        };
        let now = self.clock.now();
        self.writer
            .execute::<ManagedEnvironment>(
                &environment_id.to_string(),
                EnvironmentCommand::CaptureEvidence {
                    snapshot_id: captured.snapshot_id,
                    document,
                    captured_at: now,
                },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    EnvironmentError::NotFound => ServiceError::refused(
                        ReasonCode::EnvironmentNotFound,
                        vec![("environment", environment_id.to_string())],
                    ),
                    EnvironmentError::InvalidDocument(d) => ServiceError::refused(
                        ReasonCode::EvidenceInvalid,
                        vec![("detail", d.to_string())],
                    ),
                    _ => ServiceError::Conflict,
                })
            })?;
        Ok(captured)
    }
}
