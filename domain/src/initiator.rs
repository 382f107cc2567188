//! Who caused something: a person (an actor id) or a named part of the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The initiator of a run or the actor behind an event.
///
/// Written as `actor:<uuid>` or `system:<name>` (name: lowercase letters, digits, `-`,
/// `_`, `.`), both in events and on screen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Initiator {
    Actor(Uuid),
    System(SystemName),
}

/// The name of a system component, e.g. `reconciler` or `worker`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemName(String);

impl SystemName {
    pub fn new(name: &str) -> Result<Self, InvalidInitiator> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        if valid {
            Ok(SystemName(name.to_string()))
        } else {
            Err(InvalidInitiator(format!("system:{name}")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Initiator {
    /// A system initiator with a name known to be valid at compile time.
    ///
    /// Falls back to `system:unknown` instead of panicking when the name is invalid.
    pub fn system(name: &str) -> Self {
        Initiator::System(SystemName::new(name).unwrap_or_else(|_| SystemName("unknown".into())))
    }
}

/// Text that is neither `actor:<uuid>` nor `system:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid initiator `{0}` (expected actor:<uuid> or system:<name>)")]
pub struct InvalidInitiator(pub String);

impl fmt::Display for Initiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Initiator::Actor(id) => write!(f, "actor:{id}"),
            Initiator::System(name) => write!(f, "system:{}", name.0),
        }
    }
}

impl FromStr for Initiator {
    type Err = InvalidInitiator;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("actor", id)) => Uuid::parse_str(id)
                .map(Initiator::Actor)
                .map_err(|_| InvalidInitiator(s.to_string())),
            Some(("system", name)) => SystemName::new(name).map(Initiator::System),
            _ => Err(InvalidInitiator(s.to_string())),
        }
    }
}

impl Serialize for Initiator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Initiator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_and_system_initiators_round_trip() {
        let actor = Initiator::Actor(Uuid::nil());
        assert_eq!(actor.to_string().parse::<Initiator>(), Ok(actor));
        let system = Initiator::system("reconciler");
        assert_eq!(system.to_string(), "system:reconciler");
        assert_eq!("system:reconciler".parse::<Initiator>(), Ok(system));
    }

    #[test]
    fn malformed_initiators_are_rejected() {
        for bad in [
            "actor:not-a-uuid",
            "system:",
            "system:Has Space",
            "root",
            "",
        ] {
            assert!(bad.parse::<Initiator>().is_err(), "{bad}");
        }
    }
}
