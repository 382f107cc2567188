//! docs/audit.md's worked example stays true: the leaf bytes and the leaf hash printed
//! there are recomputed here from the event printed there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use runproof_audit::leaf::{self, LeafEvent};
use runproof_audit::tree;

const DOC: &str = include_str!("../docs/audit.md");

/// The fenced block that follows `<!-- audit-example: NAME -->`.
fn block(name: &str) -> String {
    let marker = format!("<!-- audit-example: {name} -->");
    let start = DOC
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/audit.md has no {marker}"));
    let rest = &DOC[start + marker.len()..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// `field: value` lines of the event block.
fn field<'a>(event: &'a str, name: &str) -> &'a str {
    event
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in the example event"))
        .trim()
}

fn hex_lines(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|c| format!("{}\n", hex::encode(c)))
        .collect()
}

#[test]
fn the_worked_example_in_docs_audit_md_recomputes_to_the_printed_bytes_and_hash() {
    let event = block("event");
    let recorded_at = DateTime::parse_from_rfc3339(field(&event, "recorded_at")).unwrap();
    let example = LeafEvent {
        aggregate_type: field(&event, "aggregate_type"),
        aggregate_id: field(&event, "aggregate_id"),
        sequence: field(&event, "sequence").parse().unwrap(),
        event_type: field(&event, "event_type"),
        event_version: field(&event, "event_version"),
        payload: field(&event, "payload"),
        metadata: field(&event, "metadata"),
        recorded_at_micros: Some(recorded_at.timestamp_micros()),
    };
    let canonical = format!(
        "{}\n{}\n",
        leaf::canonical_json(example.payload).unwrap(),
        leaf::canonical_json(example.metadata).unwrap()
    );
    let bytes = leaf::leaf_bytes(&example).unwrap();
    let hash = tree::to_hex(&leaf::leaf_hash(&example).unwrap());
    let expected = format!(
        "canonical:\n{canonical}\nleaf-bytes:\n{}\nleaf-hash:\n{hash}\n",
        hex_lines(&bytes)
    );
    let printed = format!(
        "canonical:\n{}\nleaf-bytes:\n{}\nleaf-hash:\n{}",
        block("canonical"),
        block("leaf-bytes"),
        block("leaf-hash")
    );
    assert_eq!(printed, expected, "docs/audit.md must print these values");
    // The leaf hash is SHA-256 over 0x00 and the bytes.
    use sha2::Digest;
    let mut input = vec![0x00];
    input.extend_from_slice(&bytes);
    assert_eq!(hex::encode(sha2::Sha256::digest(&input)), hash);
}
