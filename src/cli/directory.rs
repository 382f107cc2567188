//! `runproof workspaces | environments | actors | evidence`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use runproof_domain::actor::{ActorKind, Role};
use runproof_domain::findings::{limits, DocumentError};
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::reason::Detail;
use runproof_domain::ReasonCode;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::CliError;
use super::lag;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::directory::Captured;

/// Who a directory command acts as: the given actor, or the command line itself.
pub fn context(actor: Option<Uuid>) -> CommandContext {
    CommandContext::new(actor.map_or_else(|| Initiator::system("cli"), Initiator::Actor))
}

pub async fn create_workspace(app: &App, name: &str, out: &Out) -> Result<(), CliError> {
    let id = app
        .directory
        .create_workspace(Uuid::new_v4(), name, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(
            &json!({ "workspace_id": id, "name": name.trim(), "lag": lag::json(app.lag(), out) }),
        );
    } else {
        out.say(
            UiText::CreatedWorkspace,
            &[("id", &id.to_string()), ("name", name.trim())],
        );
    }
    Ok(())
}

pub async fn create_environment(
    app: &App,
    workspace: Uuid,
    name: &str,
    out: &Out,
) -> Result<(), CliError> {
    let id = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), name, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "environment_id": id,
            "workspace_id": workspace,
            "name": name.trim(),
            "lag": lag::json(app.lag(), out),
        }));
    } else {
        out.say(
            UiText::CreatedEnvironment,
            &[
                ("id", &id.to_string()),
                ("name", name.trim()),
                ("workspace", &workspace.to_string()),
            ],
        );
    }
    Ok(())
}

/// Creates an actor: a plain member, a service actor (`kind`), or an operator.
pub async fn create_actor(
    app: &App,
    name: &str,
    kind: ActorKind,
    operator: bool,
    out: &Out,
) -> Result<(), CliError> {
    let id = app
        .directory
        .create_actor_as(Uuid::new_v4(), name, kind, operator, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "actor_id": id,
            "name": name.trim(),
            "kind": kind,
            "operator": operator,
            "lag": lag::json(app.lag(), out),
        }));
    } else {
        let phrase = match (kind, operator) {
            (_, true) => UiText::CreatedOperator,
            (ActorKind::Service, false) => UiText::CreatedServiceActor,
            (ActorKind::Member, false) => UiText::CreatedActor,
        };
        out.say(phrase, &[("id", &id.to_string()), ("name", name.trim())]);
    }
    Ok(())
}

/// A role as named on the command line (`operator`, `feed`).
pub fn parse_role(value: &str) -> Result<Role, CliError> {
    value.trim().parse().map_err(|_| {
        CliError::input(
            ReasonCode::ActorRoleUnknown,
            vec![("role", value.to_string())],
        )
    })
}

/// Grants (`grant`) or revokes a role; either is an event, unless nothing changes.
pub async fn change_role(
    app: &App,
    actor: Uuid,
    role: Role,
    grant: bool,
    out: &Out,
) -> Result<(), CliError> {
    let ctx = context(None);
    let changed = if grant {
        app.directory.grant_role(actor, role, &ctx).await
    } else {
        app.directory.revoke_role(actor, role, &ctx).await
    }
    .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "actor_id": actor,
            "role": role,
            "holds_role": grant,
            "changed": changed,
            "lag": lag::json(app.lag(), out),
        }));
    } else {
        let phrase = match (grant, changed) {
            (true, true) => match role {
                Role::Operator => UiText::RoleGranted,
                Role::Feed => UiText::RoleGrantedFeed,
            },
            (true, false) => UiText::RoleAlreadyHeld,
            (false, true) => UiText::RoleRevoked,
            (false, false) => UiText::RoleNotHeld,
        };
        out.say(
            phrase,
            &[("actor", &actor.to_string()), ("role", role.as_str())],
        );
    }
    Ok(())
}

pub async fn add_member(
    app: &App,
    workspace: Uuid,
    actor: Uuid,
    out: &Out,
) -> Result<(), CliError> {
    app.directory
        .add_member(workspace, actor, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({ "workspace_id": workspace, "actor_id": actor, "lag": lag::json(app.lag(), out) }));
    } else {
        out.say(
            UiText::AddedMember,
            &[
                ("actor", &actor.to_string()),
                ("workspace", &workspace.to_string()),
            ],
        );
    }
    Ok(())
}

/// Reads and parses the evidence file before anything is recorded. Reads at most one
/// byte more than a document may have, so a huge file (or `/dev/urandom`) is refused
/// after 1 MiB instead of being read whole.
pub fn read_document(path: &Path) -> Result<Value, CliError> {
    let unreadable = || {
        CliError::input(
            ReasonCode::FileUnreadable,
            vec![("path", path.display().to_string())],
        )
    };
    let file = File::open(path).map_err(|_| unreadable())?;
    let limit = limits::DOCUMENT_BYTES as u64;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| unreadable())?;
    parse_document(&bytes)
}

/// Parses an evidence document's bytes (a file's or a request body's): more than the
/// document bound, or not JSON, is refused with `evidence.invalid` and what was wrong.
/// What the JSON must hold is checked when it is captured.
pub fn parse_document(bytes: &[u8]) -> Result<Value, CliError> {
    if bytes.len() > limits::DOCUMENT_BYTES {
        return Err(CliError::input(
            ReasonCode::EvidenceInvalid,
            DocumentError::TooLarge.args(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        CliError::input(
            ReasonCode::EvidenceInvalid,
            vec![
                Detail::DocumentNotJson.arg(),
                ("line", e.line().to_string()),
                ("column", e.column().to_string()),
            ],
        )
    })
}

/// Captures `document` (read with [`read_document`]) as the environment's newest evidence.
pub async fn capture_evidence(
    app: &App,
    environment: Uuid,
    document: Value,
    out: &Out,
) -> Result<(), CliError> {
    let captured = app
        .directory
        .capture_evidence(environment, document, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        let mut answer =
            serde_json::to_value(CapturedView::of(environment, &captured)).unwrap_or_default();
        if let Some(fields) = answer.as_object_mut() {
            fields.insert("lag".into(), lag::json(app.lag(), out));
        }
        out.json(&answer);
    } else {
        out.say(
            UiText::CapturedEvidence,
            &[
                ("id", &captured.snapshot_id.to_string()),
                ("count", &captured.finding_count.to_string()),
                ("hash", &captured.content_hash),
            ],
        );
    }
    Ok(())
}

/// A captured evidence snapshot, as `evidence capture --json` prints it and the API
/// answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CapturedView {
    /// The new evidence snapshot: the environment's newest, which the next review
    /// compose request composes from.
    pub snapshot_id: Uuid,
    pub environment_id: Uuid,
    /// `sha256:<hex>` over the document's canonical form: the same document always has
    /// the same hash (and so the same review fingerprint).
    pub content_hash: String,
    /// How many findings the document holds.
    pub finding_count: u64,
}

impl CapturedView {
    pub fn of(environment_id: Uuid, captured: &Captured) -> Self {
        CapturedView {
            snapshot_id: captured.snapshot_id,
            environment_id,
            content_hash: captured.content_hash.clone(),
            finding_count: captured.finding_count,
        }
    }
}
