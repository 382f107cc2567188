//! The run-type catalogue: every kind of operation runproof knows, with its EN/DE labels
//! and the thresholds after which a queued or running run counts as stale.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// A catalogued run type. Serialised as its dotted key (`restore.execute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RunType {
    /// Compose an environment review from the newest evidence snapshot.
    #[serde(rename = "environment.review.compose")]
    EnvironmentReviewCompose,
    /// Execute a restore into a managed environment.
    #[serde(rename = "restore.execute")]
    RestoreExecute,
    /// Synchronise an environment's inventory (no adapter: generic stale path only).
    #[serde(rename = "inventory.sync")]
    InventorySync,
    /// Export a report (no adapter: generic stale path only).
    #[serde(rename = "report.export")]
    ReportExport,
}

/// How long a run of a type may stay queued or running before it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleThresholds {
    pub queued_after_secs: u32,
    pub running_after_secs: u32,
}

impl StaleThresholds {
    pub fn queued_after(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.queued_after_secs))
    }

    pub fn running_after(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.running_after_secs))
    }
}

struct Entry {
    key: &'static str,
    label_en: &'static str,
    label_de: &'static str,
    thresholds: StaleThresholds,
}

const fn minutes(m: u32) -> u32 {
    m * 60
}

impl RunType {
    /// Every catalogued type.
    pub const ALL: [RunType; 4] = [
        RunType::EnvironmentReviewCompose,
        RunType::RestoreExecute,
        RunType::InventorySync,
        RunType::ReportExport,
    ];

    fn entry(self) -> Entry {
        match self {
            RunType::EnvironmentReviewCompose => Entry {
                key: "environment.review.compose",
                label_en: "Compose environment review",
                label_de: "Umgebungsreview erstellen",
                thresholds: StaleThresholds {
                    queued_after_secs: minutes(15),
                    running_after_secs: minutes(30),
                },
            },
            RunType::RestoreExecute => Entry {
                key: "restore.execute",
                label_en: "Execute restore",
                label_de: "Wiederherstellung ausführen",
                thresholds: StaleThresholds {
                    queued_after_secs: minutes(30),
                    running_after_secs: minutes(240),
                },
            },
            RunType::InventorySync => Entry {
                key: "inventory.sync",
                label_en: "Synchronise inventory",
                label_de: "Inventar synchronisieren",
                thresholds: StaleThresholds {
                    queued_after_secs: minutes(15),
                    running_after_secs: minutes(60),
                },
            },
            RunType::ReportExport => Entry {
                key: "report.export",
                label_en: "Export report",
                label_de: "Bericht exportieren",
                thresholds: StaleThresholds {
                    queued_after_secs: minutes(10),
                    running_after_secs: minutes(30),
                },
            },
        }
    }

    /// The stable dotted key, as recorded in events and projections.
    pub fn key(self) -> &'static str {
        self.entry().key
    }

    /// The label a person reads.
    pub fn label(self, lang: Lang) -> &'static str {
        let entry = self.entry();
        lang.pick(entry.label_en, entry.label_de)
    }

    /// When a run of this type counts as stale.
    pub fn thresholds(self) -> StaleThresholds {
        self.entry().thresholds
    }

    /// Whether job systems drive runs of this type (ensure, start, complete them). A
    /// review compose is runproof's own: its reviews service queues it against the
    /// review's fingerprint slot and its worker runs it, so no one else may.
    pub fn driven_by_jobs(self) -> bool {
        !matches!(self, RunType::EnvironmentReviewCompose)
    }
}

impl fmt::Display for RunType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The key is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run type `{0}`")]
pub struct UnknownRunType(pub String);

impl FromStr for RunType {
    type Err = UnknownRunType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunType::ALL
            .into_iter()
            .find(|t| t.key() == s)
            .ok_or_else(|| UnknownRunType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_parse_and_serde() {
        for t in RunType::ALL {
            assert_eq!(t.key().parse::<RunType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.key());
        }
    }

    #[test]
    fn every_type_has_labels_in_both_languages_and_sane_thresholds() {
        for t in RunType::ALL {
            assert!(!t.label(Lang::En).is_empty());
            assert!(!t.label(Lang::De).is_empty());
            assert_ne!(t.label(Lang::En), t.label(Lang::De));
            let th = t.thresholds();
            assert!(th.queued_after_secs > 0 && th.running_after_secs > 0);
        }
    }

    #[test]
    fn job_systems_drive_every_type_but_the_review_compose() {
        let driven: Vec<RunType> = RunType::ALL
            .into_iter()
            .filter(|t| t.driven_by_jobs())
            .collect();
        assert_eq!(
            driven,
            vec![
                RunType::RestoreExecute,
                RunType::InventorySync,
                RunType::ReportExport
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        assert_eq!(
            "backup.run".parse::<RunType>(),
            Err(UnknownRunType("backup.run".into()))
        );
    }
}
