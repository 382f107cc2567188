//! A stream's history as a timeline: what `runproof history ID` prints (the same
//! document, `cli::history::view`), one entry per event with its place in the log, its
//! time, who caused it, what it means, and — for a decision — its evidence. Each entry
//! has an anchor (`#event-N`, N its number in the stream) to link to, and on a run's
//! page a link to the run as of that event.

use std::collections::HashMap;

use runproof_domain::initiator::Initiator;
use runproof_domain::operation_run::OperationRunEvent;
use runproof_domain::Lang;
use uuid::Uuid;

use super::evidence::{self, short, Fact, Names};
use super::text::ConsoleText;
use super::time;
use crate::cli::history::view;
use crate::cli::text::UiText;
use crate::history::{Decoded, History, StreamKind};

/// Who caused an event, as a page shows it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub text: String,
    /// The whole initiator (`actor:<id>`, `system:<name>`), when `text` is a name.
    pub full: Option<String>,
}

/// One event of the timeline.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its number in the stream (1 for the first event).
    pub n: i64,
    /// Its global position in the log.
    pub position: i64,
    pub time: Option<(String, String)>,
    pub actor: Option<Actor>,
    pub event_type: String,
    pub summary: String,
    /// "stored as version …, shown in its current shape …" for an upcast event.
    pub upcast: Option<String>,
    pub undecodable: bool,
    /// Why the event was not written by runproof's writer (added some other way).
    pub foreign: Option<String>,
    /// A decision's evidence (a reconciliation), as facts.
    pub evidence: Vec<Fact>,
    /// The page of the stream as of this event ("as of here"), where there is one.
    pub as_of: Option<String>,
    /// This is the event an "as of" page shows.
    pub current: bool,
}

impl Entry {
    pub fn anchor(&self) -> String {
        format!("event-{}", self.n)
    }

    pub fn href(&self) -> String {
        format!("#event-{}", self.n)
    }
}

/// A stream the timeline links to.
#[derive(Debug, Clone)]
pub struct Linked {
    pub stream: StreamKind,
    pub href: String,
    pub short: String,
    pub id: String,
}

/// The actors named as initiators in `h` (to look their names up).
pub fn actors_of(h: &History) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = h
        .events
        .iter()
        .filter_map(|e| match e.metadata.as_ref().map(|m| &m.actor) {
            Some(Initiator::Actor(id)) => Some(*id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn actor(initiator: &Initiator, actors: &HashMap<Uuid, String>, lang: Lang) -> Actor {
    match initiator {
        Initiator::Actor(id) => Actor {
            text: actors.get(id).cloned().unwrap_or_else(|| short(*id)),
            full: Some(initiator.to_string()),
        },
        Initiator::System(name) => Actor {
            text: ConsoleText::SystemActor.render(lang, &[("name", name.as_str())]),
            full: None,
        },
    }
}

/// The timeline of `h`, oldest event first.
pub fn entries(
    h: &History,
    names: &Names,
    actors: &HashMap<Uuid, String>,
    lang: Lang,
) -> Vec<Entry> {
    let document = view(h, lang);
    h.events
        .iter()
        .zip(document.events)
        .map(|(recorded, e)| {
            let evidence = match &recorded.decoded {
                Ok(Decoded::Run(OperationRunEvent::RunReconciled(r))) => {
                    evidence::facts(&r.reconciliation.evidence, names, lang)
                }
                _ => Vec::new(),
            };
            let upcast =
                (e.undecodable.is_none() && e.event_version != e.stored_version).then(|| {
                    UiText::HistoryUpcast.render(
                        lang,
                        &[
                            ("stored", e.stored_version.as_str()),
                            ("current", e.event_version.as_str()),
                        ],
                    )
                });
            Entry {
                n: e.sequence,
                position: e.position,
                time: e
                    .metadata
                    .as_ref()
                    .map(|m| (time::exact(m.occurred_at), time::machine(m.occurred_at))),
                actor: e.metadata.as_ref().map(|m| actor(&m.actor, actors, lang)),
                event_type: e.event_type,
                summary: e.summary,
                upcast,
                undecodable: e.undecodable.is_some(),
                foreign: e.foreign.map(|f| f.message),
                evidence,
                as_of: None,
                current: false,
            }
        })
        .collect()
}

/// Gives each entry of run `run_id`'s timeline its "as of here" link
/// (`/runs/{id}?at=POSITION`), and marks the entry at position `current`, if any.
pub fn with_as_of_links(entries: &mut [Entry], run_id: Uuid, current: Option<i64>) {
    for e in entries {
        e.as_of = Some(format!("/runs/{run_id}?at={}", e.position));
        e.current = current == Some(e.position);
    }
}

/// The streams `h` links to, as links to their pages.
pub fn linked(h: &History, stream: StreamKind) -> Vec<Linked> {
    h.links
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| Linked {
            stream: l.stream,
            href: match l.stream {
                StreamKind::Run => format!("/runs/{}", l.id),
                StreamKind::Review => format!("/reviews/{}", l.id),
            },
            short: short(l.id),
            id: l.id.to_string(),
        })
        .collect()
}
