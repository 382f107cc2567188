//! Schema evolution: the one place that knows how an event stored in an older shape
//! becomes its current shape.
//!
//! Every event type starts at version `1.0`. A change that only adds an optional field
//! keeps the version; any other change bumps it and adds **one entry** to [`UPCASTERS`]:
//! the event type, the version the step produces, and a pure function that rewrites the
//! event's body from the previous shape. That entry is all there is to it:
//!
//! - [`current_version`] is the highest version the entries name for an event type
//!   (`1.0` without entries), so an event type whose `DomainEvent::event_version` asks
//!   this module (the run events do) is written at its new version at once;
//! - [`upcast`] applies the entries in order to a stored event and refuses one written
//!   by a newer build; [`decode`] upcasts and deserialises in one call — the projector,
//!   the event store's aggregate loads, the lifecycle's reconciliation loads and
//!   `runproof history` all decode through it.
//!
//! Event type names are unique across aggregates (an entry is keyed by the name alone).
//! Entries of one event type are listed in ascending version order; a test checks both.

use std::str::FromStr;

use cqrs_es::persist::SemanticVersion;
use cqrs_es::DomainEvent;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::actor;
use crate::environment;
use crate::operation_run;
use crate::reason::ReasonCode;

/// The version every event type starts at.
pub const BASE_VERSION: &str = "1.0";

/// The body of an event: the object inside cqrs-es's externally tagged payload
/// (`{"RunCompleted": {…}}`).
pub type Body = Map<String, Value>;

/// One step of an event type's evolution.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    /// The event type this step rewrites.
    pub event_type: &'static str,
    /// The version this step produces; stored events of the type below it go through it.
    pub to_version: &'static str,
    /// Rewrites the body from the shape before `to_version` into the shape of
    /// `to_version`. Pure; an `Err` names what was missing (it is logged, never shown
    /// with data).
    pub upcast: fn(Body) -> Result<Body, &'static str>,
}

/// Every upcaster, oldest first within each event type. Adding a version of an event is
/// adding its entry here.
pub const UPCASTERS: &[Upcaster] = &[
    // RunCompleted 1.1: every completion by a job carries its note (the reason it ended
    // that way); 1.0 events without one get the note the completion implied.
    Upcaster {
        event_type: "RunCompleted",
        to_version: "1.1",
        upcast: operation_run::run_completed_1_1,
    },
    // EvidenceSnapshotCaptured 2.0: the document moved out of the event into the
    // content-addressed evidence document store; the event keeps its hash.
    Upcaster {
        event_type: "EvidenceSnapshotCaptured",
        to_version: "2.0",
        upcast: environment::evidence_snapshot_captured_2_0,
    },
    // ActorCreated 2.0: an actor is created with a kind (member or service) and whether
    // it holds the operator role; actors recorded before are plain members.
    Upcaster {
        event_type: "ActorCreated",
        to_version: "2.0",
        upcast: actor::actor_created_2_0,
    },
];

/// Why a stored event cannot be read in its current shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The stored version is not a version number.
    #[error("event version `{version}` is not a version number")]
    InvalidVersion { version: String },
    /// A newer build wrote the event; this build does not know its shape. Upgrade.
    #[error("event version {version} is newer than this build knows ({known})")]
    NewerThanKnown {
        version: String,
        known: &'static str,
    },
    /// An upcaster could not rewrite the stored body.
    #[error("upcasting to version {to} failed: {reason}")]
    Upcast {
        to: &'static str,
        reason: &'static str,
    },
    /// The payload does not match the event's type at its current version.
    #[error("the payload does not match its type: {reason}")]
    Payload { reason: String },
    /// The payload holds another event than the stored type names.
    #[error("the payload holds a {decoded} event, stored as {stored}")]
    TypeMismatch { stored: String, decoded: String },
    /// The event type writes another version than this registry knows: an upcaster is
    /// missing here or the event's `event_version` was not updated with it.
    #[error(
        "the {event_type} event is written at version {written}, the registry says {registry}"
    )]
    NotCurrent {
        event_type: String,
        written: String,
        registry: &'static str,
    },
}

impl DecodeError {
    /// The catalogued reason an operator reads.
    pub fn reason(&self) -> ReasonCode {
        match self {
            DecodeError::NewerThanKnown { .. } => ReasonCode::EventVersionUnknown,
            _ => ReasonCode::EventUndecodable,
        }
    }

    /// The values for the reason's placeholders (`{event}`, `{version}`, `{known}`).
    pub fn reason_args(&self, event_type: &str, version: &str) -> Vec<(&'static str, String)> {
        let known = match self {
            DecodeError::NewerThanKnown { known, .. } => known.to_string(),
            _ => current_version(event_type).to_string(),
        };
        vec![
            ("event", event_type.to_string()),
            ("version", version.to_string()),
            ("known", known),
        ]
    }
}

/// An event in its current shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Upcasted {
    pub event_version: String,
    pub payload: Value,
}

fn version(v: &str) -> Result<SemanticVersion, DecodeError> {
    SemanticVersion::from_str(v).map_err(|_| DecodeError::InvalidVersion {
        version: v.to_string(),
    })
}

fn steps(event_type: &str) -> impl Iterator<Item = &'static Upcaster> + '_ {
    UPCASTERS.iter().filter(move |u| u.event_type == event_type)
}

/// The version events of `event_type` are written at by this build.
pub fn current_version(event_type: &str) -> &'static str {
    steps(event_type)
        .last()
        .map_or(BASE_VERSION, |u| u.to_version)
}

