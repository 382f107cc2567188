//! runproof's projector and projection tables.
//!
//! The event log is the truth; every table here is a projection that can be dropped and
//! rebuilt from it. The projector reads the log in commit order from a checkpoint and
//! writes rows and checkpoint in one transaction, so each event is applied exactly once.
//!
//! # Layout
//! - [`log`]: reading the `events` table in commit order (and one stream's history).
//! - [`scoped_log`]: the same order for one reader's scope (the downstream feed):
//!   each event placed in its workspace, kept when the reader's scope holds it.
//! - [`position`]: a place in that order.
//! - [`checkpoint`]: each projection's last applied position.
//! - [`projection`]: the contract a projection implements.
//! - [`projector`]: catch-up, read-your-writes waits, the polling loop, status.
//! - [`rebuild`]: rebuild from position zero with a swap, and verify against live tables.
//! - [`as_of`]: a projection folded up to an earlier position into temporary tables (what
//!   the engine believed then).
//! - [`schema`]: the projection tables' schema as runproof owns it, created for a rebuild.
//! - [`operation_runs`]: the run projection and its queries.
//! - [`restore_runs`]: the restore records the restore adapter reads.
//! - [`directory`]: workspaces (members), actors (kind, operator role), managed environments.
//! - [`api_tokens`]: issued API tokens for `tokens list` (never the secret or its digest).
//! - [`log_leaves`]: the audit log's sequencer — each event's leaf index in commit order
//!   and its leaf hash (see `runproof_audit`).
//! - [`stream_guard`]: reads that hold only while some streams stand at given versions.
//! - [`sql`]: the one helper that puts a name (table, index, database) into SQL text.
//! - [`evidence_snapshots`], [`environment_reviews`]: what reviews are composed from, and
//!   the reviews (with invariant 4's partial unique index).
#![forbid(unsafe_code)]

pub mod api_tokens;
pub mod as_of;
pub mod checkpoint;
pub mod directory;
pub mod environment_reviews;
pub mod error;
pub mod evidence_snapshots;
pub mod log;
pub mod log_leaves;
pub mod operation_runs;
pub mod position;
pub mod progress;
pub mod projection;
pub mod projector;
pub mod rebuild;
pub mod restore_runs;
pub mod schema;
pub mod scoped_log;
pub mod sql;
pub mod stream_guard;
mod stream_table;

pub use stream_table::Row;

pub use error::ProjectorError;
pub use position::LogPosition;
pub use progress::{NoProgress, Progress};
pub use projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
pub use projector::{CatchUp, Projector, Stall, StallWatch, Step};

use std::sync::Arc;

/// The most rows a list (`runs list`, `reviews list`) returns at once. Interfaces refuse
/// a larger `--limit` (`cli.limit_out_of_range`); the queries clamp to it as well.
pub const LIST_LIMIT_MAX: i64 = 1000;

/// Every projection runproof maintains, in the order they are applied.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(operation_runs::OperationRunsProjection),
        Arc::new(restore_runs::RestoreRunsProjection),
        Arc::new(directory::WorkspacesProjection),
        Arc::new(directory::ActorsProjection),
        Arc::new(directory::EnvironmentsProjection),
        Arc::new(evidence_snapshots::EvidenceSnapshotsProjection),
        Arc::new(environment_reviews::EnvironmentReviewsProjection),
        Arc::new(api_tokens::ApiTokensProjection),
        Arc::new(log_leaves::LogLeavesProjection),
    ]
}
