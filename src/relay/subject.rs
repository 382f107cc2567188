//! Names on the bus: the stream's name, the subject prefix, and each event's subject
//! `<prefix>.<workspace>.<aggregate type>.<event type>`.
//!
//! A NATS subject is tokens separated by `.`; a token must not be empty nor hold `.`,
//! the wildcards `*` and `>`, or white space. runproof's aggregate and event type names
//! and workspace ids are plain already; [`token`] still replaces anything else with `_`,
//! so no event can ever produce a subject outside the stream's `<prefix>.>`.

use std::fmt;
use std::str::FromStr;

use crate::feed::CloudEvent;

/// The token in the workspace place of an event that belongs to no workspace (actors,
/// tokens: the platform's own events).
pub const NO_WORKSPACE: &str = "_";

/// `text` as one subject token: characters other than `A–Z a–z 0–9 _ -` become `_`; an
/// empty text becomes `_`.
pub fn token(text: &str) -> String {
    if text.is_empty() {
        return NO_WORKSPACE.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A stream's name: 1 to 64 characters of `A–Z a–z 0–9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamName(String);

/// The subject prefix: 1 to 8 tokens of `A–Z a–z 0–9 _ -` separated by `.`, at most
/// 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectPrefix(String);

/// A stream name or subject prefix that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("a stream name is 1 to 64 characters of A-Z a-z 0-9 _ -")]
    Stream,
    #[error("a subject prefix is 1 to 8 words of A-Z a-z 0-9 _ - separated by dots")]
    Prefix,
}

fn plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl FromStr for StreamName {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        (s.len() <= 64 && plain(s))
            .then(|| StreamName(s.to_string()))
            .ok_or(InvalidName::Stream)
    }
}

impl FromStr for SubjectPrefix {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let words = s.split('.').count();
        (s.len() <= 128 && words <= 8 && s.split('.').all(plain))
            .then(|| SubjectPrefix(s.to_string()))
            .ok_or(InvalidName::Prefix)
    }
}

impl StreamName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl SubjectPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream's subjects: everything under the prefix.
    pub fn wildcard(&self) -> String {
        format!("{}.>", self.0)
    }

    /// The subject of `event`: `<prefix>.<workspace or _>.<aggregate>.<event type>`,
    /// aggregate and event type taken from the CloudEvents `type`
    /// (`runproof.<aggregate>.<event type>.v<version>`).
    pub fn subject_of(&self, event: &CloudEvent) -> String {
        let workspace = event
            .workspace
            .map(|w| w.to_string())
            .unwrap_or_else(|| NO_WORKSPACE.to_string());
        let mut parts = event
            .event_type
            .strip_prefix("runproof.")
            .unwrap_or(&event.event_type)
            .splitn(2, '.');
        let aggregate = parts.next().unwrap_or_default();
        let event_type = parts
            .next()
            .and_then(|rest| rest.split_once(".v").map(|(name, _)| name))
            .unwrap_or_default();
        format!(
            "{}.{}.{}.{}",
            self.0,
            token(&workspace),
            token(aggregate),
            token(event_type)
        )
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SubjectPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(ty: &str, workspace: Option<&str>) -> CloudEvent {
        let mut v = json!({
            "specversion": "1.0", "id": uuid::Uuid::nil(), "source": "runproof/default",
            "type": ty, "subject": "s", "datacontenttype": "application/json",
            "data": {}, "position": "1", "sequence": "1", "cursor": "c",
        });
        if let Some(w) = workspace {
            v["workspace"] = json!(w);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_event_is_published_under_its_workspace_aggregate_and_type() {
        let prefix: SubjectPrefix = "runproof.eu".parse().unwrap();
        let ws = "0b5e3c9e-8f0a-4c1e-9a57-3f2d1c0b9a88";
        assert_eq!(
            prefix.subject_of(&event("runproof.operation_run.RunQueued.v1.0", Some(ws))),
            format!("runproof.eu.{ws}.operation_run.RunQueued")
        );
        assert_eq!(
            prefix.subject_of(&event("runproof.api_token.ApiTokenIssued.v1.0", None)),
            "runproof.eu._.api_token.ApiTokenIssued"
        );
        assert_eq!(prefix.wildcard(), "runproof.eu.>");
    }

    #[test]
    fn a_token_never_holds_a_separator_wildcard_or_space() {
        assert_eq!(token("a.b*c>d e\tf"), "a_b_c_d_e_f");
        assert_eq!(token(""), "_");
        assert_eq!(token("operation_run"), "operation_run");
    }

    #[test]
    fn stream_names_and_prefixes_are_plain_words() {
        assert!("RUNPROOF_EVENTS".parse::<StreamName>().is_ok());
        for bad in ["", "a.b", "a b", "a*", &"x".repeat(65)] {
            assert_eq!(bad.parse::<StreamName>(), Err(InvalidName::Stream), "{bad}");
        }
        assert!("runproof".parse::<SubjectPrefix>().is_ok());
        assert!("org.runproof-1".parse::<SubjectPrefix>().is_ok());
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "a.*",
            "a.>",
            "a b",
            "a.b.c.d.e.f.g.h.i",
        ] {
            assert_eq!(
                bad.parse::<SubjectPrefix>(),
                Err(InvalidName::Prefix),
                "{bad}"
            );
        }
    }
}
