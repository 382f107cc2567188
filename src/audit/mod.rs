//! The audit log's services: signing checkpoints of the sequenced leaves, keeping them,
//! and verifying the live log against its leaves and its signed checkpoints.
//!
//! The pieces that need no database (leaf encoding, tree, proofs, note format, keys) are
//! in the `runproof_audit` crate; the sequencer that assigns leaves is the `log_leaves`
//! projection (`runproof_projections::log_leaves`). docs/audit.md describes the whole.
//!
//! # Layout
//! - [`keys`]: key files (written once, mode 0600) and verifier keys given on the
//!   command line.
//! - [`checkpoints`]: the append-only `audit_checkpoints` table and signing the current
//!   tree head (never a tree that does not extend the last signed one).
//! - [`schedule`]: the periodic checkpoint of `serve` and `project`, driven by an
//!   injected clock.
//! - [`bundle`]: the audit bundle's files, and `audit verify DIR`, which checks them
//!   offline with only the verifier key.
//! - [`export`]: `audit export`: the bundle of the log between two signed checkpoints.
//! - [`prove`]: `audit prove`: inclusion proofs of a run's events against the latest
//!   signed checkpoint, as C2SP `tlog-proof` files carrying the event.
//! - [`proof_check`]: `audit verify-proof`: one proof file checked offline.
//! - [`redecide`]: re-deciding recorded decisions from their recorded evidence, with no
//!   database (fed log entries in order; for the live log and for exported bundles).
//! - [`redecide_log`]: `audit redecide` over the live log, streamed in commit order.
//! - [`verify`]: `audit verify --database`: every leaf recomputed from the live log and
//!   compared with the stored leaves and the signed checkpoints.

pub mod bundle;
pub mod checkpoints;
pub mod export;
pub mod keys;
pub mod proof_check;
pub mod prove;
pub mod redecide;
pub mod redecide_log;
pub mod schedule;
pub mod verify;

use runproof_projections::ProjectorError;

/// Why an audit operation failed. Each variant says what a caller can do.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database failed; nothing was stored. Retry later.
    #[error("database error in the audit log")]
    Database(#[from] sqlx::Error),
    /// Bringing the sequencer up to date failed (a stopped projection, a lag).
    #[error("the sequencer could not catch up")]
    Projector(#[from] ProjectorError),
    /// The sequenced leaves no longer extend the last signed checkpoint: signing now would
    /// vouch for a second, different history. Nothing is signed; run `audit verify`.
    #[error("the leaves do not extend checkpoint {id} (size {size})")]
    Fork { id: i64, size: i64 },
    /// The sequenced leaves have a gap at `index`; nothing is signed.
    #[error("leaf {index} is missing")]
    LeavesIncomplete { index: i64 },
    /// The origin cannot be a checkpoint origin (spaces, `+`, empty).
    #[error("invalid origin {0}")]
    InvalidOrigin(String),
    /// No signed checkpoint has this tree size.
    #[error("no checkpoint of tree size {size}")]
    CheckpointUnknown { size: u64 },
    /// A stored checkpoint's note is not a checkpoint.
    #[error("checkpoint {id} is malformed")]
    CheckpointMalformed { id: i64 },
    /// The earlier tree of a range is larger than the later one.
    #[error("range {from}..{to} is reversed")]
    RangeReversed { from: u64, to: u64 },
    /// The log holds no event of this run.
    #[error("run {run} has no events")]
    RunUnknown { run: uuid::Uuid },
    /// None of the run's events is in the latest checkpoint's tree yet.
    #[error("none of run {run}'s {events} events is in the tree of size {size}")]
    NothingCovered {
        run: uuid::Uuid,
        events: usize,
        size: u64,
    },
    /// No checkpoint has been signed yet.
    #[error("no checkpoint signed yet")]
    NoCheckpoint,
    /// Signing or building the tree failed (a bug, not the input's fault).
    #[error("cannot build or sign the tree head")]
    Internal,
}
