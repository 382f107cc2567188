//! Audit bundles: the exact files `audit export` writes, and `audit verify DIR`, which
//! checks them with nothing but the log's verifier key (no database).
//!
//! A bundle proves that a signed tree of `to` leaves extends a signed tree of `from`
//! leaves, and carries the events of leaves `from..to`, each in full:
//! - `to.checkpoint` and (when `from > 0`) `from.checkpoint`: the two C2SP signed
//!   checkpoints, byte for byte as signed;
//! - `events.jsonl`: one event per line, in leaf order, with every field of the leaf
//!   encoding (payload and metadata in their RFC 8785 form) and the leaf hash the log
//!   sequenced;
//! - `compact-range`: the compact range of the `from` tree (transparency-dev/merkle's
//!   `compact`): with the events it gives the `to` root;
//! - `consistency.proof`: the RFC 6962 consistency proof from `from` to `to`;
//! - `manifest.json`: format, origin, the two tree heads and the event count.
//!
//! Every file has exactly one form (export writes it; verify re-renders what it read and
//! compares bytes), so any change to any byte is either a change of form (reported as
//! such) or a change of content, which the signatures, the roots and the proofs catch.
//! docs/audit.md describes the format for other implementations.

use std::collections::BTreeMap;
use std::path::Path;

use base64::prelude::{Engine, BASE64_STANDARD};
use runproof_audit::checkpoint::{self, TreeHead};
use runproof_audit::leaf::{self, LeafEvent};
use runproof_audit::proof::verify_consistency;
use runproof_audit::tree::{self, EMPTY_ROOT};
use runproof_audit::{CompactRange, Hash, VerifierKey};
use runproof_domain::ReasonCode;
use serde::{Deserialize, Serialize};

/// The bundle format's name, the manifest's first field.
pub const FORMAT: &str = "runproof.audit-bundle.v1";
/// The manifest file.
pub const MANIFEST: &str = "manifest.json";
/// The earlier signed checkpoint (absent when the range starts at the empty tree).
pub const FROM_CHECKPOINT: &str = "from.checkpoint";
/// The later signed checkpoint.
pub const TO_CHECKPOINT: &str = "to.checkpoint";
/// The events, one JSON object per line, in leaf order.
pub const EVENTS: &str = "events.jsonl";
/// The compact range of the earlier tree, one base64 hash per line.
pub const COMPACT_RANGE: &str = "compact-range";
/// The RFC 6962 consistency proof, one base64 hash per line.
pub const CONSISTENCY: &str = "consistency.proof";

const FILES: [&str; 6] = [
    MANIFEST,
    FROM_CHECKPOINT,
    TO_CHECKPOINT,
    EVENTS,
    COMPACT_RANGE,
    CONSISTENCY,
];

/// A tree head as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTree {
    pub size: u64,
    /// The root hash, base64 (as in the checkpoint).
    pub root: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub origin: String,
    pub from: ManifestTree,
    pub to: ManifestTree,
    /// How many events `events.jsonl` holds (`to.size - from.size`).
    pub events: u64,
}

impl Manifest {
    /// The manifest of a bundle from `from` to `to`.
    pub fn new(origin: &str, from: (u64, Hash), to: (u64, Hash)) -> Self {
        let tree = |(size, root): (u64, Hash)| ManifestTree {
            size,
            root: BASE64_STANDARD.encode(root.0),
        };
        Manifest {
            format: FORMAT.to_string(),
            origin: origin.to_string(),
            from: tree(from),
            to: tree(to),
            events: to.0.saturating_sub(from.0),
        }
    }

