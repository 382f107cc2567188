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
