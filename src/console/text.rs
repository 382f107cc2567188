//! The console's own phrases, each in English and German. Reason texts (the "why", a
//! refusal) come from the domain's catalogue, run types, statuses and outcomes from
//! their own labels — the same words the CLI and the API use.

runproof_domain::text_catalogue! {
    /// A phrase of the console.
    ConsoleText {
        // --- the layout ---
        SkipToContent = "console.skip_to_content" { en: "Skip to content", de: "Zum Inhalt springen" }
        NavLabel = "console.nav.label" { en: "Main", de: "Hauptnavigation" }
        NavWorkspaces = "console.nav.workspaces" { en: "Workspaces", de: "Arbeitsbereiche" }
        NavRuns = "console.nav.runs" { en: "Runs", de: "Läufe" }
        LanguageLabel = "console.language" { en: "Language", de: "Sprache" }
        SignedInAs = "console.signed_in_as" { en: "Signed in as {name}", de: "Angemeldet als {name}" }
        SystemView = "console.system_view" { en: "System view", de: "Systemansicht" }
        SignOut = "console.sign_out" { en: "Sign out", de: "Abmelden" }

        // --- sign-in ---
        SignInTitle = "console.sign_in.title" { en: "Sign in", de: "Anmelden" }
        SignInIntro = "console.sign_in.intro" {
            en: "Sign in with an API token, as “runproof tokens issue” prints it.",
            de: "Mit einem API-Token anmelden, wie „runproof tokens issue“ es ausgibt."
        }
        SignInToken = "console.sign_in.token" { en: "API token", de: "API-Token" }
        SignInButton = "console.sign_in.button" { en: "Sign in", de: "Anmelden" }
        SignInRefused = "console.sign_in.refused" {
            en: "This token was not accepted. Check that it is complete, and that it has not been revoked or expired.",
            de: "Dieses Token wurde nicht angenommen. Prüfen Sie, ob es vollständig ist und weder widerrufen noch abgelaufen ist."
        }
        SignInRules = "console.sign_in.rules" {
            en: "A session ends after {idle} minutes without activity, after {absolute} hours at the latest, and as soon as its token is revoked.",
            de: "Eine Sitzung endet nach {idle} Minuten ohne Aktivität, spätestens nach {absolute} Stunden und sobald ihr Token widerrufen wird."
        }

        // --- error pages ---
        NotFoundHeading = "console.not_found.heading" { en: "Not found", de: "Nicht gefunden" }
        NotFoundText = "console.not_found.text" {
            en: "There is no page at this address.",
            de: "Unter dieser Adresse gibt es keine Seite."
        }
        WithThisId = "console.with_this_id" { en: "with this id", de: "mit dieser ID" }
        BadRequestHeading = "console.bad_request.heading" {
            en: "This address cannot be shown",
            de: "Diese Adresse kann nicht angezeigt werden"
        }
        ForbiddenHeading = "console.forbidden.heading" { en: "Form refused", de: "Formular abgelehnt" }
        ForbiddenText = "console.forbidden.text" {
            en: "The form did not carry this session's security token, so nothing was done. Reload the page and try again.",
            de: "Das Formular trug nicht das Sicherheitstoken dieser Sitzung, daher wurde nichts ausgeführt. Laden Sie die Seite neu und versuchen Sie es erneut."
        }
        InternalHeading = "console.internal.heading" { en: "Something went wrong", de: "Etwas ist schiefgelaufen" }
        InternalText = "console.internal.text" {
            en: "The console could not answer this request. Try again in a moment; if it keeps failing, the server's log names the cause.",
            de: "Die Konsole konnte diese Anfrage nicht beantworten. Versuchen Sie es gleich noch einmal; wenn es weiter fehlschlägt, nennt das Protokoll des Servers die Ursache."
        }
        BackToStart = "console.back_to_start" { en: "Back to the workspaces", de: "Zurück zu den Arbeitsbereichen" }
        NotYetVisibleHeading = "console.not_yet_visible.heading" { en: "Not visible yet", de: "Noch nicht sichtbar" }
        NotYetVisibleText = "console.not_yet_visible.text" {
            en: "This run is recorded, but the console's views do not show it yet — usually for a moment only. Reload the page in a second.",
            de: "Dieser Lauf ist aufgezeichnet, aber die Ansichten der Konsole zeigen ihn noch nicht — meist nur einen Moment lang. Laden Sie die Seite in einer Sekunde neu."
        }
        Reload = "console.reload" { en: "Reload this page", de: "Diese Seite neu laden" }
        MethodNotAllowedHeading = "console.method_not_allowed.heading" { en: "Not available here", de: "Hier nicht verfügbar" }
        MethodNotAllowedText = "console.method_not_allowed.text" {
            en: "This action is not available at this address; nothing was done.",
            de: "Diese Aktion ist unter dieser Adresse nicht verfügbar; nichts wurde ausgeführt."
        }
        BusyHeading = "console.busy.heading" { en: "Busy — please try again", de: "Ausgelastet — bitte erneut versuchen" }
        TimedOutText = "console.busy.timed_out" {
            en: "The console did not answer in time. Try again in a moment; if you pressed a button, first check whether it took effect.",
            de: "Die Konsole hat nicht rechtzeitig geantwortet. Versuchen Sie es gleich noch einmal; wenn Sie eine Schaltfläche gedrückt haben, prüfen Sie zuerst, ob sie gewirkt hat."
        }
        OverloadedText = "console.busy.overloaded" {
            en: "The console is answering as many requests as it can right now. Try again in a moment.",
            de: "Die Konsole beantwortet gerade so viele Anfragen, wie sie kann. Versuchen Sie es gleich noch einmal."
        }
        TryAgain = "console.try_again" { en: "Try again", de: "Erneut versuchen" }
        TooLargeHeading = "console.too_large.heading" { en: "Request refused", de: "Anfrage abgelehnt" }
        TooLargeText = "console.too_large.text" {
            en: "The request is larger than the console accepts; nothing was done.",
            de: "Die Anfrage ist größer, als die Konsole annimmt; nichts wurde ausgeführt."
        }
        FormInvalid = "console.form_invalid" {
            en: "The form's fields are not what this page expects.",
            de: "Die Felder des Formulars passen nicht zu dieser Seite."
        }

        // --- workspaces ---
        WorkspacesIntro = "console.workspaces.intro" {
            en: "The workspaces you are a member of, with their active runs and the runs that need attention now.",
            de: "Die Arbeitsbereiche, in denen Sie Mitglied sind, mit ihren aktiven Läufen und den Läufen, die jetzt Aufmerksamkeit brauchen."
        }
        WorkspacesIntroSystem = "console.workspaces.intro_system" {
            en: "As a platform operator you see every workspace, with its active runs and the runs that need attention now.",
            de: "Als Plattformbetreiber sehen Sie jeden Arbeitsbereich, mit seinen aktiven Läufen und den Läufen, die jetzt Aufmerksamkeit brauchen."
        }
        WorkspacesEmpty = "console.workspaces.empty" {
            en: "You are not a member of any workspace yet.",
            de: "Sie sind noch in keinem Arbeitsbereich Mitglied."
        }
        ColumnWorkspace = "console.column.workspace" { en: "Workspace", de: "Arbeitsbereich" }
        ColumnActive = "console.column.active" { en: "Active runs", de: "Aktive Läufe" }
        ColumnAttention = "console.column.attention" { en: "Need attention", de: "Brauchen Aufmerksamkeit" }
        ColumnAccess = "console.column.access" { en: "Your access", de: "Ihr Zugriff" }
        AccessMember = "console.access.member" { en: "Member", de: "Mitglied" }
        AccessViewOnly = "console.access.view_only" { en: "View only", de: "Nur ansehen" }
        MemberCount = "console.member_count" { en: "{count} member(s)", de: "{count} Mitglied(er)" }
        ActiveRunsOf = "console.active_runs_of" {
            en: "Runs of {workspace}",
            de: "Läufe von {workspace}"
        }
        AttentionRunsOf = "console.attention_runs_of" {
            en: "Runs of {workspace} that need attention",
            de: "Läufe von {workspace}, die Aufmerksamkeit brauchen"
        }

        // --- runs ---
        RunsCaption = "console.runs.caption" { en: "Runs, newest first", de: "Läufe, neueste zuerst" }
        FiltersHeading = "console.filters" { en: "Filters", de: "Filter" }
        AllWorkspaces = "console.filter.all_workspaces" { en: "All workspaces", de: "Alle Arbeitsbereiche" }
        ColumnEnvironment = "console.column.environment" { en: "Environment", de: "Umgebung" }
        AllEnvironments = "console.filter.all_environments" { en: "All environments", de: "Alle Umgebungen" }
        ColumnType = "console.column.type" { en: "Type", de: "Typ" }
        AllTypes = "console.filter.all_types" { en: "All types", de: "Alle Typen" }
        ColumnStatus = "console.column.status" { en: "Status", de: "Zustand" }
        AnyStatus = "console.filter.any_status" { en: "Any status", de: "Jeder Zustand" }
        ColumnOutcome = "console.column.outcome" { en: "Outcome", de: "Ergebnis" }
        AnyOutcome = "console.filter.any_outcome" { en: "Any outcome", de: "Jedes Ergebnis" }
        FilterAttention = "console.filter.attention" {
            en: "Only runs that need attention",
            de: "Nur Läufe, die Aufmerksamkeit brauchen"
        }
        FilterFrom = "console.filter.from" { en: "Queued from (UTC)", de: "Eingereiht ab (UTC)" }
        FilterTo = "console.filter.to" { en: "Queued before (UTC)", de: "Eingereiht vor (UTC)" }
        ApplyFilters = "console.filter.apply" { en: "Apply filters", de: "Filter anwenden" }
        ClearFilters = "console.filter.clear" { en: "Clear filters", de: "Filter zurücksetzen" }
        ColumnRun = "console.column.run" { en: "Run", de: "Lauf" }
        ColumnWhy = "console.column.why" { en: "Why", de: "Warum" }
        ColumnQueued = "console.column.queued" { en: "Queued", de: "Eingereiht" }
        NeedsAttention = "console.needs_attention" { en: "Needs attention", de: "Braucht Aufmerksamkeit" }
        NoEnvironment = "console.no_environment" { en: "no environment", de: "keine Umgebung" }
        RunsEmpty = "console.runs.empty" {
            en: "No runs match these filters.",
            de: "Keine Läufe passen zu diesen Filtern."
        }
        PageEmpty = "console.runs.page_empty" {
            en: "No runs on this page any more.",
            de: "Auf dieser Seite sind keine Läufe mehr."
        }
        PagesLabel = "console.pages" { en: "Pages", de: "Seiten" }
        Older = "console.page.older" { en: "Older runs", de: "Ältere Läufe" }
        Newer = "console.page.newer" { en: "Newer runs", de: "Neuere Läufe" }
        Newest = "console.page.newest" { en: "Newest runs", de: "Neueste Läufe" }
        RunsOnPage = "console.runs.on_page" {
            en: "{count} run(s) on this page.",
            de: "{count} Lauf/Läufe auf dieser Seite."
        }
        LiveOn = "console.live.on" {
            en: "Live: this list refreshes every 5 seconds.",
            de: "Live: Diese Liste aktualisiert sich alle 5 Sekunden."
        }
        LivePause = "console.live.pause" { en: "Pause live refresh", de: "Live-Aktualisierung anhalten" }
        LivePaused = "console.live.paused" { en: "Live refresh is paused.", de: "Die Live-Aktualisierung ist angehalten." }
        LiveResume = "console.live.resume" { en: "Resume live refresh", de: "Live-Aktualisierung fortsetzen" }

        // --- links the runs page cannot show ---
        BadTime = "console.bad.time" {
            en: "{value} is not a time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC).",
            de: "{value} ist keine Zeitangabe: JJJJ-MM-TT oder JJJJ-MM-TTTHH:MM (UTC) verwenden."
        }
        BadLimit = "console.bad.limit" {
            en: "A page holds between 1 and {max} runs (the address asks for {value}).",
            de: "Eine Seite zeigt zwischen 1 und {max} Läufe (die Adresse verlangt {value})."
        }
        BadCursor = "console.bad.cursor" {
            en: "The page link is not valid. Start again from the newest runs.",
            de: "Der Seitenlink ist ungültig. Beginnen Sie wieder bei den neuesten Läufen."
        }
        BadParameter = "console.bad.parameter" {
            en: "The address holds a parameter this page does not know, or a value of the wrong kind.",
            de: "Die Adresse enthält einen Parameter, den diese Seite nicht kennt, oder einen Wert der falschen Art."
        }

        // --- shared by the pages of one run, environment, review, workspace ---
        BreadcrumbLabel = "console.breadcrumb" { en: "You are here", de: "Sie sind hier" }
        ColumnField = "console.column.field" { en: "Field", de: "Feld" }
        ColumnValue = "console.column.value" { en: "Value", de: "Wert" }
        ViewOnlyNotice = "console.view_only" {
            en: "You can view this workspace but not act in it: only its members can.",
            de: "Sie können diesen Arbeitsbereich ansehen, aber nicht darin handeln: Das können nur seine Mitglieder."
        }
        SystemActor = "console.actor.system" { en: "system: {name}", de: "System: {name}" }
        MinutesSpan = "console.minutes" { en: "{n} min", de: "{n} Min." }
        Dash = "console.dash" { en: "not yet", de: "noch nicht" }

        // --- one run ---
        RunTitle = "console.run.title" { en: "Run {id}", de: "Lauf {id}" }
        RunDecisionIntro = "console.run.decision_intro" {
            en: "What was decided about this run, by whom and why.",
            de: "Was über diesen Lauf entschieden wurde, von wem und warum."
        }
        DecidedByJob = "console.run.by_job" { en: "its own job", de: "seinen eigenen Job" }
        NotDecidedYet = "console.run.not_decided" {
            en: "Nobody yet: the run is still active.",
            de: "Noch niemand: Der Lauf ist noch aktiv."
        }
        LabelRecordedDecision = "console.run.recorded_decision" { en: "Recorded decision", de: "Festgehaltene Entscheidung" }
        LabelDecidedAt = "console.run.decided_at" { en: "When", de: "Wann" }
        LabelReasonCode = "console.run.reason_code" { en: "Reason code", de: "Grundcode" }
        EvidenceIntro = "console.run.evidence_intro" {
            en: "The facts the decision was made on, as recorded with it.",
            de: "Die Tatsachen, auf denen die Entscheidung beruht, wie sie mit ihr festgehalten wurden."
        }
        EvidenceNone = "console.run.evidence_none" {
            en: "No reconciliation decided this run, so no evidence was recorded.",
            de: "Kein Abgleich hat diesen Lauf entschieden, daher wurden keine Belege festgehalten."
        }
        ExplainHeading = "console.run.explain" { en: "If the reconciler looked now", de: "Wenn der Abgleich jetzt prüfte" }
        ExplainIntro = "console.run.explain_intro" {
            en: "What a reconciliation pass would decide about this run at this moment; nothing is recorded.",
            de: "Was ein Abgleich über diesen Lauf in diesem Moment entscheiden würde; nichts wird festgehalten."
        }
        RawContextHint = "console.run.raw_hint" {
            en: "Show the run's context as recorded (JSON)",
            de: "Den Kontext des Laufs wie festgehalten zeigen (JSON)"
        }
        HistoryHeading = "console.history" { en: "History", de: "Verlauf" }
        RunHistoryIntro = "console.history.run_intro" {
            en: "Every event of this run, oldest first, as the log recorded it.",
            de: "Jedes Ereignis dieses Laufs, älteste zuerst, wie das Log es festhielt."
        }
        ReviewHistoryIntro = "console.history.review_intro" {
            en: "Every event of this review, oldest first, as the log recorded it.",
            de: "Jedes Ereignis dieses Reviews, älteste zuerst, wie das Log es festhielt."
        }
        EventAnchor = "console.history.anchor" { en: "Link to event {n}", de: "Link zu Ereignis {n}" }
        EventUndecodable = "console.history.undecodable" {
            en: "This build cannot read this event; it is shown as stored.",
            de: "Diese Version kann dieses Ereignis nicht lesen; es wird wie gespeichert gezeigt."
        }
        // --- one run as of an earlier point (`/runs/{id}?at=POSITION`) ---
        AsOfHere = "console.as_of.here" { en: "as of here", de: "Stand hier" }
        AsOfHereLabel = "console.as_of.here_label" {
            en: "as of here: the run at event {n}",
            de: "Stand hier: der Lauf bei Ereignis {n}"
        }
        AsOfBackToNow = "console.as_of.back" { en: "Back to the run now", de: "Zurück zum aktuellen Stand" }
        AsOfIntro = "console.as_of.intro" {
            en: "The run as the log stood then: its decision, what the event changed, and its history up to there. Later events are left out.",
            de: "Der Lauf, wie das Log damals stand: seine Entscheidung, was das Ereignis änderte, und sein Verlauf bis dahin. Spätere Ereignisse sind ausgelassen."
        }
        ChangedHeading = "console.as_of.changed" { en: "What event #{n} changed", de: "Was Ereignis #{n} änderte" }
        ChangedIntro = "console.as_of.changed_intro" {
            en: "The run's fields that differ from its state right before this event ({event}).",
            de: "Die Felder des Laufs, die sich vom Stand direkt vor diesem Ereignis ({event}) unterscheiden."
        }
        ChangedNothing = "console.as_of.changed_nothing" {
            en: "This event changed none of the run's fields.",
            de: "Dieses Ereignis hat keines der Felder des Laufs geändert."
        }
        ColumnBefore = "console.as_of.before" { en: "Before", de: "Vorher" }
        ColumnAfter = "console.as_of.after" { en: "After", de: "Nachher" }
        AsOfHistoryIntro = "console.as_of.history_intro" {
            en: "The run's events up to this point, oldest first; the event shown is marked.",
            de: "Die Ereignisse des Laufs bis zu diesem Punkt, älteste zuerst; das gezeigte Ereignis ist markiert."
        }
        AsOfShown = "console.as_of.shown" { en: "shown above", de: "oben gezeigt" }
        LinkedReviews = "console.history.linked_reviews" { en: "Reviews this run touched", de: "Reviews, die dieser Lauf berührte" }
        EvRunStatus = "console.evidence.run_status" { en: "Run status when evaluated", de: "Laufzustand bei der Prüfung" }
        EvRecord = "console.evidence.record" { en: "Deciding record", de: "Entscheidender Datensatz" }
        EvConsidered = "console.evidence.considered" { en: "Considered", de: "Geprüft" }
        EvQueuedAfter = "console.evidence.queued_after" { en: "Stale when queued longer than", de: "Hängend, wenn länger eingereiht als" }
        EvRunningAfter = "console.evidence.running_after" { en: "Stale when running longer than", de: "Hängend, wenn länger laufend als" }
        TimeRunQueuedAt = "console.evidence.time.run_queued_at" { en: "Run queued at", de: "Lauf eingereiht am" }
        TimeRunStartedAt = "console.evidence.time.run_started_at" { en: "Run started at", de: "Lauf gestartet am" }
        TimeStaleSince = "console.evidence.time.stale_since" { en: "Stale since", de: "Hängend seit" }
        TimeEvaluatedAt = "console.evidence.time.evaluated_at" { en: "Evaluated at", de: "Geprüft am" }
        TimeRecordUpdatedAt = "console.evidence.time.record_updated_at" { en: "Record last changed at", de: "Datensatz zuletzt geändert am" }
        KindReview = "console.record.review" { en: "review", de: "Review" }
        KindRestore = "console.record.restore" { en: "restore", de: "Wiederherstellung" }
        KindRun = "console.record.run" { en: "run", de: "Lauf" }
        RecordCompletedWithErrors = "console.record.completed_with_errors" { en: "completed with errors", de: "mit Fehlern abgeschlossen" }

        // --- one workspace ---
        WorkspaceIntro = "console.workspace.intro" {
            en: "The managed environments of this workspace, with their newest evidence and published review.",
            de: "Die verwalteten Umgebungen dieses Arbeitsbereichs, mit ihren neuesten Belegen und dem veröffentlichten Review."
        }
        EnvironmentsHeading = "console.workspace.environments" { en: "Environments", de: "Umgebungen" }
        EnvironmentsEmpty = "console.workspace.environments_empty" {
            en: "This workspace has no managed environments yet.",
            de: "Dieser Arbeitsbereich hat noch keine verwalteten Umgebungen."
        }
        ColumnNewestEvidence = "console.column.newest_evidence" { en: "Newest evidence", de: "Neueste Belege" }
        ColumnPublishedReview = "console.column.published_review" { en: "Published review", de: "Veröffentlichtes Review" }
        NoEvidenceYet = "console.no_evidence_yet" { en: "none yet", de: "noch keine" }
        NoPublishedReview = "console.no_published_review" { en: "none", de: "keines" }
        RunsOfWorkspace = "console.workspace.runs" { en: "All runs of this workspace", de: "Alle Läufe dieses Arbeitsbereichs" }
        AttentionOfWorkspace = "console.workspace.attention" {
            en: "{count} run(s) need attention",
            de: "{count} Lauf/Läufe brauchen Aufmerksamkeit"
        }
        ActiveOfWorkspace = "console.workspace.active" { en: "{count} active run(s)", de: "{count} aktive(r) Lauf/Läufe" }

        // --- one environment ---
        EnvironmentIntro = "console.environment.intro" {
            en: "Environment of {workspace}: its runs, its review and the evidence reviews are composed from.",
            de: "Umgebung von {workspace}: ihre Läufe, ihr Review und die Belege, aus denen Reviews erstellt werden."
        }
        ComposeHeading = "console.compose.heading" { en: "Review of the current evidence", de: "Review der aktuellen Belege" }
        ComposeHint = "console.compose.hint" {
            en: "Composes a review from the newest evidence snapshot — or points you to the run already composing it, or to the review that already exists.",
            de: "Erstellt ein Review aus dem neuesten Belegstand — oder verweist auf den Lauf, der es schon erstellt, oder auf das Review, das es schon gibt."
        }
        ComposeButton = "console.compose.button" { en: "Create or refresh review", de: "Review erstellen oder aktualisieren" }
        ComposeNeedsEvidence = "console.compose.needs_evidence" {
            en: "Capture evidence for this environment first; a review is composed from it.",
            de: "Erfassen Sie zuerst Belege für diese Umgebung; aus ihnen wird ein Review erstellt."
        }
        BannerQueued = "console.banner.queued" { en: "Queued", de: "Eingereiht" }
        BannerQueuedText = "console.banner.queued_text" {
            en: "A compose run for the current evidence was started.",
            de: "Ein Erstellungslauf für die aktuellen Belege wurde gestartet."
        }
        BannerRunning = "console.banner.running" { en: "Already running", de: "Läuft bereits" }
        BannerRunningText = "console.banner.running_text" {
            en: "A compose run for the same evidence is already under way; nothing new was started.",
            de: "Ein Erstellungslauf für dieselben Belege ist bereits unterwegs; nichts Neues wurde gestartet."
        }
        BannerAvailable = "console.banner.available" { en: "Already available", de: "Bereits vorhanden" }
        BannerAvailableText = "console.banner.available_text" {
            en: "The review of the current evidence exists; nothing was started.",
            de: "Das Review der aktuellen Belege existiert; nichts wurde gestartet."
        }
        OpenOperation = "console.banner.open_operation" { en: "Open operation", de: "Vorgang öffnen" }
        ViewReview = "console.banner.view_review" { en: "View review", de: "Review ansehen" }
        RecentRuns = "console.environment.recent" { en: "Recent runs", de: "Neueste Läufe" }
        AttentionRuns = "console.environment.attention" { en: "Runs that need attention", de: "Läufe, die Aufmerksamkeit brauchen" }
        AttentionEmpty = "console.environment.attention_empty" {
            en: "No run of this environment needs attention now.",
            de: "Kein Lauf dieser Umgebung braucht jetzt Aufmerksamkeit."
        }
        RecentEmpty = "console.environment.recent_empty" {
            en: "This environment has no runs yet.",
            de: "Diese Umgebung hat noch keine Läufe."
        }
        AllRunsOfEnvironment = "console.environment.all_runs" { en: "All runs of this environment", de: "Alle Läufe dieser Umgebung" }
        CurrentReviews = "console.environment.reviews" { en: "Current review", de: "Aktuelles Review" }
        ReviewPublishedNow = "console.environment.review_published" { en: "Published now", de: "Jetzt veröffentlicht" }
        ReviewReadyNow = "console.environment.review_ready" { en: "Ready to publish", de: "Bereit zur Veröffentlichung" }
        NoCurrentReview = "console.environment.no_review" {
            en: "No review of this environment is ready or published.",
            de: "Kein Review dieser Umgebung ist bereit oder veröffentlicht."
        }
        SnapshotsHeading = "console.environment.snapshots" { en: "Evidence snapshots", de: "Belegstände" }
        SnapshotsEmpty = "console.environment.snapshots_empty" {
            en: "No evidence has been captured for this environment yet.",
            de: "Für diese Umgebung wurden noch keine Belege erfasst."
        }
        SnapshotsCaption = "console.environment.snapshots_caption" {
            en: "Evidence snapshots, newest first",
            de: "Belegstände, neueste zuerst"
        }
        ColumnCaptured = "console.column.captured" { en: "Captured", de: "Erfasst" }
        ColumnContentHash = "console.column.content_hash" { en: "Content hash", de: "Inhalts-Hash" }
        ColumnSnapshot = "console.column.snapshot" { en: "Snapshot", de: "Belegstand" }
        NewestSnapshot = "console.environment.newest_snapshot" {
            en: "newest: the next review is composed from it",
            de: "neuester: Das nächste Review wird daraus erstellt"
        }

        // --- one review ---
        ReviewTitle = "console.review.title" { en: "Review {id}", de: "Prüfbericht (Review) {id}" }
        ReviewIntro = "console.review.intro" {
            en: "Review of {environment} in {workspace}.",
            de: "Review von {environment} in {workspace}."
        }
        LineageHeading = "console.review.lineage" { en: "Lineage", de: "Herkunft" }
        LabelArchivedAt = "console.review.archived_at" { en: "Archived at", de: "Archiviert am" }
        LabelSupersededAt = "console.review.superseded_at" { en: "Superseded at", de: "Abgelöst am" }
        LabelSupersedes = "console.review.supersedes" { en: "Supersedes", de: "Löst ab" }
        LabelEarlierAttempts = "console.review.earlier_attempts" { en: "Earlier compose runs", de: "Frühere Erstellungsläufe" }
        LabelComposedFrom = "console.review.composed_from" { en: "Runs in its history", de: "Läufe in seinem Verlauf" }
        ColumnCategory = "console.column.category" { en: "Category", de: "Kategorie" }
        ColumnTotal = "console.column.total" { en: "Total", de: "Gesamt" }
        SeverityCritical = "console.severity.critical" { en: "Critical", de: "Kritisch" }
        SeverityHigh = "console.severity.high" { en: "High", de: "Hoch" }
        SeverityMedium = "console.severity.medium" { en: "Medium", de: "Mittel" }
        SeverityLow = "console.severity.low" { en: "Low", de: "Niedrig" }
        SeverityInfo = "console.severity.info" { en: "Info", de: "Hinweis" }
        SectionsCaption = "console.review.sections_caption" {
            en: "Findings per category and severity",
            de: "Befunde je Kategorie und Schweregrad"
        }
        NoContentYet = "console.review.no_content" {
            en: "This review has no content yet: its compose run has not finished.",
            de: "Dieses Review hat noch keinen Inhalt: Sein Erstellungslauf ist nicht fertig."
        }
        ActionsHeading = "console.review.actions" { en: "Actions", de: "Aktionen" }
        PublishButton = "console.review.publish" { en: "Publish…", de: "Veröffentlichen …" }
        ArchiveButton = "console.review.archive" { en: "Archive…", de: "Archivieren …" }
        NoActions = "console.review.no_actions" {
            en: "Nothing can be done with a review in this status.",
            de: "Mit einem Review in diesem Zustand lässt sich nichts tun."
        }
        PublishConfirmTitle = "console.review.publish_confirm_title" { en: "Publish this review?", de: "Dieses Review veröffentlichen?" }
        PublishConfirmText = "console.review.publish_confirm_text" {
            en: "It becomes the published review of {environment}.",
            de: "Es wird das veröffentlichte Review von {environment}."
        }
        PublishConfirmSupersedes = "console.review.publish_confirm_supersedes" {
            en: "The review published now ({review}) will be superseded by it.",
            de: "Das jetzt veröffentlichte Review ({review}) wird dadurch abgelöst."
        }
        PublishConfirmButton = "console.review.publish_confirm" { en: "Yes, publish", de: "Ja, veröffentlichen" }
        ArchiveConfirmTitle = "console.review.archive_confirm_title" { en: "Archive this review?", de: "Dieses Review archivieren?" }
        ArchiveConfirmText = "console.review.archive_confirm_text" {
            en: "It stops being the published review of {environment}; it stays in its history.",
            de: "Es ist dann nicht mehr das veröffentlichte Review von {environment}; es bleibt in seinem Verlauf."
        }
        ArchiveConfirmButton = "console.review.archive_confirm" { en: "Yes, archive", de: "Ja, archivieren" }
        Cancel = "console.cancel" { en: "Cancel", de: "Abbrechen" }
        DonePublished = "console.review.done_published" { en: "Published.", de: "Veröffentlicht." }
        DoneArchived = "console.review.done_archived" { en: "Archived.", de: "Archiviert." }

        // --- times ---
        JustNow = "console.time.just_now" { en: "just now", de: "gerade eben" }
        MinutesAgo = "console.time.minutes_ago" { en: "{n} min ago", de: "vor {n} Min." }
        HoursAgo = "console.time.hours_ago" { en: "{n} h ago", de: "vor {n} Std." }
        DaysAgo = "console.time.days_ago" { en: "{n} d ago", de: "vor {n} Tagen" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_has_english_and_german_text_with_the_same_placeholders() {
        assert_eq!(ConsoleText::catalogue_problems(), Vec::<String>::new());
    }
}
