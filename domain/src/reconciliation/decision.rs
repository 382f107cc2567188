//! What a reconciliation concludes about a run.

use serde::Serialize;

use crate::lang::Lang;
use crate::reason::ReasonCode;
use crate::reconciliation::{DecisionKind, Evidence};

/// A reconciliation decision: the run's terminal state proven (or blocked), with the
/// reason and the bounded evidence — or "not provable yet", which writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Decision {
    /// End the run with `kind`'s outcome.
    Decided {
        kind: DecisionKind,
        reason: ReasonCode,
        evidence: Evidence,
    },
    /// Nothing can be proven now; leave the run as it is (the stale path may still end
    /// it once it is past its thresholds).
    NotProvableYet {
        reason: ReasonCode,
        evidence: Evidence,
    },
    /// Another active run holds what would prove this one: leave the run as it is, even
    /// when stale. Once that run ends, the evidence changes.
    Deferred {
        reason: ReasonCode,
        evidence: Evidence,
    },
}

impl Decision {
    pub fn decided(kind: DecisionKind, reason: ReasonCode, evidence: &Evidence) -> Self {
        Decision::Decided {
            kind,
            reason,
            evidence: evidence.clone(),
        }
    }

    pub fn not_provable_yet(reason: ReasonCode, evidence: &Evidence) -> Self {
        Decision::NotProvableYet {
            reason,
            evidence: evidence.clone(),
        }
    }

    pub fn deferred(reason: ReasonCode, evidence: &Evidence) -> Self {
        Decision::Deferred {
            reason,
            evidence: evidence.clone(),
        }
    }

    pub fn reason(&self) -> ReasonCode {
        match self {
            Decision::Decided { reason, .. }
            | Decision::NotProvableYet { reason, .. }
            | Decision::Deferred { reason, .. } => *reason,
        }
    }

    pub fn evidence(&self) -> &Evidence {
        match self {
            Decision::Decided { evidence, .. }
            | Decision::NotProvableYet { evidence, .. }
            | Decision::Deferred { evidence, .. } => evidence,
        }
    }

    /// The decision kind, when the run is to be ended.
    pub fn kind(&self) -> Option<DecisionKind> {
        match self {
            Decision::Decided { kind, .. } => Some(*kind),
            Decision::NotProvableYet { .. } | Decision::Deferred { .. } => None,
        }
    }

    /// Whether the stale path may end the run when nothing was proven.
    pub fn allows_stale_path(&self) -> bool {
        matches!(self, Decision::NotProvableYet { .. })
    }

    /// `proven_succeeded`, …, `not_provable_yet` or `deferred`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Decided { kind, .. } => kind.as_str(),
            Decision::NotProvableYet { .. } => "not_provable_yet",
            Decision::Deferred { .. } => "deferred",
        }
    }

    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Decision::Decided { kind, .. } => kind.label(lang),
            Decision::NotProvableYet { .. } => lang.pick("not provable yet", "noch nicht belegbar"),
            Decision::Deferred { .. } => {
                lang.pick("waiting for another run", "wartet auf einen anderen Lauf")
            }
        }
    }
}
