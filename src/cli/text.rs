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
        LabelReconciliation = "ui.label.reconciliation" { en: "Reconciliation", de: "Abgleich" }
        LabelCompletionNote = "ui.label.completion_note" { en: "Job's note", de: "Hinweis des Jobs" }
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
        WhyReportedByJob = "ui.why.reported_by_job" {
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
        EventReviewDrafted = "ui.event.review_drafted" {
            en: "drafted by run {run} from evidence snapshot {snapshot}",
            de: "von Lauf {run} aus Belegstand {snapshot} entworfen"
        }
        EventReviewRedrafted = "ui.event.review_redrafted" {
            en: "drafted again by run {run}",
            de: "von Lauf {run} erneut entworfen"
        }
        EventReviewDraftTakenOver = "ui.event.review_draft_taken_over" {
            en: "draft taken over by run {run} from run {previous}, which had ended",
            de: "Entwurf von Lauf {run} übernommen, von Lauf {previous}, der beendet war"
        }
        EventReviewComposed = "ui.event.review_composed" {
            en: "composed from {count} finding(s); ready",
            de: "aus {count} Befund(en) erstellt; bereit"
        }
        EventReviewCompositionFailed = "ui.event.review_composition_failed" {
            en: "composition failed",
            de: "Erstellung fehlgeschlagen"
        }
        EventReviewPublished = "ui.event.review_published" { en: "published", de: "veröffentlicht" }
        EventReviewPublishedSuperseding = "ui.event.review_published_superseding" {
            en: "published; supersedes review {previous}",
            de: "veröffentlicht; löst Review {previous} ab"
        }
        EventReviewArchived = "ui.event.review_archived" { en: "archived", de: "archiviert" }
        EventReviewSuperseded = "ui.event.review_superseded" {
            en: "superseded by review {review}",
            de: "abgelöst durch Review {review}"
        }
        HistoryUndecodable = "ui.history.undecodable" {
            en: "undecodable event (stored version {version})",
            de: "nicht lesbares Ereignis (gespeicherte Version {version})"
        }
        HistoryUpcast = "ui.history.upcast" {
            en: "stored as version {stored}, shown in its current shape {current}",
            de: "gespeichert als Version {stored}, gezeigt in der aktuellen Form {current}"
        }
        HistoryLinks = "ui.history.links" {
            en: "Linked streams (follow with `runproof history ID`):",
            de: "Verknüpfte Streams (weiter mit `runproof history ID`):"
        }
        AsOfPosition = "ui.as_of.position" {
            en: "As of log position {position} (recorded {time}).",
            de: "Stand: Log-Position {position} (aufgezeichnet {time})."
        }
        AsOfPositionUntimed = "ui.as_of.position_untimed" {
            en: "As of log position {position}.",
            de: "Stand: Log-Position {position}."
        }
        AsOfTime = "ui.as_of.time" {
            en: "As of {time} (log position {position}).",
            de: "Stand: {time} (Log-Position {position})."
        }
        AsOfTimeBeforeLog = "ui.as_of.time_before_log" {
            en: "As of {time}: before the first event of the log.",
            de: "Stand: {time}, vor dem ersten Ereignis des Logs."
        }
        AtPosition = "ui.as_of.at_position" {
            en: "log position {position}",
            de: "Log-Position {position}"
        }
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
        ReplayCreated = "ui.replay.created" {
            en: "The live table {table} was missing; it was created from runproof's schema.",
            de: "Die Live-Tabelle {table} fehlte; sie wurde nach runproofs Schema angelegt."
        }
        ReplayLeftoversRemoved = "ui.replay.leftovers_removed" {
            en: "Removed {names}, left behind by an interrupted replay or verify.",
            de: "{names} entfernt, zurückgelassen von einem abgebrochenen replay oder verify."
        }
        VerifyTableMissing = "ui.replay.table_missing" {
            en: "{table}: the live table is missing; `runproof replay` creates it and fills it from the log",
            de: "{table}: die Live-Tabelle fehlt; `runproof replay` legt sie an und füllt sie aus dem Log"
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
        Serving = "ui.serve.serving" {
            en: "runproof is serving on {url} (API under {url}/api/v1, health at {url}/healthz). Ctrl-C or SIGTERM stops it.",
            de: "runproof läuft unter {url} (API unter {url}/api/v1, Zustand unter {url}/healthz). Strg-C oder SIGTERM beendet es."
        }
        RelayStarted = "ui.relay.started" {
            en: "Relaying the log to NATS {url}, stream {stream}, subjects {subjects} (publishing while this relay holds the leader lock). Ctrl-C or SIGTERM stops it.",
            de: "Das Log wird an NATS {url} weitergegeben, Stream {stream}, Subjects {subjects} (veröffentlicht, solange dieses Relay die Leitsperre hält). Strg-C oder SIGTERM beendet es."
        }
        RelayStopped = "ui.relay.stopped" {
            en: "Relay stopped: every publish it sent was acknowledged or will be sent again by the next leader.",
            de: "Relay beendet: Jede gesendete Veröffentlichung wurde bestätigt oder wird vom nächsten Leiter erneut gesendet."
        }
        RelayStatus = "ui.relay.status" {
            en: "relay {stream}: at position {position} (stream sequence {sequence}), {behind} event(s) behind",
            de: "Relay {stream}: bei Position {position} (Stream-Sequenz {sequence}), {behind} Ereignis(se) zurück"
        }
        ServeStopped = "ui.serve.stopped" {
            en: "Stopped: in-flight requests, the current run and the current pass finished.",
            de: "Beendet: laufende Anfragen, der aktuelle Lauf und der aktuelle Durchlauf wurden abgeschlossen."
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
        FeedbackQueued = "ui.feedback.queued" {
            en: "Queued compose run {run}; open it with `runproof runs show {run}`.",
            de: "Erstellungslauf {run} eingereiht; öffnen mit `runproof runs show {run}`."
        }
        FeedbackAlreadyRunning = "ui.feedback.already_running" {
            en: "A compose run for the same evidence is already under way: {run}; open it with `runproof runs show {run}`.",
            de: "Ein Erstellungslauf für dieselben Belege läuft bereits: {run}; öffnen mit `runproof runs show {run}`."
        }
        FeedbackAlreadyAvailable = "ui.feedback.already_available" {
            en: "The review of the current evidence is already available: {review}; open it with `runproof reviews show {review}`.",
            de: "Das Review zu den aktuellen Belegen liegt bereits vor: {review}; öffnen mit `runproof reviews show {review}`."
        }
        CreatedWorkspace = "ui.created.workspace" {
            en: "Created workspace {id} ({name}).",
            de: "Arbeitsbereich {id} ({name}) angelegt."
        }
        CreatedEnvironment = "ui.created.environment" {
            en: "Created environment {id} ({name}) in workspace {workspace}.",
            de: "Umgebung {id} ({name}) im Arbeitsbereich {workspace} angelegt."
        }
        CreatedActor = "ui.created.actor" {
            en: "Created actor {id} ({name}).",
            de: "Akteur {id} ({name}) angelegt."
        }
        CreatedOperator = "ui.created.operator" {
            en: "Created operator {id} ({name}); it sees every workspace.",
            de: "Operator {id} ({name}) angelegt; er sieht jeden Arbeitsbereich."
        }
        CreatedServiceActor = "ui.created.service_actor" {
            en: "Created service actor {id} ({name}); it may drive run lifecycles in the workspaces it is a member of.",
            de: "Dienstakteur {id} ({name}) angelegt; er darf Lebenszyklen von Läufen in den Arbeitsbereichen steuern, deren Mitglied er ist."
        }
        RoleGranted = "ui.role.granted" {
            en: "Actor {actor} is now an {role}: it sees every workspace.",
            de: "Akteur {actor} hat jetzt die Rolle {role}: er sieht jeden Arbeitsbereich."
        }
        RoleGrantedFeed = "ui.role.granted_feed" {
            en: "Actor {actor} now holds the role {role}: it reads every workspace's events from the feed (GET /api/v1/events).",
            de: "Akteur {actor} hat jetzt die Rolle {role}: er liest die Ereignisse jedes Arbeitsbereichs aus dem Feed (GET /api/v1/events)."
        }
        RoleAlreadyHeld = "ui.role.already_held" {
            en: "Actor {actor} already holds the role {role}; nothing was recorded.",
            de: "Akteur {actor} hat die Rolle {role} bereits; nichts wurde aufgezeichnet."
        }
        RoleRevoked = "ui.role.revoked" {
            en: "Actor {actor} no longer holds the role {role}.",
            de: "Akteur {actor} hat die Rolle {role} nicht mehr."
        }
        RoleNotHeld = "ui.role.not_held" {
            en: "Actor {actor} does not hold the role {role}; nothing was recorded.",
            de: "Akteur {actor} hat die Rolle {role} nicht; nichts wurde aufgezeichnet."
        }
        TokenIssued = "ui.token.issued" {
            en: "Issued API token {id} to actor {actor}; it expires at {expires}.",
            de: "API-Token {id} für Akteur {actor} ausgestellt; es läuft am {expires} ab."
        }
        TokenIssuedUntilRevoked = "ui.token.issued_until_revoked" {
            en: "Issued API token {id} to actor {actor}; it is valid until revoked.",
            de: "API-Token {id} für Akteur {actor} ausgestellt; es gilt, bis es widerrufen wird."
        }
        TokenShownOnce = "ui.token.shown_once" {
            en: "Keep it now: it is shown only this once. runproof stores only its SHA-256 and cannot show it again.",
            de: "Jetzt sichern: es wird nur dieses eine Mal angezeigt. runproof speichert nur seinen SHA-256 und kann es nicht noch einmal anzeigen."
        }
        TokenRevoked = "ui.token.revoked" {
            en: "Revoked API token {id} of actor {actor}; it is refused from the next request on.",
            de: "API-Token {id} von Akteur {actor} widerrufen; es wird ab der nächsten Anfrage abgewiesen."
        }
        TokenAlreadyRevoked = "ui.token.already_revoked" {
            en: "API token {id} was already revoked at {at}; nothing was recorded.",
            de: "API-Token {id} wurde bereits am {at} widerrufen; nichts wurde aufgezeichnet."
        }
        NoTokens = "ui.token.none" {
            en: "Actor {actor} has no API tokens.",
            de: "Akteur {actor} hat keine API-Token."
        }
        TokensShown = "ui.token.shown" {
            en: "{count} token(s), newest first.",
            de: "{count} Token, neueste zuerst."
        }
        LabelToken = "ui.label.token" { en: "Token", de: "Token-ID" }
        LabelName = "ui.label.name" { en: "Name", de: "Bezeichnung" }
        LabelIssued = "ui.label.issued" { en: "Issued at", de: "Ausgestellt am" }
        LabelExpires = "ui.label.expires" { en: "Expires at", de: "Läuft ab am" }
        TokenActive = "ui.token.active" { en: "active", de: "gültig" }
        TokenRevokedAt = "ui.token.revoked_at" { en: "revoked at {at}", de: "widerrufen am {at}" }
        TokenExpiredAt = "ui.token.expired_at" { en: "expired at {at}", de: "abgelaufen am {at}" }
        TokenNeverExpires = "ui.token.never_expires" { en: "never (valid until revoked)", de: "nie (gilt bis zum Widerruf)" }
        AddedMember = "ui.created.member" {
            en: "Actor {actor} is now a member of workspace {workspace}.",
            de: "Akteur {actor} ist jetzt Mitglied des Arbeitsbereichs {workspace}."
        }
        CapturedEvidence = "ui.evidence.captured" {
            en: "Captured evidence snapshot {id}: {count} finding(s), content {hash}.",
            de: "Belegstand {id} erfasst: {count} Befund(e), Inhalt {hash}."
        }
        NoReviews = "ui.reviews.none" { en: "No reviews match.", de: "Keine passenden Reviews." }
        LabelReview = "ui.label.review" { en: "Review", de: "Prüfbericht (Review)" }
        LabelFingerprint = "ui.label.fingerprint" { en: "Fingerprint", de: "Fingerabdruck" }
        LabelSnapshot = "ui.label.snapshot" { en: "Evidence snapshot", de: "Belegstand" }
        LabelComposedBy = "ui.label.composed_by" { en: "Composed by run", de: "Erstellt von Lauf" }
        LabelDrafted = "ui.label.drafted" { en: "Drafted at", de: "Entworfen am" }
        LabelReady = "ui.label.ready" { en: "Ready at", de: "Bereit am" }
        LabelPublished = "ui.label.published" { en: "Published at", de: "Veröffentlicht am" }
        LabelSupersededBy = "ui.label.superseded_by" { en: "Superseded by", de: "Abgelöst durch" }
        LabelFindings = "ui.label.findings" { en: "Findings", de: "Befunde" }
        HeadingSections = "ui.heading.sections" { en: "Sections", de: "Abschnitte" }
        PublishedReview = "ui.reviews.published" {
            en: "Published review {review}.",
            de: "Review {review} veröffentlicht."
        }
        PublishedSuperseding = "ui.reviews.published_superseding" {
            en: "Published review {review}; it supersedes review {previous}.",
            de: "Review {review} veröffentlicht; es löst Review {previous} ab."
        }
        ArchivedReview = "ui.reviews.archived" {
            en: "Archived review {review}.",
            de: "Review {review} archiviert."
        }
        WorkerComposed = "ui.worker.composed" {
            en: "run {run}: composed review {review}",
            de: "Lauf {run}: Review {review} erstellt"
        }
        WorkerDuplicate = "ui.worker.duplicate" {
            en: "run {run}: review {review} already existed (duplicate recovered)",
            de: "Lauf {run}: Review {review} existierte bereits (Duplikat aufgelöst)"
        }
        WorkerFailed = "ui.worker.failed" {
            en: "run {run}: composing review {review} failed",
            de: "Lauf {run}: Erstellen von Review {review} fehlgeschlagen"
        }
        WorkerLostRace = "ui.worker.lost_race" {
            en: "run {run}: another run composes the same evidence; {outcome}",
            de: "Lauf {run}: ein anderer Lauf erstellt dieselben Belege; {outcome}"
        }
        WorkerLeftForReconciler = "ui.worker.left" {
            en: "left for the reconciler",
            de: "dem Abgleich überlassen"
        }
        WorkerUnexecutable = "ui.worker.unexecutable" {
            en: "run {run}: cannot be executed: {reason}",
            de: "Lauf {run}: nicht ausführbar: {reason}"
        }
        WorkerInterrupted = "ui.worker.interrupted" {
            en: "run {run}: interrupted by a database failure; the reconciler will decide it",
            de: "Lauf {run}: durch einen Datenbankfehler unterbrochen; der Abgleich entscheidet ihn"
        }
        WorkerSummary = "ui.worker.summary" {
            en: "Executed {count} compose run(s); no compose run is left in the queue.",
            de: "{count} Erstellungslauf/-läufe ausgeführt; kein Erstellungslauf mehr in der Warteschlange."
        }
        WorkerWatching = "ui.worker.watching" {
            en: "Worker polling the queue every {interval}s; Ctrl-C or SIGTERM stops it after the runs in hand.",
            de: "Worker prüft die Warteschlange alle {interval} s; Strg-C oder SIGTERM beendet ihn nach den Läufen in Arbeit."
        }
        ProjectorHeldBack = "ui.projector.held_back" {
            en: "Held back by {holder}: {count} event(s) wait above the read horizon.",
            de: "Aufgehalten durch {holder}: {count} Ereignis(se) warten oberhalb des Lesehorizonts."
        }
        ProjectorStopped = "ui.projector.stopped" {
            en: "{projection}: stopped at position {position} (an event it cannot apply), {behind} event(s) behind",
            de: "{projection}: angehalten bei Position {position} (ein Ereignis, das sie nicht anwenden kann), {behind} Ereignis(se) zurück"
        }
        HolderSession = "ui.holder.session" {
            en: "the transaction of session {pid} on database {database}, open for {age} s (since {since})",
            de: "die Transaktion der Sitzung {pid} auf der Datenbank {database}, seit {age} s offen (seit {since})"
        }
        HolderSessionHidden = "ui.holder.session_hidden" {
            en: "the transaction of session {pid} on database {database}, a session of another role whose age this database role cannot see (a superuser or a role with pg_read_all_stats can)",
            de: "die Transaktion der Sitzung {pid} auf der Datenbank {database}, einer Sitzung einer anderen Rolle, deren Alter diese Datenbankrolle nicht sehen kann (ein Superuser oder eine Rolle mit pg_read_all_stats kann es)"
        }
        HolderUnseen = "ui.holder.unseen" {
            en: "a transaction without a session this database role can see (a prepared transaction, for example)",
            de: "eine Transaktion ohne Sitzung, die diese Datenbankrolle sehen kann (zum Beispiel eine vorbereitete Transaktion)"
        }
        Lagging = "ui.lag.lagging" {
            en: "The change is recorded, but the views do not show it yet: {cause}.",
            de: "Die Änderung ist aufgezeichnet, aber die Ansichten zeigen sie noch nicht: {cause}."
        }
        CauseHeld = "ui.lag.cause_held" {
            en: "held back by {holder}; they catch up when it ends",
            de: "aufgehalten durch {holder}; sie ziehen nach, sobald sie endet"
        }
        CauseBehind = "ui.lag.cause_behind" {
            en: "the projections are still working through the log",
            de: "die Projektionen arbeiten das Log noch ab"
        }
        AuditKeyWritten = "ui.audit.key_written" {
            en: "Wrote the signer key {file} (mode 0600; keep it secret). Its verifier key, for auditors, is on standard output.",
            de: "Signaturschlüssel {file} geschrieben (Modus 0600; geheim halten). Sein Prüfschlüssel für Prüfer steht in der Standardausgabe."
        }
        AuditCheckpointSigned = "ui.audit.checkpoint_signed" {
            en: "Signed checkpoint {id}: {size} leaves, root {root}, origin {origin}.",
            de: "Checkpoint {id} signiert: {size} Blätter, Wurzel {root}, Ursprung {origin}."
        }
        AuditCheckpointUnchanged = "ui.audit.checkpoint_unchanged" {
            en: "Nothing new to sign: checkpoint {id} already covers all {size} leaves.",
            de: "Nichts Neues zu signieren: Checkpoint {id} deckt bereits alle {size} Blätter ab."
        }
        AuditVerifyClean = "ui.audit.verify_clean" {
            en: "The audit log verifies: {events} events, {leaves} sequenced leaves and {checkpoints} checkpoint(s) agree.",
            de: "Das Audit-Log ist bestätigt: {events} Ereignisse, {leaves} sequenzierte Blätter und {checkpoints} Checkpoint(s) stimmen überein."
        }
        AuditSignaturesChecked = "ui.audit.signatures_checked" {
            en: "Every checkpoint is signed by {key}.",
            de: "Jeder Checkpoint ist von {key} signiert."
        }
        AuditSignaturesUnchecked = "ui.audit.signatures_unchecked" {
            en: "Signatures were not checked: pass --key with the log's verifier key to check them.",
            de: "Signaturen wurden nicht geprüft: --key mit dem Prüfschlüssel des Logs angeben, um sie zu prüfen."
        }
        AuditExported = "ui.audit.exported" {
            en: "Wrote the bundle {dir}: the {events} event(s) that extend the tree of size {from} to the signed tree of size {to}.",
            de: "Bündel {dir} geschrieben: die {events} Ereignis(se), die den Baum der Größe {from} zum signierten Baum der Größe {to} fortsetzen."
        }
        AuditBundleVerified = "ui.audit.bundle_verified" {
            en: "The bundle verifies: both checkpoints are signed by {key}, the tree of size {to} extends the tree of size {from}, and the {events} events are exactly the leaves between them, unchanged and in order.",
            de: "Das Bündel ist bestätigt: Beide Checkpoints sind von {key} signiert, der Baum der Größe {to} setzt den Baum der Größe {from} fort, und die {events} Ereignisse sind genau die Blätter dazwischen, unverändert und in Reihenfolge."
        }
        AuditUnsequenced = "ui.audit.unsequenced" {
            en: "{count} newer event(s) are not sequenced yet; the projector sequences them.",
            de: "{count} neuere(s) Ereignis(se) noch nicht sequenziert; der Projektor sequenziert sie."
        }
        AuditRedecideHeader = "ui.audit.redecide_header" {
            en: "Decided by|Agree|Disagree|Out of scope|Cannot re-decide",
            de: "Entschieden von|Gleich|Abweichend|Außerhalb des Bereichs|Nicht erneut entscheidbar"
        }
        AuditRedecideClean = "ui.audit.redecide_clean" {
            en: "All {total} recorded decision(s) are decided the same way today.",
            de: "Alle {total} aufgezeichneten Entscheidung(en) werden heute gleich getroffen."
        }
        AuditRedecideScopeUnchecked = "ui.audit.redecide_scope_unchecked" {
            en: "{count} decision(s) were not checked against their run's scope: the run was not queued in the log that was read.",
            de: "{count} Entscheidung(en) wurden nicht gegen den Bereich ihres Laufs geprüft: Der Lauf wurde nicht im gelesenen Log eingereiht."
        }
        AuditRedecideUnread = "ui.audit.redecide_unread" {
            en: "{count} committed event(s) were not readable yet (a long-open transaction holds the log's read horizon back) and were not examined; run again later.",
            de: "{count} festgeschriebene(s) Ereignis(se) waren noch nicht lesbar (eine lange offene Transaktion hält den Lesehorizont des Logs zurück) und wurden nicht geprüft; später erneut ausführen."
        }
        AuditRedecideOmitted = "ui.audit.redecide_omitted" {
            en: "… and {count} more not listed.",
            de: "… und {count} weitere, nicht aufgeführt."
        }
        AuditProofWritten = "ui.audit.proof_written" {
            en: "Leaf {index} ({event}): {file}",
            de: "Blatt {index} ({event}): {file}"
        }
        AuditProofUncovered = "ui.audit.proof_uncovered" {
            en: "{event} (log position {position}) is not covered by the latest signed checkpoint (tree size {size}): no proof written. Sign a checkpoint (runproof audit checkpoint) and prove again.",
            de: "{event} (Log-Position {position}) ist vom letzten signierten Checkpoint (Baumgröße {size}) nicht erfasst: kein Beweis geschrieben. Einen Checkpoint signieren (runproof audit checkpoint) und erneut beweisen."
        }
        AuditProvedRun = "ui.audit.proved_run" {
            en: "Wrote {count} inclusion proof(s) for run {run} into {dir}, against the checkpoint of tree size {size} ({origin}); {uncovered} event(s) not yet covered.",
            de: "{count} Inklusionsbeweis(e) für Lauf {run} in {dir} geschrieben, gegen den Checkpoint der Baumgröße {size} ({origin}); {uncovered} Ereignis(se) noch nicht erfasst."
        }
        AuditProofVerified = "ui.audit.proof_verified" {
            en: "{file} holds: leaf {index} ({event}) is in the tree of size {size} signed by {key}.",
            de: "{file} ist bestätigt: Blatt {index} ({event}) gehört zum Baum der Größe {size}, signiert von {key}."
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
