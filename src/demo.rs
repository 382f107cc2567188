//! `runproof demo`: a small, realistic set of runs across two workspaces, recorded
//! through the same services production uses, and the commands to look at them.

use std::collections::BTreeMap;
use std::sync::Arc;

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{Failure, TerminalOutcome};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::cli::error::CliError;
use crate::cli::out::Out;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::database::{self, DatabaseTarget};
use crate::explain;
use crate::lifecycle::{EnsureRun, Ensured, LifecycleError};
use crate::reconciliation;
use crate::restore::RestoreScope;
use crate::writer::WriteError;
use chrono::Duration;
use runproof_domain::reconciliation::DecisionKind;
use runproof_domain::restore::RestoreError;

/// Stable ids so repeated demos land in the same workspaces.
fn demo_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("https://runproof.dev/demo/{name}").as_bytes(),
    )
}

struct Recorded {
    workspace: &'static str,
    run_id: Uuid,
    run_type: RunType,
    what: String,
}

pub async fn run(target: &DatabaseTarget, out: &Out) -> Result<(), CliError> {
    let created = target
        .create_if_missing()
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let pool = target
        .connect(4)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    database::migrate(&pool)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let app = App::from_pool(pool, Arc::new(SystemClock));
    let lang = out.lang;
    out.say(
        if created {
            DemoText::CreatedDatabase
        } else {
            DemoText::UsingDatabase
        },
        &[("target", &target.to_string())],
    );

    let operator = Initiator::Actor(demo_id("actor/ops-lead"));
    let ctx = CommandContext::new(operator);
    let worker = CommandContext {
        actor: Initiator::system("worker"),
        ..ctx.follow_up()
    };
    let contoso = demo_id("workspace/contoso");
    let fabrikam = demo_id("workspace/fabrikam");
    let contoso_prod = demo_id("environment/contoso-prod");
    let fabrikam_eu = demo_id("environment/fabrikam-eu");
    let mut recorded: Vec<Recorded> = Vec::new();
    let fail = |e: LifecycleError| CliError::from_lifecycle(&e);

    // Contoso: a restore that succeeded.
    let restore = ensure(
        &app,
        &ctx,
        contoso,
        Some(contoso_prod),
        RunType::RestoreExecute,
        json!({"restore_id": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(restore.run_id(), &worker)
        .await
        .map_err(fail)?;
    app.lifecycle
        .complete(
            restore.run_id(),
            TerminalOutcome::Succeeded,
            BTreeMap::from([("policies".into(), 42), ("restored".into(), 42)]),
            vec![],
            &worker,
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
        &app,
        &ctx,
        contoso,
        Some(contoso_prod),
        RunType::InventorySync,
        json!({"requested": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(sync.run_id(), &worker)
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
            &worker,
        )
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: sync.run_id(),
        run_type: RunType::InventorySync,
        what: DemoText::Failed.text(lang),
    });

    // Contoso: a review compose requested twice — the second request reuses the run.
    let compose_inputs = json!({"trigger": "weekly-review"});
    let first = ensure(
        &app,
        &ctx,
        contoso,
        Some(contoso_prod),
        RunType::EnvironmentReviewCompose,
        compose_inputs.clone(),
    )
    .await?;
    let second = ensure(
        &app,
        &ctx,
        contoso,
        Some(contoso_prod),
        RunType::EnvironmentReviewCompose,
        compose_inputs,
    )
    .await?;
    if matches!(first, Ensured::Queued(_)) {
        app.lifecycle
            .start(first.run_id(), &worker)
            .await
            .map_err(fail)?;
    }
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: first.run_id(),
        run_type: RunType::EnvironmentReviewCompose,
        what: DemoText::Reused.render(
            lang,
            &[("same", &(first.run_id() == second.run_id()).to_string())],
        ),
    });

    // Fabrikam: a restore that partially succeeded.
    let partial = ensure(
        &app,
        &ctx,
        fabrikam,
        Some(fabrikam_eu),
        RunType::RestoreExecute,
        json!({"restore_id": Uuid::new_v4()}),
    )
    .await?;
    app.lifecycle
        .start(partial.run_id(), &worker)
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
            &worker,
        )
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: partial.run_id(),
        run_type: RunType::RestoreExecute,
        what: DemoText::Partial.text(lang),
    });

    // Fabrikam: a report export still waiting in the queue (the same one on every demo).
    let export = ensure(
        &app,
        &ctx,
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

    // Runs that got stuck a while ago: recorded with a clock set to the past.
    let past = Arc::new(ManualClock::new(SystemClock.now() - Duration::hours(3)));
    let history = App::from_pool(app.pool.clone(), past.clone());

    // Contoso: a restore whose worker died after the restore itself completed.
    let restore_id = Uuid::new_v4();
    let stuck = ensure(
        &history,
        &ctx,
        contoso,
        Some(contoso_prod),
        RunType::RestoreExecute,
        json!({"restore_id": restore_id}),
    )
    .await?;
    history
        .lifecycle
        .start(stuck.run_id(), &worker)
        .await
        .map_err(fail)?;
    let scope = RestoreScope {
        restore_id,
        run_id: stuck.run_id(),
        workspace_id: contoso,
        environment_id: contoso_prod,
    };
    let restore_fail = |e: WriteError<RestoreError>| CliError::internal(&e);
    history
        .restores
        .request(scope, &worker)
        .await
        .map_err(restore_fail)?;
    history
        .restores
        .start(restore_id, &worker)
        .await
        .map_err(restore_fail)?;
    past.advance(Duration::minutes(12));
    history
        .restores
        .finish(restore_id, false, 27, 0, &worker)
        .await
        .map_err(restore_fail)?;
    recorded.push(Recorded {
        workspace: "contoso",
        run_id: stuck.run_id(),
        run_type: RunType::RestoreExecute,
        what: DemoText::StuckRestore.text(lang),
    });

    // Fabrikam: an inventory sync that started three hours ago and was never heard of again.
    let silent = ensure(
        &history,
        &ctx,
        fabrikam,
        Some(fabrikam_eu),
        RunType::InventorySync,
        json!({"requested": Uuid::new_v4()}),
    )
    .await?;
    history
        .lifecycle
        .start(silent.run_id(), &worker)
        .await
        .map_err(fail)?;
    recorded.push(Recorded {
        workspace: "fabrikam",
        run_id: silent.run_id(),
        run_type: RunType::InventorySync,
        what: DemoText::SilentRun.text(lang),
    });

    out.line("");
    for r in &recorded {
        out.line(format!(
            "  {:<9} {}  {:<27} {}",
            r.workspace,
            r.run_id,
            r.run_type.key(),
            r.what
        ));
    }
    // The reconciler proves the restore from its record and ends the silent sync.
    out.line("");
    out.say(DemoText::Reconciling, &[]);
    let report = reconciliation::reconciler(&app)
        .map_err(|e| CliError::internal(&e))?
        .pass(SystemClock.now())
        .await
        .map_err(|e| CliError::internal(&e))?;
    for e in report.decided() {
        let kind = e.decision.kind().unwrap_or(DecisionKind::Blocked);
        out.line(format!(
            "  {}  {:<27} {} — {} [{}]",
            e.run_id,
            e.run_type.key(),
            explain::decision_label(e.source, kind, lang),
            e.decision.reason().text(lang),
            e.decision.reason()
        ));
    }

    out.line("");
    out.say(DemoText::LookAtIt, &[]);
    let show = recorded.get(1).map(|r| r.run_id).unwrap_or_default();
    let compose = first.run_id();
    out.line("  runproof runs list");
    out.line(format!(
        "  runproof runs list --workspace {fabrikam} --json"
    ));
    out.line(format!("  runproof runs show {show}"));
    out.line(format!(
        "  runproof history {}   # {}",
        stuck.run_id(),
        DemoText::HistoryAdapter.text(lang)
    ));
    out.line(format!(
        "  runproof history {}   # {}",
        silent.run_id(),
        DemoText::HistoryStale.text(lang)
    ));
    out.line(format!("  runproof reconcile --explain {compose}"));
    out.line("  runproof reconcile --once");
    out.line("  runproof replay --verify");
    out.say(DemoText::FromCheckout, &[]);
    Ok(())
}

