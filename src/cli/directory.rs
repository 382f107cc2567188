//! `runproof workspaces | environments | actors | evidence`.

use std::path::Path;

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::ReasonCode;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;

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
        out.json(&json!({ "workspace_id": id, "name": name.trim() }));
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
        out.json(&json!({ "environment_id": id, "workspace_id": workspace, "name": name.trim() }));
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

pub async fn create_actor(app: &App, name: &str, out: &Out) -> Result<(), CliError> {
    let id = app
        .directory
        .create_actor(Uuid::new_v4(), name, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({ "actor_id": id, "name": name.trim() }));
    } else {
        out.say(
            UiText::CreatedActor,
            &[("id", &id.to_string()), ("name", name.trim())],
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
        out.json(&json!({ "workspace_id": workspace, "actor_id": actor }));
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

/// Reads and parses the evidence file before anything is recorded.
pub fn read_document(path: &Path, out: &Out) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|_| {
        CliError::input(
            ReasonCode::FileUnreadable,
            vec![("path", path.display().to_string())],
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        let detail = UiText::EvidenceNotJson.render(
            out.lang,
            &[
                ("line", &e.line().to_string()),
                ("column", &e.column().to_string()),
            ],
        );
        CliError::input(ReasonCode::EvidenceInvalid, vec![("detail", detail)])
    })
}

pub async fn capture_evidence(
    app: &App,
    environment: Uuid,
    path: &Path,
    out: &Out,
) -> Result<(), CliError> {
    let document = read_document(path, out)?;
    let captured = app
        .directory
        .capture_evidence(environment, document, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "snapshot_id": captured.snapshot_id,
            "environment_id": environment,
            "content_hash": captured.content_hash,
            "finding_count": captured.finding_count,
        }));
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
