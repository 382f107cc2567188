//! The run stories: lifecycles ended by their jobs, a queued run, and two stuck runs for
//! the reconciler (a restore proven from its record, a sync with no adapter).

use std::collections::BTreeMap;

use chrono::Duration;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{Failure, TerminalOutcome};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde_json::json;
use uuid::Uuid;

use super::{demo_id, DemoText, Pointers, Recorded, Stage};
use crate::app::App;
use crate::cli::error::CliError;
use crate::lifecycle::{EnsureRun, Ensured, LifecycleError};
use crate::restore::RestoreScope;

fn fail(e: LifecycleError) -> CliError {
    CliError::from_lifecycle(&e)
}

pub(super) async fn ensure(
    app: &App,
    ctx: &CommandContext,
    workspace: Uuid,
    environment: Option<Uuid>,
    run_type: RunType,
    inputs: serde_json::Value,
) -> Result<Ensured, CliError> {
    app.lifecycle
        .ensure(
            EnsureRun {
                workspace_id: workspace,
                environment_id: environment,
                run_type: run_type.key().to_string(),
                context: inputs.clone(),
                identity_inputs: inputs,
            },
            ctx,
        )
        .await
        .map_err(|e| CliError::from_lifecycle(&e))
}

/// What one job-completed run of the demo looks like.
struct Finished {
    workspace: (&'static str, Uuid),
    environment: Uuid,
    run_type: RunType,
    outcome: TerminalOutcome,
    summary: BTreeMap<String, u64>,
    failures: Vec<Failure>,
    what: DemoText,
}

/// Queues, starts and completes one run through the lifecycle service, as its job would.
async fn finished(stage: &Stage, run: Finished) -> Result<Recorded, CliError> {
    let (app, worker) = (&stage.app, &stage.worker);
    let inputs = match run.run_type {
        RunType::RestoreExecute => json!({"restore_id": Uuid::new_v4()}),
        _ => json!({"requested": Uuid::new_v4()}),
    };
    let id = ensure(
        app,
        &stage.operator,
        run.workspace.1,
        Some(run.environment),
        run.run_type,
        inputs,
    )
    .await?
    .run_id();
    app.lifecycle.start(id, worker).await.map_err(fail)?;
    app.lifecycle
        .complete(id, run.outcome, run.summary, run.failures, worker)
        .await
        .map_err(fail)?;
    Ok(Recorded {
        workspace: run.workspace.0,
        run_id: id,
        run_type: run.run_type,
        what: run.what.text(stage.out.lang),
    })
}

/// Fabrikam in the directory (unless an earlier demo put it there), so its runs open by
/// id in the console and the API like Contoso's: a run of a workspace the directory does
/// not know is "not found". The demo's operator is no member of it (it sees it in the
/// system view, view only).
async fn fabrikam_directory(
    stage: &Stage,
    workspace: Uuid,
    environment: Uuid,
) -> Result<(), CliError> {
    use runproof_domain::environment::ManagedEnvironment;
    use runproof_domain::workspace::Workspace;
    let (app, ctx) = (&stage.app, &stage.operator);
    let store = |e: crate::event_store::StoreError| CliError::internal(&e);
    let service = |e: crate::service_error::ServiceError| CliError::from_service(&e);
    let known = app
        .store
        .load::<Workspace>(&workspace.to_string())
        .await
        .map_err(store)?;
    if known.aggregate.state().is_none() {
        app.directory
            .create_workspace(workspace, "Fabrikam", ctx)
            .await
            .map_err(service)?;
    }
    let known = app
        .store
        .load::<ManagedEnvironment>(&environment.to_string())
        .await
        .map_err(store)?;
    if known.aggregate.state().is_none() {
        app.directory
            .create_environment(workspace, environment, "eu", ctx)
            .await
            .map_err(service)?;
    }
    Ok(())
}

pub(super) async fn record(
    stage: &Stage,
    recorded: &mut Vec<Recorded>,
    pointers: &mut Pointers,
) -> Result<(), CliError> {
    let (app, ctx, worker, lang) = (&stage.app, &stage.operator, &stage.worker, stage.out.lang);
    let contoso = demo_id("workspace/contoso");
    let fabrikam = demo_id("workspace/fabrikam");
    let contoso_prod = demo_id("environment/contoso-prod");
    let fabrikam_eu = demo_id("environment/fabrikam-eu");
    fabrikam_directory(stage, fabrikam, fabrikam_eu).await?;

    // Contoso: a restore that succeeded.
    recorded.push(
        finished(
            stage,
            Finished {
                workspace: ("contoso", contoso),
                environment: contoso_prod,
                run_type: RunType::RestoreExecute,
                outcome: TerminalOutcome::Succeeded,
                summary: BTreeMap::from([("policies".into(), 42), ("restored".into(), 42)]),
                failures: vec![],
                what: DemoText::Succeeded,
            },
        )
        .await?,
    );
    // Contoso: an inventory sync that failed on an unavailable dependency.
    let sync = finished(
        stage,
        Finished {
            workspace: ("contoso", contoso),
            environment: contoso_prod,
            run_type: RunType::InventorySync,
            outcome: TerminalOutcome::Failed,
            summary: BTreeMap::from([("pages_read".into(), 3)]),
            failures: vec![Failure {
                reason_code: ReasonCode::JobDependencyUnavailable,
                message: Some("directory service answered 503 three times".into()),
            }],
            what: DemoText::Failed,
        },
    )
    .await?;
    let sync_id = sync.run_id;
    recorded.push(sync);
    // Fabrikam: a restore that partially succeeded.
    recorded.push(
        finished(
            stage,
            Finished {
                workspace: ("fabrikam", fabrikam),
                environment: fabrikam_eu,
                run_type: RunType::RestoreExecute,
                outcome: TerminalOutcome::PartiallySucceeded,
                summary: BTreeMap::from([
                    ("policies".into(), 18),
                    ("restored".into(), 16),
                    ("failed".into(), 2),
                ]),
                failures: vec![Failure {
                    reason_code: ReasonCode::JobItemsFailed,
                    message: Some("2 of 18 policies were rejected by the target".into()),
                }],
                what: DemoText::Partial,
            },
        )
        .await?,
    );

    // Fabrikam: a report export waiting in the queue (the same one on every demo).
    let export = ensure(
        app,
        ctx,
        fabrikam,
        None,
        RunType::ReportExport,
        json!({"report": "monthly-compliance"}),
    )
    .await?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: export.run_id(),
        run_type: RunType::ReportExport,
        what: match export {
            Ensured::Queued(_) => DemoText::Queued.text(lang),
            Ensured::Existing(_) => DemoText::StillQueued.text(lang),
        },
    });

    // Fabrikam: an inventory sync under way right now (well within its thresholds).
    let busy = ensure(
        app,
        ctx,
        fabrikam,
        Some(fabrikam_eu),
        RunType::InventorySync,
        json!({"requested": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(busy.run_id(), worker)
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: busy.run_id(),
        run_type: RunType::InventorySync,
        what: DemoText::Running.text(lang),
    });

    // Contoso: a restore whose worker died after the restore itself completed.
    let history = &stage.past;
    let restore_id = Uuid::new_v4();
    let stuck = ensure(
        history,
        ctx,
        contoso,
        Some(contoso_prod),
        RunType::RestoreExecute,
        json!({"restore_id": restore_id}),
    )
    .await?;
    history
        .lifecycle
        .start(stuck.run_id(), worker)
        .await
        .map_err(fail)?;
    let scope = RestoreScope {
        restore_id,
        run_id: stuck.run_id(),
        workspace_id: contoso,
        environment_id: contoso_prod,
    };
    let restore_fail = |e| CliError::internal(&e);
    history
        .restores
        .request(scope, worker)
        .await
        .map_err(restore_fail)?;
    history
        .restores
        .start(restore_id, worker)
        .await
        .map_err(|e| CliError::internal(&e))?;
    stage.past_clock.advance(Duration::minutes(12));
    history
        .restores
        .finish(restore_id, false, 27, 0, worker)
        .await
        .map_err(|e| CliError::internal(&e))?;
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: stuck.run_id(),
        run_type: RunType::RestoreExecute,
        what: DemoText::StuckRestore.text(lang),
    });

    // Fabrikam: an inventory sync that started three hours ago and was never heard of again.
    let silent = ensure(
        history,
        ctx,
        fabrikam,
        Some(fabrikam_eu),
        RunType::InventorySync,
        json!({"requested": Uuid::new_v4()}),
    )
    .await?;
    history
        .lifecycle
        .start(silent.run_id(), worker)
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: silent.run_id(),
        run_type: RunType::InventorySync,
        what: DemoText::SilentRun.text(lang),
    });

    pointers.push((
        "runproof runs list".into(),
        DemoText::PointerRuns.text(lang),
    ));
    pointers.push((
        "runproof runs list --needs-attention".into(),
        DemoText::PointerAttention.text(lang),
    ));
    pointers.push((
        format!("runproof runs list --workspace {fabrikam} --json"),
        DemoText::PointerWorkspace.text(lang),
    ));
    pointers.push((
        format!("runproof runs show {}", sync_id),
        DemoText::PointerShow.text(lang),
    ));
    pointers.push((
        format!("runproof history {}", stuck.run_id()),
        DemoText::PointerRestore.text(lang),
    ));
    pointers.push((
        format!("runproof history {}", silent.run_id()),
        DemoText::PointerStale.text(lang),
    ));
    Ok(())
}