    /// The file's bytes: pretty-printed JSON, fields in this order, a final newline.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// One event of the bundle: every field of the leaf encoding, and the leaf hash the log
/// sequenced for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEvent {
    pub leaf_index: u64,
    /// The sequenced leaf hash, lowercase hex.
    pub leaf_hash: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at_micros: Option<i64>,
    /// The payload's RFC 8785 form.
    pub payload: String,
    /// The metadata's RFC 8785 form.
    pub metadata: String,
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl BundleEvent {
    /// `aggregate_type/aggregate_id#sequence`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}#{}",
            self.aggregate_type, self.aggregate_id, self.sequence
        )
    }

    /// What the leaf encoding reads.
    pub fn leaf_event(&self) -> LeafEvent<'_> {
        LeafEvent {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &self.payload,
            metadata: &self.metadata,
            recorded_at_micros: self.recorded_at_micros,
        }
    }

    /// Its line in `events.jsonl` (with the newline): the fields in this order, strings
    /// as serde_json escapes them, payload and metadata inserted as their RFC 8785 text.
    pub fn render(&self) -> String {
        let recorded = self
            .recorded_at_micros
            .map_or_else(|| "null".to_string(), |m| m.to_string());
        format!(
            "{{\"leaf_index\":{},\"leaf_hash\":{},\"aggregate_type\":{},\"aggregate_id\":{},\
             \"sequence\":{},\"event_type\":{},\"event_version\":{},\"recorded_at_micros\":{},\
             \"payload\":{},\"metadata\":{}}}\n",
            self.leaf_index,
            json_str(&self.leaf_hash),
            json_str(&self.aggregate_type),
            json_str(&self.aggregate_id),
            self.sequence,
            json_str(&self.event_type),
            json_str(&self.event_version),
            recorded,
            self.payload,
            self.metadata,
        )
    }

    /// Reads a line (with its newline); `None` unless it is exactly what
    /// [`BundleEvent::render`] writes.
    pub fn parse(line: &str) -> Option<BundleEvent> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let obj = value.as_object()?;
        let text = |k: &str| obj.get(k)?.as_str().map(str::to_string);
        let canonical = |k: &str| leaf::canonical_json(&obj.get(k)?.to_string());
        let recorded_at_micros = match obj.get("recorded_at_micros")? {
            serde_json::Value::Null => None,
            v => Some(v.as_i64()?),
        };
        let event = BundleEvent {
            leaf_index: obj.get("leaf_index")?.as_u64()?,
            leaf_hash: text("leaf_hash")?,
            aggregate_type: text("aggregate_type")?,
            aggregate_id: text("aggregate_id")?,
            sequence: obj.get("sequence")?.as_i64()?,
            event_type: text("event_type")?,
            event_version: text("event_version")?,
            recorded_at_micros,
            payload: canonical("payload")?,
            metadata: canonical("metadata")?,
        };
        // Lowercase only: hex digits have one form here too.
        let hash = tree::from_hex(&event.leaf_hash)?;
        if tree::to_hex(&hash) != event.leaf_hash {
            return None;
        }
        (event.render() == line).then_some(event)
    }
}

/// A list of hashes as a file: one base64 hash per line.
pub fn render_hashes(hashes: &[Hash]) -> String {
    hashes
        .iter()
        .map(|h| format!("{}\n", BASE64_STANDARD.encode(h.0)))
        .collect()
}

/// Reads a hash-list file; `None` (with the 1-based line) unless it is exactly what
/// [`render_hashes`] writes.
fn parse_hashes(text: &str) -> Result<Vec<Hash>, usize> {
    let mut out = Vec::new();
    for (n, line) in (1usize..).zip(text.split_inclusive('\n')) {
        let hash = line
            .strip_suffix('\n')
            .and_then(|b| BASE64_STANDARD.decode(b).ok())
            .and_then(|b| tree::from_bytes(&b))
            .ok_or(n)?;
        out.push(hash);
    }
    match render_hashes(&out) == text {
        true => Ok(out),
        false => Err(out.len() + 1),
    }
}

