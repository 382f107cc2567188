//! The wire format: a stored event as a CloudEvents 1.0 event in the JSON format.
//!
//! | attribute | value |
//! |---|---|
//! | `specversion` | `1.0` |
//! | `id` | the event id ([`event_id`]): stable, derived from the stream and sequence |
//! | `source` | `runproof/<origin>` (the installation, [`Origin`]) |
//! | `type` | `runproof.<aggregate type>.<event type>.v<stored version>` |
//! | `subject` | the aggregate id (the stream) |
//! | `time` | when it happened (the metadata's `occurred_at`) |
//! | `datacontenttype` | `application/json` |
//! | `data` | the event's body as recorded, never upcast (its version is in `type`) |
//! | `position` | extension: the global log position (a decimal string) |
//! | `sequence` | extension: the event's sequence in its stream (a decimal string) |
//! | `cursor` | extension: the commit-order cursor to resume after this event |
//! | `workspace` | extension: the workspace it belongs to; absent for the platform's events |
//! | `withheld` | extension: body fields withheld from the feed (comma-separated), if any |
//! | `leafindex` | extension: the event's leaf index in the audit log (a decimal string); absent until the sequencer has placed it |
//! | `leafhash` | extension: the event's RFC 6962 leaf hash (lowercase hex); absent until the sequencer has placed it |
//!
//! CloudEvents integers are 32-bit, so the 64-bit position and sequence travel as strings.
//! docs/feed.md shows an example of every event type; a test parses each.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use runproof_domain::event_catalogue;
use runproof_projections::log::StoredEvent;
use runproof_projections::scoped_log::PlacedEvent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use uuid::Uuid;

use super::cursor::Cursor;

/// The CloudEvents version runproof speaks.
pub const SPEC_VERSION: &str = "1.0";

/// The media type of `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";

/// The namespace of event ids (UUID version 5 of `https://runproof.dev/events`).
pub fn event_id_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://runproof.dev/events")
}

/// The id of the event at `sequence` of the stream `aggregate_type`/`aggregate_id`: a
/// UUID version 5 in [`event_id_namespace`] of `<aggregate type>/<aggregate id>/<sequence>`.
///
/// The event store keys every event by exactly this triple (and never rewrites it), so
/// the id is the same in every read, on every server, after every rebuild — a consumer
/// deduplicates by it, and can compute it from `type`, `subject` and `sequence`.
pub fn event_id(aggregate_type: &str, aggregate_id: &str, sequence: i64) -> Uuid {
    Uuid::new_v5(
        &event_id_namespace(),
        format!("{aggregate_type}/{aggregate_id}/{sequence}").as_bytes(),
    )
}

/// Who publishes: the `<origin>` of `source` (`runproof/<origin>`), naming the
/// installation. 1 to 64 characters of `A–Z a–z 0–9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `source` attribute: `runproof/<origin>`.
    pub fn source(&self) -> String {
        format!("runproof/{}", self.0)
    }
}

impl Default for Origin {
    /// `default`, for an installation that names none.
    fn default() -> Self {
        Origin("default".to_string())
    }
}

/// An origin that is empty, too long, or has characters other than `A–Z a–z 0–9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an origin is 1 to 64 characters of A-Z a-z 0-9 . _ -")]
pub struct InvalidOrigin;

impl FromStr for Origin {
    type Err = InvalidOrigin;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Origin(s.to_string())).ok_or(InvalidOrigin)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event on the wire (serialises to the CloudEvents JSON format; reads it back).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: Uuid,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    pub datacontenttype: String,
    /// The body exactly as recorded (its text, not re-encoded).
    pub data: Box<RawValue>,
    pub position: String,
    pub sequence: String,
    pub cursor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leafindex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leafhash: Option<String>,
}

/// `runproof.<aggregate type>.<event type>.v<version>`.
pub fn type_name(aggregate_type: &str, event_type: &str, event_version: &str) -> String {
    format!("runproof.{aggregate_type}.{event_type}.v{event_version}")
}

