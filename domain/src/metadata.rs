//! The metadata every event carries: who, in answer to what, when, in which schema.
//!
//! cqrs-es stores metadata as a string map; [`EventMetadata`] is its typed form.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::initiator::Initiator;

const ACTOR: &str = "actor";
const CORRELATION_ID: &str = "correlation_id";
const CAUSATION_ID: &str = "causation_id";
const OCCURRED_AT: &str = "occurred_at";
const SCHEMA_VERSION: &str = "schema_version";

/// Typed event metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Who caused the event.
    pub actor: Initiator,
    /// Shared by every event that answers one request (one CLI call, one reconciler pass).
    pub correlation_id: Uuid,
    /// The message that directly caused this event (the command id).
    pub causation_id: Uuid,
    /// When the event happened, by the writer's clock.
    pub occurred_at: DateTime<Utc>,
    /// The event's schema version (the same as its `event_version`).
    pub schema_version: String,
}

/// The request context a command is executed in; becomes the event metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: Initiator,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
}

impl CommandContext {
    /// A fresh context for a new request: correlation and causation ids are new.
    pub fn new(actor: Initiator) -> Self {
        let id = Uuid::new_v4();
        CommandContext {
            actor,
            correlation_id: id,
            causation_id: id,
        }
    }

    /// A context for a follow-up command in the same request (same correlation id,
    /// new causation id).
    pub fn follow_up(&self) -> Self {
        CommandContext {
            actor: self.actor.clone(),
            correlation_id: self.correlation_id,
            causation_id: Uuid::new_v4(),
        }
    }

    /// The metadata for an event of `schema_version` written at `occurred_at`.
    pub fn metadata(&self, occurred_at: DateTime<Utc>, schema_version: &str) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            occurred_at,
            schema_version: schema_version.to_string(),
        }
    }
}

/// A metadata map lacks a field or holds a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event metadata field `{0}` is missing or malformed")]
pub struct InvalidMetadata(pub &'static str);

impl EventMetadata {
    /// The string map cqrs-es persists.
    pub fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            (ACTOR.into(), self.actor.to_string()),
            (CORRELATION_ID.into(), self.correlation_id.to_string()),
            (CAUSATION_ID.into(), self.causation_id.to_string()),
            (OCCURRED_AT.into(), self.occurred_at.to_rfc3339()),
            (SCHEMA_VERSION.into(), self.schema_version.clone()),
        ])
    }

    /// The string map of [`EventMetadata::to_map`] as JSON text, written without building
    /// the map (an append serialises it for every event it writes).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        #[derive(Serialize)]
        struct Map<'a> {
            actor: String,
            correlation_id: Uuid,
            causation_id: Uuid,
            occurred_at: String,
            schema_version: &'a str,
        }
        serde_json::to_string(&Map {
            actor: self.actor.to_string(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            occurred_at: self.occurred_at.to_rfc3339(),
            schema_version: &self.schema_version,
        })
    }

    /// Reads the string map back.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, InvalidMetadata> {
        fn field<'a>(
            map: &'a HashMap<String, String>,
            key: &'static str,
        ) -> Result<&'a str, InvalidMetadata> {
            map.get(key).map(String::as_str).ok_or(InvalidMetadata(key))
        }
        Ok(EventMetadata {
            actor: field(map, ACTOR)?
                .parse()
                .map_err(|_| InvalidMetadata(ACTOR))?,
            correlation_id: field(map, CORRELATION_ID)?
                .parse()
                .map_err(|_| InvalidMetadata(CORRELATION_ID))?,
            causation_id: field(map, CAUSATION_ID)?
                .parse()
                .map_err(|_| InvalidMetadata(CAUSATION_ID))?,
            occurred_at: DateTime::parse_from_rfc3339(field(map, OCCURRED_AT)?)
                .map_err(|_| InvalidMetadata(OCCURRED_AT))?
                .with_timezone(&Utc),
            schema_version: field(map, SCHEMA_VERSION)?.to_string(),
        })
    }
}

/// Why an event's metadata is not what runproof's writer writes. The writer writes
/// exactly [`EventMetadata::to_map`] of its typed metadata, with `schema_version` the
/// event's own version; anything else — a missing, extra or differently spelled field,
/// another version — was written some other way (plain SQL, another program).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForeignMetadata {
    /// Not a JSON object of strings.
    #[error("the metadata is not a map of strings")]
    NotAMap,
    /// A field the writer always writes is missing or malformed.
    #[error("field `{}` is missing or malformed", .0 .0)]
    Invalid(InvalidMetadata),
    /// A field the writer never writes, or one spelled otherwise than it writes it.
    #[error("field `{0}` is not as runproof writes it")]
    NotAsWritten(String),
    /// `schema_version` is not the event's stored version.
    #[error("schema_version `{recorded}` is not the event's version `{stored}`")]
    VersionMismatch { recorded: String, stored: String },
}