async fn ensure(
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

#[cfg(test)]
mod tests {
    use super::DemoText;

    #[test]
    fn every_demo_phrase_has_english_and_german_text() {
        assert_eq!(DemoText::catalogue_problems(), Vec::<String>::new());
    }
}

runproof_domain::text_catalogue! {
    /// The demo's phrases.
    DemoText {
        CreatedDatabase = "demo.created_database" {
            en: "Created the database {target} and migrated it.",
            de: "Datenbank {target} angelegt und migriert."
        }
        UsingDatabase = "demo.using_database" {
            en: "Using the database {target} (migrated).",
            de: "Verwende die Datenbank {target} (migriert)."
        }
        Succeeded = "demo.succeeded" {
            en: "queued → running → succeeded (42 of 42 policies restored)",
            de: "eingereiht → läuft → erfolgreich (42 von 42 Richtlinien wiederhergestellt)"
        }
        Failed = "demo.failed" {
            en: "queued → running → failed (a dependency was unavailable)",
            de: "eingereiht → läuft → fehlgeschlagen (eine Abhängigkeit war nicht erreichbar)"
        }
        Reused = "demo.reused" {
            en: "requested twice, one run (second request reused it: {same}); running",
            de: "zweimal angefordert, ein Lauf (zweite Anfrage wiederverwendet: {same}); läuft"
        }
        Partial = "demo.partial" {
            en: "queued → running → partially succeeded (2 of 18 policies failed)",
            de: "eingereiht → läuft → teilweise erfolgreich (2 von 18 Richtlinien fehlgeschlagen)"
        }
        Queued = "demo.queued" {
            en: "queued, waiting for a worker",
            de: "eingereiht, wartet auf einen Worker"
        }
        StillQueued = "demo.still_queued" {
            en: "still queued from an earlier demo: the request reused it",
            de: "noch aus einer früheren Demo eingereiht: die Anfrage hat ihn wiederverwendet"
        }
        LookAtIt = "demo.look" {
            en: "Look at it:",
            de: "Ansehen:"
        }
        StuckRestore = "demo.stuck_restore" {
            en: "running since 3 hours; its restore record completed, but the worker died before completing the run",
            de: "läuft seit 3 Stunden; sein Wiederherstellungsdatensatz ist abgeschlossen, aber der Worker starb vor dem Abschluss des Laufs"
        }
        SilentRun = "demo.silent_run" {
            en: "running since 3 hours, never heard of again (no adapter for this type)",
            de: "läuft seit 3 Stunden, danach nie wieder gemeldet (kein Adapter für diesen Typ)"
        }
        Reconciling = "demo.reconciling" {
            en: "Reconciler pass:",
            de: "Abgleichsdurchlauf:"
        }
        HistoryAdapter = "demo.history_adapter" {
            en: "proven from its restore record",
            de: "aus dem Wiederherstellungsdatensatz belegt"
        }
        HistoryStale = "demo.history_stale" {
            en: "ended by the generic stale path",
            de: "vom allgemeinen Hängend-Pfad beendet"
        }
        FromCheckout = "demo.from_checkout" {
            en: "(From a checkout, run each as: cargo run -q -- <command>.)",
            de: "(Aus einem Checkout jeweils so ausführen: cargo run -q -- <Befehl>.)"
        }
    }
}
