//! `runproof demo`: a small, realistic story recorded through the same services
//! production uses — run lifecycles across two workspaces, reconciliation of stuck runs,
//! and environment reviews — and the commands to look at it.
//!
//! Safe to run again: workspaces, actors and the main environment keep stable ids, so a
//! second demo shows requests being reused; the crash and publication stories use fresh
//! environments every time.

mod reviews;
mod runs;
pub mod serve;

use std::sync::Arc;

use chrono::Duration;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::reconciliation::DecisionKind;
use runproof_domain::run_type::RunType;
use uuid::Uuid;

use crate::app::App;
use crate::cli::error::CliError;
use crate::cli::out::Out;
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::database::{self, DatabaseTarget};
use crate::explain;
use crate::reconciliation;

/// Stable ids so repeated demos land in the same workspaces.
fn demo_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("https://runproof.dev/demo/{name}").as_bytes(),
    )
}

/// One line of the demo's report.
struct Recorded {
    workspace: &'static str,
    run_id: Uuid,
    run_type: RunType,
    what: String,
}

/// What the stories need: the services now, the services three hours ago, and who acts.
struct Stage {
    app: App,
    past: App,
    past_clock: Arc<ManualClock>,
    operator: CommandContext,
    worker: CommandContext,
    out: Out,
}

/// Commands the reader is pointed to at the end, with a comment each.
type Pointers = Vec<(String, String)>;

pub async fn run(target: &DatabaseTarget, out: &Out) -> Result<(), CliError> {
    let created = target
        .create_if_missing()
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    record(target, created, out).await
}

