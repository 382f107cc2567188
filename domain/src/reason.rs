//! Reason codes: the stable, machine-readable "why" behind every rejection, failure and
//! decision, each with the English and German text a person reads.
//!
//! Codes are part of the event schema (they are recorded in events), so a code is never
//! renamed or removed; new codes are appended. `ReasonCode::ALL` lists every code so a
//! test can prove that none lacks a translation.
//!
//! Texts may carry named placeholders (`{run}`); [`ReasonCode::render`] fills them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines a catalogue of texts: an enum whose variants each have a stable dotted code
/// and an English and a German text (with optional `{name}` placeholders). Generates
/// `ALL`, `code()`, `template(lang)`, `render(lang, args)`, `text(lang)` and `FromStr`.
///
/// Used for [`ReasonCode`] here and for the command line's own phrases.
#[macro_export]
macro_rules! text_catalogue {
    ($(#[$enum_doc:meta])* $name:ident { $( $(#[$doc:meta])* $variant:ident = $code:literal { en: $en:literal, de: $de:literal } )* }) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$doc])* $variant, )*
        }

        impl $name {
            /// Every entry, in catalogue order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The stable dotted code.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )* }
            }

            /// The text template in the given language (placeholders not filled).
            pub fn template(self, lang: $crate::lang::Lang) -> &'static str {
                match (self, lang) {
                    $( ($name::$variant, $crate::lang::Lang::En) => $en,
                       ($name::$variant, $crate::lang::Lang::De) => $de, )*
                }
            }

            /// The text in `lang` with `{name}` placeholders filled from `args`.
            pub fn render(self, lang: $crate::lang::Lang, args: &[(&str, &str)]) -> String {
                let mut text = self.template(lang).to_string();
                for (name, value) in args {
                    text = text.replace(&format!("{{{name}}}"), value);
                }
                text
            }

            /// The text in `lang`, for entries without placeholders.
            pub fn text(self, lang: $crate::lang::Lang) -> String {
                self.render(lang, &[])
            }

            /// Every translation problem in the catalogue: a missing text, a German text
            /// that is a copy of the English one, placeholders that differ between the
            /// two, or a duplicate code. Empty when the catalogue is complete.
            pub fn catalogue_problems() -> Vec<String> {
                $crate::reason::catalogue_problems(
                    Self::ALL.iter().map(|e| (e.code(), e.template($crate::lang::Lang::En), e.template($crate::lang::Lang::De))),
                )
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::reason::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $code => Ok($name::$variant), )*
                    other => Err($crate::reason::UnknownCode(other.to_string())),
                }
            }
        }

        impl $crate::reason::Phrase for $name {
            fn render(self, lang: $crate::lang::Lang, args: &[(&str, &str)]) -> String {
                $name::render(self, lang, args)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

text_catalogue! {
    /// A catalogued reason code. Serialised as its dotted code string.
    ReasonCode {
    // --- run lifecycle rejections ---
    /// A command named a run type that is not in the catalogue.
    RunUnknownType = "run.unknown_type" {
        en: "The run type {type} is not known.",
        de: "Der Lauftyp {type} ist nicht bekannt."
    }
    /// Queue was sent for a run id that already has a history.
    RunAlreadyExists = "run.already_exists" {
        en: "A run with this id already exists.",
        de: "Ein Lauf mit dieser ID existiert bereits."
    }
    /// A command addressed a run that has no history.
    RunNotFound = "run.not_found" {
        en: "Run {run} was not found.",
        de: "Lauf {run} wurde nicht gefunden."
    }
    /// The run's events are in the log, but the views do not show it yet.
    RunNotYetVisible = "run.not_yet_visible" {
        en: "Run {run} is recorded, but the views do not show it yet: {cause}. `runproof history {run}` shows its events now.",
        de: "Lauf {run} ist aufgezeichnet, aber die Ansichten zeigen ihn noch nicht: {cause}. `runproof history {run}` zeigt seine Ereignisse schon jetzt."
    }
    /// The review's events are in the log, but the views do not show it yet.
    ReviewNotYetVisible = "review.not_yet_visible" {
        en: "Review {review} is recorded, but the views do not show it yet: {cause}. `runproof history {review}` shows its events now.",
        de: "Review {review} ist aufgezeichnet, aber die Ansichten zeigen es noch nicht: {cause}. `runproof history {review}` zeigt seine Ereignisse schon jetzt."
    }
    /// Start was sent for a run that is already running (another worker claimed it).
    RunAlreadyRunning = "run.already_running" {
        en: "The run is already running.",
        de: "Der Lauf wird bereits ausgeführt."
    }
    /// A command that needs an active run addressed a completed run.
    RunAlreadyCompleted = "run.already_completed" {
        en: "The run is already completed.",
        de: "Der Lauf ist bereits abgeschlossen."
    }
    /// Complete was sent for a run that was never started.
    RunNotStarted = "run.not_started" {
        en: "The run was never started, so its job cannot complete it.",
        de: "Der Lauf wurde nie gestartet und kann daher nicht von seinem Job abgeschlossen werden."
    }
    /// A second completion asked for a different outcome; outcomes never flip.
    RunOutcomeConflict = "run.outcome_conflict" {
        en: "The run already ended with another outcome; an outcome never changes.",
        de: "Der Lauf endete bereits mit einem anderen Ergebnis; ein Ergebnis ändert sich nie."
    }
    /// A decision was made on an older version of the run than the one recorded now.
    RunVersionMismatch = "run.version_mismatch" {
        en: "The run changed after the decision was made; nothing was recorded.",
        de: "Der Lauf hat sich nach der Entscheidung geändert; es wurde nichts aufgezeichnet."
    }
    /// A run command carried input outside its bounds (context, summary, failures).
    RunInvalidInput = "run.invalid_input" {
        en: "The run input is invalid: {detail}.",
        de: "Die Laufeingabe ist ungültig: {detail}."
    }
    /// A concurrent writer changed the environment first, also after retrying.
    EnvironmentConcurrentChange = "environment.concurrent_change" {
        en: "Someone else changed the environment at the same moment; try again.",
        de: "Jemand anderes hat die Umgebung im selben Moment geändert; bitte erneut versuchen."
    }
    /// A concurrent writer changed the review (or its fingerprint slot) first.
    ReviewConcurrentChange = "review.concurrent_change" {
        en: "Someone else changed the review at the same moment; try again.",
        de: "Jemand anderes hat das Review im selben Moment geändert; bitte erneut versuchen."
    }
    /// A concurrent writer changed a record the request wrote to first.
    RecordConcurrentChange = "record.concurrent_change" {
        en: "Someone else changed the same record at the same moment; try again.",
        de: "Jemand anderes hat denselben Datensatz im selben Moment geändert; bitte erneut versuchen."
    }
    /// A concurrent writer changed the run first; the caller may retry.
    RunConcurrentChange = "run.concurrent_change" {
        en: "Someone else changed the run at the same moment; try again.",
        de: "Jemand anderes hat den Lauf im selben Moment geändert; bitte erneut versuchen."
    }
    /// A completion named an outcome outside the terminal family.
    RunUnknownOutcome = "run.unknown_outcome" {
        en: "Unknown outcome {value}: a job completes a run as succeeded, partially_succeeded, blocked or failed.",
        de: "Unbekanntes Ergebnis {value}: Ein Job schließt einen Lauf als succeeded, partially_succeeded, blocked oder failed ab."
    }
    /// A job named a reason code that is not in the catalogue.
    RunUnknownReason = "run.unknown_reason" {
        en: "Unknown reason code {value}: name a catalogued code such as job.failed, job.timed_out, job.input_invalid, job.dependency_unavailable or job.items_failed.",
        de: "Unbekannter Grundcode {value}: einen katalogisierten Code wie job.failed, job.timed_out, job.input_invalid, job.dependency_unavailable oder job.items_failed angeben."
    }
    /// A job system tried to ensure, start or complete a run that runproof drives itself.
    RunDrivenByEngine = "run.driven_by_engine" {
        en: "Runs of type {type} are created and driven by runproof itself (a review compose is requested through its environment's reviews route); a job system cannot ensure, start or complete them.",
        de: "Läufe vom Typ {type} legt runproof selbst an und führt sie aus (eine Review-Erstellung wird über die Reviews-Route ihrer Umgebung angefordert); ein Jobsystem kann sie nicht anlegen, starten oder abschließen."
    }
    // --- reconciliation: the generic stale path ---
    /// A run stayed queued past its type's threshold; ended by the stale reconciler.
    RunStaleQueued = "run.stale_queued" {
        en: "The run stayed queued past its type's threshold and no domain record proves its outcome.",
        de: "Der Lauf blieb länger als für seinen Typ vorgesehen in der Warteschlange, und kein Fachdatensatz belegt sein Ergebnis."
    }
    /// A run stayed running past its type's threshold; ended by the stale reconciler.
    RunStaleRunning = "run.stale_running" {
        en: "The run kept running past its type's threshold and no domain record proves its outcome.",
        de: "Der Lauf lief länger als für seinen Typ vorgesehen, und kein Fachdatensatz belegt sein Ergebnis."
    }
    /// The run is within its thresholds; nothing is decided.
    RunNotStale = "run.not_stale" {
        en: "The run is still within its time limits; nothing to decide yet.",
        de: "Der Lauf liegt noch in seinen Zeitgrenzen; noch nichts zu entscheiden."
    }
    // --- reconciliation: the restore adapter ---
    /// The run's restore record completed.
    RestoreCompleted = "restore.completed" {
        en: "The run's restore record shows the restore completed.",
        de: "Der Wiederherstellungsdatensatz des Laufs zeigt, dass die Wiederherstellung abgeschlossen ist."
    }
    /// The run's restore record completed with errors.
    RestoreCompletedWithErrors = "restore.completed_with_errors" {
        en: "The run's restore record shows the restore completed with errors.",
        de: "Der Wiederherstellungsdatensatz des Laufs zeigt, dass die Wiederherstellung mit Fehlern abgeschlossen ist."
    }
    /// The run's restore record failed.
    RestoreFailed = "restore.failed" {
        en: "The run's restore record shows the restore failed.",
        de: "Der Wiederherstellungsdatensatz des Laufs zeigt, dass die Wiederherstellung fehlgeschlagen ist."
    }
    /// The restore record is still queued or running.
    RestoreNotFinished = "restore.not_finished" {
        en: "The run's restore record has not finished yet.",
        de: "Der Wiederherstellungsdatensatz des Laufs ist noch nicht beendet."
    }
    /// No restore record of this run exists in its workspace and environment.
    RestoreRecordMissing = "restore.record_missing" {
        en: "No restore record of this run exists in its workspace and environment.",
        de: "Für diesen Lauf gibt es in seinem Arbeitsbereich und seiner Umgebung keinen Wiederherstellungsdatensatz."
    }
    // --- restore records: what job systems report ---
    /// A restore id named no restore record (or one outside the caller's scope).
    RestoreNotFound = "restore.not_found" {
        en: "Restore {restore} was not found.",
        de: "Wiederherstellung {restore} wurde nicht gefunden."
    }
    /// A restore id is already recorded, for another run.
    RestoreAlreadyExists = "restore.already_exists" {
        en: "A restore with this id is already recorded for another run; choose a new restore id.",
        de: "Eine Wiederherstellung mit dieser ID ist bereits für einen anderen Lauf aufgezeichnet; eine neue Wiederherstellungs-ID wählen."
    }
    /// The run cannot have this restore record, so the adapter could never prove it.
    RestoreRunMismatch = "restore.run_mismatch" {
        en: "Run {run} cannot have this restore record: only a restore.execute run in a managed environment whose context names the restore (restore_id) can, because the restore adapter proves nothing else.",
        de: "Lauf {run} kann diesen Wiederherstellungsdatensatz nicht haben: Nur ein restore.execute-Lauf in einer verwalteten Umgebung, dessen Kontext die Wiederherstellung nennt (restore_id), kann das, denn der Wiederherstellungsadapter belegt nichts anderes."
    }
    /// The restore was reported finished while it was never reported running.
    RestoreNotStarted = "restore.not_started" {
        en: "The restore was never reported running; report it running first.",
        de: "Die Wiederherstellung wurde nie als laufend gemeldet; zuerst als laufend melden."
    }
    /// The restore already finished; its result never changes.
    RestoreAlreadyFinished = "restore.already_finished" {
        en: "The restore already finished with another result; a restore's result never changes.",
        de: "Die Wiederherstellung ist bereits mit einem anderen Ergebnis beendet; das Ergebnis einer Wiederherstellung ändert sich nie."
    }
    /// A finished restore reported more failed items than items.
    RestoreInvalidCounts = "restore.invalid_counts" {
        en: "More items failed than the restore had: items_failed must not exceed items_total.",
        de: "Es sind mehr Elemente fehlgeschlagen, als die Wiederherstellung hatte: items_failed darf items_total nicht übersteigen."
    }
    /// A restore report named a status that is not running or finished.
    RestoreUnknownStatus = "restore.unknown_status" {
        en: "Unknown restore status {value}: report running or finished.",
        de: "Unbekannter Wiederherstellungsstatus {value}: running oder finished melden."
    }
    /// A restore report's result does not fit its status.
    RestoreResultMismatch = "restore.result_mismatch" {
        en: "A finished restore reports its result (failed, items_total, items_failed); a running one reports none.",
        de: "Eine beendete Wiederherstellung meldet ihr Ergebnis (failed, items_total, items_failed); eine laufende meldet keines."
    }
    // --- reconciliation: the review-compose adapter ---
    /// The run's own review is ready or published.
    ReviewReady = "review.ready" {
        en: "The run's own review is ready (or already published).",
        de: "Das eigene Review des Laufs ist bereit (oder bereits veröffentlicht)."
    }
    /// The run's own review is archived or superseded: it was finished.
    ReviewHistorical = "review.historical" {
        en: "The run's own review was finished and has since been archived or superseded.",
        de: "Das eigene Review des Laufs wurde fertiggestellt und ist inzwischen archiviert oder abgelöst."
    }
    /// The run's own review failed to compose.
    ReviewFailed = "review.failed" {
        en: "The run's own review could not be composed.",
        de: "Das eigene Review des Laufs konnte nicht erstellt werden."
    }
    /// The run's own review is still a draft and the run is not stale.
    ReviewDraftInProgress = "review.draft_in_progress" {
        en: "The run's review is still being composed.",
        de: "Das Review des Laufs wird noch erstellt."
    }
    /// The run's own review is still a draft although the run is stale.
    ReviewDraftStale = "review.draft_stale" {
        en: "The run's review draft was never finished; the next compose request for the same evidence takes it over.",
        de: "Der Review-Entwurf des Laufs wurde nie fertiggestellt; die nächste Erstellungsanfrage für dieselben Belege übernimmt ihn."
    }
    /// Another run already produced a review with the same fingerprint.
    ReviewDuplicateRecovered = "review.duplicate_recovered" {
        en: "An identical review already exists for this environment; the run is recovered as a duplicate.",
        de: "Für diese Umgebung existiert bereits ein identisches Review; der Lauf wird als Duplikat aufgelöst."
    }
    /// Several ready or published reviews match; the engine does not guess.
    ReviewAmbiguous = "review.ambiguous" {
        en: "Several matching reviews exist; the run is blocked until an operator decides.",
        de: "Es gibt mehrere passende Reviews; der Lauf ist blockiert, bis jemand entscheidet."
    }
    /// Another active run is drafting the review for this fingerprint.
    ReviewDraftHeldElsewhere = "review.draft_held_elsewhere" {
        en: "Another run is composing the review for the same evidence.",
        de: "Ein anderer Lauf erstellt gerade das Review für dieselben Belege."
    }
    /// No review of this environment and fingerprint exists.
    ReviewNoneFound = "review.none_found" {
        en: "No review for this environment and evidence exists.",
        de: "Für diese Umgebung und diese Belege existiert kein Review."
    }
    /// The only review of this evidence is a draft whose run has ended: orphaned.
    ReviewDraftOrphaned = "review.draft_orphaned" {
        en: "An earlier run left the review for this evidence unfinished; the next compose request takes it over.",
        de: "Ein früherer Lauf hat das Review für diese Belege unfertig hinterlassen; die nächste Erstellungsanfrage übernimmt es."
    }
    /// The only review of this evidence failed; the next compose run drafts it again.
    ReviewFailedAwaitingRetry = "review.failed_awaiting_retry" {
        en: "The review for this evidence failed earlier; the next compose request drafts it again.",
        de: "Das Review für diese Belege ist früher fehlgeschlagen; die nächste Erstellungsanfrage erstellt es neu."
    }
    // --- environment reviews: operations ---
    /// Composing the review from the snapshot failed.
    ReviewComposeFailed = "review.compose_failed" {
        en: "The review could not be composed from the evidence snapshot.",
        de: "Das Review konnte nicht aus dem Belegstand erstellt werden."
    }
    /// A compose run's context does not name consistent evidence to compose from.
    ReviewComposeContextInvalid = "review.compose_context_invalid" {
        en: "The compose run does not name consistent evidence to compose from (fingerprint, snapshot and content hash).",
        de: "Der Erstellungslauf nennt keine stimmigen Belege, aus denen erstellt werden kann (Fingerabdruck, Belegstand und Inhalts-Hash)."
    }
    /// The review named does not exist (or is not visible to the caller).
    ReviewNotFound = "review.not_found" {
        en: "Review {review} was not found.",
        de: "Review {review} wurde nicht gefunden."
    }
    /// The review is not in a status that allows the action.
    ReviewInvalidTransition = "review.invalid_transition" {
        en: "The review is {status}; it cannot take this step.",
        de: "Das Review ist {status}; dieser Schritt ist nicht möglich."
    }
    /// Another compose holds the review for this fingerprint.
    ReviewHeldElsewhere = "review.held_elsewhere" {
        en: "Another compose run holds the review for this evidence.",
        de: "Ein anderer Erstellungslauf hält das Review für diese Belege."
    }
    /// The environment has no evidence snapshot to compose from.
    EvidenceMissing = "evidence.missing" {
        en: "The environment has no captured evidence yet: run `runproof evidence capture` first.",
        de: "Für die Umgebung wurden noch keine Belege erfasst: zuerst `runproof evidence capture` ausführen."
    }
    /// The evidence document is not valid.
    EvidenceInvalid = "evidence.invalid" {
        en: "The evidence file is not valid: {detail}.",
        de: "Die Belegdatei ist ungültig: {detail}."
    }
    /// The workspace does not exist or the caller is not a member.
    WorkspaceNotFound = "workspace.not_found" {
        en: "Workspace {workspace} was not found.",
        de: "Arbeitsbereich {workspace} wurde nicht gefunden."
    }
    /// The environment does not exist in the workspace (or is not visible to the caller).
    EnvironmentNotFound = "environment.not_found" {
        en: "Environment {environment} was not found.",
        de: "Umgebung {environment} wurde nicht gefunden."
    }
    /// The actor does not exist.
    ActorNotFound = "actor.not_found" {
        en: "Actor {actor} was not found.",
        de: "Akteur {actor} wurde nicht gefunden."
    }
    /// The actor already belongs to the workspace.
    ActorAlreadyMember = "actor.already_member" {
        en: "The actor is already a member of this workspace.",
        de: "Der Akteur ist bereits Mitglied dieses Arbeitsbereichs."
    }
    /// A role command named a role that does not exist.
    ActorRoleUnknown = "actor.role_unknown" {
        en: "Unknown role {role} (the roles are operator and feed).",
        de: "Unbekannte Rolle {role} (die Rollen sind operator und feed)."
    }
    /// The feed role was granted to an actor that is not a service actor.
    ActorRoleServicesOnly = "actor.role_services_only" {
        en: "Only a service actor can hold the role {role}: create the feed's reader with `runproof actors create --name N --service`.",
        de: "Nur ein Dienstakteur kann die Rolle {role} haben: den Leser des Feeds mit `runproof actors create --name N --service` anlegen."
    }
    // --- API tokens and who may do what ---
    /// A token id named no issued token.
    TokenNotFound = "token.not_found" {
        en: "API token {token} was not found.",
        de: "API-Token {token} wurde nicht gefunden."
    }
    /// A token id argument was not a token id. The value is not repeated: it may be a
    /// token, whose secret must not be printed.
    TokenIdInvalid = "token.id_invalid" {
        en: "That is not a token id: give the id that `runproof tokens issue` or `runproof tokens list` printed (32 hexadecimal characters or a UUID).",
        de: "Das ist keine Token-ID: die ID angeben, die `runproof tokens issue` oder `runproof tokens list` ausgegeben hat (32 Hexadezimalzeichen oder eine UUID)."
    }
    /// A token lifetime was not a bounded number of minutes, hours or days.
    TokenExpiryInvalid = "token.expiry_invalid" {
        en: "The lifetime {value} is not valid: give a whole number followed by m, h or d (for example 90m, 12h, 30d), more than zero and at most 3650d (ten years).",
        de: "Die Gültigkeitsdauer {value} ist ungültig: eine ganze Zahl gefolgt von m, h oder d angeben (zum Beispiel 90m, 12h, 30d), größer als null und höchstens 3650d (zehn Jahre)."
    }
    /// A request carried no token, or one that is malformed, unknown, not matching its
    /// secret, revoked or expired: one answer for all of them.
    TokenUnauthorized = "token.unauthorized" {
        en: "A valid API token is required: the token is missing, not valid, revoked or expired.",
        de: "Ein gültiges API-Token ist erforderlich: das Token fehlt, ist ungültig, widerrufen oder abgelaufen."
    }
    /// The caller sees the workspace but may not drive run lifecycles in it (it is not
    /// a service actor, or not a member). Only answered to a caller that sees the
    /// workspace, so it reveals nothing.
    AccessServicesOnly = "access.services_only" {
        en: "This token's actor may not drive runs in this workspace: only a service actor (runproof actors create --service) that is a member of the workspace may ensure, start and complete runs and report restores.",
        de: "Der Akteur dieses Tokens darf in diesem Arbeitsbereich keine Läufe steuern: Nur ein Dienstakteur (runproof actors create --service), der Mitglied des Arbeitsbereichs ist, darf Läufe anlegen, starten und abschließen und Wiederherstellungen melden."
    }
    /// A name was empty, too long or not a single line.
    NameInvalid = "name.invalid" {
        en: "The name must be one line of 1 to 100 visible characters (no control or invisible formatting characters).",
        de: "Der Name muss eine Zeile mit 1 bis 100 sichtbaren Zeichen sein (keine Steuer- oder unsichtbaren Formatierungszeichen)."
    }
    /// The file could not be read.
    FileUnreadable = "file.unreadable" {
        en: "The file {path} cannot be read.",
        de: "Die Datei {path} kann nicht gelesen werden."
    }
    // --- run failures recorded by jobs ---
    /// The job failed for a reason it did not classify further.
    JobFailed = "job.failed" {
        en: "The job failed.",
        de: "Der Job ist fehlgeschlagen."
    }
    /// The job gave up after its own time limit.
    JobTimedOut = "job.timed_out" {
        en: "The job exceeded its time limit.",
        de: "Der Job hat sein Zeitlimit überschritten."
    }
    /// The job's input could not be used.
    JobInputInvalid = "job.input_invalid" {
        en: "The job's input was invalid.",
        de: "Die Eingabe des Jobs war ungültig."
    }
    /// A system the job depends on was unavailable.
    JobDependencyUnavailable = "job.dependency_unavailable" {
        en: "A system the job depends on was unavailable.",
        de: "Ein System, von dem der Job abhängt, war nicht erreichbar."
    }
    /// Some items of the job failed while others succeeded.
    JobItemsFailed = "job.items_failed" {
        en: "Some items failed.",
        de: "Einige Elemente sind fehlgeschlagen."
    }
    /// The job reported its outcome without naming a reason (the note a plain
    /// completion implies).
    JobNoReason = "job.no_reason" {
        en: "The job reported its outcome without naming a reason.",
        de: "Der Job hat sein Ergebnis gemeldet, ohne einen Grund zu nennen."
    }
    // --- operator-facing errors of the command line ---
    /// An argument that should be a UUID was not one.
    CliInvalidUuid = "cli.invalid_uuid" {
        en: "{value} is not a valid id (expected a UUID).",
        de: "{value} ist keine gültige ID (erwartet wird eine UUID)."
    }
    /// A status filter named an unknown status.
    CliUnknownStatus = "cli.unknown_status" {
        en: "Unknown status {value} (use queued, running or completed).",
        de: "Unbekannter Status {value} (erlaubt: queued, running, completed)."
    }
    /// A review status filter named an unknown status.
    CliUnknownReviewStatus = "cli.unknown_review_status" {
        en: "Unknown review status {value} (use draft, ready, failed, published, archived or superseded).",
        de: "Unbekannter Review-Status {value} (erlaubt: draft, ready, failed, published, archived, superseded)."
    }
    /// An outcome filter named an unknown outcome.
    CliUnknownOutcome = "cli.unknown_outcome" {
        en: "Unknown outcome {value} (use pending, succeeded, partially_succeeded, blocked or failed).",
        de: "Unbekanntes Ergebnis {value} (erlaubt: pending, succeeded, partially_succeeded, blocked, failed)."
    }
    /// A list was asked for fewer than one or more than the maximum number of rows.
    CliLimitOutOfRange = "cli.limit_out_of_range" {
        en: "--limit must be between 1 and {max} (got {value}); narrow the list with its filters instead.",
        de: "--limit muss zwischen 1 und {max} liegen (angegeben: {value}); die Liste stattdessen mit ihren Filtern eingrenzen."
    }
    /// `history` was given an id that is neither a run nor a review (or not visible).
    HistoryNotFound = "history.not_found" {
        en: "No run or review {id} was found.",
        de: "Kein Lauf und kein Review {id} wurde gefunden."
    }
    // --- the engine's view at an earlier point (`--at`, `--until`, `?at=`) ---
    /// A point in time that is neither a log position nor a time.
    AsOfInvalid = "as_of.invalid" {
        en: "{value} is neither a log position (a whole number from 1) nor a time (RFC 3339 such as 2026-03-01T03:12:00Z; without an offset, UTC).",
        de: "{value} ist weder eine Log-Position (eine ganze Zahl ab 1) noch ein Zeitpunkt (RFC 3339 wie 2026-03-01T03:12:00Z; ohne Zeitzonenangabe UTC)."
    }
    /// A log position past the last event readers can read.
    AsOfBeyondLog = "as_of.beyond_log" {
        en: "Position {position} is beyond the end of the log: the last position readable now is {last}.",
        de: "Position {position} liegt hinter dem Ende des Logs: Die letzte jetzt lesbare Position ist {last}."
    }
    /// A log position that no readable event holds.
    AsOfNoEvent = "as_of.no_event" {
        en: "No readable event holds position {position}: a position an aborted write took stays empty, and a write still in progress cannot be read yet. `runproof history ID` lists the positions of a run's events.",
        de: "Kein lesbares Ereignis hat die Position {position}: Eine Position, die ein abgebrochener Schreibvorgang belegt hat, bleibt leer, und ein noch laufender Schreibvorgang ist noch nicht lesbar. `runproof history ID` listet die Positionen der Ereignisse eines Laufs."
    }
    /// A time after now.
    AsOfFuture = "as_of.future" {
        en: "{time} is in the future (it is {now} now): the log cannot say yet what the engine will believe then.",
        de: "{time} liegt in der Zukunft (jetzt ist es {now}): Das Log kann noch nicht sagen, was die Engine dann annehmen wird."
    }
    /// The run had no event at or before the point asked (or does not exist, or is
    /// outside the caller's scope: the same answer).
    RunNotFoundAt = "run.not_found_at" {
        en: "Run {run} did not exist at {at}.",
        de: "Lauf {run} gab es zum Stand {at} nicht."
    }
    /// An event whose metadata is not what runproof's writer writes: it was added some
    /// other way (plain SQL, another program). Shown, flagged, never hidden.
    HistoryForeignMetadata = "history.foreign_metadata" {
        en: "Not written by runproof: its metadata field `{field}` is missing, malformed or not as runproof writes it — this event was added some other way (see docs/audit.md).",
        de: "Nicht von runproof geschrieben: Das Metadatenfeld `{field}` fehlt, ist fehlerhaft oder nicht so, wie runproof es schreibt — dieses Ereignis wurde auf anderem Weg hinzugefügt (siehe docs/audit.md)."
    }
    /// `history --until`: no run or review with this id had an event by then.
    HistoryNotFoundAt = "history.not_found_at" {
        en: "No run or review {id} existed at {at}.",
        de: "Zum Stand {at} gab es keinen Lauf und kein Review {id}."
    }
    /// The connection string could not be parsed.
    DbInvalidUrl = "db.invalid_url" {
        en: "The database connection string is not a valid postgres:// URL.",
        de: "Die Datenbank-Verbindungszeichenfolge ist keine gültige postgres://-URL."
    }
    /// The database could not be reached.
    DbUnreachable = "db.unreachable" {
        en: "Cannot reach the database at {target}: is PostgreSQL running? Set --database-url or DATABASE_URL.",
        de: "Die Datenbank unter {target} ist nicht erreichbar: Läuft PostgreSQL? --database-url oder DATABASE_URL setzen."
    }
    /// Something answered at the address, but not as a PostgreSQL server.
    DbNotPostgres = "db.not_postgres" {
        en: "The server at {target} does not answer like a PostgreSQL server: check the host and port in the connection string.",
        de: "Der Server unter {target} antwortet nicht wie ein PostgreSQL-Server: Host und Port in der Verbindungszeichenfolge prüfen."
    }
    /// The server refused the role (it does not exist, or may not connect from here).
    DbRoleRefused = "db.role_refused" {
        en: "The server at {target} refuses the role {role}: it does not exist or may not connect to this database from here. Check the user name in the connection string.",
        de: "Der Server unter {target} weist die Rolle {role} ab: Sie existiert nicht oder darf sich von hier nicht mit dieser Datenbank verbinden. Benutzernamen in der Verbindungszeichenfolge prüfen."
    }
    /// The role's password (or other credential) was not accepted.
    DbAuthenticationFailed = "db.authentication_failed" {
        en: "Authentication failed for the role {role} at {target}: check the password in the connection string.",
        de: "Die Anmeldung der Rolle {role} unter {target} ist fehlgeschlagen: Passwort in der Verbindungszeichenfolge prüfen."
    }
    /// The database does not exist.
    DbMissing = "db.missing" {
        en: "The database {target} does not exist: run `runproof demo` or create it, then `runproof migrate`.",
        de: "Die Datenbank {target} existiert nicht: `runproof demo` ausführen oder sie anlegen, dann `runproof migrate`."
    }
    /// A database name PostgreSQL would not keep as given (empty, a NUL character, or
    /// longer than 63 bytes, which it would silently shorten to another name).
    DbInvalidName = "db.invalid_name" {
        en: "The database name cannot be used: it is empty, contains a NUL character or is longer than 63 bytes (with the bench's `_bench` suffix).",
        de: "Der Datenbankname ist nicht verwendbar: Er ist leer, enthält ein NUL-Zeichen oder ist länger als 63 Bytes (beim Benchmark mit dem Zusatz `_bench`)."
    }
    /// The database has no runproof schema or an older one.
    DbNotMigrated = "db.not_migrated" {
        en: "The database schema is not up to date: run `runproof migrate` first.",
        de: "Das Datenbankschema ist nicht aktuell: zuerst `runproof migrate` ausführen."
    }
    /// The database was migrated by a newer runproof.
    DbSchemaNewer = "db.schema_newer" {
        en: "The database schema (version {version}) is newer than this runproof knows: upgrade runproof.",
        de: "Das Datenbankschema (Version {version}) ist neuer als dieses runproof: runproof aktualisieren."
    }
    /// A migration failed half-way and left the schema marked dirty.
    DbSchemaDirty = "db.schema_dirty" {
        en: "Migration {version} failed earlier and left the schema incomplete: restore a backup, or repair the schema and clear the failed migration's record (docs/operations.md), then run `runproof migrate`.",
        de: "Migration {version} ist früher fehlgeschlagen und hat das Schema unvollständig hinterlassen: Sicherung einspielen oder das Schema reparieren und den Eintrag der fehlgeschlagenen Migration entfernen (docs/operations.md), dann `runproof migrate`."
    }
    /// An applied migration differs from the one this build carries under its version.
    DbMigrationChanged = "db.migration_changed" {
        en: "Migration {version} in this database differs from the one this runproof carries: the database was migrated by another build. Use that build, or restore a backup made with this one; nothing was changed.",
        de: "Migration {version} in dieser Datenbank weicht von der ab, die dieses runproof mitbringt: Die Datenbank wurde von einem anderen Build migriert. Diesen Build verwenden oder eine mit diesem Build erstellte Sicherung einspielen; nichts wurde geändert."
    }
    /// Anything the database reported that an operator cannot act on; details go to the log.
    DbInternal = "db.internal" {
        en: "An internal database error occurred; the log has the details (RUST_LOG=runproof=debug).",
        de: "Ein interner Datenbankfehler ist aufgetreten; Details stehen im Log (RUST_LOG=runproof=debug)."
    }
    /// The projection did not catch up with a write in time.
    ProjectionLagging = "projection.lagging" {
        en: "The write was recorded, but the views have not caught up yet; a long-open transaction may hold them back.",
        de: "Die Änderung wurde aufgezeichnet, aber die Ansichten sind noch nicht nachgezogen; eine lange offene Transaktion kann sie aufhalten."
    }
    /// No projection advanced for a while although events wait above the read horizon.
    ProjectionStalled = "projection.stalled" {
        en: "No projection has advanced for {seconds} s while {count} event(s) wait above the read horizon; held back by {holder}.",
        de: "Seit {seconds} s ist keine Projektion vorangekommen, während {count} Ereignis(se) oberhalb des Lesehorizonts warten; aufgehalten durch {holder}."
    }
    /// A projection could not apply an event; it stopped instead of skipping it.
    ProjectionStopped = "projection.stopped" {
        en: "The projection {projection} stopped at an event it could not apply; nothing was skipped. See the log.",
        de: "Die Projektion {projection} hat bei einem nicht anwendbaren Ereignis angehalten; nichts wurde übersprungen. Siehe Log."
    }
    // --- the event log: reading stored events ---
    /// A stored event cannot be brought to its current shape or does not match its type.
    EventUndecodable = "event.undecodable" {
        en: "This build cannot read the stored {event} event (version {version}; it reads {known}); it is shown as stored.",
        de: "Dieses Build kann das gespeicherte Ereignis {event} (Version {version}; lesbar ist {known}) nicht lesen; es wird wie gespeichert gezeigt."
    }
    /// A stored event was written by a newer runproof than this one.
    EventVersionUnknown = "event.version_unknown" {
        en: "The {event} event was written in version {version}, newer than this build knows ({known}): upgrade runproof to read it.",
        de: "Das Ereignis {event} wurde in Version {version} geschrieben, neuer als dieses Build kennt ({known}): runproof aktualisieren, um es zu lesen."
    }
    // --- the HTTP interface ---
    /// No route serves this path.
    HttpRouteNotFound = "http.route_not_found" {
        en: "There is no such resource here; see /api/openapi.json for the API.",
        de: "Diese Ressource gibt es hier nicht; die API beschreibt /api/openapi.json."
    }
    /// The route does not serve this method.
    HttpMethodNotAllowed = "http.method_not_allowed" {
        en: "This resource does not accept that method.",
        de: "Diese Ressource nimmt diese Methode nicht an."
    }
    /// The request ran longer than the server allows.
    HttpTimeout = "http.timeout" {
        en: "The request did not finish within {seconds} s and was stopped; anything it wrote is either fully recorded or not at all.",
        de: "Die Anfrage wurde nicht innerhalb von {seconds} s fertig und abgebrochen; was sie geschrieben hat, ist entweder vollständig aufgezeichnet oder gar nicht."
    }
    /// The server is serving as many requests as it allows.
    HttpOverloaded = "http.overloaded" {
        en: "The service is busy; try again in a moment.",
        de: "Der Dienst ist ausgelastet; bitte gleich erneut versuchen."
    }
    /// A query string that does not parse (an unknown parameter, a value of the wrong kind).
    HttpInvalidQuery = "http.invalid_query" {
        en: "The query string is not valid for this resource (an unknown parameter or a value of the wrong kind).",
        de: "Die Abfragezeichenfolge passt nicht zu dieser Ressource (ein unbekannter Parameter oder ein Wert der falschen Art)."
    }
    /// A page cursor that this server did not hand out.
    HttpCursorInvalid = "http.cursor_invalid" {
        en: "The cursor is not valid: use the next_cursor of a previous page.",
        de: "Der Cursor ist ungültig: den next_cursor einer vorherigen Seite verwenden."
    }
    /// A feed cursor (`after`, `Last-Event-ID`) that this server did not hand out.
    FeedCursorInvalid = "feed.cursor_invalid" {
        en: "The feed cursor is not valid: resume with a next_cursor, an event's cursor or an SSE id exactly as runproof gave it, or leave it out to read from the start.",
        de: "Der Feed-Cursor ist ungültig: mit einem next_cursor, dem cursor eines Ereignisses oder einer SSE-ID genau so fortsetzen, wie runproof sie geliefert hat, oder ihn weglassen, um von Anfang an zu lesen."
    }
    /// The feed's `types` named an event type that is not in the catalogue.
    FeedTypeUnknown = "feed.type_unknown" {
        en: "Unknown event type {type}: name event types of the catalogue (RunQueued, ReviewPublished, …), separated by commas; docs/feed.md lists them.",
        de: "Unbekannter Ereignistyp {type}: Ereignistypen des Katalogs (RunQueued, ReviewPublished, …) durch Kommas getrennt angeben; docs/feed.md listet sie auf."
    }
    /// The NATS relay failed that many attempts in a row (NATS or the database
    /// unreachable) and stopped.
    RelayGaveUp = "relay.gave_up" {
        en: "The relay stopped after {attempts} failed attempts in a row to reach NATS at {url} or the database. Nothing was skipped: start it again once both answer; it goes on after the stream's last message.",
        de: "Das Relay hat nach {attempts} fehlgeschlagenen Versuchen in Folge, NATS unter {url} oder die Datenbank zu erreichen, angehalten. Nichts wurde übersprungen: erneut starten, sobald beide antworten; es macht nach der letzten Nachricht des Streams weiter."
    }
    /// The relay's stream ends in a message that is not a runproof event.
    RelayForeignTail = "relay.foreign_tail" {
        en: "The last message of stream {stream} (sequence {sequence}) is not a runproof event: another writer publishes into it, or it was purged. The relay does not guess where to go on; give it a stream of its own with --stream.",
        de: "Die letzte Nachricht des Streams {stream} (Sequenz {sequence}) ist kein runproof-Ereignis: Ein anderer Schreiber veröffentlicht darin, oder er wurde geleert. Das Relay rät nicht, wo es weitergeht; ihm mit --stream einen eigenen Stream geben."
    }
    /// The relay's lag could not be read: NATS or the stream is not there.
    RelayUnreachable = "relay.unreachable" {
        en: "Cannot read the relay's stream {stream} at {url}: is NATS running with JetStream, and has a relay created the stream?",
        de: "Der Stream {stream} des Relays unter {url} kann nicht gelesen werden: Läuft NATS mit JetStream, und hat ein Relay den Stream angelegt?"
    }
    /// The server could not listen on its address.
    HttpListenFailed = "http.listen_failed" {
        en: "Cannot listen on {address}: is another process using it? Choose another with --listen.",
        de: "Auf {address} kann nicht gehört werden: Nutzt ein anderer Prozess die Adresse? Mit --listen eine andere wählen."
    }
    /// The request body is larger than the server accepts.
    HttpBodyTooLarge = "http.body_too_large" {
        en: "The request body is larger than the server accepts (1 MiB).",
        de: "Der Anfrageinhalt ist größer, als der Server annimmt (1 MiB)."
    }
    /// A request body that is not JSON, or has unknown, missing or mistyped fields.
    HttpInvalidBody = "http.invalid_body" {
        en: "The request body is not valid for this resource: send a JSON object (Content-Type: application/json) with exactly the documented fields, each of its documented kind (see /api/openapi.json).",
        de: "Der Anfrageinhalt passt nicht zu dieser Ressource: ein JSON-Objekt (Content-Type: application/json) mit genau den beschriebenen Feldern senden, jedes von der beschriebenen Art (siehe /api/openapi.json)."
    }
    /// The caller may see the workspace (an operator) but is not a member, and only
    /// members act on it.
    AccessMembersOnly = "access.members_only" {
        en: "Only members of this workspace can do this; the token's actor may see the workspace but is not a member of it.",
        de: "Nur Mitglieder dieses Arbeitsbereichs können das tun; der Akteur des Tokens darf den Arbeitsbereich sehen, ist aber kein Mitglied."
    }
    /// A rebuilt projection differs from the live one.
    ReplayDifferences = "replay.differences" {
        en: "The rebuilt projections differ from the live tables in {count} row(s).",
        de: "Die neu aufgebauten Projektionen weichen in {count} Zeile(n) von den Live-Tabellen ab."
    }
    /// A verify found live projection tables missing.
    ReplayTableMissing = "replay.table_missing" {
        en: "The live table(s) {tables} are missing: `runproof replay` creates them from runproof's schema and fills them from the log.",
        de: "Die Live-Tabelle(n) {tables} fehlen: `runproof replay` legt sie nach runproofs Schema an und füllt sie aus dem Log."
    }
    /// Another replay or verify holds the rebuild lock of this database.
    ReplayBusy = "replay.busy" {
        en: "A rebuild is already running: another replay or verify is working on this database. Run again once it has finished.",
        de: "Ein Neuaufbau läuft bereits: Ein anderes replay oder verify arbeitet an dieser Datenbank. Erneut ausführen, sobald es fertig ist."
    }
    /// The swap of a rebuilt projection did not get its locks in time.
    ReplayLockTimeout = "replay.lock_timeout" {
        en: "The rebuilt {projection} was not swapped in: other sessions kept its table busy longer than the lock timeout ({timeout}) in {attempts} attempts. Its live table is unchanged; run `runproof replay` again later or with a longer --lock-timeout.",
        de: "Das neu aufgebaute {projection} wurde nicht übernommen: Andere Sitzungen hielten seine Tabelle in {attempts} Versuchen länger als die Sperrfrist ({timeout}) belegt. Die Live-Tabelle ist unverändert; `runproof replay` später oder mit längerem --lock-timeout erneut ausführen."
    }
    // --- re-deciding recorded decisions (`audit redecide`, docs/audit.md) ---
    /// A recorded decision that today's decision function decides differently.
    AuditRedecideDisagrees = "audit.redecide.disagrees" {
        en: "Run {run} (position {position}, {adapter}): recorded {recorded} ({recorded_reason}); decided again today: {today} ({today_reason}).",
        de: "Lauf {run} (Position {position}, {adapter}): aufgezeichnet {recorded} ({recorded_reason}); heute erneut entschieden: {today} ({today_reason})."
    }
    /// A recorded decision whose evidence was read outside the run's own scope.
    AuditRedecideOutOfScope = "audit.redecide.out_of_scope" {
        en: "Run {run} (position {position}, {adapter}): its evidence was read in workspace {read_workspace}, environment {read_environment}, but the run belongs to workspace {workspace}, environment {environment}.",
        de: "Lauf {run} (Position {position}, {adapter}): Seine Belege wurden in Arbeitsbereich {read_workspace}, Umgebung {read_environment} gelesen, der Lauf gehört aber zu Arbeitsbereich {workspace}, Umgebung {environment}."
    }
    /// A recorded decision whose adapter (name and version) this build does not have.
    AuditRedecideAdapterMissing = "audit.redecide.adapter_missing" {
        en: "Run {run} (position {position}): decided by {adapter}, which this build does not have; the decision cannot be decided again.",
        de: "Lauf {run} (Position {position}): entschieden von {adapter}, den dieser Build nicht enthält; die Entscheidung kann nicht erneut getroffen werden."
    }
    /// A recorded decision whose event (and so its evidence) cannot be decoded.
    AuditRedecideUndecodable = "audit.redecide.undecodable" {
        en: "Run {run} (position {position}): the recorded decision cannot be read (its event or evidence does not decode), so it cannot be decided again.",
        de: "Lauf {run} (Position {position}): Die aufgezeichnete Entscheidung ist nicht lesbar (ihr Ereignis oder ihre Belege lassen sich nicht dekodieren) und kann daher nicht erneut getroffen werden."
    }
    /// `audit redecide` found decisions that are not decided the same way (the summary).
    AuditRedecideFailed = "audit.redecide.failed" {
        en: "{count} of {total} recorded decision(s) are not decided the same way today, each listed above.",
        de: "{count} von {total} aufgezeichneten Entscheidung(en) werden heute nicht gleich getroffen, jede oben aufgeführt."
    }
    /// `--since` names a position with no readable event.
    AuditRedecideNoPosition = "audit.redecide.no_position" {
        en: "There is no event at position {position} in the log (its last event is at position {last}). --since takes the position of an event, as runproof history shows it.",
        de: "An Position {position} steht kein Ereignis im Log (sein letztes Ereignis steht an Position {last}). --since erwartet die Position eines Ereignisses, wie runproof history sie zeigt."
    }
    /// `--adapter` is not an adapter name.
    AuditRedecideAdapterInvalid = "audit.redecide.adapter_invalid" {
        en: "--adapter takes an adapter name (lowercase letters, digits, '-', '_' or '.', at most 64 characters), such as restore, review-compose or stale.",
        de: "--adapter erwartet einen Adapternamen (Kleinbuchstaben, Ziffern, '-', '_' oder '.', höchstens 64 Zeichen), etwa restore, review-compose oder stale."
    }
    // --- the audit log (docs/audit.md) ---
    /// `audit keygen` would overwrite an existing file.
    AuditKeyExists = "audit.key_exists" {
        en: "{file} already exists: audit keygen never overwrites a key. Choose another --out, or move the old key away first.",
        de: "{file} existiert bereits: audit keygen überschreibt nie einen Schlüssel. Ein anderes --out wählen oder den alten Schlüssel zuerst wegräumen."
    }
    /// A key file cannot be written or read.
    AuditKeyFileFailed = "audit.key_file_failed" {
        en: "Cannot use the key file {file}: check that the path exists and this user may read or write it.",
        de: "Die Schlüsseldatei {file} ist nicht verwendbar: Prüfen, ob der Pfad existiert und dieser Benutzer sie lesen oder schreiben darf."
    }
    /// The signer key file does not hold a signer key.
    AuditKeyInvalid = "audit.key_invalid" {
        en: "{file} does not hold a runproof audit signer key (PRIVATE+KEY+<name>+<id>+<key>, as audit keygen writes it).",
        de: "{file} enthält keinen Signaturschlüssel für das Audit-Log (PRIVATE+KEY+<name>+<id>+<key>, wie audit keygen ihn schreibt)."
    }
    /// The verifier key given is not a note verifier key.
    AuditVerifierKeyInvalid = "audit.verifier_key_invalid" {
        en: "The verifier key is not valid: pass the <name>+<id>+<key> line that audit keygen printed (or a file holding it).",
        de: "Der Prüfschlüssel ist ungültig: die Zeile <name>+<id>+<key> angeben, die audit keygen ausgegeben hat (oder eine Datei, die sie enthält)."
    }
    /// `audit verify DIR` was given no verifier key.
    AuditVerifierKeyMissing = "audit.verifier_key_missing" {
        en: "Verifying a bundle needs the log's verifier key: pass --key with the <name>+<id>+<key> line (or a file holding it), or set RUNPROOF_AUDIT_VERIFIER_KEY.",
        de: "Zum Prüfen eines Bündels wird der Prüfschlüssel des Logs benötigt: --key mit der Zeile <name>+<id>+<key> (oder einer Datei, die sie enthält) angeben oder RUNPROOF_AUDIT_VERIFIER_KEY setzen."
    }
    /// A key name or checkpoint origin with spaces or `+`.
    AuditNameInvalid = "audit.name_invalid" {
        en: "The name {name} cannot name a log: use a non-empty name without spaces or '+', such as example.com/runproof.",
        de: "Der Name {name} kann kein Log benennen: einen nicht leeren Namen ohne Leerzeichen und '+' verwenden, etwa example.com/runproof."
    }
    /// No signer key was configured for a command that signs.
    AuditKeyMissing = "audit.key_missing" {
        en: "No audit signer key is configured: pass --key FILE or set RUNPROOF_AUDIT_KEY (make one with runproof audit keygen).",
        de: "Kein Signaturschlüssel für das Audit-Log eingerichtet: --key DATEI angeben oder RUNPROOF_AUDIT_KEY setzen (einen mit runproof audit keygen erzeugen)."
    }
    /// The sequenced leaves do not extend the last signed checkpoint: signing would fork.
    AuditFork = "audit.fork" {
        en: "Not signed: the sequenced leaves no longer extend checkpoint {id} (tree size {size}); the log or its leaves changed since. Run runproof audit verify --database to see where.",
        de: "Nicht signiert: Die sequenzierten Blätter setzen Checkpoint {id} (Baumgröße {size}) nicht mehr fort; das Log oder seine Blätter wurden seither verändert. runproof audit verify --database ausführen, um die Stelle zu sehen."
    }
    /// The sequenced leaves have a gap: no tree head can be signed over them.
    AuditLeavesIncomplete = "audit.leaves_incomplete" {
        en: "Not signed: the sequenced leaves are not dense (leaf {index} is missing). Run runproof audit verify --database, then runproof replay to rebuild them.",
        de: "Nicht signiert: Die sequenzierten Blätter sind lückenhaft (Blatt {index} fehlt). runproof audit verify --database ausführen, dann runproof replay zum Neuaufbau."
    }
    /// A leaf's event is still there but its content changed since it was sequenced.
    AuditLeafChanged = "audit.leaf_changed" {
        en: "Leaf {index} (position {position}, {event}): the event changed since it was sequenced; its leaf hash is now {now}, sequenced as {then}.",
        de: "Blatt {index} (Position {position}, {event}): Das Ereignis wurde seit seiner Sequenzierung verändert; sein Blatt-Hash ist jetzt {now}, sequenziert als {then}."
    }
    /// The event at a leaf's position is the one another leaf was sequenced with.
    AuditLeafMoved = "audit.leaf_moved" {
        en: "Leaf {index} (position {position}): the event stored there now is the one sequenced as leaf {other} ({event}); events were swapped or moved.",
        de: "Blatt {index} (Position {position}): Dort steht jetzt das Ereignis, das als Blatt {other} sequenziert wurde ({event}); Ereignisse wurden vertauscht oder verschoben."
    }
    /// The log now orders a sequenced event elsewhere than its leaf index.
    AuditLeafOutOfOrder = "audit.leaf_out_of_order" {
        en: "Leaf {index} (position {position}, {event}): the log now orders this event elsewhere than when it was sequenced (its transaction id was changed).",
        de: "Blatt {index} (Position {position}, {event}): Das Log ordnet dieses Ereignis jetzt anders ein als bei seiner Sequenzierung (seine Transaktionskennung wurde geändert)."
    }
    /// A sequenced event is gone from the log.
    AuditEventMissing = "audit.event_missing" {
        en: "Leaf {index} (position {position}, {event}): the event is missing from the log; it was deleted after it was sequenced.",
        de: "Blatt {index} (Position {position}, {event}): Das Ereignis fehlt im Log; es wurde nach seiner Sequenzierung gelöscht."
    }
    /// An event sits among sequenced ones but was never sequenced.
    AuditEventInserted = "audit.event_inserted" {
        en: "Position {position} ({event}): this event sits among sequenced events (after leaf {after}) but was never sequenced; it was inserted afterwards.",
        de: "Position {position} ({event}): Dieses Ereignis steht zwischen sequenzierten Ereignissen (nach Blatt {after}), wurde aber nie sequenziert; es wurde nachträglich eingefügt."
    }
    /// An event has no leaf encoding (its JSON cannot be canonicalised).
    AuditEventUnencodable = "audit.event_unencodable" {
        en: "Position {position} ({event}): the event's payload or metadata is not JSON that can be canonicalised, so it has no leaf; runproof never writes such an event.",
        de: "Position {position} ({event}): Nutzdaten oder Metadaten des Ereignisses sind kein kanonisierbares JSON, daher hat es kein Blatt; runproof schreibt nie ein solches Ereignis."
    }
    /// The sequenced leaves have a gap.
    AuditLeafGap = "audit.leaf_gap" {
        en: "Leaf {index} is missing from the sequenced leaves; they must be dense. The leaves were changed: runproof replay rebuilds them from the log.",
        de: "Blatt {index} fehlt in den sequenzierten Blättern; sie müssen lückenlos sein. Die Blätter wurden verändert: runproof replay baut sie aus dem Log neu auf."
    }
    /// A stored checkpoint is not a signed checkpoint note.
    AuditCheckpointMalformed = "audit.checkpoint_malformed" {
        en: "Checkpoint {id}: the stored note is not a signed checkpoint.",
        de: "Checkpoint {id}: Die gespeicherte Notiz ist kein signierter Checkpoint."
    }
    /// A stored checkpoint is not signed by the given key.
    AuditCheckpointSignature = "audit.checkpoint_signature" {
        en: "Checkpoint {id} (tree size {size}) is not signed by the key {key}: it was signed with another key, or its text was changed.",
        de: "Checkpoint {id} (Baumgröße {size}) ist nicht mit dem Schlüssel {key} signiert: Er wurde mit einem anderen Schlüssel signiert, oder sein Text wurde verändert."
    }
    /// A stored checkpoint's columns disagree with its signed note.
    AuditCheckpointEdited = "audit.checkpoint_edited" {
        en: "Checkpoint {id}: its stored tree size or root hash differs from what its signed note says; the row was edited.",
        de: "Checkpoint {id}: Gespeicherte Baumgröße oder Wurzel-Hash weichen von seiner signierten Notiz ab; die Zeile wurde bearbeitet."
    }
    /// The log's first N events do not hash to a checkpoint's signed root.
    AuditCheckpointRoot = "audit.checkpoint_root" {
        en: "Checkpoint {id} (tree size {size}): the log's first {size} events do not hash to its signed root; an event among leaves {from} to {to} was changed, removed, added or moved.",
        de: "Checkpoint {id} (Baumgröße {size}): Die ersten {size} Ereignisse des Logs ergeben nicht seinen signierten Wurzel-Hash; ein Ereignis zwischen Blatt {from} und {to} wurde verändert, entfernt, hinzugefügt oder verschoben."
    }
    /// A checkpoint vouches for more events than the log holds.
    AuditCheckpointTruncated = "audit.checkpoint_truncated" {
        en: "Checkpoint {id} vouches for {size} events, but the log holds only {count}: events it vouched for were removed.",
        de: "Checkpoint {id} bürgt für {size} Ereignisse, das Log enthält aber nur {count}: Ereignisse, für die er bürgt, wurden entfernt."
    }
    /// The sequenced leaves do not hash to a checkpoint's signed root.
    AuditCheckpointLeaves = "audit.checkpoint_leaves" {
        en: "Checkpoint {id} (tree size {size}): the sequenced leaves do not hash to its signed root; they were changed, or rebuilt from a changed log.",
        de: "Checkpoint {id} (Baumgröße {size}): Die sequenzierten Blätter ergeben nicht seinen signierten Wurzel-Hash; sie wurden verändert oder aus einem veränderten Log neu aufgebaut."
    }
    /// `audit verify` found problems (the summary line).
    AuditVerifyFailed = "audit.verify_failed" {
        en: "The audit log does not verify: {count} problem(s), each listed above.",
        de: "Das Audit-Log lässt sich nicht bestätigen: {count} Problem(e), jedes oben aufgeführt."
    }
    // --- audit bundles: export and offline verification (docs/audit.md) ---
    /// `audit export` would write into a directory that holds files.
    AuditBundleDirNotEmpty = "audit.bundle_dir_not_empty" {
        en: "{dir} is not empty: audit export writes a bundle only into a new or empty directory. Choose another --out.",
        de: "{dir} ist nicht leer: audit export schreibt ein Bündel nur in ein neues oder leeres Verzeichnis. Ein anderes --out wählen."
    }
    /// The bundle cannot be written or read.
    AuditBundleIo = "audit.bundle_io" {
        en: "Cannot use the bundle directory {dir}: check that it exists and this user may read or write it.",
        de: "Das Bündelverzeichnis {dir} ist nicht verwendbar: Prüfen, ob es existiert und dieser Benutzer es lesen oder schreiben darf."
    }
    /// `--from`/`--to` is not a tree size.
    AuditCheckpointNameInvalid = "audit.checkpoint_name_invalid" {
        en: "{name} does not name a checkpoint: a checkpoint is named by its tree size, a whole number such as 1200 (0 is the empty tree).",
        de: "{name} benennt keinen Checkpoint: Ein Checkpoint wird mit seiner Baumgröße benannt, einer ganzen Zahl wie 1200 (0 ist der leere Baum)."
    }
    /// No signed checkpoint has the tree size given.
    AuditCheckpointUnknown = "audit.checkpoint_unknown" {
        en: "No signed checkpoint has tree size {size}: name the tree size of a signed checkpoint, or leave --to out for the latest.",
        de: "Kein signierter Checkpoint hat die Baumgröße {size}: die Baumgröße eines signierten Checkpoints nennen, oder --to weglassen für den neuesten."
    }
    /// `--from` is a larger tree than `--to`.
    AuditRangeReversed = "audit.range_reversed" {
        en: "The range is reversed: --from {from} is a larger tree than --to {to}; a bundle proves that the later tree extends the earlier one.",
        de: "Der Bereich ist verkehrt: --from {from} ist ein größerer Baum als --to {to}; ein Bündel beweist, dass der spätere Baum den früheren fortsetzt."
    }
    /// There is no signed checkpoint to export up to.
    AuditNoCheckpoint = "audit.no_checkpoint" {
        en: "No checkpoint has been signed yet, so there is nothing an auditor could verify: run runproof audit checkpoint first.",
        de: "Es wurde noch kein Checkpoint signiert, also gibt es nichts, was ein Prüfer bestätigen könnte: zuerst runproof audit checkpoint ausführen."
    }
    /// A file the bundle needs is missing.
    AuditBundleFileMissing = "audit.bundle_file_missing" {
        en: "The bundle has no {file}; every bundle holds it.",
        de: "Dem Bündel fehlt {file}; jedes Bündel enthält diese Datei."
    }
    /// A file that no bundle holds.
    AuditBundleFileUnexpected = "audit.bundle_file_unexpected" {
        en: "The bundle holds {file}, which no bundle holds: something was added.",
        de: "Das Bündel enthält {file}, das kein Bündel enthält: Es wurde etwas hinzugefügt."
    }
    /// A bundle file is not in the exact form export writes.
    AuditBundleFileMalformed = "audit.bundle_file_malformed" {
        en: "{file} is not in the form audit export writes it (line {line}): it was changed.",
        de: "{file} hat nicht die Form, in der audit export es schreibt (Zeile {line}): Die Datei wurde verändert."
    }
    /// A bundle checkpoint is not signed by the verifier key.
    AuditBundleSignature = "audit.bundle_signature" {
        en: "{file} is not a checkpoint validly signed by the key {key}: it was signed with another key, or its text was changed.",
        de: "{file} ist kein gültig mit dem Schlüssel {key} signierter Checkpoint: Er wurde mit einem anderen Schlüssel signiert, oder sein Text wurde verändert."
    }
    /// The manifest disagrees with the signed checkpoints.
    AuditBundleManifest = "audit.bundle_manifest" {
        en: "The manifest's {field} disagrees with the signed checkpoints: the manifest was changed.",
        de: "Das Feld {field} des Manifests widerspricht den signierten Checkpoints: Das Manifest wurde verändert."
    }
    /// The two checkpoints are of different logs.
    AuditBundleOrigin = "audit.bundle_origin" {
        en: "The two checkpoints are of different logs ({from} and {to}).",
        de: "Die beiden Checkpoints gehören zu verschiedenen Logs ({from} und {to})."
    }
    /// An events line is not an event in the bundle's form.
    AuditBundleEventMalformed = "audit.bundle_event_malformed" {
        en: "events.jsonl line {line} (leaf {index}): not an event in the form audit export writes it; it was changed.",
        de: "events.jsonl Zeile {line} (Blatt {index}): kein Ereignis in der Form, in der audit export es schreibt; es wurde verändert."
    }
    /// A leaf of the range has no event in the bundle.
    AuditBundleLeafMissing = "audit.bundle_leaf_missing" {
        en: "Leaf {index}: the bundle has no event for it; it was removed.",
        de: "Blatt {index}: Das Bündel enthält kein Ereignis dafür; es wurde entfernt."
    }
    /// An event stands where another leaf belongs.
    AuditBundleLeafOrder = "audit.bundle_leaf_order" {
        en: "events.jsonl line {line} ({event}) is leaf {index}, but line {line} must hold leaf {expected}: events were reordered, duplicated or added.",
        de: "events.jsonl Zeile {line} ({event}) ist Blatt {index}, Zeile {line} muss aber Blatt {expected} enthalten: Ereignisse wurden umgeordnet, verdoppelt oder hinzugefügt."
    }
    /// An exported event hashes differently from the leaf the signed tree holds.
    AuditBundleLeafChanged = "audit.bundle_leaf_changed" {
        en: "Leaf {index} ({event}): the event hashes to {now}, but the signed tree holds {then}; the event was changed.",
        de: "Blatt {index} ({event}): Das Ereignis ergibt den Hash {now}, der signierte Baum enthält aber {then}; das Ereignis wurde verändert."
    }
    /// The leaf hash a line states is not the event's.
    AuditBundleLeafHash = "audit.bundle_leaf_hash" {
        en: "Leaf {index} ({event}): the line states the leaf hash {stated}, but the event hashes to {now}.",
        de: "Blatt {index} ({event}): Die Zeile nennt den Blatt-Hash {stated}, das Ereignis ergibt aber {now}."
    }
    /// An exported event has no leaf encoding.
    AuditBundleLeafUnencodable = "audit.bundle_leaf_unencodable" {
        en: "Leaf {index} ({event}): the event's payload or metadata is not canonicalisable JSON, so it has no leaf.",
        de: "Blatt {index} ({event}): Nutzdaten oder Metadaten des Ereignisses sind kein kanonisierbares JSON, daher hat es kein Blatt."
    }
    /// The events do not hash to the later checkpoint's root.
    AuditBundleRoot = "audit.bundle_root" {
        en: "The earlier tree and the bundle's events of leaves {from} to {last} do not hash to the signed root of tree size {size}: an event was changed, removed, added or reordered.",
        de: "Der frühere Baum und die Ereignisse der Blätter {from} bis {last} im Bündel ergeben nicht den signierten Wurzel-Hash der Baumgröße {size}: Ein Ereignis wurde verändert, entfernt, hinzugefügt oder umgeordnet."
    }
    /// The compact range does not hash to the earlier checkpoint's root.
    AuditBundleCompactRange = "audit.bundle_compact_range" {
        en: "compact-range does not hash to the signed root of tree size {size}: it was changed.",
        de: "compact-range ergibt nicht den signierten Wurzel-Hash der Baumgröße {size}: Die Datei wurde verändert."
    }
    /// The consistency proof does not hold.
    AuditBundleConsistency = "audit.bundle_consistency" {
        en: "The consistency proof does not show that the tree of size {to} extends the tree of size {from}: the proof was changed, or the log was forked.",
        de: "Der Konsistenzbeweis zeigt nicht, dass der Baum der Größe {to} den Baum der Größe {from} fortsetzt: Der Beweis wurde verändert, oder das Log wurde gespalten."
    }
    /// `audit prove`: none of the run's events is covered by the latest checkpoint.
    AuditProveNothingCovered = "audit.prove_nothing_covered" {
        en: "None of run {run}'s {events} event(s) is covered by the latest signed checkpoint (tree size {size}) yet, so no proof was written: sign one (runproof audit checkpoint), then prove again.",
        de: "Keines der {events} Ereignis(se) von Lauf {run} ist schon vom letzten signierten Checkpoint (Baumgröße {size}) erfasst, daher wurde kein Beweis geschrieben: einen signieren (runproof audit checkpoint), dann erneut beweisen."
    }
    /// `audit prove`: the output directory holds files already.
    AuditProveDirNotEmpty = "audit.prove_dir_not_empty" {
        en: "{dir} is not empty: audit prove writes proofs only into a new or empty directory. Choose another --out.",
        de: "{dir} ist nicht leer: audit prove schreibt Beweise nur in ein neues oder leeres Verzeichnis. Ein anderes --out wählen."
    }
    /// `audit prove`: the output directory cannot be created or written.
    AuditProveIo = "audit.prove_io" {
        en: "Cannot write proofs into {dir}: check that this user may create and write it.",
        de: "In {dir} können keine Beweise geschrieben werden: Prüfen, ob dieser Benutzer es anlegen und beschreiben darf."
    }
    /// `audit verify-proof`: the file cannot be read.
    AuditProofIo = "audit.proof_io" {
        en: "Cannot read the proof file {file}: check that it exists and this user may read it.",
        de: "Die Beweisdatei {file} ist nicht lesbar: Prüfen, ob sie existiert und dieser Benutzer sie lesen darf."
    }
    /// `audit verify-proof`: the file is not a tlog-proof in the form `audit prove` writes.
    AuditProofMalformed = "audit.proof_malformed" {
        en: "{file} line {line}: not a c2sp.org/tlog-proof@v1 inclusion proof in the form audit prove writes; it was changed.",
        de: "{file} Zeile {line}: kein Inklusionsbeweis c2sp.org/tlog-proof@v1 in der Form, in der audit prove ihn schreibt; er wurde verändert."
    }
    /// `audit verify-proof`: the extra line holds no event.
    AuditProofEvent = "audit.proof_event" {
        en: "{file}: its extra line does not hold an event in the form audit export writes it (missing or changed), so the leaf cannot be recomputed.",
        de: "{file}: Seine extra-Zeile enthält kein Ereignis in der Form, in der audit export es schreibt (fehlt oder verändert), daher lässt sich das Blatt nicht neu berechnen."
    }
    /// `audit verify-proof`: the checkpoint's signature by the key does not verify.
    AuditProofSignature = "audit.proof_signature" {
        en: "{file}: the checkpoint is not validly signed by the key {key}: its text or its signature was changed.",
        de: "{file}: Der Checkpoint ist nicht gültig mit dem Schlüssel {key} signiert: Sein Text oder seine Signatur wurde verändert."
    }
    /// `audit verify-proof`: the checkpoint carries no signature by the key.
    AuditProofWrongKey = "audit.proof_wrong_key" {
        en: "{file}: the checkpoint carries no signature by the key {key}: it was signed with another key, or is another log's.",
        de: "{file}: Der Checkpoint trägt keine Signatur des Schlüssels {key}: Er wurde mit einem anderen Schlüssel signiert oder gehört zu einem anderen Log."
    }
    /// `audit verify-proof`: the proof's index is not the event's leaf.
    AuditProofIndex = "audit.proof_index" {
        en: "{file} proves leaf {index}, but the event it carries is leaf {leaf}: the proof is for a different entry.",
        de: "{file} beweist Blatt {index}, das enthaltene Ereignis ist aber Blatt {leaf}: Der Beweis gilt einem anderen Eintrag."
    }
    /// `audit verify-proof`: the leaf is outside the signed tree.
    AuditProofOutOfRange = "audit.proof_out_of_range" {
        en: "{file}: leaf {index} is outside the signed tree of size {size}.",
        de: "{file}: Blatt {index} liegt außerhalb des signierten Baums der Größe {size}."
    }
    /// `audit verify-proof`: the event hashes differently from the leaf the proof holds.
    AuditProofEventChanged = "audit.proof_event_changed" {
        en: "{file}: leaf {index} ({event}) hashes to {now}, but the signed tree holds {then} there: the event was changed.",
        de: "{file}: Blatt {index} ({event}) ergibt den Hash {now}, der signierte Baum enthält dort aber {then}: Das Ereignis wurde verändert."
    }
    /// `audit verify-proof`: the inclusion proof does not lead to the signed root.
    AuditProofMismatch = "audit.proof_mismatch" {
        en: "{file}: the inclusion proof does not lead from leaf {index} to the signed root of tree size {size}: a proof hash was changed, or the proof is for another leaf or tree.",
        de: "{file}: Der Inklusionsbeweis führt nicht von Blatt {index} zum signierten Wurzel-Hash der Baumgröße {size}: Ein Beweis-Hash wurde verändert, oder der Beweis gilt einem anderen Blatt oder Baum."
    }
    /// `bench --review-statements`: the server does not collect statement statistics.
    BenchStatementsUnavailable = "bench.statements_unavailable" {
        en: "bench --review-statements needs PostgreSQL's pg_stat_statements: add it to shared_preload_libraries in the server's configuration, restart the server, and run again (or leave out --review-statements).",
        de: "bench --review-statements braucht pg_stat_statements von PostgreSQL: Es in der Serverkonfiguration zu shared_preload_libraries hinzufügen, den Server neu starten und erneut ausführen (oder --review-statements weglassen)."
    }
    /// `bench`: a compose drain executed fewer runs than it queued; its figures would be
    /// wrong, so none is printed.
    BenchDrainIncomplete = "bench.drain_incomplete" {
        en: "The compose drain executed {executed} of the {queued} runs it queued, so its figures would be wrong: the workers did not see the rest queued. Usually a long transaction on the server holds the views back (runproof lag names it); end it and run again.",
        de: "Der Compose-Durchlauf hat {executed} der {queued} eingereihten Läufe ausgeführt, seine Zahlen wären also falsch: Die Worker haben die übrigen nicht als eingereiht gesehen. Meist hält eine lange Transaktion auf dem Server die Sichten zurück (runproof lag nennt sie); sie beenden und erneut ausführen."
    }
}
}

text_catalogue! {
    /// What exactly was wrong, filling a reason's `{detail}` placeholder (for example
    /// [`ReasonCode::EvidenceInvalid`]). Carried as its code in the reason's arguments
    /// (see [`Detail::arg`]) and rendered in the reader's language together with the
    /// reason ([`ReasonCode::render_with_details`]), so a sentence never mixes languages.
    Detail {
    // --- evidence documents ---
    /// The document is not an object with a `findings` array.
    DocumentNotFindings = "detail.document.not_findings" {
        en: "the document must be a JSON object with a findings array",
        de: "das Dokument muss ein JSON-Objekt mit einem Array findings sein"
    }
    /// The document is larger than its bound.
    DocumentTooLarge = "detail.document.too_large" {
        en: "the document is larger than 1 MiB",
        de: "das Dokument ist größer als 1 MiB"
    }
    /// The document has more findings than its bound.
    DocumentTooManyFindings = "detail.document.too_many_findings" {
        en: "the document has more than 10000 findings",
        de: "das Dokument enthält mehr als 10000 Befunde"
    }
    /// A finding (counted from 1) lacks a known severity or a category.
    DocumentBadFinding = "detail.document.bad_finding" {
        en: "finding {finding} needs a severity (critical, high, medium, low, info) and a category",
        de: "Befund {finding} braucht einen Schweregrad (critical, high, medium, low, info) und eine Kategorie"
    }
    /// A finding's (counted from 1) category is not a short lowercase word.
    DocumentBadCategory = "detail.document.bad_category" {
        en: "finding {finding} has a category that is not a short lowercase word",
        de: "die Kategorie von Befund {finding} ist kein kurzes kleingeschriebenes Wort"
    }
    /// A key or string of the document contains U+0000, which PostgreSQL cannot store.
    DocumentNulCharacter = "detail.document.nul_character" {
        en: "the document contains the character U+0000 (\\u0000), which cannot be stored",
        de: "das Dokument enthält das Zeichen U+0000 (\\u0000), das nicht gespeichert werden kann"
    }
    /// The file is not JSON; the position of the first error.
    DocumentNotJson = "detail.document.not_json" {
        en: "not valid JSON (line {line}, column {column})",
        de: "kein gültiges JSON (Zeile {line}, Spalte {column})"
    }
    // --- run input ---
    /// A run's context is not a JSON object.
    RunContextNotObject = "detail.run.context_not_object" {
        en: "the context must be a JSON object",
        de: "der Kontext muss ein JSON-Objekt sein"
    }
    /// A run's context uses a key runproof reserves for itself.
    RunContextReservedKey = "detail.run.context_reserved_key" {
        en: "the context uses a reserved key (reconciliation, completion)",
        de: "der Kontext verwendet einen reservierten Schlüssel (reconciliation, completion)"
    }
    /// A run's context is larger than its bound.
    RunContextTooLarge = "detail.run.context_too_large" {
        en: "the context is larger than 16 KiB",
        de: "der Kontext ist größer als 16 KiB"
    }
    /// A key or string of a run's context contains U+0000.
    RunContextNulCharacter = "detail.run.context_nul_character" {
        en: "the context contains the character U+0000 (\\u0000), which cannot be stored",
        de: "der Kontext enthält das Zeichen U+0000 (\\u0000), das nicht gespeichert werden kann"
    }
    /// An adapter decision without its adapter.
    RunAdapterMissing = "detail.run.adapter_missing" {
        en: "an adapter decision must name its adapter",
        de: "eine Adapter-Entscheidung muss ihren Adapter nennen"
    }
    /// A stale decision that names an adapter.
    RunStaleWithAdapter = "detail.run.stale_with_adapter" {
        en: "a stale decision has no adapter",
        de: "eine Entscheidung über einen hängenden Lauf hat keinen Adapter"
    }
    /// More summary counts than the bound.
    RunTooManySummaryCounts = "detail.run.too_many_summary_counts" {
        en: "too many summary counts",
        de: "zu viele Zählwerte"
    }
    /// A summary key that is not a lowercase word.
    RunSummaryKey = "detail.run.summary_key" {
        en: "summary keys must be lowercase words",
        de: "Schlüssel der Zählwerte müssen kleingeschriebene Wörter sein"
    }
    /// More failure entries than the bound.
    RunTooManyFailures = "detail.run.too_many_failures" {
        en: "too many failure entries",
        de: "zu viele Fehlereinträge"
    }
    /// A failure message that is empty, too long or not one line.
    RunFailureMessage = "detail.run.failure_message" {
        en: "failure messages must be one short line",
        de: "Fehlermeldungen müssen eine kurze Zeile sein"
    }
}
}

/// The placeholder of a reason text that a [`Detail`] fills.
pub const DETAIL: &str = "detail";

impl Detail {
    /// The argument that fills a reason's `{detail}` with this detail (its code; rendered
    /// in the reader's language by [`ReasonCode::render_with_details`]).
    pub fn arg(self) -> (&'static str, String) {
        (DETAIL, self.code().to_string())
    }
}

impl ReasonCode {
    /// The text in `lang` with placeholders filled from `args`, where a `detail`
    /// argument holding a [`Detail`] code is first rendered in `lang` itself (with the
    /// same arguments, for a detail's own placeholders). A `detail` value that is no
    /// code is used as it is.
    pub fn render_with_details(self, lang: crate::lang::Lang, args: &[(&str, &str)]) -> String {
        let rendered: Vec<(&str, String)> = args
            .iter()
            .map(|(name, value)| match value.parse::<Detail>() {
                Ok(detail) if *name == DETAIL => (*name, detail.render(lang, args)),
                _ => (*name, value.to_string()),
            })
            .collect();
        let args: Vec<(&str, &str)> = rendered.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.render(lang, &args)
    }
}

/// An entry of any catalogue generated by [`text_catalogue!`].
pub trait Phrase: Copy {
    /// The text in `lang` with `{name}` placeholders filled from `args`.
    fn render(self, lang: crate::lang::Lang, args: &[(&str, &str)]) -> String;
}

/// See `catalogue_problems` on a catalogue generated by [`text_catalogue!`].
pub fn catalogue_problems<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Vec<String> {
    fn placeholders(text: &str) -> Vec<&str> {
        let mut out: Vec<&str> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        out.sort_unstable();
        out
    }
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (code, en, de) in entries {
        if !seen.insert(code) {
            problems.push(format!("{code}: duplicate code"));
        }
        if en.trim().is_empty() {
            problems.push(format!("{code}: no English text"));
        }
        if de.trim().is_empty() {
            problems.push(format!("{code}: no German text"));
        }
        if en == de {
            problems.push(format!(
                "{code}: the German text is a copy of the English one"
            ));
        }
        if placeholders(en) != placeholders(de) {
            problems.push(format!(
                "{code}: placeholders differ between English and German"
            ));
        }
    }
    problems
}

/// A code string that is not in a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code `{0}`")]
pub struct UnknownCode(pub String);

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;

    #[test]
    fn every_code_has_english_and_german_text_with_the_same_placeholders() {
        assert_eq!(ReasonCode::catalogue_problems(), Vec::<String>::new());
    }

    #[test]
    fn the_catalogue_check_finds_missing_copied_and_mismatched_texts() {
        let problems = catalogue_problems(
            [
                ("a.x", "Text {n}", ""),
                ("a.y", "Same", "Same"),
                ("a.z", "{n}", "{m}"),
                ("a.z", "ok", "gut"),
            ]
            .into_iter(),
        );
        assert_eq!(
            problems,
            vec![
                "a.x: no German text",
                "a.x: placeholders differ between English and German",
                "a.y: the German text is a copy of the English one",
                "a.z: placeholders differ between English and German",
                "a.z: duplicate code",
            ]
        );
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ReasonCode::ALL {
            assert!(seen.insert(code.code()), "duplicate code {code}");
            assert_eq!(code.code().parse::<ReasonCode>(), Ok(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ReasonCode>(&json).unwrap(), *code);
        }
    }

    #[test]
    fn every_detail_has_english_and_german_text_with_the_same_placeholders() {
        assert_eq!(Detail::catalogue_problems(), Vec::<String>::new());
    }

    /// Every reason that takes a detail, with every detail, reads in one language: the
    /// German sentence carries the German detail and no English one.
    #[test]
    fn a_detail_is_rendered_in_the_language_of_its_reason() {
        let takes_detail: Vec<ReasonCode> = ReasonCode::ALL
            .iter()
            .copied()
            .filter(|r| r.template(Lang::En).contains("{detail}"))
            .collect();
        assert!(takes_detail.contains(&ReasonCode::EvidenceInvalid));
        assert!(takes_detail.contains(&ReasonCode::RunInvalidInput));
        for reason in takes_detail {
            for detail in Detail::ALL {
                let (name, code) = detail.arg();
                let args = [
                    (name, code.as_str()),
                    ("finding", "3"),
                    ("line", "1"),
                    ("column", "7"),
                ];
                let en_detail = detail.render(Lang::En, &args);
                let de_detail = detail.render(Lang::De, &args);
                let en = reason.render_with_details(Lang::En, &args);
                let de = reason.render_with_details(Lang::De, &args);
                assert!(en.contains(&en_detail), "{reason}/{detail}: {en}");
                assert!(de.contains(&de_detail), "{reason}/{detail}: {de}");
                assert!(
                    !de.contains(&en_detail),
                    "{reason}/{detail} mixes languages: {de}"
                );
                assert!(!de.contains(detail.code()), "{reason}/{detail}: {de}");
                assert!(
                    !de.contains('{'),
                    "{reason}/{detail} left a placeholder: {de}"
                );
            }
        }
    }

    #[test]
    fn a_detail_that_is_no_code_is_used_as_it_is() {
        assert_eq!(
            ReasonCode::EvidenceInvalid.render_with_details(Lang::En, &[("detail", "odd")]),
            "The evidence file is not valid: odd."
        );
    }

    #[test]
    fn render_fills_named_placeholders() {
        assert_eq!(
            ReasonCode::RunNotFound.render(Lang::De, &[("run", "42")]),
            "Lauf 42 wurde nicht gefunden."
        );
    }

    #[test]
    fn no_text_mentions_sql_or_constraints() {
        for code in ReasonCode::ALL {
            for lang in Lang::ALL {
                let text = code.template(lang).to_lowercase();
                for word in [
                    " sql",
                    "sqlstate",
                    "select ",
                    "insert ",
                    "constraint",
                    "unique",
                    "duplicate key",
                    "violat",
                ] {
                    assert!(!text.contains(word), "{code} ({lang}) mentions {word}");
                }
            }
        }
    }
}