impl ForeignMetadata {
    /// The field that is not as runproof writes it (`metadata` for the whole).
    pub fn field(&self) -> &str {
        match self {
            ForeignMetadata::NotAMap => "metadata",
            ForeignMetadata::Invalid(InvalidMetadata(field)) => field,
            ForeignMetadata::NotAsWritten(field) => field,
            ForeignMetadata::VersionMismatch { .. } => SCHEMA_VERSION,
        }
    }
}

impl EventMetadata {
    /// Reads an event's stored metadata (its JSON text) as runproof's writer writes it,
    /// and only so: the typed metadata, or why it is foreign. `event_version` is the
    /// version the event was stored in.
    pub fn as_written(metadata: &str, event_version: &str) -> Result<Self, ForeignMetadata> {
        let map: HashMap<String, String> =
            serde_json::from_str(metadata).map_err(|_| ForeignMetadata::NotAMap)?;
        let typed = EventMetadata::from_map(&map).map_err(ForeignMetadata::Invalid)?;
        let written = typed.to_map();
        let mut keys: Vec<&String> = map.keys().chain(written.keys()).collect();
        keys.sort();
        if let Some(key) = keys.into_iter().find(|k| map.get(*k) != written.get(*k)) {
            return Err(ForeignMetadata::NotAsWritten(key.clone()));
        }
        if typed.schema_version != event_version {
            return Err(ForeignMetadata::VersionMismatch {
                recorded: typed.schema_version,
                stored: event_version.to_string(),
            });
        }
        Ok(typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written() -> String {
        let meta = CommandContext::new(Initiator::system("worker")).metadata(Utc::now(), "1.0");
        serde_json::to_string(&meta.to_map()).unwrap()
    }

    #[test]
    fn metadata_as_the_writer_writes_it_is_read_back() {
        let text = written();
        let meta = EventMetadata::as_written(&text, "1.0").unwrap();
        assert_eq!(
            serde_json::to_string(&meta.to_map()).ok().map(|t| t.len()),
            Some(text.len())
        );
    }

    #[test]
    fn metadata_written_some_other_way_is_foreign_and_says_why() {
        assert_eq!(
            EventMetadata::as_written("{}", "1.0"),
            Err(ForeignMetadata::Invalid(InvalidMetadata("actor")))
        );
        assert_eq!(
            EventMetadata::as_written("[1]", "1.0"),
            Err(ForeignMetadata::NotAMap)
        );
        assert_eq!(
            EventMetadata::as_written(&written(), "2.0"),
            Err(ForeignMetadata::VersionMismatch {
                recorded: "1.0".into(),
                stored: "2.0".into()
            })
        );
        let mut map: HashMap<String, String> = serde_json::from_str(&written()).unwrap();
        map.insert("note".into(), "added by hand".into());
        assert_eq!(
            EventMetadata::as_written(&serde_json::to_string(&map).unwrap(), "1.0"),
            Err(ForeignMetadata::NotAsWritten("note".into()))
        );
        // A time in another spelling of the same instant is not how the writer writes it.
        let mut map: HashMap<String, String> = serde_json::from_str(&written()).unwrap();
        map.insert("occurred_at".into(), "2026-01-01T00:00:00Z".into());
        assert_eq!(
            EventMetadata::as_written(&serde_json::to_string(&map).unwrap(), "1.0"),
            Err(ForeignMetadata::NotAsWritten("occurred_at".into()))
        );
    }

    #[test]
    fn the_json_text_is_the_string_map_and_reads_back_as_written() {
        let ctx = CommandContext::new(Initiator::system("worker"));
        let meta = ctx.metadata(Utc::now(), "2.1");
        let text = meta.to_json().unwrap();
        let map: HashMap<String, String> = serde_json::from_str(&text).unwrap();
        assert_eq!(map, meta.to_map());
        assert_eq!(EventMetadata::as_written(&text, "2.1"), Ok(meta));
    }

    #[test]
    fn metadata_round_trips_through_the_string_map() {
        let ctx = CommandContext::new(Initiator::system("worker"));
        let meta = ctx.metadata(Utc::now(), "1.0");
        assert_eq!(EventMetadata::from_map(&meta.to_map()), Ok(meta));
    }

    #[test]
    fn a_follow_up_keeps_the_correlation_and_changes_the_causation() {
        let ctx = CommandContext::new(Initiator::system("worker"));
        let next = ctx.follow_up();
        assert_eq!(next.correlation_id, ctx.correlation_id);
        assert_ne!(next.causation_id, ctx.causation_id);
    }

    #[test]
    fn a_missing_field_is_named() {
        let mut map = CommandContext::new(Initiator::system("worker"))
            .metadata(Utc::now(), "1.0")
            .to_map();
        map.remove("occurred_at");
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(InvalidMetadata("occurred_at"))
        );
    }
}
