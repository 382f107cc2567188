//! runproof's domain: aggregates, commands, events, the run-type catalogue, reason
//! codes with their EN/DE text, and the pure decisions made on them.
//!
//! Nothing in this crate does I/O or reads a clock: commands carry the time, and
//! whatever a decision needs from elsewhere is looked up before the command is sent.
//!
//! # Layout
//! - [`operation_run`]: the `OperationRun` aggregate (status, outcome, lifecycle).
//! - [`run_slot`]: the per-identity slot that makes "one active run per identity" hold
//!   when events are written.
//! - [`reconciliation`]: the context recorded when something other than a run's job
//!   decided it, with its bounded [`reconciliation::Evidence`].
//! - [`restore`]: the restore record a `restore.execute` run follows.
//! - [`workspace`], [`environment`], [`actor`]: tenants, their environments (with
//!   evidence snapshots) and the people and services acting in them (kinds and roles).
//! - [`api_token`]: API tokens (only their secret's digest is recorded) and the pure
//!   check of a presented token; [`access`]: the authenticated caller and what it may
//!   do in a workspace.
//! - [`review`]: environment reviews, their fingerprint slot, and the composer;
//!   [`findings`]: the documents reviews are composed from.
//! - [`run_type`]: the catalogue of run types, labels and stale thresholds.
//! - [`reason`]: every reason code with EN and DE text.
//! - [`identity`], [`fingerprint`]: deterministic `sha256:` hashes.
//! - [`metadata`], [`initiator`], [`lang`]: what every event carries and who reads it.
//! - [`event_catalogue`]: every aggregate type, its event types, and the workspace each
//!   event belongs to (what the downstream feed names and scopes events by).
//! - [`upcasting`]: schema evolution — the one registry of upcasters every reader of
//!   stored events decodes through.
#![forbid(unsafe_code)]

pub mod access;
pub mod actor;
pub mod api_token;
pub mod environment;
pub mod event_catalogue;
pub mod findings;
pub mod fingerprint;
pub mod identity;
pub mod initiator;
pub mod lang;
pub mod metadata;
pub mod operation_run;
pub mod reason;
pub mod reconciliation;
pub mod restore;
pub mod review;
pub mod run_slot;
pub mod run_type;
mod text_input;
pub mod upcasting;
pub mod workspace;

pub use lang::Lang;
pub use reason::ReasonCode;
