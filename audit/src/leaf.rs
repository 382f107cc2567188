//! The leaf encoding: the exact bytes an event contributes to the Merkle tree.
//!
//! ```text
//! leaf bytes = str("runproof.leaf.v1")
//!            ‖ str(aggregate_type) ‖ str(aggregate_id) ‖ i64(sequence)
//!            ‖ str(event_type) ‖ str(event_version)
//!            ‖ str(JCS(payload)) ‖ str(JCS(metadata))
//!            ‖ recorded_at
//! str(s)      = u32 big-endian byte length of s ‖ the UTF-8 bytes of s
//! i64(n)      = n as 8 bytes, big-endian two's complement
//! recorded_at = 0x00                               when the event has no recorded time
//!             | 0x01 ‖ i64(microseconds since 1970-01-01T00:00:00Z)
//! JCS(j)      = the RFC 8785 canonical form of the JSON text j
//! leaf hash   = SHA-256(0x00 ‖ leaf bytes)         (RFC 6962 §2.1)
//! ```
//!
//! Every variable-length field carries its length, so no two different events have the
//! same bytes. Payload and metadata are compared as JSON values, not as text: whitespace
//! and key order do not matter, every value does. RFC 8785 assumes I-JSON input; for
//! JSON beyond it, the leaf keeps what every reader of the stored JSON (serde,
//! PostgreSQL) sees: of duplicate object keys the last one counts, and numbers are
//! IEEE doubles, so two integers beyond 2^53 that round to the same double are one
//! value (runproof's own events carry no such numbers). docs/audit.md has a worked
//! example, recomputed by a test.

use crate::tree::{self, Hash};

/// The first field of every leaf: names this encoding, so that a later one can never
/// produce the same bytes.
pub const LEAF_FORMAT: &str = "runproof.leaf.v1";

/// Everything that makes one event, as the log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafEvent<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    /// The payload's JSON text.
    pub payload: &'a str,
    /// The metadata's JSON text.
    pub metadata: &'a str,
    /// When the database recorded the event, in microseconds since the Unix epoch
    /// (`None` for events recorded before runproof stored that time).
    pub recorded_at_micros: Option<i64>,
}

/// Why an event has no leaf encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The payload is not JSON that can be canonicalised (for example a number beyond
    /// the range of a double).
    #[error("the payload is not canonicalisable JSON")]
    Payload,
    /// The metadata is not JSON that can be canonicalised.
    #[error("the metadata is not canonicalisable JSON")]
    Metadata,
    /// A field is longer than 4 GiB (its length does not fit the length prefix).
    #[error("a field is too long to encode")]
    TooLong,
}

/// The RFC 8785 canonical form of a JSON text (`None` if it is not canonicalisable).
///
/// Written straight from the parsed value (checked against `serde_jcs`, the reference,
/// on random JSON in the tests): object members sorted by the UTF-16 code units of their
/// names, no whitespace, strings escaped as ECMAScript's `JSON.stringify` does (`\"`,
/// `\\`, `\b \f \n \r \t`, other controls as `\u00xx`, everything else as is),
/// every number as an IEEE double in ECMAScript's `Number.prototype.toString` form.
pub fn canonical_json(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = String::with_capacity(text.len());
    write_canonical(&value, &mut out)?;
    Some(out)
}