/// One thing wrong with a bundle, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BundleProblem {
    FileMissing {
        file: String,
    },
    FileUnexpected {
        file: String,
    },
    FileMalformed {
        file: String,
        line: usize,
    },
    Signature {
        file: String,
    },
    Manifest {
        field: String,
    },
    Origin {
        from: String,
        to: String,
    },
    EventMalformed {
        line: usize,
        index: u64,
    },
    LeafMissing {
        index: u64,
    },
    LeafOrder {
        line: usize,
        index: u64,
        event: String,
        expected: u64,
    },
    /// The event hashes differently from the leaf the signed tree holds (the stated
    /// leaf hashes were confirmed by the signed root).
    LeafChanged {
        index: u64,
        event: String,
        now: String,
        then: String,
    },
    /// The line's stated leaf hash is not the event's.
    LeafHash {
        index: u64,
        event: String,
        now: String,
        stated: String,
    },
    LeafUnencodable {
        index: u64,
        event: String,
    },
    Root {
        size: u64,
        from: u64,
    },
    CompactRange {
        size: u64,
    },
    Consistency {
        from: u64,
        to: u64,
    },
}

impl BundleProblem {
    /// The reason code and its arguments (`key` is the verifier key's text).
    pub fn reason(&self, key: &str) -> (ReasonCode, Vec<(&'static str, String)>) {
        use BundleProblem::*;
        let s = |v: &dyn ToString| v.to_string();
        match self {
            FileMissing { file } => (ReasonCode::AuditBundleFileMissing, vec![("file", s(file))]),
            FileUnexpected { file } => (
                ReasonCode::AuditBundleFileUnexpected,
                vec![("file", s(file))],
            ),
            FileMalformed { file, line } => (
                ReasonCode::AuditBundleFileMalformed,
                vec![("file", s(file)), ("line", s(line))],
            ),
            Signature { file } => (
                ReasonCode::AuditBundleSignature,
                vec![("file", s(file)), ("key", key.to_string())],
            ),
            Manifest { field } => (ReasonCode::AuditBundleManifest, vec![("field", s(field))]),
            Origin { from, to } => (
                ReasonCode::AuditBundleOrigin,
                vec![("from", s(from)), ("to", s(to))],
            ),
            EventMalformed { line, index } => (
                ReasonCode::AuditBundleEventMalformed,
                vec![("line", s(line)), ("index", s(index))],
            ),
            LeafMissing { index } => (
                ReasonCode::AuditBundleLeafMissing,
                vec![("index", s(index))],
            ),
            LeafOrder {
                line,
                index,
                event,
                expected,
            } => (
                ReasonCode::AuditBundleLeafOrder,
                vec![
                    ("line", s(line)),
                    ("index", s(index)),
                    ("event", s(event)),
                    ("expected", s(expected)),
                ],
            ),
            LeafChanged {
                index,
                event,
                now,
                then,
            } => (
                ReasonCode::AuditBundleLeafChanged,
                vec![
                    ("index", s(index)),
                    ("event", s(event)),
                    ("now", s(now)),
                    ("then", s(then)),
                ],
            ),
            LeafHash {
                index,
                event,
                now,
                stated,
            } => (
                ReasonCode::AuditBundleLeafHash,
                vec![
                    ("index", s(index)),
                    ("event", s(event)),
                    ("now", s(now)),
                    ("stated", s(stated)),
                ],
            ),
            LeafUnencodable { index, event } => (
                ReasonCode::AuditBundleLeafUnencodable,
                vec![("index", s(index)), ("event", s(event))],
            ),
            Root { size, from } => (
                ReasonCode::AuditBundleRoot,
                vec![
                    ("size", s(size)),
                    ("from", s(from)),
                    ("last", s(&size.saturating_sub(1))),
                ],
            ),
            CompactRange { size } => (ReasonCode::AuditBundleCompactRange, vec![("size", s(size))]),
            Consistency { from, to } => (
                ReasonCode::AuditBundleConsistency,
                vec![("from", s(from)), ("to", s(to))],
            ),
        }
    }
}

/// What `audit verify DIR` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    pub problems: Vec<BundleProblem>,
    /// The earlier tree size (0: the empty tree).
    pub from: u64,
    /// The later tree size (0 when `to.checkpoint` could not be trusted).
    pub to: u64,
    /// The bundle's events that could be read, in line order.
    pub events: Vec<BundleEvent>,
}

