//! The pieces of runproof's tamper-evident log that need no database: how an event
//! becomes a leaf, how leaves become a Merkle tree, and how a tree head is signed.
//!
//! Everything here follows the transparency-log standards, so that an auditor can check
//! runproof's log with any implementation of them:
//! - the tree is RFC 6962 / RFC 9162's: `leaf = SHA-256(0x00 ‖ leaf bytes)`,
//!   `node = SHA-256(0x01 ‖ left ‖ right)`, split at the largest power of two below the
//!   size; inclusion and consistency proofs are RFC 6962's audit paths (bottom-up);
//! - a tree head is a C2SP `tlog-checkpoint` (origin line, tree size, base64 root hash),
//!   signed as a C2SP `signed-note` with Ed25519;
//! - keys are written as Go's `golang.org/x/mod/sumdb/note` writes them
//!   (`PRIVATE+KEY+<name>+<id>+<base64>` and the verifier key `<name>+<id>+<base64>`).
//!
//! The tree arithmetic and the note format come from `tlog_tiles` and `signed_note`
//! (ports of Go's `sumdb/tlog` and `sumdb/note`); this crate adds the leaf encoding and a
//! small API with typed errors, and checks the ports against published vectors.
//!
//! # Layout
//! - [`leaf`]: the canonical byte encoding of one event (RFC 8785 JSON inside) and its
//!   leaf hash.
//! - [`tree`]: an in-memory tree over leaf hashes: roots at any size, proofs.
//! - [`compact`]: compact ranges (the subtree hashes standing for a tree's prefix).
//! - [`proof`]: checking inclusion and consistency proofs against roots.
//! - [`checkpoint`]: tree heads as C2SP checkpoints, signed and opened as notes.
//! - [`key`]: Ed25519 note keys: the signer key (secret) and the verifier key (public).
//! - [`tlog_proof`]: inclusion proofs as C2SP `tlog-proof` files, and building many of
//!   them in one pass over the leaf hashes.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod compact;
pub mod key;
pub mod leaf;
pub mod proof;
pub mod tlog_proof;
pub mod tree;

pub use checkpoint::{CheckpointError, TreeHead};
pub use compact::{CompactRange, CompactRangeError};
pub use key::{KeyError, SignerKey, VerifierKey};
pub use leaf::{LeafError, LeafEvent};
pub use tlog_proof::{ProofBuilder, ProofFile};
pub use tree::{Hash, Tree, TreeError};
