//! `runproof audit prove RUN_ID`: an inclusion proof for each event of a run, against
//! the latest signed checkpoint, as C2SP `tlog-proof` files.
//!
//! Each file proves one leaf and carries, in its `extra` line, the event itself: its line
//! exactly as `audit export` writes it in `events.jsonl` (base64, newline included), so
//! that `audit verify-proof` ([`super::proof_check`]) recomputes the leaf hash from the
//! event with nothing but the file and the verifier key.
//!
//! All the run's proofs are computed in one read of the leaf hashes up to the
//! checkpoint's size, in one consistent view of the log ([`ProofBuilder`]); the leaves
//! read must hash to the checkpoint's root, or nothing is written.

use runproof_audit::checkpoint;
use runproof_audit::tree;
use runproof_audit::{ProofBuilder, ProofFile};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::bundle::BundleEvent;
use super::checkpoints;
use super::export::{bundle_event, EVENT_COLUMNS};
use super::AuditError;

/// Leaf hashes read per statement.
const BATCH: i64 = 50_000;

/// The aggregate type of a run's stream.
const RUN_STREAM: &str = "operation_run";

/// One proof, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Proven {
    pub event: BundleEvent,
    /// `<leaf index>-<event type>.tlog-proof`.
    pub file_name: String,
    /// The file's text.
    pub text: String,
}

/// An event of the run that the latest checkpoint does not cover (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub sequence: i64,
    pub event_type: String,
    pub position: i64,
    /// Its leaf, when the sequencer has given it one.
    pub leaf_index: Option<i64>,
}

/// The proofs of one run's events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunProofs {
    pub run: Uuid,
    pub origin: String,
    /// The tree size of the checkpoint the proofs are against.
    pub size: u64,
    /// In leaf order.
    pub proven: Vec<Proven>,
    /// In log order.
    pub uncovered: Vec<Uncovered>,
}

/// A file name for the proof of `event`: its leaf index and, when it is a plain name,
/// its event type.
pub fn file_name(event: &BundleEvent) -> String {
    let plain = !event.event_type.is_empty()
        && event.event_type.len() <= 64
        && event
            .event_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    match plain {
        true => format!("{}-{}.tlog-proof", event.leaf_index, event.event_type),
        false => format!("{}.tlog-proof", event.leaf_index),
    }
}

/// The proofs of run `run`'s events against the latest signed checkpoint, read in one
/// repeatable-read, read-only transaction.
///
/// Fails with [`AuditError::RunUnknown`] when the log has no event of the run,
/// [`AuditError::NoCheckpoint`] before the first checkpoint, and
/// [`AuditError::NothingCovered`] when no event of the run is in the checkpoint's tree.
pub async fn prove_run(pool: &PgPool, run: Uuid) -> Result<RunProofs, AuditError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT e.position AS event_position, {EVENT_COLUMNS} \
         FROM events e LEFT JOIN log_leaves l ON l.position = e.position \
         WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 ORDER BY e.sequence"
    ))
    .bind(RUN_STREAM)
    .bind(run.to_string())
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Err(AuditError::RunUnknown { run });
    }
    let latest = checkpoints::latest(&mut tx)
        .await?
        .ok_or(AuditError::NoCheckpoint)?;
    let head = checkpoint::parse_unverified(&latest.note)
        .map_err(|_| AuditError::CheckpointMalformed { id: latest.id })?;
    let size = i64::try_from(head.size).map_err(|_| AuditError::Internal)?;

    let mut covered = Vec::new();
    let mut uncovered = Vec::new();
    for row in &rows {
        let leaf: Option<i64> = row.try_get("leaf_index")?;
        match leaf {
            Some(index) if index < size => covered.push(bundle_event(row)?),
            _ => uncovered.push(Uncovered {
                sequence: row.try_get("sequence")?,
                event_type: row.try_get("event_type")?,
                position: row.try_get("event_position")?,
                leaf_index: leaf,
            }),
        }
    }
    if covered.is_empty() {
        return Err(AuditError::NothingCovered {
            run,
            events: rows.len(),
            size: head.size,
        });
    }
    covered.sort_by_key(|e| e.leaf_index);

    // One pass over the leaf hashes of the checkpoint's tree gives every proof.
    let indexes: Vec<u64> = covered.iter().map(|e| e.leaf_index).collect();
    let mut builder = ProofBuilder::new(head.size, &indexes).map_err(|_| AuditError::Internal)?;
    let mut lo = 0i64;
    while lo < size {
        let hi = size.min(lo.saturating_add(BATCH));
        let batch: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT leaf_index, leaf_hash FROM log_leaves \
             WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *tx)
        .await?;
        for (expected, (index, hash)) in (lo..).zip(&batch) {
            if *index != expected {
                return Err(AuditError::LeavesIncomplete { index: expected });
            }
            // A stored value that is not 32 bytes counts as the all-zero hash, which no
            // leaf has: the root check below then refuses.
            builder
                .push(tree::from_bytes(hash).unwrap_or_default())
                .map_err(|_| AuditError::Internal)?;
        }
        if i64::try_from(batch.len()).ok() != Some(hi - lo) {
            return Err(AuditError::LeavesIncomplete {
                index: lo.saturating_add(i64::try_from(batch.len()).unwrap_or(i64::MAX)),
            });
        }
        lo = hi;
    }
    tx.commit().await?;
    let built = builder.finish().map_err(|_| AuditError::Internal)?;
    if built.root != head.root {
        // The sequenced leaves no longer give the signed root: proofs from them would not
        // hold. `audit verify --database` names what changed.
        return Err(AuditError::Fork {
            id: latest.id,
            size: latest.tree_size,
        });
    }

    let proven = covered
        .into_iter()
        .zip(built.proofs)
        .map(|(event, (_, proof))| {
            let file = ProofFile {
                extra: Some(event.render().into_bytes()),
                index: event.leaf_index,
                proof,
                checkpoint: latest.note.clone(),
            };
            Proven {
                file_name: file_name(&event),
                text: file.render(),
                event,
            }
        })
        .collect();
    Ok(RunProofs {
        run,
        origin: head.origin,
        size: head.size,
        proven,
        uncovered,
    })
}
