//! `runproof audit verify --database`: recompute every leaf from the live `events` table
//! and compare it with the sequenced leaves and with every signed checkpoint.
//!
//! Two independent comparisons, because an attacker who can write the database can
//! change the leaves too (or run `replay`, which rebuilds them from a changed log):
//! - **against the leaves** — events and leaves are matched by log position: a leaf whose
//!   event is gone (deleted), whose event hashes differently (changed), whose position now
//!   holds another leaf's event (swapped), or whose event the log now orders elsewhere
//!   (its transaction id changed); an event among sequenced ones that has no leaf
//!   (inserted). This says *where*.
//! - **against the checkpoints** — the root of the log's first N recomputed leaves must be
//!   each signed checkpoint's root (and the stored leaves' too). This is what a signature
//!   makes trustworthy: rebuilt or edited leaves cannot hide a change from it.
//!
//! The whole read runs in one repeatable-read, read-only transaction: one consistent
//! view of log, leaves and checkpoints, also while runproof keeps writing.

use std::collections::HashMap;

use runproof_audit::checkpoint::{self, CheckpointError};
use runproof_audit::{tree, Hash, Tree, VerifierKey};
use runproof_domain::ReasonCode;
use runproof_projections::checkpoint as projection_checkpoint;
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::log_leaves::{self, Leaf};
use runproof_projections::LogPosition;
use serde::Serialize;
use sqlx::PgPool;

use super::checkpoints::{self, StoredCheckpoint};
use super::AuditError;

const BATCH: i64 = 10_000;

/// One event of the live log, recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub at: LogPosition,
    /// `aggregate_type/aggregate_id#sequence`.
    pub event: String,
    /// Its leaf hash now (`None` when it has no leaf encoding).
    pub hash: Option<Hash>,
}

impl EventRecord {
    pub fn of(event: &StoredEvent) -> Self {
        EventRecord {
            at: event.at,
            event: label(&event.aggregate_type, &event.aggregate_id, event.sequence),
            hash: log_leaves::leaf_hash(event).ok(),
        }
    }
}

fn label(aggregate_type: &str, aggregate_id: &str, sequence: i64) -> String {
    format!("{aggregate_type}/{aggregate_id}#{sequence}")
}

/// One thing found wrong, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The leaves are not dense: `index` is missing.
    LeafGap { index: i64 },
    /// The event of leaf `index` is no longer in the log.
    EventMissing {
        index: i64,
        position: i64,
        event: String,
    },
    /// The event of leaf `index` hashes differently now.
    LeafChanged {
        index: i64,
        position: i64,
        event: String,
        now: String,
        then: String,
    },
    /// The position of leaf `index` now holds the event sequenced as leaf `other`.
    LeafMoved {
        index: i64,
        position: i64,
        event: String,
        other: i64,
    },
    /// The log now orders the event of leaf `index` elsewhere among the leaves.
    LeafOutOfOrder {
        index: i64,
        position: i64,
        event: String,
    },
    /// An event that sorts before the sequencer's checkpoint has no leaf.
    EventInserted {
        position: i64,
        event: String,
        after: Option<i64>,
    },
    /// An event has no leaf encoding.
    EventUnencodable { position: i64, event: String },
    /// A stored checkpoint is not a signed checkpoint note.
    CheckpointMalformed { id: i64 },
    /// A stored checkpoint is not signed by the given key.
    CheckpointSignature { id: i64, size: u64, key: String },
    /// A stored checkpoint's columns disagree with its note.
    CheckpointEdited { id: i64 },
    /// A checkpoint vouches for more events than the log holds.
    CheckpointTruncated { id: i64, size: u64, count: u64 },
    /// The log's first `size` events do not hash to the checkpoint's root; the change is
    /// among leaves `from..=to`.
    CheckpointRoot {
        id: i64,
        size: u64,
        from: u64,
        to: u64,
    },
    /// The stored leaves do not hash to the checkpoint's root.
    CheckpointLeaves { id: i64, size: u64 },
}

