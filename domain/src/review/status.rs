//! A review's status: mutable while it is being made (`draft`, `ready`, `failed`),
//! historical lineage afterwards (`published`, `archived`, `superseded`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::operation_run::UnknownValue;
use crate::reconciliation::RecordStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Draft,
    Ready,
    Failed,
    Published,
    Archived,
    Superseded,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 6] = [
        ReviewStatus::Draft,
        ReviewStatus::Ready,
        ReviewStatus::Failed,
        ReviewStatus::Published,
        ReviewStatus::Archived,
        ReviewStatus::Superseded,
    ];

    /// The statuses of which at most one review may exist per (workspace, environment,
    /// fingerprint).
    pub const MUTABLE: [ReviewStatus; 3] = [
        ReviewStatus::Draft,
        ReviewStatus::Ready,
        ReviewStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Draft => "draft",
            ReviewStatus::Ready => "ready",
            ReviewStatus::Failed => "failed",
            ReviewStatus::Published => "published",
            ReviewStatus::Archived => "archived",
            ReviewStatus::Superseded => "superseded",
        }
    }

    pub fn is_mutable(self) -> bool {
        Self::MUTABLE.contains(&self)
    }

    /// Ready or published: a review someone can open.
    pub fn is_available(self) -> bool {
        matches!(self, ReviewStatus::Ready | ReviewStatus::Published)
    }

    pub fn record_status(self) -> RecordStatus {
        match self {
            ReviewStatus::Draft => RecordStatus::Draft,
            ReviewStatus::Ready => RecordStatus::Ready,
            ReviewStatus::Failed => RecordStatus::Failed,
            ReviewStatus::Published => RecordStatus::Published,
            ReviewStatus::Archived => RecordStatus::Archived,
            ReviewStatus::Superseded => RecordStatus::Superseded,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ReviewStatus::Draft => lang.pick("draft", "Entwurf"),
            ReviewStatus::Ready => lang.pick("ready", "bereit"),
            ReviewStatus::Failed => lang.pick("failed", "fehlgeschlagen"),
            ReviewStatus::Published => lang.pick("published", "veröffentlicht"),
            ReviewStatus::Archived => lang.pick("archived", "archiviert"),
            ReviewStatus::Superseded => lang.pick("superseded", "abgelöst"),
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReviewStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}
