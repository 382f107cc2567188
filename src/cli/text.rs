//! The command line's own phrases, each in English and German. Reason codes (the "why")
//! live in the domain; this catalogue holds headings, labels and messages.

runproof_domain::text_catalogue! {
    /// A phrase of the command line.
    UiText {
        HeadingDecision = "ui.heading.decision" { en: "Decision", de: "Entscheidung" }
        HeadingDiagnostics = "ui.heading.diagnostics" { en: "Diagnostics", de: "Diagnose" }
        HeadingContext = "ui.heading.context" { en: "Raw context", de: "Rohkontext" }
        HeadingEvidence = "ui.heading.evidence" { en: "Evidence", de: "Belege" }
        LabelRun = "ui.label.run" { en: "Run", de: "Lauf" }
        LabelType = "ui.label.type" { en: "Type", de: "Typ" }
        LabelStatus = "ui.label.status" { en: "Status", de: "Zustand" }
        LabelOutcome = "ui.label.outcome" { en: "Outcome", de: "Ergebnis" }
        LabelWhy = "ui.label.why" { en: "Why", de: "Warum" }
        LabelWorkspace = "ui.label.workspace" { en: "Workspace", de: "Arbeitsbereich" }
        LabelEnvironment = "ui.label.environment" { en: "Environment", de: "Umgebung" }
        LabelInitiator = "ui.label.initiator" { en: "Initiator", de: "Auslöser" }
        LabelIdentity = "ui.label.identity" { en: "Run identity", de: "Laufidentität" }
        LabelCreated = "ui.label.created" { en: "Queued at", de: "Eingereiht am" }
        LabelStarted = "ui.label.started" { en: "Started at", de: "Gestartet am" }
        LabelCompleted = "ui.label.completed" { en: "Completed at", de: "Abgeschlossen am" }
        LabelUpdated = "ui.label.updated" { en: "Last change", de: "Letzte Änderung" }
        LabelVersion = "ui.label.version" { en: "Stream version", de: "Stream-Version" }
        LabelSummary = "ui.label.summary" { en: "Summary counts", de: "Zählwerte" }
        LabelFailures = "ui.label.failures" { en: "Failures", de: "Fehler" }
        LabelDecidedBy = "ui.label.decided_by" { en: "Decided by", de: "Entschieden von" }
        LabelPosition = "ui.label.position" { en: "Position", de: "Position im Log" }
        LabelTime = "ui.label.time" { en: "Time", de: "Zeit" }
        LabelActor = "ui.label.actor" { en: "Actor", de: "Akteur" }
        LabelEvent = "ui.label.event" { en: "Event", de: "Ereignis" }
        LabelNone = "ui.label.none" { en: "none", de: "keine" }
        ByAdapter = "ui.by.adapter" { en: "adapter {adapter}", de: "Adapter {adapter}" }
        ByStale = "ui.by.stale" { en: "the stale-run reconciler", de: "den Abgleich hängender Läufe" }
        WhyReconciled = "ui.why.reconciled" {
            en: "{decision} by {by}: {reason}",
            de: "{decision} durch {by}: {reason}"
        }
        WhyCompletedByJob = "ui.why.completed_by_job" {
            en: "Reported {outcome} by its own job.",
            de: "Vom eigenen Job als {outcome} gemeldet."
        }
        WhyFailedByJob = "ui.why.failed_by_job" {
            en: "Reported {outcome} by its own job: {reason}",
            de: "Vom eigenen Job als {outcome} gemeldet: {reason}"
        }
        WhyQueued = "ui.why.queued" {
            en: "Waiting in the queue since {since}; counts as stale from {deadline}.",
            de: "Wartet seit {since} in der Warteschlange; gilt ab {deadline} als hängend."
        }
        WhyRunning = "ui.why.running" {
            en: "Running since {since}; counts as stale from {deadline}.",
            de: "Läuft seit {since}; gilt ab {deadline} als hängend."
        }
        EventQueued = "ui.event.queued" { en: "queued", de: "eingereiht" }
        EventStarted = "ui.event.started" { en: "started", de: "gestartet" }
        EventCompleted = "ui.event.completed" { en: "completed by its job", de: "vom Job abgeschlossen" }
        EventReconciled = "ui.event.reconciled" { en: "reconciled", de: "abgeglichen" }
        NoRuns = "ui.runs.none" { en: "No runs match.", de: "Keine passenden Läufe." }
        RunsShown = "ui.runs.shown" {
            en: "{count} run(s), newest first.",
            de: "{count} Lauf/Läufe, neueste zuerst."
        }
        MigrateApplied = "ui.migrate.applied" {
            en: "Applied {count} migration(s); the schema is at version {version}.",
            de: "{count} Migration(en) angewendet; das Schema hat Version {version}."
        }
        MigrateUpToDate = "ui.migrate.up_to_date" {
            en: "The schema is up to date (version {version}).",
            de: "Das Schema ist aktuell (Version {version})."
        }
        ReplayDone = "ui.replay.done" {
            en: "Rebuilt {projection} from {events} event(s) up to position {position} and swapped it in.",
            de: "{projection} aus {events} Ereignis(sen) bis Position {position} neu aufgebaut und übernommen."
        }
        VerifyClean = "ui.replay.verify_clean" {
            en: "Verified {projection}: {rows} row(s) rebuilt from the log match the live table at position {position}.",
            de: "{projection} geprüft: {rows} aus dem Log neu aufgebaute Zeile(n) stimmen bei Position {position} mit der Live-Tabelle überein."
        }
        VerifyMissingInLive = "ui.replay.missing_in_live" {
            en: "{table} {key}: the log produces this row, the live table lacks it",
            de: "{table} {key}: das Log ergibt diese Zeile, der Live-Tabelle fehlt sie"
        }
        VerifyMissingInRebuild = "ui.replay.missing_in_rebuild" {
            en: "{table} {key}: the live table has this row, the log does not produce it",
            de: "{table} {key}: die Live-Tabelle hat diese Zeile, das Log ergibt sie nicht"
        }
        VerifyColumn = "ui.replay.column" {
            en: "{table} {key}: {column} is {live} live but {rebuilt} from the log",
            de: "{table} {key}: {column} ist live {live}, aus dem Log aber {rebuilt}"
        }
        ProgressLine = "ui.progress.line" {
            en: "{phase}: {done} of {total} events ({percent}%)",
            de: "{phase}: {done} von {total} Ereignissen ({percent} %)"
        }
        ProjectorStarted = "ui.projector.started" {
            en: "Projector following the log (every {interval}s); Ctrl-C stops it.",
            de: "Projektor folgt dem Log (alle {interval} s); Strg-C beendet ihn."
        }
        ProjectorStatus = "ui.projector.status" {
            en: "{projection}: at position {position}, {behind} event(s) behind",
            de: "{projection}: bei Position {position}, {behind} Ereignis(se) zurück"
        }
        DecisionStale = "ui.decision.stale" { en: "ended as stale", de: "als hängend beendet" }
        ReconcileSummary = "ui.reconcile.summary" {
            en: "Pass at {at}: {decided} run(s) decided ({adapter} proven by adapters, {stale} ended as stale), {waiting} not provable yet, {lost} lost a race, {behind} skipped (views behind), {failed} failed.",
            de: "Durchlauf um {at}: {decided} Lauf/Läufe entschieden ({adapter} durch Adapter belegt, {stale} als hängend beendet), {waiting} noch nicht belegbar, {lost} Wettlauf verloren, {behind} übersprungen (Ansichten im Rückstand), {failed} fehlgeschlagen."
        }
        ReconcileNotLeader = "ui.reconcile.not_leader" {
            en: "Another process is reconciling right now; this pass did nothing.",
            de: "Ein anderer Prozess gleicht gerade ab; dieser Durchlauf hat nichts getan."
        }
        ReconcileWatching = "ui.reconcile.watching" {
            en: "Reconciling every {interval}s; Ctrl-C or SIGTERM stops after the current pass.",
            de: "Abgleich alle {interval} s; Strg-C oder SIGTERM beendet nach dem laufenden Durchlauf."
        }
        ReconcileStopped = "ui.reconcile.stopped" {
            en: "Stopped.",
            de: "Beendet."
        }
        ExplainCompleted = "ui.explain.completed" {
            en: "The run is already completed; there is nothing to decide.",
            de: "Der Lauf ist bereits abgeschlossen; es gibt nichts zu entscheiden."
        }
        ExplainWouldDecide = "ui.explain.would_decide" {
            en: "Would decide now: {decision} by {by}, outcome {outcome} — {reason}",
            de: "Würde jetzt entscheiden: {decision} durch {by}, Ergebnis {outcome} — {reason}"
        }
        ExplainWaiting = "ui.explain.waiting" {
            en: "Nothing to decide now ({by}): {reason}",
            de: "Jetzt nichts zu entscheiden ({by}): {reason}"
        }
        ProjectorHeldBack = "ui.projector.held_back" {
            en: "A transaction open since {since} holds the read horizon back.",
            de: "Eine seit {since} offene Transaktion hält den Lesehorizont auf."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_has_english_and_german_text_with_the_same_placeholders() {
        assert_eq!(UiText::catalogue_problems(), Vec::<String>::new());
    }
}