impl Problem {
    /// The reason code and its arguments: the line an operator reads.
    pub fn reason(&self) -> (ReasonCode, Vec<(&'static str, String)>) {
        use Problem::*;
        match self {
            LeafGap { index } => (ReasonCode::AuditLeafGap, vec![("index", index.to_string())]),
            EventMissing {
                index,
                position,
                event,
            } => (
                ReasonCode::AuditEventMissing,
                vec![
                    ("index", index.to_string()),
                    ("position", position.to_string()),
                    ("event", event.clone()),
                ],
            ),
            LeafChanged {
                index,
                position,
                event,
                now,
                then,
            } => (
                ReasonCode::AuditLeafChanged,
                vec![
                    ("index", index.to_string()),
                    ("position", position.to_string()),
                    ("event", event.clone()),
                    ("now", now.clone()),
                    ("then", then.clone()),
                ],
            ),
            LeafMoved {
                index,
                position,
                event,
                other,
            } => (
                ReasonCode::AuditLeafMoved,
                vec![
                    ("index", index.to_string()),
                    ("position", position.to_string()),
                    ("event", event.clone()),
                    ("other", other.to_string()),
                ],
            ),
            LeafOutOfOrder {
                index,
                position,
                event,
            } => (
                ReasonCode::AuditLeafOutOfOrder,
                vec![
                    ("index", index.to_string()),
                    ("position", position.to_string()),
                    ("event", event.clone()),
                ],
            ),
            EventInserted {
                position,
                event,
                after,
            } => (
                ReasonCode::AuditEventInserted,
                vec![
                    ("position", position.to_string()),
                    ("event", event.clone()),
                    (
                        "after",
                        after.map_or_else(|| "-".to_string(), |a| a.to_string()),
                    ),
                ],
            ),
            EventUnencodable { position, event } => (
                ReasonCode::AuditEventUnencodable,
                vec![("position", position.to_string()), ("event", event.clone())],
            ),
            CheckpointMalformed { id } => (
                ReasonCode::AuditCheckpointMalformed,
                vec![("id", id.to_string())],
            ),
            CheckpointSignature { id, size, key } => (
                ReasonCode::AuditCheckpointSignature,
                vec![
                    ("id", id.to_string()),
                    ("size", size.to_string()),
                    ("key", key.clone()),
                ],
            ),
            CheckpointEdited { id } => (
                ReasonCode::AuditCheckpointEdited,
                vec![("id", id.to_string())],
            ),
            CheckpointTruncated { id, size, count } => (
                ReasonCode::AuditCheckpointTruncated,
                vec![
                    ("id", id.to_string()),
                    ("size", size.to_string()),
                    ("count", count.to_string()),
                ],
            ),
            CheckpointRoot { id, size, from, to } => (
                ReasonCode::AuditCheckpointRoot,
                vec![
                    ("id", id.to_string()),
                    ("size", size.to_string()),
                    ("from", from.to_string()),
                    ("to", to.to_string()),
                ],
            ),
            CheckpointLeaves { id, size } => (
                ReasonCode::AuditCheckpointLeaves,
                vec![("id", id.to_string()), ("size", size.to_string())],
            ),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub problems: Vec<Problem>,
    /// Events read from the log (below the read horizon).
    pub events: usize,
    /// Sequenced leaves.
    pub leaves: usize,
    /// Events after the sequencer's checkpoint: not sequenced yet (no problem).
    pub unsequenced: usize,
    /// Stored checkpoints.
    pub checkpoints: usize,
    /// Whether signatures were checked (a verifier key was given).
    pub signatures_checked: bool,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Everything a verification reads, in one consistent view.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyInput {
    /// The log in commit order.
    pub events: Vec<EventRecord>,
    /// The sequenced leaves in index order.
    pub leaves: Vec<Leaf>,
    /// The sequencer's checkpoint: events up to it were sequenced.
    pub sequenced_upto: LogPosition,
    /// Stored checkpoints, oldest first.
    pub checkpoints: Vec<StoredCheckpoint>,
}

/// Reads the live log, its leaves and its checkpoints and compares them (see the module
/// documentation). With `key`, every checkpoint's signature is checked too, and a
/// checkpoint not signed by it counts for nothing.
pub async fn verify_database(
    pool: &PgPool,
    key: Option<&VerifierKey>,
) -> Result<VerifyReport, AuditError> {
    Ok(analyse(&read(pool).await?, key))
}

/// Reads what [`analyse`] compares, in one repeatable-read transaction.
pub async fn read(pool: &PgPool) -> Result<VerifyInput, AuditError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let mut events = Vec::new();
    let mut after = LogPosition::START;
    loop {
        let batch = log::read_after(&mut tx, after, None, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.at;
        events.extend(batch.iter().map(EventRecord::of));
    }
    let mut leaves: Vec<Leaf> = Vec::new();
    loop {
        let from = leaves.last().map_or(0, |l| l.index + 1);
        let batch = log_leaves::read_leaves(&mut tx, from, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        leaves.extend(batch);
    }
    let sequenced_upto = projection_checkpoint::read(&mut tx, log_leaves::NAME)
        .await?
        .map(|c| c.at)
        .unwrap_or(LogPosition::START);
    let checkpoints = checkpoints::all(&mut tx).await?;
    tx.commit().await?;
    Ok(VerifyInput {
        events,
        leaves,
        sequenced_upto,
        checkpoints,
    })
}

/// Compares the recomputed log with the leaves and the checkpoints. Pure.
pub fn analyse(input: &VerifyInput, key: Option<&VerifierKey>) -> VerifyReport {
    let mut problems = Vec::new();
    let events = &input.events;
    let leaves = &input.leaves;

    // The leaves must be dense.
    let mut expected = 0;
    let mut dense = true;
    for leaf in leaves {
        if leaf.index > expected {
            problems.push(Problem::LeafGap { index: expected });
            dense = false;
        }
        expected = leaf.index + 1;
    }

    // Each leaf against the event at its position.
    let by_position: HashMap<i64, usize> = events
        .iter()
        .enumerate()
        .map(|(j, e)| (e.at.position, j))
        .collect();
    let mut by_hash: HashMap<[u8; 32], i64> = HashMap::with_capacity(leaves.len());
    for leaf in leaves {
        if let Some(h) = leaf.hash {
            by_hash.entry(h.0).or_insert(leaf.index);
        }
    }
    let mut matched: Vec<Option<i64>> = vec![None; events.len()];
    let mut in_order: Vec<(usize, i64)> = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let position = leaf.at.position;
        let Some(&j) = by_position.get(&position) else {
            problems.push(Problem::EventMissing {
                index: leaf.index,
                position,
                event: label(&leaf.aggregate_type, &leaf.aggregate_id, leaf.sequence),
            });
            continue;
        };
        matched[j] = Some(leaf.index);
        let event = &events[j];
        match event.hash {
            None => problems.push(Problem::EventUnencodable {
                position,
                event: event.event.clone(),
            }),
            Some(h) if Some(h) == leaf.hash => in_order.push((j, leaf.index)),
            Some(h) => match by_hash.get(&h.0) {
                Some(&other) if other != leaf.index => problems.push(Problem::LeafMoved {
                    index: leaf.index,
                    position,
                    event: event.event.clone(),
                    other,
                }),
                _ => problems.push(Problem::LeafChanged {
                    index: leaf.index,
                    position,
                    event: event.event.clone(),
                    now: tree::to_hex(&h),
                    then: leaf.hash.map_or_else(String::new, |t| tree::to_hex(&t)),
                }),
            },
        }
    }

    // Unchanged events must still come in leaf order; the fewest out of place are named.
    in_order.sort_unstable_by_key(|(j, _)| *j);
    let indexes: Vec<i64> = in_order.iter().map(|(_, i)| *i).collect();
    for k in out_of_order(&indexes) {
        let (j, index) = in_order[k];
        problems.push(Problem::LeafOutOfOrder {
            index,
            position: events[j].at.position,
            event: events[j].event.clone(),
        });
    }

    // Events without a leaf: inserted among sequenced ones, or not sequenced yet.
    let mut unsequenced = 0;
    let mut last_leaf = None;
    for (j, event) in events.iter().enumerate() {
        match matched[j] {
            Some(index) => last_leaf = Some(index),
            None if event.at <= input.sequenced_upto => problems.push(Problem::EventInserted {
                position: event.at.position,
                event: event.event.clone(),
                after: last_leaf,
            }),
            None => {
                unsequenced += 1;
                if event.hash.is_none() {
                    problems.push(Problem::EventUnencodable {
                        position: event.at.position,
                        event: event.event.clone(),
                    });
                }
            }
        }
    }

    // Every checkpoint against the recomputed log and the stored leaves.
    let log_tree = Tree::from_leaves(events.iter().map(|e| e.hash.unwrap_or_default())).ok();
    let leaves_tree = match dense {
        true => Tree::from_leaves(leaves.iter().map(|l| l.hash.unwrap_or_default())).ok(),
        false => None,
    };
    let mut proven = 0u64;
    for stored in &input.checkpoints {
        let id = stored.id;
        let head = match key {
            Some(key) => match checkpoint::open(&stored.note, key) {
                Ok(head) => head,
                Err(CheckpointError::Malformed) => {
                    problems.push(Problem::CheckpointMalformed { id });
                    continue;
                }
                Err(_) => {
                    problems.push(Problem::CheckpointSignature {
                        id,
                        size: u64::try_from(stored.tree_size).unwrap_or_default(),
                        key: key.as_str().to_string(),
                    });
                    continue;
                }
            },
            None => match checkpoint::parse_unverified(&stored.note) {
                Ok(head) => head,
                Err(_) => {
                    problems.push(Problem::CheckpointMalformed { id });
                    continue;
                }
            },
        };
        let size = head.size;
        if u64::try_from(stored.tree_size).ok() != Some(size)
            || stored.root_hash.as_slice() != head.root.0.as_slice()
        {
            problems.push(Problem::CheckpointEdited { id });
        }
        match &log_tree {
            Some(t) if size > t.size() => problems.push(Problem::CheckpointTruncated {
                id,
                size,
                count: t.size(),
            }),
            Some(t) if t.root_at(size).ok() != Some(head.root) => {
                problems.push(Problem::CheckpointRoot {
                    id,
                    size,
                    from: proven.min(size.saturating_sub(1)),
                    to: size.saturating_sub(1),
                })
            }
            Some(_) => proven = proven.max(size),
            None => {}
        }
        if let Some(t) = &leaves_tree {
            if size > t.size() || t.root_at(size).ok() != Some(head.root) {
                problems.push(Problem::CheckpointLeaves { id, size });
            }
        }
    }

    VerifyReport {
        problems,
        events: events.len(),
        leaves: leaves.len(),
        unsequenced,
        checkpoints: input.checkpoints.len(),
        signatures_checked: key.is_some(),
    }
}

/// The positions in `seq` outside one longest strictly increasing subsequence: the
/// fewest elements whose removal leaves `seq` in order. Empty when it is in order.
fn out_of_order(seq: &[i64]) -> Vec<usize> {
    if seq.windows(2).all(|w| w[0] < w[1]) {
        return Vec::new();
    }
    // Patience sorting: tails[l] is the index in seq of the smallest tail of an
    // increasing subsequence of length l + 1; prev links each element to its predecessor.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &v) in seq.iter().enumerate() {
        let l = tails.partition_point(|&t| seq[t] < v);
        if l > 0 {
            prev[i] = Some(tails[l - 1]);
        }
        if l == tails.len() {
            tails.push(i);
        } else {
            tails[l] = i;
        }
    }
    let mut keep = vec![false; seq.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep[i] = true;
        at = prev[i];
    }
    (0..seq.len()).filter(|&i| !keep[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordered_sequence_has_nothing_out_of_order() {
        assert!(out_of_order(&[0, 1, 2, 5, 9]).is_empty());
        assert!(out_of_order(&[]).is_empty());
    }

    #[test]
    fn a_swap_names_the_two_swapped_elements() {
        assert_eq!(out_of_order(&[0, 1, 7, 3, 4, 5, 6, 2, 8]), vec![2, 7]);
        assert_eq!(out_of_order(&[0, 2, 1, 3]).len(), 1);
    }

    #[test]
    fn one_moved_element_is_named_alone() {
        assert_eq!(out_of_order(&[1, 2, 3, 4, 0]), vec![4]);
    }
}