impl BundleReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads every file of the bundle directory `dir` (no subdirectories).
pub fn read_dir(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = match entry.file_type()?.is_file() {
            true => std::fs::read(entry.path())?,
            // Not a file: never part of a bundle (reported as unexpected).
            false => Vec::new(),
        };
        files.insert(name, bytes);
    }
    Ok(files)
}

/// Verifies the bundle in `dir` with the verifier `key`: reads it, then [`verify`].
pub fn verify_dir(dir: &Path, key: &VerifierKey) -> std::io::Result<BundleReport> {
    Ok(verify(&read_dir(dir)?, key))
}

fn utf8<'a>(
    files: &'a BTreeMap<String, Vec<u8>>,
    name: &str,
    problems: &mut Vec<BundleProblem>,
) -> Option<&'a str> {
    let Some(bytes) = files.get(name) else {
        problems.push(BundleProblem::FileMissing { file: name.into() });
        return None;
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            problems.push(BundleProblem::FileMalformed {
                file: name.into(),
                line,
            });
            None
        }
    }
}

/// Opens a signed checkpoint file with `key`.
fn open_checkpoint(
    files: &BTreeMap<String, Vec<u8>>,
    name: &str,
    key: &VerifierKey,
    problems: &mut Vec<BundleProblem>,
) -> Option<TreeHead> {
    let text = utf8(files, name, problems)?;
    match checkpoint::open(text, key) {
        Ok(head) if checkpoint::is_canonical(text) => Some(head),
        _ => {
            problems.push(BundleProblem::Signature { file: name.into() });
            None
        }
    }
}

