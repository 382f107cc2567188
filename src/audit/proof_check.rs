//! `runproof audit verify-proof FILE --key PUBKEY`: one `tlog-proof` file from `audit
//! prove`, checked with nothing but the verifier key (no database).
//!
//! The file holds: the checkpoint is signed by the key; the event in its `extra` line is
//! the leaf at the file's index; that leaf, recomputed from the event, and the proof
//! hashes lead to the signed root. The first thing that fails is named.

use runproof_audit::checkpoint::{self, CheckpointError, TreeHead};
use runproof_audit::leaf;
use runproof_audit::proof::verify_inclusion;
use runproof_audit::tree;
use runproof_audit::{ProofFile, VerifierKey};
use runproof_domain::ReasonCode;

use super::bundle::BundleEvent;

/// Why a proof file does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofProblem {
    /// Not a proof file in the one form `audit prove` writes (1-based line).
    Malformed { line: usize },
    /// The `extra` line is missing or holds no event line.
    Event,
    /// The checkpoint carries a signature by the key that does not verify, or is not a
    /// signed note.
    Signature,
    /// The checkpoint carries no signature by the key.
    WrongKey,
    /// The file's index is not the leaf its event names.
    Index { index: u64, leaf: u64 },
    /// The index is outside the signed tree.
    OutOfRange { index: u64, size: u64 },
    /// The proof holds for the leaf hash the event line states, not for the event: the
    /// event was changed after it was logged.
    EventChanged {
        index: u64,
        event: String,
        now: String,
        then: String,
    },
    /// The proof does not lead to the signed root.
    Mismatch { index: u64, size: u64 },
}

impl ProofProblem {
    /// The reason code and its arguments (`file` is the file as named, `key` the
    /// verifier key's text).
    pub fn reason(&self, file: &str, key: &str) -> (ReasonCode, Vec<(&'static str, String)>) {
        let f = ("file", file.to_string());
        match self {
            ProofProblem::Malformed { line } => (
                ReasonCode::AuditProofMalformed,
                vec![f, ("line", line.to_string())],
            ),
            ProofProblem::Event => (ReasonCode::AuditProofEvent, vec![f]),
            ProofProblem::Signature => (
                ReasonCode::AuditProofSignature,
                vec![f, ("key", key.to_string())],
            ),
            ProofProblem::WrongKey => (
                ReasonCode::AuditProofWrongKey,
                vec![f, ("key", key.to_string())],
            ),
            ProofProblem::Index { index, leaf } => (
                ReasonCode::AuditProofIndex,
                vec![f, ("index", index.to_string()), ("leaf", leaf.to_string())],
            ),
            ProofProblem::OutOfRange { index, size } => (
                ReasonCode::AuditProofOutOfRange,
                vec![f, ("index", index.to_string()), ("size", size.to_string())],
            ),
            ProofProblem::EventChanged {
                index,
                event,
                now,
                then,
            } => (
                ReasonCode::AuditProofEventChanged,
                vec![
                    f,
                    ("index", index.to_string()),
                    ("event", event.clone()),
                    ("now", now.clone()),
                    ("then", then.clone()),
                ],
            ),
            ProofProblem::Mismatch { index, size } => (
                ReasonCode::AuditProofMismatch,
                vec![f, ("index", index.to_string()), ("size", size.to_string())],
            ),
        }
    }
}

/// What a proof file that holds proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Proved {
    /// The signed tree head the leaf is in.
    pub head: TreeHead,
    /// The event, which is leaf `event.leaf_index` of that tree.
    pub event: BundleEvent,
}

