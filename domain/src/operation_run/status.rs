//! The two state families of a run: status and outcome. No other values, ever.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// Where a run is in its lifecycle: `queued` → `running` → `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
}

/// How a run ended: `pending` until completed, then one terminal outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Pending,
    Succeeded,
    PartiallySucceeded,
    Blocked,
    Failed,
}

/// An outcome a run can end with; `pending` cannot be expressed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalOutcome {
    Succeeded,
    PartiallySucceeded,
    Blocked,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 3] = [RunStatus::Queued, RunStatus::Running, RunStatus::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
        }
    }

    /// Queued or running: the run still waits for a terminal decision.
    pub fn is_active(self) -> bool {
        !matches!(self, RunStatus::Completed)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RunStatus::Queued => lang.pick("queued", "in Warteschlange"),
            RunStatus::Running => lang.pick("running", "läuft"),
            RunStatus::Completed => lang.pick("completed", "abgeschlossen"),
        }
    }
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 5] = [
        RunOutcome::Pending,
        RunOutcome::Succeeded,
        RunOutcome::PartiallySucceeded,
        RunOutcome::Blocked,
        RunOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Pending => "pending",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::PartiallySucceeded => "partially_succeeded",
            RunOutcome::Blocked => "blocked",
            RunOutcome::Failed => "failed",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RunOutcome::Pending => lang.pick("pending", "ausstehend"),
            RunOutcome::Succeeded => lang.pick("succeeded", "erfolgreich"),
            RunOutcome::PartiallySucceeded => {
                lang.pick("partially succeeded", "teilweise erfolgreich")
            }
            RunOutcome::Blocked => lang.pick("blocked", "blockiert"),
            RunOutcome::Failed => lang.pick("failed", "fehlgeschlagen"),
        }
    }
}

impl TerminalOutcome {
    pub const ALL: [TerminalOutcome; 4] = [
        TerminalOutcome::Succeeded,
        TerminalOutcome::PartiallySucceeded,
        TerminalOutcome::Blocked,
        TerminalOutcome::Failed,
    ];
}

impl From<TerminalOutcome> for RunOutcome {
    fn from(o: TerminalOutcome) -> Self {
        match o {
            TerminalOutcome::Succeeded => RunOutcome::Succeeded,
            TerminalOutcome::PartiallySucceeded => RunOutcome::PartiallySucceeded,
            TerminalOutcome::Blocked => RunOutcome::Blocked,
            TerminalOutcome::Failed => RunOutcome::Failed,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TerminalOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RunOutcome::from(*self).fmt(f)
    }
}

/// A status or outcome string outside its family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known value")]
pub struct UnknownValue(pub String);

impl FromStr for RunStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

impl FromStr for RunOutcome {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunOutcome::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

impl FromStr for TerminalOutcome {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TerminalOutcome::ALL
            .into_iter()
            .find(|v| RunOutcome::from(*v).as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_forms_match_serde_and_parse_back() {
        for s in RunStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
        }
        for o in RunOutcome::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(o.as_str().parse::<RunOutcome>(), Ok(o));
        }
        for t in TerminalOutcome::ALL {
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                RunOutcome::from(t).as_str()
            );
        }
    }

    #[test]
    fn pending_is_not_a_terminal_outcome() {
        assert!("pending".parse::<TerminalOutcome>().is_err());
    }
}
