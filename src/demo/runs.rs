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

    // Contoso: a restore that succeeded.
    let restore = ensure(
        app,
        ctx,
        contoso,
        Some(contoso_prod),
        RunType::RestoreExecute,
        json!({"restore_id": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(restore.run_id(), worker)
        .await
        .map_err(fail)?;
    app.lifecycle
        .complete(
            restore.run_id(),
            TerminalOutcome::Succeeded,
            BTreeMap::from([("policies".into(), 42), ("restored".into(), 42)]),
            vec![],
            worker,
        )
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: restore.run_id(),
        run_type: RunType::RestoreExecute,
        what: DemoText::Succeeded.text(lang),
    });

    // Contoso: an inventory sync that failed on an unavailable dependency.
    let sync = ensure(
        app,
        ctx,
        contoso,
        Some(contoso_prod),
        RunType::InventorySync,
        json!({"requested": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(sync.run_id(), worker)
        .await
        .map_err(fail)?;
    app.lifecycle
        .complete(
            sync.run_id(),
            TerminalOutcome::Failed,
            BTreeMap::from([("pages_read".into(), 3)]),
            vec![Failure {
                reason_code: ReasonCode::JobDependencyUnavailable,
                message: Some("directory service answered 503 three times".into()),
            }],
            worker,
        )
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: sync.run_id(),
        run_type: RunType::InventorySync,
        what: DemoText::Failed.text(lang),
    });

    // Fabrikam: a restore that partially succeeded.
    let partial = ensure(
        app,
        ctx,
        fabrikam,
        Some(fabrikam_eu),
        RunType::RestoreExecute,
        json!({"restore_id": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(partial.run_id(), worker)
        .await
        .map_err(fail)?;
    app.lifecycle
        .complete(
            partial.run_id(),
            TerminalOutcome::PartiallySucceeded,
            BTreeMap::from([
                ("policies".into(), 18),
                ("restored".into(), 16),
                ("failed".into(), 2),
            ]),
            vec![Failure {
                reason_code: ReasonCode::JobItemsFailed,
                message: Some("2 of 18 policies were rejected by the target".into()),
            }],
            worker,
        )
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: partial.run_id(),
        run_type: RunType::RestoreExecute,
        what: DemoText::Partial.text(lang),
    });

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
        format!("runproof runs list --workspace {fabrikam} --json"),
        DemoText::PointerWorkspace.text(lang),
    ));
    pointers.push((
        format!("runproof runs show {}", sync.run_id()),
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
