//! `runproof audit export`: a bundle ([`super::bundle`]) of the log between two signed
//! checkpoints, read in one consistent view and written into a new or empty directory.
//!
//! The range is named by tree sizes: `to` defaults to the latest signed checkpoint,
//! `from` to the empty tree (0), so that the default bundle is the whole signed log.
//! A size names the latest checkpoint signed at that size. The export reads the events
//! the live log holds at the sequenced leaves' positions and the sequenced leaf hashes:
//! it never checks them (that is `audit verify`'s work, offline), so an export of a
//! changed log is written and then fails verification.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use runproof_audit::checkpoint;
use runproof_audit::leaf;
use runproof_audit::tree::{self, EMPTY_ROOT};
use runproof_audit::Tree;
use runproof_projections::log_leaves;
use sqlx::{PgPool, Row};

use super::bundle::{self, BundleEvent, Manifest};
use super::checkpoints::{self, StoredCheckpoint};
use super::AuditError;

const BATCH: i64 = 10_000;

/// A bundle in memory: file names and their bytes, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub from: u64,
    pub to: u64,
}

/// Why a bundle cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The directory holds files already; nothing was written.
    #[error("the bundle directory is not empty")]
    NotEmpty,
    /// The directory cannot be created, read or written.
    #[error("cannot write the bundle")]
    Io(#[from] std::io::Error),
}

/// Refuses a directory that exists and holds anything.
pub fn check_empty(dir: &Path) -> Result<(), WriteError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(WriteError::NotEmpty),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WriteError::Io(e)),
    }
}

/// Writes `bundle` into `dir` (created if missing; refused unless empty). Every file is
/// created new, so nothing is ever overwritten.
pub fn write(dir: &Path, bundle: &Bundle) -> Result<(), WriteError> {
    write_files(
        dir,
        bundle
            .files
            .iter()
            .map(|(name, bytes)| (*name, bytes.as_slice())),
    )
}

/// Writes `files` (name, bytes) into `dir` (created if missing; refused unless empty),
/// each created new.
pub fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), WriteError> {
    check_empty(dir)?;
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in files {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(name))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => WriteError::NotEmpty,
                _ => WriteError::Io(e),
            })?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    Ok(())
}

/// The latest checkpoint of tree size `size`.
fn at_size(all: &[StoredCheckpoint], size: u64) -> Result<&StoredCheckpoint, AuditError> {
    all.iter()
        .rev()
        .find(|c| u64::try_from(c.tree_size).ok() == Some(size))
        .ok_or(AuditError::CheckpointUnknown { size })
}

fn head(c: &StoredCheckpoint) -> Result<checkpoint::TreeHead, AuditError> {
    checkpoint::parse_unverified(&c.note).map_err(|_| AuditError::CheckpointMalformed { id: c.id })
}