impl CloudEvent {
    /// The CloudEvent of a stored event placed in its workspace.
    pub fn of(placed: &PlacedEvent, origin: &Origin) -> CloudEvent {
        let e = &placed.event;
        let (data, withheld) = data_of(e);
        CloudEvent {
            specversion: SPEC_VERSION.to_string(),
            id: event_id(&e.aggregate_type, &e.aggregate_id, e.sequence),
            source: origin.source(),
            event_type: type_name(&e.aggregate_type, &e.event_type, &e.event_version),
            subject: e.aggregate_id.clone(),
            time: occurred_at(&e.metadata),
            datacontenttype: DATA_CONTENT_TYPE.to_string(),
            data,
            position: e.at.position.to_string(),
            sequence: e.sequence.to_string(),
            cursor: Cursor::at(e.at).encode(),
            workspace: placed.workspace_id,
            withheld: (!withheld.is_empty()).then(|| withheld.join(",")),
            leafindex: placed.leaf.map(|l| l.index.to_string()),
            leafhash: placed.leaf.map(|l| hex::encode(l.hash)),
        }
    }

    /// The event as one line of JSON (an SSE `data:` line, a message body).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and already valid JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// When the event happened, from its metadata (`occurred_at`), if it says. Only that
/// field is read; the rest of the metadata is skipped, not built.
fn occurred_at(metadata: &str) -> Option<DateTime<Utc>> {
    #[derive(Deserialize)]
    struct Metadata<'a> {
        #[serde(borrow)]
        occurred_at: Option<Cow<'a, str>>,
    }
    let at = serde_json::from_str::<Metadata>(metadata)
        .ok()?
        .occurred_at?;
    DateTime::parse_from_rfc3339(&at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The event's body as recorded — the object inside the externally tagged payload
/// (`{"RunQueued": {…}}`) — with the catalogue's withheld fields taken out, and the
/// names of those taken out. A payload of another shape is passed on whole.
fn data_of(e: &StoredEvent) -> (Box<RawValue>, Vec<&'static str>) {
    let whole = || raw(&e.payload);
    // Borrowed: the body is copied once, below, not parsed into values.
    let tagged: Option<BTreeMap<Cow<'_, str>, &RawValue>> = serde_json::from_str(&e.payload).ok();
    let body = match tagged {
        Some(map) if map.len() == 1 => match map.get(e.event_type.as_str()) {
            Some(body) => (*body).to_owned(),
            None => return (whole(), vec![]),
        },
        _ => return (whole(), vec![]),
    };
    let withheld = event_catalogue::withheld_fields(&e.event_type);
    if withheld.is_empty() {
        return (one_line(body), vec![]);
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(body.get()) else {
        return (one_line(body), vec![]);
    };
    let taken: Vec<&'static str> = withheld
        .iter()
        .copied()
        .filter(|f| fields.remove(*f).is_some())
        .collect();
    (raw(&Value::Object(fields).to_string()), taken)
}

/// Raw JSON without line breaks between tokens (JSON strings never hold raw ones), so
/// an event is always one line.
fn one_line(body: Box<RawValue>) -> Box<RawValue> {
    if body.get().contains(['\n', '\r']) {
        match serde_json::from_str::<Value>(body.get()) {
            Ok(v) => raw(&v.to_string()),
            Err(_) => body,
        }
    } else {
        body
    }
}

fn raw(json: &str) -> Box<RawValue> {
    // Only ever given valid JSON; `null` would stand for anything else.
    RawValue::from_string(json.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use runproof_projections::LogPosition;

    fn stored(event_type: &str, payload: &str) -> PlacedEvent {
        PlacedEvent {
            event: StoredEvent {
                at: LogPosition {
                    transaction_id: 900,
                    position: 42,
                },
                aggregate_type: "api_token".into(),
                aggregate_id: "0b5e3c9e-8f0a-4c1e-9a57-3f2d1c0b9a88".into(),
                sequence: 1,
                event_type: event_type.into(),
                event_version: "1.0".into(),
                payload: payload.into(),
                metadata: r#"{"actor":"system:cli","occurred_at":"2026-01-01T00:00:00.000001Z"}"#
                    .into(),
                recorded_at: None,
            },
            workspace_id: None,
            leaf: None,
        }
    }

    #[test]
    fn an_event_becomes_a_cloudevent_with_its_body_as_data() {
        let e = stored(
            "ApiTokenRevoked",
            r#"{"ApiTokenRevoked":{"revoked_at":"2026-01-01T00:00:00Z"}}"#,
        );
        let ce = CloudEvent::of(&e, &"eu-1".parse().unwrap());
        let json: Value = serde_json::from_str(&ce.to_json()).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["source"], "runproof/eu-1");
        assert_eq!(json["type"], "runproof.api_token.ApiTokenRevoked.v1.0");
        assert_eq!(json["subject"], "0b5e3c9e-8f0a-4c1e-9a57-3f2d1c0b9a88");
        assert_eq!(json["time"], "2026-01-01T00:00:00.000001Z");
        assert_eq!(json["data"]["revoked_at"], "2026-01-01T00:00:00Z");
        assert_eq!(json["position"], "42");
        assert_eq!(json["sequence"], "1");
        assert!(json.get("workspace").is_none() && json.get("withheld").is_none());
        assert!(json.get("leafindex").is_none() && json.get("leafhash").is_none());
        assert_eq!(
            Cursor::decode(json["cursor"].as_str().unwrap()).map(|c| c.position()),
            Ok(e.event.at)
        );
        assert_eq!(
            json["id"],
            event_id("api_token", "0b5e3c9e-8f0a-4c1e-9a57-3f2d1c0b9a88", 1).to_string()
        );
    }

    #[test]
    fn a_sequenced_event_carries_its_leaf_index_and_hash() {
        let mut e = stored(
            "ApiTokenRevoked",
            r#"{"ApiTokenRevoked":{"revoked_at":"2026-01-01T00:00:00Z"}}"#,
        );
        e.leaf = Some(runproof_projections::scoped_log::SequencedLeaf {
            index: 41,
            hash: [0xab; 32],
        });
        let json: Value =
            serde_json::from_str(&CloudEvent::of(&e, &Origin::default()).to_json()).unwrap();
        assert_eq!(json["leafindex"], "41");
        assert_eq!(json["leafhash"], "ab".repeat(32));
    }

    #[test]
    fn the_event_id_is_stable_and_names_one_event() {
        let a = event_id("operation_run", "x", 1);
        assert_eq!(a, event_id("operation_run", "x", 1));
        assert_ne!(a, event_id("operation_run", "x", 2));
        assert_ne!(a, event_id("restore", "x", 1));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn a_tokens_digest_never_leaves_the_engine() {
        let e = stored(
            "ApiTokenIssued",
            r#"{"ApiTokenIssued":{"token_id":"t","secret_sha256":"ab12","name":null}}"#,
        );
        let line = CloudEvent::of(&e, &Origin::default()).to_json();
        let json: Value = serde_json::from_str(&line).unwrap();
        assert!(json["data"].get("secret_sha256").is_none());
        assert!(!line.contains("ab12"));
        assert_eq!(json["withheld"], "secret_sha256");
        assert_eq!(json["data"]["token_id"], "t");
    }

    #[test]
    fn data_keeps_the_recorded_text_and_stays_on_one_line() {
        let e = stored(
            "ApiTokenRevoked",
            "{\"ApiTokenRevoked\":\n {\"n\": 1.0e16,\n \"revoked_at\": \"x\"}}",
        );
        let line = CloudEvent::of(&e, &Origin::default()).to_json();
        assert!(!line.contains('\n'));
        let kept = stored("ApiTokenRevoked", r#"{"ApiTokenRevoked":{"n":1.0e16}}"#);
        assert!(CloudEvent::of(&kept, &Origin::default())
            .to_json()
            .contains(r#""data":{"n":1.0e16}"#));
    }

    #[test]
    fn an_origin_is_a_short_plain_name() {
        assert_eq!(Origin::default().source(), "runproof/default");
        assert!("prod-eu.1_a".parse::<Origin>().is_ok());
        for bad in ["", "a/b", "ä", "a b", &"x".repeat(65)] {
            assert_eq!(bad.parse::<Origin>(), Err(InvalidOrigin), "{bad}");
        }
    }
}