/// Migrates the database (`created`: by this command) and records the story.
async fn record(target: &DatabaseTarget, created: bool, out: &Out) -> Result<(), CliError> {
    let pool = target
        .connect(4)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    database::migrate(&pool)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    out.say(
        if created {
            DemoText::CreatedDatabase
        } else {
            DemoText::UsingDatabase
        },
        &[("target", &target.to_string())],
    );

    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    // Runs that got stuck a while ago are recorded with a clock set three hours back.
    let past_clock = Arc::new(ManualClock::new(SystemClock.now() - Duration::hours(3)));
    let operator = CommandContext::new(Initiator::Actor(demo_id("actor/ops-lead")));
    let stage = Stage {
        past: App::from_pool(pool, past_clock.clone()),
        past_clock,
        worker: CommandContext {
            actor: Initiator::system("worker"),
            ..operator.follow_up()
        },
        operator,
        app,
        out: *out,
    };

    let mut recorded = Vec::new();
    let mut pointers = Pointers::new();
    runs::record(&stage, &mut recorded, &mut pointers).await?;
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
    out.line("");
    let crashed = reviews::record(&stage, &mut pointers).await?;

    // The reconciler proves what domain truth can prove and ends the rest with a reason.
    out.line("");
    out.say(DemoText::Reconciling, &[]);
    let report = reconciliation::reconciler(&stage.app)
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
            explain::decision_label(e.source, kind, out.lang),
            e.decision.reason().text(out.lang),
            e.decision.reason()
        ));
    }

    // The compose the reconciler just ended left its draft behind: the next request for the
    // same evidence takes it over (invariant 11).
    out.line("");
    out.say(DemoText::NextRequest, &[]);
    reviews::after_reconcile(&stage, &crashed).await?;
    out.line("");
    out.say(DemoText::LookAtIt, &[]);
    let width = pointers.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (command, comment) in &pointers {
        out.line(format!("  {command:<width$}   # {comment}"));
    }
    out.say(DemoText::FromCheckout, &[]);
    Ok(())
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
        Partial = "demo.partial" {
            en: "queued → running → partially succeeded (2 of 18 policies failed)",
            de: "eingereiht → läuft → teilweise erfolgreich (2 von 18 Richtlinien fehlgeschlagen)"
        }
        Queued = "demo.queued" {
            en: "queued, waiting for a worker",
            de: "eingereiht, wartet auf einen Worker"
        }
        Running = "demo.running" {
            en: "running, started just now",
            de: "läuft, gerade gestartet"
        }
        StillQueued = "demo.still_queued" {
            en: "still queued from an earlier demo: the request reused it",
            de: "noch aus einer früheren Demo eingereiht: die Anfrage hat ihn wiederverwendet"
        }
        StuckRestore = "demo.stuck_restore" {
            en: "running since 3 hours; its restore record completed, but the worker died before completing the run",
            de: "läuft seit 3 Stunden; sein Wiederherstellungsdatensatz ist abgeschlossen, aber der Worker starb vor dem Abschluss des Laufs"
        }
        SilentRun = "demo.silent_run" {
            en: "running since 3 hours, never heard of again (no adapter for this type)",
            de: "läuft seit 3 Stunden, danach nie wieder gemeldet (kein Adapter für diesen Typ)"
        }
        ReviewsHeading = "demo.reviews" {
            en: "Environment reviews (workspace contoso):",
            de: "Umgebungsreviews (Arbeitsbereich contoso):"
        }
        FirstTrigger = "demo.first_trigger" {
            en: "prod, first request:",
            de: "prod, erste Anfrage:"
        }
        SecondTrigger = "demo.second_trigger" {
            en: "prod, second request:",
            de: "prod, zweite Anfrage:"
        }
        WorkerRan = "demo.worker_ran" {
            en: "worker:",
            de: "Worker:"
        }
        ThirdTrigger = "demo.third_trigger" {
            en: "prod, request after the worker:",
            de: "prod, Anfrage nach dem Worker:"
        }
        CrashedCompose = "demo.crashed_compose" {
            en: "dev: a compose run 3 hours ago whose worker died mid-way, leaving its draft: run {run}",
            de: "dev: ein Erstellungslauf vor 3 Stunden, dessen Worker mittendrin starb und seinen Entwurf hinterließ: Lauf {run}"
        }
        PublishedReused = "demo.published_reused" {
            en: "staging: review {review} published, and a stray compose run {run} from 3 hours ago for the same evidence",
            de: "staging: Review {review} veröffentlicht, und ein verirrter Erstellungslauf {run} von vor 3 Stunden für dieselben Belege"
        }
        StagingRefresh = "demo.staging_refresh" {
            en: "staging, refresh after publishing:",
            de: "staging, Aktualisierung nach der Veröffentlichung:"
        }
        NextRequest = "demo.next_request" {
            en: "The crashed compose left its draft; the reconciler ended its run. The next request for dev:",
            de: "Die abgestürzte Erstellung hinterließ ihren Entwurf; der Abgleich hat ihren Lauf beendet. Die nächste Anfrage für dev:"
        }
        TakenOver = "demo.taken_over" {
            en: "worker: took the orphaned draft over: run {run} → review {review}",
            de: "Worker: hat den verwaisten Entwurf übernommen: Lauf {run} → Review {review}"
        }
        Reconciling = "demo.reconciling" {
            en: "Reconciler pass:",
            de: "Abgleichsdurchlauf:"
        }
        LookAtIt = "demo.look" {
            en: "Look at it:",
            de: "Ansehen:"
        }
        PointerRuns = "demo.pointer_runs" { en: "every run, newest first, with its why", de: "alle Läufe, neueste zuerst, mit ihrem Warum" }
        PointerAttention = "demo.pointer_attention" { en: "what needs attention: failed, blocked, partial or stale", de: "was Aufmerksamkeit braucht: fehlgeschlagen, blockiert, teilweise oder hängend" }
        PointerWorkspace = "demo.pointer_workspace" { en: "one workspace, as JSON", de: "ein Arbeitsbereich, als JSON" }
        PointerShow = "demo.pointer_show" { en: "decision first, then diagnostics, then raw context", de: "zuerst die Entscheidung, dann Diagnose, dann Rohkontext" }
        PointerRestore = "demo.pointer_restore" { en: "proven from its restore record", de: "aus dem Wiederherstellungsdatensatz belegt" }
        PointerStale = "demo.pointer_stale" { en: "ended by the generic stale path", de: "vom allgemeinen Hängend-Pfad beendet" }
        PointerCrashed = "demo.pointer_crashed" { en: "crashed compose: blocked by the review-compose adapter, its draft taken over by the next run", de: "abgestürzte Erstellung: vom Review-Adapter blockiert, ihr Entwurf vom nächsten Lauf übernommen" }
        PointerStray = "demo.pointer_stray" { en: "a stray run: proven a duplicate of the published review", de: "ein verirrter Lauf: als Duplikat des veröffentlichten Reviews belegt" }
        PointerReviews = "demo.pointer_reviews" { en: "the reviews and their lifecycle", de: "die Reviews und ihr Lebenszyklus" }
        PointerReview = "demo.pointer_review" { en: "one review with its sections", de: "ein Review mit seinen Abschnitten" }
        PointerReviewHistory = "demo.pointer_review_history" { en: "the review's events, linked with the run that composed it", de: "die Ereignisse des Reviews, verknüpft mit dem Lauf, der es erstellt hat" }
        PointerExplain = "demo.pointer_explain" { en: "another pass: nothing is left to decide", de: "ein weiterer Durchlauf: nichts mehr zu entscheiden" }
        PointerVerify = "demo.pointer_verify" { en: "rebuild every projection from the log and compare", de: "alle Projektionen aus dem Log neu aufbauen und vergleichen" }
        ServeKeepsHistory = "demo.serve_keeps_history" {
            en: "The database {target} already has a history: it is served as it is (the demo story is recorded only into an empty log).",
            de: "Die Datenbank {target} hat bereits eine Historie: Sie wird so bereitgestellt, wie sie ist (die Demo-Geschichte wird nur in ein leeres Log geschrieben)."
        }
        ServeSignIn = "demo.serve_sign_in" {
            en: "Signed in as the demo's platform operator \"Ops Lead\" with this token (valid until {expires}; shown once):\n\n  {token}\n\nOpen the console at {url}/ and sign in with it, or try:  curl -H 'Authorization: Bearer {token}' {url}/api/v1/runs",
            de: "Angemeldet als Plattform-Operator \"Ops Lead\" der Demo mit diesem Token (gültig bis {expires}; wird nur einmal gezeigt):\n\n  {token}\n\nÖffnen Sie die Konsole unter {url}/ und melden Sie sich damit an, oder versuchen Sie:  curl -H 'Authorization: Bearer {token}' {url}/api/v1/runs"
        }
        FromCheckout = "demo.from_checkout" {
            en: "(From a checkout, run each as: cargo run -q -- <command>.)",
            de: "(Aus einem Checkout jeweils so ausführen: cargo run -q -- <Befehl>.)"
        }
    }
}