/// Reads the bundle of the range `from..to` (tree sizes; see the module documentation)
/// in one repeatable-read, read-only transaction.
pub async fn export(
    pool: &PgPool,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<Bundle, AuditError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let all = checkpoints::all(&mut tx).await?;
    let to_checkpoint = match to {
        Some(size) => at_size(&all, size)?,
        None => all.last().ok_or(AuditError::NoCheckpoint)?,
    };
    let to_head = head(to_checkpoint)?;
    let from_checkpoint = match from {
        Some(0) | None => None,
        Some(size) => Some(at_size(&all, size)?),
    };
    let from_head = from_checkpoint.map(head).transpose()?;
    let from_size = from_head.as_ref().map_or(0, |h| h.size);
    if from_size > to_head.size {
        return Err(AuditError::RangeReversed {
            from: from_size,
            to: to_head.size,
        });
    }
    let to_size = i64::try_from(to_head.size).map_err(|_| AuditError::Internal)?;
    let hashes = log_leaves::read_hashes(&mut tx, to_size).await?;
    if i64::try_from(hashes.len()).ok() != Some(to_size) {
        return Err(AuditError::LeavesIncomplete {
            index: i64::try_from(hashes.len()).unwrap_or(i64::MAX),
        });
    }
    let tree = Tree::from_leaves(hashes).map_err(|_| AuditError::Internal)?;
    let compact = tree
        .compact_range(from_size)
        .map_err(|_| AuditError::Internal)?;
    let proof = tree
        .consistency_proof(from_size, to_head.size)
        .map_err(|_| AuditError::Internal)?;

    let mut events = String::new();
    let mut lo = i64::try_from(from_size).map_err(|_| AuditError::Internal)?;
    while lo < to_size {
        let hi = to_size.min(lo.saturating_add(BATCH));
        for event in read_events(&mut tx, lo, hi).await? {
            events.push_str(&event.render());
        }
        lo = hi;
    }
    tx.commit().await?;

    let from_root = from_head.as_ref().map_or(EMPTY_ROOT, |h| h.root);
    let manifest = Manifest::new(
        &to_head.origin,
        (from_size, from_root),
        (to_head.size, to_head.root),
    );
    let mut files: Vec<(&'static str, Vec<u8>)> = vec![
        (bundle::MANIFEST, manifest.render().into_bytes()),
        (
            bundle::TO_CHECKPOINT,
            to_checkpoint.note.clone().into_bytes(),
        ),
    ];
    if let Some(c) = from_checkpoint {
        files.push((bundle::FROM_CHECKPOINT, c.note.clone().into_bytes()));
    }
    files.push((bundle::EVENTS, events.into_bytes()));
    files.push((
        bundle::COMPACT_RANGE,
        bundle::render_hashes(&compact).into_bytes(),
    ));
    files.push((
        bundle::CONSISTENCY,
        bundle::render_hashes(&proof).into_bytes(),
    ));
    Ok(Bundle {
        files,
        from: from_size,
        to: to_head.size,
    })
}

/// The events at the positions of leaves `lo..hi`, in leaf order (a leaf whose event is
/// gone from the log has none: verification then finds it missing).
async fn read_events(
    conn: &mut sqlx::PgConnection,
    lo: i64,
    hi: i64,
) -> Result<Vec<BundleEvent>, AuditError> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM log_leaves l JOIN events e ON e.position = l.position \
         WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index"
    ))
    .bind(lo)
    .bind(hi)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(bundle_event)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AuditError::from)
}

/// The columns [`bundle_event`] reads: the leaf's index and hash (`l`, `log_leaves`) and
/// the event's fields (`e`, `events`).
pub(crate) const EVENT_COLUMNS: &str = "l.leaf_index, l.leaf_hash, e.aggregate_type, \
    e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload::text AS payload, \
    e.metadata::text AS metadata, e.recorded_at";

/// One row of [`EVENT_COLUMNS`] as the bundle's event line holds it.
pub(crate) fn bundle_event(r: &sqlx::postgres::PgRow) -> Result<BundleEvent, sqlx::Error> {
    let index: i64 = r.try_get("leaf_index")?;
    let hash: Vec<u8> = r.try_get("leaf_hash")?;
    let payload: String = r.try_get("payload")?;
    let metadata: String = r.try_get("metadata")?;
    let recorded_at: Option<chrono::DateTime<chrono::Utc>> = r.try_get("recorded_at")?;
    Ok(BundleEvent {
        leaf_index: u64::try_from(index).unwrap_or_default(),
        leaf_hash: tree::to_hex(&tree::from_bytes(&hash).unwrap_or_default()),
        aggregate_type: r.try_get("aggregate_type")?,
        aggregate_id: r.try_get("aggregate_id")?,
        sequence: r.try_get("sequence")?,
        event_type: r.try_get("event_type")?,
        event_version: r.try_get("event_version")?,
        recorded_at_micros: recorded_at.map(|t| t.timestamp_micros()),
        // An event with no canonical form (which runproof never writes and the
        // sequencer never passes) is exported as stored: its line then fails.
        payload: leaf::canonical_json(&payload).unwrap_or(payload),
        metadata: leaf::canonical_json(&metadata).unwrap_or(metadata),
    })
}
