//! Reconciliation adapters: typed proofs of a stuck run's real outcome, and the
//! reconciler that applies them.
//!
//! # Layout
//! - [`contract`]: the `ReconciliationAdapter` trait — scoped evidence, pure decision.
//! - [`registry`]: which run types have an adapter (one each); redeciding recorded
//!   decisions from their evidence.
//! - [`restore`]: the restore adapter (`restore.execute` follows its restore record).
//! - [`review_compose`]: the review-compose adapter (DESIGN.md's decision table).
//! - [`ledger`]: the port through which runs are read and decisions recorded.
//! - [`reconciler`]: the stale-run reconciler — passes, leader election, explain, watch.
#![forbid(unsafe_code)]

pub mod contract;
pub mod ledger;
pub mod reconciler;
pub mod registry;
pub mod restore;
pub mod review_compose;

pub use contract::{AdapterError, ReconciliationAdapter, StreamRef};
pub use ledger::{LoadedRun, RecordError, RunLedger};
pub use reconciler::{Evaluation, Handled, PassReport, Reconciler};
pub use registry::{AdapterRegistry, RegistryError};