/// Verifies a bundle's files (name → bytes) with the verifier `key`. Pure: the
/// offline half of the audit, which needs no database.
///
/// Checks, each problem reported on its own: only the bundle's files, each in its one
/// form; both checkpoints signed by `key`, of one log; the manifest agreeing with them;
/// the compact range hashing to the earlier root; the consistency proof; one event per
/// leaf `from..to` in order, each recomputed; the compact range and the recomputed
/// leaves hashing to the later root. (`audit verify DIR` then re-decides the bundle's
/// recorded decisions from their evidence: [`decision_entries`].)
pub fn verify(files: &BTreeMap<String, Vec<u8>>, key: &VerifierKey) -> BundleReport {
    let mut problems = Vec::new();
    for name in files.keys() {
        if !FILES.contains(&name.as_str()) {
            problems.push(BundleProblem::FileUnexpected { file: name.clone() });
        }
    }

    // The two tree heads: both must be signed by the key (the earlier one is the empty
    // tree when the bundle has no from.checkpoint).
    let to = open_checkpoint(files, TO_CHECKPOINT, key, &mut problems);
    let from = match files.contains_key(FROM_CHECKPOINT) {
        true => open_checkpoint(files, FROM_CHECKPOINT, key, &mut problems),
        false => to.as_ref().map(|t| TreeHead {
            origin: t.origin.clone(),
            size: 0,
            root: EMPTY_ROOT,
        }),
    };
    if let (Some(f), Some(t)) = (&from, &to) {
        if f.origin != t.origin {
            problems.push(BundleProblem::Origin {
                from: f.origin.clone(),
                to: t.origin.clone(),
            });
        }
    }
    let from_size = from.as_ref().map_or(0, |f| f.size);
    let to_size = to.as_ref().map_or(0, |t| t.size);

    // The manifest: its one form, and what it says must be what was signed.
    if let Some(text) = utf8(files, MANIFEST, &mut problems) {
        match serde_json::from_str::<Manifest>(text) {
            Ok(m) if m.render() == text => {
                if let (Some(f), Some(t)) = (&from, &to) {
                    let want = Manifest::new(&t.origin, (f.size, f.root), (t.size, t.root));
                    for (field, same) in [
                        ("format", m.format == want.format),
                        ("origin", m.origin == want.origin),
                        ("from", m.from == want.from),
                        ("to", m.to == want.to),
                        ("events", m.events == want.events),
                    ] {
                        if !same {
                            problems.push(BundleProblem::Manifest {
                                field: field.into(),
                            });
                        }
                    }
                }
            }
            _ => problems.push(BundleProblem::FileMalformed {
                file: MANIFEST.into(),
                line: 1,
            }),
        }
    }

    // The earlier tree's compact range must hash to its signed root.
    let mut range = None;
    if let Some(text) = utf8(files, COMPACT_RANGE, &mut problems) {
        match parse_hashes(text) {
            Err(line) => problems.push(BundleProblem::FileMalformed {
                file: COMPACT_RANGE.into(),
                line,
            }),
            Ok(hashes) => {
                if let Some(f) = &from {
                    match CompactRange::from_hashes(f.size, hashes) {
                        Ok(r) if r.root() == f.root => range = Some(r),
                        _ => problems.push(BundleProblem::CompactRange { size: f.size }),
                    }
                }
            }
        }
    }

    // The later tree extends the earlier one.
    if let Some(text) = utf8(files, CONSISTENCY, &mut problems) {
        match parse_hashes(text) {
            Err(line) => problems.push(BundleProblem::FileMalformed {
                file: CONSISTENCY.into(),
                line,
            }),
            Ok(proof) => {
                if let (Some(f), Some(t)) = (&from, &to) {
                    if verify_consistency(&proof, f.size, f.root, t.size, t.root).is_err() {
                        problems.push(BundleProblem::Consistency {
                            from: f.size,
                            to: t.size,
                        });
                    }
                }
            }
        }
    }

    // The events: one per leaf from..to, in order, each recomputed.
    let mut events = Vec::new();
    let mut recomputed: Vec<(u64, Option<Hash>, Hash, usize)> = Vec::new();
    let mut complete = true;
    if let Some(text) = utf8(files, EVENTS, &mut problems) {
        let mut expected = from_size;
        for (line, text) in (1..).zip(text.split_inclusive('\n')) {
            let Some(event) = BundleEvent::parse(text) else {
                problems.push(BundleProblem::EventMalformed {
                    line,
                    index: expected,
                });
                complete = false;
                expected += 1;
                continue;
            };
            let index = event.leaf_index;
            if index > expected && index < to_size {
                problems
                    .extend((expected..index).map(|index| BundleProblem::LeafMissing { index }));
                complete = false;
                expected = index;
            }
            if index != expected {
                problems.push(BundleProblem::LeafOrder {
                    line,
                    index,
                    event: event.label(),
                    expected,
                });
                complete = false;
            } else {
                expected += 1;
            }
            let stated = tree::from_hex(&event.leaf_hash).unwrap_or_default();
            let now = match leaf::leaf_hash(&event.leaf_event()) {
                Ok(h) => Some(h),
                Err(_) => {
                    problems.push(BundleProblem::LeafUnencodable {
                        index,
                        event: event.label(),
                    });
                    None
                }
            };
            recomputed.push((index, now, stated, events.len()));
            events.push(event);
        }
        if expected < to_size {
            problems.extend((expected..to_size).map(|index| BundleProblem::LeafMissing { index }));
            complete = false;
        }
    }

    // The earlier tree and the recomputed leaves must give the later signed root. When
    // the leaves the lines state give it instead, those are confirmed by the signature,
    // and each event that hashes differently is named as changed.
    if let (Some(range), Some(t)) = (&range, &to) {
        let root_of = |hashes: &mut dyn Iterator<Item = Hash>| {
            let mut r = range.clone();
            hashes.for_each(|h| r.push(h));
            r.root()
        };
        let now_root = root_of(
            &mut recomputed
                .iter()
                .map(|(_, now, stated, _)| now.unwrap_or(*stated)),
        );
        let stated_root = root_of(&mut recomputed.iter().map(|(_, _, stated, _)| *stated));
        let confirmed = complete && stated_root == t.root;
        if now_root != t.root {
            problems.push(BundleProblem::Root {
                size: t.size,
                from: from_size,
            });
        }
        for (index, now, stated, at) in &recomputed {
            let Some(now) = now else { continue };
            if now == stated {
                continue;
            }
            let event = events[*at].label();
            problems.push(match confirmed {
                true => BundleProblem::LeafChanged {
                    index: *index,
                    event,
                    now: tree::to_hex(now),
                    then: tree::to_hex(stated),
                },
                false => BundleProblem::LeafHash {
                    index: *index,
                    event,
                    now: tree::to_hex(now),
                    stated: tree::to_hex(stated),
                },
            });
        }
    }

    BundleReport {
        problems,
        from: from_size,
        to: to_size,
        events,
    }
}

