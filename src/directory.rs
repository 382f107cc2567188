//! The directory service: workspaces, their members, actors and managed environments,
//! and the evidence captured for an environment.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::actor::{Actor, ActorCommand, ActorError, ActorKind, CreateActor, Role};
use runproof_domain::environment::{EnvironmentCommand, EnvironmentError, ManagedEnvironment};
use runproof_domain::findings::{content_hash, FindingsDocument};
use runproof_domain::metadata::CommandContext;
use runproof_domain::workspace::{Workspace, WorkspaceCommand, WorkspaceError};
use runproof_domain::ReasonCode;
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::event_store::{NewEvent, StoreError};
use crate::evidence_documents::EvidenceDocument;
use crate::service_error::ServiceError;
use crate::writer::Writer;

/// How many times a capture is tried when concurrent captures of the same environment
/// got there first.
const CAPTURE_ATTEMPTS: usize = 16;

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

fn refused(reason: ReasonCode, key: &'static str, value: impl ToString) -> ServiceError {
    ServiceError::refused(reason, vec![(key, value.to_string())])
}

impl DirectoryService {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        DirectoryService { writer, clock }
    }

    /// Builds a command at "now", executes it on aggregate `id`, and turns a domain
    /// rejection into the operator's refusal with `refuse`.
    async fn execute<A>(
        &self,
        id: Uuid,
        ctx: &CommandContext,
        command: impl FnOnce(DateTime<Utc>) -> A::Command,
        refuse: impl FnOnce(A::Error) -> ServiceError,
    ) -> Result<(), ServiceError>
    where
        A: Aggregate<Services = ()>,
        A::Error: 'static,
    {
        let now = self.clock.now();
        self.writer
            .execute::<A>(&id.to_string(), command(now), ctx, now)
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::from_write(e, refuse))
    }

    /// Whether aggregate `id` has a history.
    async fn exists<A: Aggregate>(
        &self,
        id: Uuid,
        has_state: impl Fn(&A) -> bool,
    ) -> Result<bool, ServiceError> {
        let loaded = self.writer.store().load::<A>(&id.to_string()).await?;
        Ok(has_state(&loaded.aggregate))
    }

    /// Creates a workspace; returns its id.
    pub async fn create_workspace(
        &self,
        workspace_id: Uuid,
        name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        self.execute::<Workspace>(
            workspace_id,
            ctx,
            |now| WorkspaceCommand::Create {
                workspace_id,
                name: name.to_string(),
                created_at: now,
            },
            |e| match e {
                WorkspaceError::InvalidName => name_refused(),
                _ => ServiceError::conflict(),
            },
        )
        .await?;
        Ok(workspace_id)
    }

    /// Creates a plain member actor; returns its id.
    pub async fn create_actor(
        &self,
        actor_id: Uuid,
        display_name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        self.create_actor_as(actor_id, display_name, ActorKind::Member, false, ctx)
            .await
    }

    /// Creates an actor of `kind`, holding the operator role if `operator`; returns its
    /// id.
    pub async fn create_actor_as(
        &self,
        actor_id: Uuid,
        display_name: &str,
        kind: ActorKind,
        operator: bool,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        self.execute::<Actor>(
            actor_id,
            ctx,
            |now| {
                ActorCommand::Create(CreateActor {
                    actor_id,
                    display_name: display_name.to_string(),
                    kind,
                    operator,
                    created_at: now,
                })
            },
            |e| match e {
                ActorError::InvalidName => name_refused(),
                ActorError::AlreadyExists | ActorError::NotFound | ActorError::ServicesOnly => {
                    ServiceError::conflict()
                }
            },
        )
        .await?;
        Ok(actor_id)
    }

    /// Grants an actor a role (recorded as `ActorRoleGranted`, by `ctx`'s actor).
    /// Returns whether anything changed: granting a role the actor holds records
    /// nothing.
    pub async fn grant_role(
        &self,
        actor_id: Uuid,
        role: Role,
        ctx: &CommandContext,
    ) -> Result<bool, ServiceError> {
        self.change_role(actor_id, role, ctx, |now| ActorCommand::GrantRole {
            role,
            granted_at: now,
        })
        .await
    }

    /// Revokes a role (recorded as `ActorRoleRevoked`). Returns whether anything
    /// changed: revoking a role the actor does not hold records nothing.
    pub async fn revoke_role(
        &self,
        actor_id: Uuid,
        role: Role,
        ctx: &CommandContext,
    ) -> Result<bool, ServiceError> {
        self.change_role(actor_id, role, ctx, |now| ActorCommand::RevokeRole {
            role,
            revoked_at: now,
        })
        .await
    }

    async fn change_role(
        &self,
        actor_id: Uuid,
        role: Role,
        ctx: &CommandContext,
        command: impl FnOnce(DateTime<Utc>) -> ActorCommand,
    ) -> Result<bool, ServiceError> {
        let now = self.clock.now();
        let committed = self
            .writer
            .execute::<Actor>(&actor_id.to_string(), command(now), ctx, now)
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    ActorError::NotFound => refused(ReasonCode::ActorNotFound, "actor", actor_id),
                    ActorError::ServicesOnly => {
                        refused(ReasonCode::ActorRoleServicesOnly, "role", role.as_str())
                    }
                    _ => ServiceError::conflict(),
                })
            })?;
        Ok(committed.events > 0)
    }

    /// Makes an actor a member of a workspace.
    pub async fn add_member(
        &self,
        workspace_id: Uuid,
        actor_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        if !self
            .exists::<Actor>(actor_id, |a| a.state().is_some())
            .await?
        {
            return Err(refused(ReasonCode::ActorNotFound, "actor", actor_id));
        }
        self.execute::<Workspace>(
            workspace_id,
            ctx,
            |now| WorkspaceCommand::AddMember {
                actor_id,
                added_at: now,
            },
            |e| match e {
                WorkspaceError::NotFound => {
                    refused(ReasonCode::WorkspaceNotFound, "workspace", workspace_id)
                }
                WorkspaceError::AlreadyMember => {
                    ServiceError::refused(ReasonCode::ActorAlreadyMember, vec![])
                }
                _ => ServiceError::conflict(),
            },
        )
        .await
    }

    /// Whether environment `environment_id` exists and belongs to workspace
    /// `workspace_id` (read from its stream).
    pub async fn environment_in(
        &self,
        workspace_id: Uuid,
        environment_id: Uuid,
    ) -> Result<bool, ServiceError> {
        self.exists::<ManagedEnvironment>(environment_id, |e| {
            e.state().is_some_and(|e| e.workspace_id == workspace_id)
        })
        .await
    }

    /// Creates a managed environment in an existing workspace; returns its id.
    pub async fn create_environment(
        &self,
        workspace_id: Uuid,
        environment_id: Uuid,
        name: &str,
        ctx: &CommandContext,
    ) -> Result<Uuid, ServiceError> {
        if !self
            .exists::<Workspace>(workspace_id, |w| w.state().is_some())
            .await?
        {
            return Err(refused(
                ReasonCode::WorkspaceNotFound,
                "workspace",
                workspace_id,
            ));
        }
        self.execute::<ManagedEnvironment>(
            environment_id,
            ctx,
            |now| EnvironmentCommand::Create {
                environment_id,
                workspace_id,
                name: name.to_string(),
                created_at: now,
            },
            |e| match e {
                EnvironmentError::InvalidName => name_refused(),
                _ => ServiceError::conflict(),
            },
        )
        .await?;
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
        let parsed = FindingsDocument::parse(&document)
            .map_err(|d| ServiceError::refused(ReasonCode::EvidenceInvalid, d.args()))?;
        let captured = Captured {
            snapshot_id: Uuid::new_v4(),
            content_hash: content_hash(&document),
            finding_count: parsed.findings.len() as u64,
        };
        let snapshot_id = captured.snapshot_id;
        let store = self.writer.store();
        // The capture event and its document are written in one transaction: the event
        // carries the document's hash, the document store keeps the document once per
        // workspace. Captures of one environment append to its stream; concurrent ones
        // conflict and are retried on the new version, a bounded number of times.
        for _ in 0..CAPTURE_ATTEMPTS {
            let env = store
                .load::<ManagedEnvironment>(&environment_id.to_string())
                .await?;
            let Some(workspace_id) = env.aggregate.state().map(|e| e.workspace_id) else {
                return Err(refused(
                    ReasonCode::EnvironmentNotFound,
                    "environment",
                    environment_id,
                ));
            };
            let now = self.clock.now();
            let events = env
                .aggregate
                .decide(EnvironmentCommand::CaptureEvidence {
                    snapshot_id,
                    document: document.clone(),
                    captured_at: now,
                })
                .map_err(|e| match e {
                    EnvironmentError::InvalidDocument(d) => {
                        ServiceError::refused(ReasonCode::EvidenceInvalid, d.args())
                    }
                    _ => refused(
                        ReasonCode::EnvironmentNotFound,
                        "environment",
                        environment_id,
                    ),
                })?;
            let writes = NewEvent::for_stream::<ManagedEnvironment>(
                &environment_id.to_string(),
                env.version,
                &events,
                ctx,
                now,
            )?;
            let stored = EvidenceDocument::new(workspace_id, document.clone());
            match store.append_with_documents(&writes, &[stored]).await {
                Ok(_) => {
                    self.writer
                        .wait_visible::<ManagedEnvironment>(
                            &environment_id.to_string(),
                            env.version + events.len() as u64,
                        )
                        .await;
                    return Ok(captured);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(
            ReasonCode::EnvironmentConcurrentChange,
        ))
    }
}

/// A workspace as a caller sees it now, for an overview (`GET /api/v1/workspaces`, the
/// console's start page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceOverview {
    pub workspace: runproof_domain::workspace::WorkspaceState,
    /// The caller may act on it (compose, publish, capture evidence): it is a member. An
    /// operator sees every workspace but acts only where it is a member.
    pub can_act: bool,
    /// Runs queued or running now.
    pub active_runs: i64,
    /// Runs that need attention now: exactly those the runs list with "needs attention"
    /// pages through (ended badly, or active past their type's stale threshold).
    pub runs_needing_attention: i64,
}

/// The workspaces `caller` sees — a member its own, an operator every one — by name,
/// each with its active runs and the runs needing attention at `now`.
pub async fn overview(
    conn: &mut sqlx::PgConnection,
    caller: &runproof_domain::access::Caller,
    now: DateTime<Utc>,
) -> Result<Vec<WorkspaceOverview>, sqlx::Error> {
    use runproof_projections::{directory, operation_runs};
    let rows = directory::workspaces(conn, caller.visible_to()).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.state.id).collect();
    let counts: std::collections::HashMap<Uuid, operation_runs::WorkspaceRunCounts> =
        operation_runs::workspace_counts(conn, &ids, now)
            .await?
            .into_iter()
            .map(|c| (c.workspace_id, c))
            .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let count = counts.get(&r.state.id);
            WorkspaceOverview {
                can_act: runproof_domain::access::authorize(caller, &r.state.members).act,
                active_runs: count.map_or(0, |c| c.active),
                runs_needing_attention: count.map_or(0, |c| c.needs_attention),
                workspace: r.state,
            }
        })
        .collect())
}
