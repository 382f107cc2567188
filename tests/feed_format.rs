//! The feed's wire format as documented: docs/feed.md shows an example of every event
//! type in the catalogue, each a CloudEvent that parses, matches the format and carries
//! a body the domain reads as that event; the examples show the audit leaf
//! (`leafindex`, `leafhash`) as the sequencer gives it — well formed, in commit order,
//! absent on the newest events; the catalogue the feed names events by is the one
//! docs/architecture.md describes, at the versions this build writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::feed::check_format;
use cqrs_es::Aggregate;
use runproof::feed::{CloudEvent, Cursor};
use runproof_domain::event_catalogue::{self, AGGREGATES};
use runproof_domain::upcasting::{self, DecodeError};
use serde_json::{json, Value};

fn doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The ```json blocks of a Markdown text.
fn json_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Every CloudEvent docs/feed.md shows: each block that is one, and each in a block's
/// `events` (a page).
fn documented_events() -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in json_blocks(&doc("feed.md")) {
        let value: Value = serde_json::from_str(&block).unwrap_or_else(|e| {
            panic!("a json block of docs/feed.md does not parse ({e}):\n{block}")
        });
        if value.get("specversion").is_some() {
            events.push((block, value));
        } else if let Some(page) = value.get("events").and_then(Value::as_array) {
            events.extend(page.iter().map(|e| (e.to_string(), e.clone())));
        }
    }
    events
}

/// Decodes `data` as the domain's event of `event_type` at `version` (withheld fields
/// filled in as the log holds them).
fn decode(
    aggregate: &str,
    event_type: &str,
    version: &str,
    data: &Value,
) -> Result<(), DecodeError> {
    let mut body = data.as_object().unwrap().clone();
    for field in event_catalogue::withheld_fields(event_type) {
        body.insert((*field).to_string(), json!("0".repeat(64)));
    }
    let payload = json!({ event_type: body }).to_string();
    use runproof_domain as d;
    match aggregate {
        "operation_run" => {
            upcasting::decode::<d::operation_run::OperationRunEvent>(event_type, version, &payload)
                .map(drop)
        }
        "restore" => {
            upcasting::decode::<d::restore::RestoreEvent>(event_type, version, &payload).map(drop)
        }
        "workspace" => {
            upcasting::decode::<d::workspace::WorkspaceEvent>(event_type, version, &payload)
                .map(drop)
        }
        "actor" => {
            upcasting::decode::<d::actor::ActorEvent>(event_type, version, &payload).map(drop)
        }
        "api_token" => {
            upcasting::decode::<d::api_token::ApiTokenEvent>(event_type, version, &payload)
                .map(drop)
        }
        "managed_environment" => {
            upcasting::decode::<d::environment::EnvironmentEvent>(event_type, version, &payload)
                .map(drop)
        }
        "environment_review" => {
            upcasting::decode::<d::review::ReviewEvent>(event_type, version, &payload).map(drop)
        }
        "review_slot" => {
            upcasting::decode::<d::review::ReviewSlotEvent>(event_type, version, &payload).map(drop)
        }
        "run_slot" => {
            upcasting::decode::<d::run_slot::RunSlotEvent>(event_type, version, &payload).map(drop)
        }
        other => panic!("no decoder for {other}: add the aggregate here"),
    }
}

#[test]
fn every_event_type_in_the_catalogue_has_a_documented_example_that_parses_and_matches_the_format() {
    let mut documented: BTreeMap<String, usize> = BTreeMap::new();
    for (text, value) in documented_events() {
        let (aggregate, event_type, version) =
            check_format(&value).unwrap_or_else(|why| panic!("{why}:\n{text}"));
        serde_json::from_str::<CloudEvent>(&text)
            .unwrap_or_else(|e| panic!("not runproof's CloudEvent ({e}):\n{text}"));
        assert_eq!(
            version,
            upcasting::current_version(&event_type),
            "the example of {event_type} shows the version this build writes"
        );
        decode(&aggregate, &event_type, &version, &value["data"]).unwrap_or_else(|e| {
            panic!("the example's data is not a {event_type} ({e:?}):\n{text}")
        });
        *documented.entry(event_type).or_default() += 1;
    }
    let missing: Vec<&str> = event_catalogue::event_types()
        .map(|(_, t)| t)
        .filter(|t| !documented.contains_key(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/feed.md shows no example of {missing:?}"
    );
}

#[test]
fn the_examples_show_leaves_where_the_sequencer_placed_the_event_and_only_there() {
    // Each example once (the page's event is also an example of its own), in commit order.
    let mut by_id: BTreeMap<String, (Cursor, Option<(i64, String)>)> = BTreeMap::new();
    for (text, value) in documented_events() {
        check_format(&value).unwrap_or_else(|why| panic!("{why}:\n{text}"));
        let cursor = Cursor::decode(value["cursor"].as_str().unwrap()).unwrap();
        let leaf = value.get("leafindex").map(|index| {
            (
                index.as_str().unwrap().parse::<i64>().unwrap(),
                value["leafhash"].as_str().unwrap().to_string(),
            )
        });
        let id = value["id"].as_str().unwrap().to_string();
        if let Some(seen) = by_id.insert(id.clone(), (cursor, leaf.clone())) {
            assert_eq!(seen, (cursor, leaf), "{id} is shown twice, differently");
        }
    }
    let mut events: Vec<(Cursor, Option<(i64, String)>)> = by_id.into_values().collect();
    events.sort_by_key(|(cursor, _)| *cursor);
    let placed = events.iter().filter(|(_, leaf)| leaf.is_some()).count();
    assert!(placed > 0, "no example shows leafindex and leafhash");
    assert!(
        placed < events.len(),
        "no example shows an event the sequencer has not placed yet"
    );
    // The sequencer places events in commit order: placed ones first, indexes rising.
    let leaves: Vec<&(i64, String)> = events.iter().map_while(|(_, l)| l.as_ref()).collect();
    assert_eq!(
        leaves.len(),
        placed,
        "an example with a leaf follows one without (in commit order)"
    );
    assert!(
        leaves.windows(2).all(|w| w[0].0 < w[1].0),
        "leaf indexes rise with the cursor"
    );
    let hashes: BTreeSet<&str> = leaves.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(hashes.len(), leaves.len(), "two examples share a leaf hash");
}

#[test]
fn the_format_check_refuses_a_malformed_leaf() {
    let (_, example) = documented_events()
        .into_iter()
        .find(|(_, v)| v.get("leafindex").is_some())
        .unwrap();
    assert!(check_format(&example).is_ok());
    let with = |name: &str, value: Option<Value>| {
        let mut v = example.clone();
        match value {
            Some(x) => v[name] = x,
            None => {
                v.as_object_mut().unwrap().remove(name);
            }
        }
        check_format(&v)
    };
    for bad in [
        with("leafhash", None),
        with("leafindex", None),
        with("leafindex", Some(json!(7))),
        with("leafindex", Some(json!("-1"))),
        with("leafindex", Some(json!("07"))),
        with("leafhash", Some(json!("AB".repeat(32)))),
        with("leafhash", Some(json!("ab".repeat(31)))),
        with("leafhash", Some(json!("zz".repeat(32)))),
    ] {
        assert!(bad.is_err());
    }
}

#[test]
fn the_catalogue_is_the_one_the_architecture_describes_at_the_versions_this_build_writes() {
    let text = doc("architecture.md");
    let start = text.find("## Event catalogue").unwrap();
    let end = text[start..].find("### Schema evolution").unwrap() + start;
    let mut described: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text[start..end].lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            let (name, tail) = rest.split_once('`').unwrap();
            current = tail
                .trim_start()
                .starts_with("stream")
                .then(|| name.to_string());
            continue;
        }
        let Some(stream) = &current else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 3 && cells[1].starts_with('`') {
            let event = cells[1].trim_matches('`').to_string();
            described
                .entry(stream.clone())
                .or_default()
                .push((event, cells[2].to_string()));
        }
    }
    let catalogue: BTreeMap<String, Vec<(String, String)>> = AGGREGATES
        .iter()
        .map(|a| {
            (
                a.aggregate_type.to_string(),
                a.event_types
                    .iter()
                    .map(|t| (t.to_string(), upcasting::current_version(t).to_string()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(described, catalogue);
}

#[test]
fn the_catalogue_names_every_aggregate_by_its_type() {
    use runproof_domain as d;
    let types: BTreeSet<&str> = [
        d::operation_run::OperationRun::TYPE,
        d::restore::Restore::TYPE,
        d::workspace::Workspace::TYPE,
        d::actor::Actor::TYPE,
        d::api_token::ApiToken::TYPE,
        d::environment::ManagedEnvironment::TYPE,
        d::review::EnvironmentReview::TYPE,
        d::review::ReviewSlot::TYPE,
        d::run_slot::RunSlot::TYPE,
    ]
    .into_iter()
    .collect();
    let catalogue: BTreeSet<&str> = AGGREGATES.iter().map(|a| a.aggregate_type).collect();
    assert_eq!(types, catalogue);
}
