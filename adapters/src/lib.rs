//! Reconciliation adapters: typed proofs of a stuck run's real outcome.
//!
//! This crate holds the `ReconciliationAdapter` contract, its registry, the restore and
//! review-compose adapters and the stale reconciler. It is filled by the reconciliation
//! capability; the foundation only reserves its place in the workspace.
#![forbid(unsafe_code)]
