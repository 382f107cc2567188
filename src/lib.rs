//! runproof: an event-sourced reconciliation engine for long-running operation runs.
//!
//! This crate is the root package: the `runproof` binary's command line and the services
//! that wire the domain, the projector and the adapters together. The binary's `main`
//! is thin; everything here is testable as a library.
//!
//! # Layout
//! - [`database`]: connecting, creating, migrating, and refusing unknown schemas.
//! - [`event_store`]: cqrs-es aggregates stored in the `events` table, plus atomic
//!   multi-stream appends.
//! - [`writer`]: executing commands, with optional read-your-writes waits.
//! - [`lifecycle`]: the run lifecycle service — the one writer of run transitions.
//! - [`restore`]: the restore records that `restore.execute` runs follow.
//! - [`directory`]: workspaces, members, actors, environments, evidence capture;
//!   [`evidence_documents`]: the append-only, content-addressed store of captured documents.
//! - [`reviews`]: compose requests and their feedback, the compose worker, publishing.
//! - [`feed`]: the downstream feed — the log in commit order as CloudEvents, from a
//!   consumer's cursor, scoped to the caller; [`relay`]: the same log onto a NATS
//!   JetStream stream, exactly once and in order, resuming from the stream itself.
//! - [`tokens`]: API tokens (issue, revoke, list) and authenticating a presented token
//!   into a caller with its roles.
//! - [`audit`]: the tamper-evident log's services — signed checkpoints of the sequenced
//!   leaves (periodic in `serve` and `project`) and `audit verify --database`.
//! - [`service_error`]: the error every domain service returns.
//! - [`app`]: wiring of pool, store, projector and services.
//! - [`explain`]: the decision-first explanation of a run (and whether it needs attention).
//! - [`history`]: a run's or a review's recorded events, in their current shape, with
//!   the streams they link to.
//! - [`point_in_time`]: a log position or a time resolved to a place in the log's commit
//!   order, and a run as the log stood there (`--at`, `--until`, the console's `?at=`).
//! - [`cli`]: argument parsing and one module per command; [`http`]: the HTTP API and
//!   operational endpoints of `runproof serve`; [`console`]: the operator console's
//!   pages, served by the same server; [`demo`], [`bench`].
//! - [`clock`], [`telemetry`]: time and logs.
#![forbid(unsafe_code)]

pub mod app;
pub mod audit;
pub mod bench;
mod claims_in_flight;
pub mod cli;
pub mod clock;
pub mod console;
pub mod database;
pub mod demo;
pub mod directory;
pub mod event_store;
pub mod evidence_documents;
pub mod explain;
pub mod feed;
pub mod history;
pub mod http;
pub mod lifecycle;
pub mod point_in_time;
pub mod reconciliation;
pub mod relay;
pub mod restore;
pub mod reviews;
pub mod service_error;
pub mod telemetry;
pub mod tokens;
pub mod writer;

pub use database::MIGRATOR;