/// Whether an event stored at `event_version` is not in its current shape (older, newer
/// or not a version at all).
pub fn needs_upcast(event_type: &str, event_version: &str) -> bool {
    event_version != current_version(event_type)
}

/// Brings a stored event to its current shape: applies every upcaster of its type newer
/// than the stored version, in order. An event from a newer build is refused.
pub fn upcast(
    event_type: &str,
    event_version: &str,
    mut payload: Value,
) -> Result<Upcasted, DecodeError> {
    let stored = version(event_version)?;
    let known = current_version(event_type);
    if stored.supersedes(&version(known)?) {
        return Err(DecodeError::NewerThanKnown {
            version: event_version.to_string(),
            known,
        });
    }
    let mut at = stored;
    let mut at_label = event_version.to_string();
    for step in steps(event_type) {
        let to = version(step.to_version)?;
        if !to.supersedes(&at) {
            continue;
        }
        let body = payload
            .get_mut(event_type)
            .and_then(Value::as_object_mut)
            .map(std::mem::take)
            .ok_or(DecodeError::Upcast {
                to: step.to_version,
                reason: "the payload has no body under its event type",
            })?;
        let body = (step.upcast)(body).map_err(|reason| DecodeError::Upcast {
            to: step.to_version,
            reason,
        })?;
        payload = Value::Object(Map::from_iter([(
            event_type.to_string(),
            Value::Object(body),
        )]));
        at = to;
        at_label = step.to_version.to_string();
    }
    Ok(Upcasted {
        event_version: at_label,
        payload,
    })
}

/// Decodes a stored event (its payload as stored JSON text) into its current shape,
/// and checks that the payload holds the event type it is stored as.
pub fn decode<E: DomainEvent + DeserializeOwned>(
    event_type: &str,
    event_version: &str,
    payload: &str,
) -> Result<E, DecodeError> {
    let payload_error = |e: serde_json::Error| DecodeError::Payload {
        reason: e.to_string(),
    };
    let event: E = if needs_upcast(event_type, event_version) {
        let raw: Value = serde_json::from_str(payload).map_err(payload_error)?;
        let current = upcast(event_type, event_version, raw)?;
        serde_json::from_value(current.payload).map_err(payload_error)?
    } else {
        // The common case: already current, decoded straight from the text.
        serde_json::from_str(payload).map_err(payload_error)?
    };
    if event.event_type() != event_type {
        return Err(DecodeError::TypeMismatch {
            stored: event_type.to_string(),
            decoded: event.event_type(),
        });
    }
    let registry = current_version(event_type);
    let written = event.event_version();
    if written != registry && version(&written)? != version(registry)? {
        return Err(DecodeError::NotCurrent {
            event_type: event_type.to_string(),
            written,
            registry,
        });
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation_run::{OperationRunEvent, RunStarted};
    use serde_json::json;

    #[test]
    fn every_event_type_lists_its_upcasters_in_ascending_version_order() {
        for u in UPCASTERS {
            let mut previous = version(BASE_VERSION).unwrap();
            for step in steps(u.event_type) {
                let next = version(step.to_version).unwrap();
                assert!(
                    next.supersedes(&previous),
                    "{} {} is listed out of order",
                    step.event_type,
                    step.to_version
                );
                previous = next;
            }
        }
    }

    #[test]
    fn an_event_type_without_upcasters_is_at_the_base_version() {
        assert_eq!(current_version("RunStarted"), "1.0");
        assert!(!needs_upcast("RunStarted", "1.0"));
        assert_eq!(current_version("RunCompleted"), "1.1");
        assert!(needs_upcast("RunCompleted", "1.0"));
    }

    #[test]
    fn a_current_event_passes_through_unchanged() {
        let payload = json!({"RunStarted": {"started_at": "2026-01-01T00:00:00Z"}});
        assert_eq!(
            upcast("RunStarted", "1.0", payload.clone()),
            Ok(Upcasted {
                event_version: "1.0".into(),
                payload
            })
        );
    }

    #[test]
    fn an_event_from_a_newer_build_is_refused_with_its_version() {
        let err = upcast("RunStarted", "9.0", json!({"RunStarted": {}})).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NewerThanKnown {
                version: "9.0".into(),
                known: "1.0"
            }
        );
        assert_eq!(err.reason(), ReasonCode::EventVersionUnknown);
    }

    #[test]
    fn a_version_that_is_not_a_number_is_refused() {
        assert_eq!(
            upcast("RunStarted", "latest", json!({})),
            Err(DecodeError::InvalidVersion {
                version: "latest".into()
            })
        );
    }

    #[test]
    fn decode_refuses_a_payload_that_holds_another_event_than_it_is_stored_as() {
        let payload = json!({"RunStarted": {"started_at": "2026-01-01T00:00:00Z"}}).to_string();
        let err = decode::<OperationRunEvent>("RunQueued", "1.0", &payload).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TypeMismatch {
                stored: "RunQueued".into(),
                decoded: "RunStarted".into()
            }
        );
        assert_eq!(err.reason(), ReasonCode::EventUndecodable);
    }

    #[test]
    fn decode_reads_a_current_event() {
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let event = OperationRunEvent::RunStarted(RunStarted { started_at: t });
        let payload = serde_json::to_string(&event).unwrap();
        assert_eq!(
            decode::<OperationRunEvent>("RunStarted", "1.0", &payload),
            Ok(event)
        );
    }
}