/// Checks a proof file's bytes with the verifier `key`.
pub fn check(bytes: &[u8], key: &VerifierKey) -> Result<Proved, ProofProblem> {
    let text = std::str::from_utf8(bytes).map_err(|e| ProofProblem::Malformed {
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
    })?;
    let file = ProofFile::parse(text).map_err(|e| ProofProblem::Malformed { line: e.line })?;
    let head = match checkpoint::open(&file.checkpoint, key) {
        Ok(head) if checkpoint::is_canonical(&file.checkpoint) => head,
        Ok(_) => return Err(ProofProblem::Signature),
        Err(CheckpointError::NotSignedByKey) => return Err(ProofProblem::WrongKey),
        Err(_) => return Err(ProofProblem::Signature),
    };
    let event = file
        .extra
        .as_deref()
        .and_then(|extra| std::str::from_utf8(extra).ok())
        .and_then(BundleEvent::parse)
        .ok_or(ProofProblem::Event)?;
    if event.leaf_index != file.index {
        return Err(ProofProblem::Index {
            index: file.index,
            leaf: event.leaf_index,
        });
    }
    if file.index >= head.size {
        return Err(ProofProblem::OutOfRange {
            index: file.index,
            size: head.size,
        });
    }
    let now = leaf::leaf_hash(&event.leaf_event()).map_err(|_| ProofProblem::Event)?;
    let holds =
        |leaf| verify_inclusion(&file.proof, file.index, head.size, leaf, head.root).is_ok();
    if holds(now) {
        return Ok(Proved { head, event });
    }
    // The line's stated leaf hash was parsed as lowercase hex of 32 bytes.
    let stated = tree::from_hex(&event.leaf_hash).unwrap_or_default();
    if stated != now && holds(stated) {
        return Err(ProofProblem::EventChanged {
            index: file.index,
            event: format!("{} {}", event.event_type, event.label()),
            now: tree::to_hex(&now),
            then: tree::to_hex(&stated),
        });
    }
    Err(ProofProblem::Mismatch {
        index: file.index,
        size: head.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use runproof_audit::{SignerKey, Tree};

    fn event(leaf_index: u64) -> BundleEvent {
        let mut event = BundleEvent {
            leaf_index,
            leaf_hash: String::new(),
            aggregate_type: "operation_run".into(),
            aggregate_id: "run-1".into(),
            sequence: 1,
            event_type: "RunQueued".into(),
            event_version: "1.0".into(),
            recorded_at_micros: Some(1_767_225_600_000_000),
            payload: r#"{"RunQueued":{"n":1}}"#.into(),
            metadata: "{}".into(),
        };
        event.leaf_hash = tree::to_hex(&leaf::leaf_hash(&event.leaf_event()).unwrap());
        event
    }

    /// A proof file for `event` as leaf 1 of a three-leaf tree, signed with `key`.
    fn file(event: &BundleEvent, index: u64, key: &SignerKey) -> String {
        let leaves = [
            tree::record_hash(b"a"),
            tree::from_hex(&event.leaf_hash).unwrap(),
            tree::record_hash(b"c"),
        ];
        let tree = Tree::from_leaves(leaves).unwrap();
        let head = TreeHead {
            origin: key.name().into(),
            size: 3,
            root: tree.root().unwrap(),
        };
        ProofFile {
            extra: Some(event.render().into_bytes()),
            index,
            proof: tree.inclusion_proof(1, 3).unwrap(),
            checkpoint: head.sign(key).unwrap(),
        }
        .render()
    }

    #[test]
    fn a_proof_holds_for_its_leaf_and_an_index_beyond_the_tree_is_named() {
        let key = SignerKey::from_seed("runproof/test", [5; 32]).unwrap();
        let verifier = VerifierKey::parse(key.verifier_key()).unwrap();
        let proved = check(file(&event(1), 1, &key).as_bytes(), &verifier).unwrap();
        assert_eq!((proved.head.size, proved.event.leaf_index), (3, 1));
        assert_eq!(
            check(file(&event(5), 5, &key).as_bytes(), &verifier),
            Err(ProofProblem::OutOfRange { index: 5, size: 3 })
        );
        assert_eq!(
            check(b"c2sp.org/tlog-proof@v1\n\xff\n", &verifier),
            Err(ProofProblem::Malformed { line: 2 })
        );
    }
}