/// The bundle's events as the re-decider reads them ([`super::redecide`]), in leaf order;
/// an entry's place is its leaf index.
pub fn decision_entries(events: &[BundleEvent]) -> Vec<super::redecide::LogEntry> {
    events
        .iter()
        .map(|e| super::redecide::LogEntry {
            place: i64::try_from(e.leaf_index).unwrap_or(i64::MAX),
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            event_type: e.event_type.clone(),
            event_version: e.event_version.clone(),
            payload: e.payload.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> BundleEvent {
        BundleEvent {
            leaf_index: 7,
            leaf_hash: "ab".repeat(32),
            aggregate_type: "operation_run".into(),
            aggregate_id: "run \"1\"".into(),
            sequence: 2,
            event_type: "RunStarted".into(),
            event_version: "1.0".into(),
            recorded_at_micros: Some(1_767_225_600_000_000),
            payload: r#"{"RunStarted":{"n":1,"ü":"✓"}}"#.into(),
            metadata: "{}".into(),
        }
    }

    #[test]
    fn the_manifest_is_written_as_docs_audit_md_shows_it() {
        let m = Manifest::new("runproof/x", (0, EMPTY_ROOT), (3, EMPTY_ROOT));
        let root = BASE64_STANDARD.encode(EMPTY_ROOT.0);
        assert_eq!(
            m.render(),
            format!(
                "{{\n  \"format\": \"runproof.audit-bundle.v1\",\n  \"origin\": \"runproof/x\",\n  \
                 \"from\": {{\n    \"size\": 0,\n    \"root\": \"{root}\"\n  }},\n  \
                 \"to\": {{\n    \"size\": 3,\n    \"root\": \"{root}\"\n  }},\n  \"events\": 3\n}}\n"
            )
        );
    }

    #[test]
    fn an_event_line_reads_back_only_in_its_one_form() {
        let line = event().render();
        assert_eq!(
            line,
            format!(
                "{{\"leaf_index\":7,\"leaf_hash\":\"{}\",\"aggregate_type\":\"operation_run\",\
                 \"aggregate_id\":\"run \\\"1\\\"\",\"sequence\":2,\"event_type\":\"RunStarted\",\
                 \"event_version\":\"1.0\",\"recorded_at_micros\":1767225600000000,\
                 \"payload\":{{\"RunStarted\":{{\"n\":1,\"ü\":\"✓\"}}}},\"metadata\":{{}}}}\n",
                "ab".repeat(32)
            )
        );
        assert_eq!(BundleEvent::parse(&line), Some(event()));
        for other in [
            line.replace("\"sequence\":2", "\"sequence\": 2"),
            line.replace("\"n\":1", "\"n\":1.0"),
            line.trim_end().to_string(),
            line.replace("\"metadata\":{}}", "\"metadata\":{},\"x\":1}"),
            line.replace("ab", "AB"),
        ] {
            assert_eq!(BundleEvent::parse(&other), None, "{other}");
        }
    }

    #[test]
    fn hash_lists_read_back_only_in_their_one_form() {
        let text = render_hashes(&[EMPTY_ROOT, EMPTY_ROOT]);
        assert_eq!(parse_hashes(&text), Ok(vec![EMPTY_ROOT, EMPTY_ROOT]));
        assert_eq!(parse_hashes(""), Ok(vec![]));
        assert_eq!(parse_hashes(text.trim_end()), Err(2));
        assert!(parse_hashes(&text.replace('=', "")).is_err());
    }
}