/// Appends the RFC 8785 form of `value` (`None` for a number that is not a finite double).
/// The depth is bounded by the JSON parser's (128).
fn write_canonical(value: &serde_json::Value, out: &mut String) -> Option<()> {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let f = n.as_f64().filter(|f| f.is_finite())?;
            out.push_str(ryu_js::Buffer::new().format_finite(f));
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_canonical(member, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

fn write_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The leaf bytes of `event` (see the module documentation).
pub fn leaf_bytes(event: &LeafEvent<'_>) -> Result<Vec<u8>, LeafError> {
    let payload = canonical_json(event.payload).ok_or(LeafError::Payload)?;
    let metadata = canonical_json(event.metadata).ok_or(LeafError::Metadata)?;
    let mut out = Vec::with_capacity(
        64 + event.aggregate_type.len()
            + event.aggregate_id.len()
            + event.event_type.len()
            + payload.len()
            + metadata.len(),
    );
    put_str(&mut out, LEAF_FORMAT)?;
    put_str(&mut out, event.aggregate_type)?;
    put_str(&mut out, event.aggregate_id)?;
    out.extend_from_slice(&event.sequence.to_be_bytes());
    put_str(&mut out, event.event_type)?;
    put_str(&mut out, event.event_version)?;
    put_str(&mut out, &payload)?;
    put_str(&mut out, &metadata)?;
    match event.recorded_at_micros {
        None => out.push(0x00),
        Some(micros) => {
            out.push(0x01);
            out.extend_from_slice(&micros.to_be_bytes());
        }
    }
    Ok(out)
}

/// The leaf hash of `event`: `SHA-256(0x00 ‖ leaf bytes)`.
pub fn leaf_hash(event: &LeafEvent<'_>) -> Result<Hash, LeafError> {
    Ok(tree::record_hash(&leaf_bytes(event)?))
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), LeafError> {
    let len = u32::try_from(s.len()).map_err(|_| LeafError::TooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event<'a>(payload: &'a str, metadata: &'a str) -> LeafEvent<'a> {
        LeafEvent {
            aggregate_type: "operation_run",
            aggregate_id: "run-1",
            sequence: 1,
            event_type: "RunStarted",
            event_version: "1.0",
            payload,
            metadata,
            recorded_at_micros: Some(1_767_225_600_000_000),
        }
    }

    #[test]
    fn rfc_8785_examples_canonicalise_as_the_rfc_shows() {
        // RFC 8785 §3.2.2 (values) and §3.2.3 (sorting by UTF-16 code units).
        let input = r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#;
        assert_eq!(
            canonical_json(input).unwrap(),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        let sorting = r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#;
        assert_eq!(
            canonical_json(sorting).unwrap(),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn whitespace_and_key_order_do_not_change_the_leaf() {
        let a = leaf_hash(&event(
            r#"{"RunStarted":{"started_at":"x","n":1}}"#,
            r#"{"a":"1"}"#,
        ));
        let b = leaf_hash(&event(
            "{ \"RunStarted\" : { \"n\" : 1.0 , \"started_at\" : \"x\" } }",
            "{\n \"a\": \"1\"\n}",
        ));
        assert_eq!(a, b);
    }

    #[test]
    fn every_field_changes_the_leaf() {
        let base = event(r#"{"RunStarted":{}}"#, r#"{"a":"1"}"#);
        let h = leaf_hash(&base).unwrap();
        let variants = [
            LeafEvent {
                aggregate_type: "restore",
                ..base
            },
            LeafEvent {
                aggregate_id: "run-2",
                ..base
            },
            LeafEvent {
                sequence: 2,
                ..base
            },
            LeafEvent {
                event_type: "RunQueued",
                ..base
            },
            LeafEvent {
                event_version: "1.1",
                ..base
            },
            LeafEvent {
                payload: r#"{"RunStarted":{"x":1}}"#,
                ..base
            },
            LeafEvent {
                metadata: r#"{"a":"2"}"#,
                ..base
            },
            LeafEvent {
                recorded_at_micros: Some(1),
                ..base
            },
            LeafEvent {
                recorded_at_micros: None,
                ..base
            },
        ];
        for v in variants {
            assert_ne!(leaf_hash(&v).unwrap(), h, "{v:?}");
        }
    }

    #[test]
    fn length_prefixes_keep_adjacent_fields_apart() {
        let a = LeafEvent {
            aggregate_type: "ab",
            aggregate_id: "c",
            ..event("{}", "{}")
        };
        let b = LeafEvent {
            aggregate_type: "a",
            aggregate_id: "bc",
            ..event("{}", "{}")
        };
        assert_ne!(leaf_bytes(&a).unwrap(), leaf_bytes(&b).unwrap());
    }

    #[test]
    fn numbers_are_compared_as_doubles_as_rfc_8785_says() {
        assert_eq!(
            canonical_json("[9007199254740993, -9223372036854775808, 1.0, -0, 1e2]").unwrap(),
            "[9007199254740992,-9223372036854776000,1,0,100]"
        );
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x20\"\\\\/\u{7f}\u{2028}\u{e000}-\u{e010}\u{10000}-\u{10010}a-c]{0,6}"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(
                    "[a-c\u{80}\u{e000}\u{ffff}\u{10000}\u{1f600}A_]{0,3}",
                    inner,
                    0..6
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_canonical_form_is_the_references_for_any_json(value in json()) {
            let text = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(canonical_json(&text), serde_jcs::to_string(&value).ok());
        }
    }

    #[test]
    fn json_that_cannot_be_canonicalised_is_refused_and_named() {
        assert_eq!(leaf_bytes(&event("[1e400]", "{}")), Err(LeafError::Payload));
        assert_eq!(
            leaf_bytes(&event("{}", "not json")),
            Err(LeafError::Metadata)
        );
    }
}
