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
    /// Nothing can be proven now; leave the run as it is.
    NotProvableYet {
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

    pub fn reason(&self) -> ReasonCode {
        match self {
            Decision::Decided { reason, .. } | Decision::NotProvableYet { reason, .. } => *reason,
        }
    }

    pub fn evidence(&self) -> &Evidence {
        match self {
            Decision::Decided { evidence, .. } | Decision::NotProvableYet { evidence, .. } => {
                evidence
            }
        }
    }

    /// The decision kind, when the run is to be ended.
    pub fn kind(&self) -> Option<DecisionKind> {
        match self {
            Decision::Decided { kind, .. } => Some(*kind),
            Decision::NotProvableYet { .. } => None,
        }
    }

    /// `proven_succeeded`, …, or `not_provable_yet`.
    pub fn as_str(&self) -> &'static str {
        self.kind().map_or("not_provable_yet", DecisionKind::as_str)
    }

    pub fn label(&self, lang: Lang) -> &'static str {
        match self.kind() {
            Some(kind) => kind.label(lang),
            None => lang.pick("not provable yet", "noch nicht belegbar"),
        }
    }
}
