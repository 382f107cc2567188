//! Reconciliation: the context recorded on a run when something other than its own job
//! decided its terminal state. It is context, never a status.

mod decision;
mod evidence;
pub mod restore;
pub mod review_compose;
pub mod stale;

pub use decision::Decision;
pub use evidence::{Evidence, ReadScope, RecordKind, RecordRef, RecordStatus, TimeLabel};

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::operation_run::TerminalOutcome;
use crate::reason::ReasonCode;

/// Who decided: a typed adapter proving the outcome from domain truth, or the generic
/// stale path that ends a run nobody can prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationSource {
    Adapter,
    Stale,
}

/// The terminal decision a reconciliation records. Each maps to exactly one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    ProvenSucceeded,
    ProvenPartiallySucceeded,
    ProvenFailed,
    Blocked,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::ProvenSucceeded,
        DecisionKind::ProvenPartiallySucceeded,
        DecisionKind::ProvenFailed,
        DecisionKind::Blocked,
    ];

    /// The outcome the run ends with.
    pub fn outcome(self) -> TerminalOutcome {
        match self {
            DecisionKind::ProvenSucceeded => TerminalOutcome::Succeeded,
            DecisionKind::ProvenPartiallySucceeded => TerminalOutcome::PartiallySucceeded,
            DecisionKind::ProvenFailed => TerminalOutcome::Failed,
            DecisionKind::Blocked => TerminalOutcome::Blocked,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::ProvenSucceeded => "proven_succeeded",
            DecisionKind::ProvenPartiallySucceeded => "proven_partially_succeeded",
            DecisionKind::ProvenFailed => "proven_failed",
            DecisionKind::Blocked => "blocked",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            DecisionKind::ProvenSucceeded => {
                lang.pick("proven succeeded", "als erfolgreich belegt")
            }
            DecisionKind::ProvenPartiallySucceeded => lang.pick(
                "proven partially succeeded",
                "als teilweise erfolgreich belegt",
            ),
            DecisionKind::ProvenFailed => lang.pick("proven failed", "als fehlgeschlagen belegt"),
            DecisionKind::Blocked => lang.pick("blocked", "blockiert"),
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An adapter's identity as recorded with its decisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdapterRef {
    pub name: String,
    pub version: String,
}

/// The adapter name or version has characters outside the allowed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid adapter identity `{0}`")]
pub struct InvalidAdapterRef(pub String);

impl AdapterRef {
    /// Names are lowercase identifiers (`restore`, `review-compose`); versions are
    /// semantic-version-like (`1.0.0`). Both at most 64 characters.
    pub fn new(name: &str, version: &str) -> Result<Self, InvalidAdapterRef> {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        let version_ok = !version.is_empty()
            && version.len() <= 64
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if name_ok && version_ok {
            Ok(AdapterRef {
                name: name.to_string(),
                version: version.to_string(),
            })
        } else {
            Err(InvalidAdapterRef(format!("{name}@{version}")))
        }
    }
}

impl fmt::Display for AdapterRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// The full reconciliation context recorded on a run by its reconcile event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub source: ReconciliationSource,
    /// Set when `source` is `adapter`; the stale path has no adapter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterRef>,
    pub decision: DecisionKind,
    pub reason_code: ReasonCode,
    pub evidence: Evidence,
    pub decided_at: DateTime<Utc>,
}
