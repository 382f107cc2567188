//! The event catalogue: every aggregate type, the event types its stream holds, and the
//! workspace each of its events belongs to.
//!
//! The catalogue is what readers outside the engine rely on — the downstream feed
//! (`GET /api/v1/events`) serves every event as a CloudEvent whose type is named from
//! here, and scopes it to a workspace by the rule here. `docs/architecture.md` lists the
//! same events with their fields (a test compares the two), and `docs/feed.md` shows one
//! example of each (a test parses every one).
//!
//! Event type names are unique across aggregates (the upcasting registry is keyed by the
//! name alone), so an event type names its aggregate.

/// How the workspace of an aggregate's events is found. Every rule reads only the
/// event itself, its stream's id, or the **first** event of a stream: that event is
/// always in the same transaction as the event or an earlier one, so it is readable
/// whenever the event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceOf {
    /// The stream is a workspace: its id is the workspace.
    StreamId,
    /// `workspace_id` in the body of the stream's first event (the event that created
    /// the record carries its workspace; later events do not repeat it).
    FirstEvent,
    /// The first `/`-separated part of the stream id (`workspace/environment/fingerprint`).
    StreamIdPrefix,
    /// The workspace of the run the event's `run_id` names (that run's first event).
    NamedRun,
    /// The platform's, not a workspace's: actors and API tokens exist across workspaces.
    /// Only readers of the whole log see these events.
    Platform,
}

/// One aggregate type and its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateEntry {
    /// The aggregate's `TYPE` (the stored `aggregate_type`).
    pub aggregate_type: &'static str,
    /// Where its events' workspace comes from.
    pub workspace_of: WorkspaceOf,
    /// Its event types, in catalogue order.
    pub event_types: &'static [&'static str],
}

/// Every aggregate runproof records, in the order of `docs/architecture.md`'s catalogue.
pub const AGGREGATES: &[AggregateEntry] = &[
    AggregateEntry {
        aggregate_type: "operation_run",
        workspace_of: WorkspaceOf::FirstEvent,
        event_types: &["RunQueued", "RunStarted", "RunCompleted", "RunReconciled"],
    },
    AggregateEntry {
        aggregate_type: "restore",
        workspace_of: WorkspaceOf::FirstEvent,
        event_types: &["RestoreRequested", "RestoreStarted", "RestoreFinished"],
    },
    AggregateEntry {
        aggregate_type: "workspace",
        workspace_of: WorkspaceOf::StreamId,
        event_types: &["WorkspaceCreated", "MemberAdded"],
    },
    AggregateEntry {
        aggregate_type: "actor",
        workspace_of: WorkspaceOf::Platform,
        event_types: &["ActorCreated", "ActorRoleGranted", "ActorRoleRevoked"],
    },
    AggregateEntry {
        aggregate_type: "api_token",
        workspace_of: WorkspaceOf::Platform,
        event_types: &["ApiTokenIssued", "ApiTokenRevoked"],
    },
    AggregateEntry {
        aggregate_type: "managed_environment",
        workspace_of: WorkspaceOf::FirstEvent,
        event_types: &[
            "EnvironmentCreated",
            "EvidenceSnapshotCaptured",
            "ReviewPublicationRecorded",
        ],
    },
    AggregateEntry {
        aggregate_type: "environment_review",
        workspace_of: WorkspaceOf::FirstEvent,
        event_types: &[
            "ReviewDrafted",
            "ReviewRedrafted",
            "ReviewDraftTakenOver",
            "ReviewComposed",
            "ReviewCompositionFailed",
            "ReviewPublished",
            "ReviewArchived",
            "ReviewSuperseded",
        ],
    },
    AggregateEntry {
        aggregate_type: "review_slot",
        workspace_of: WorkspaceOf::StreamIdPrefix,
        event_types: &["ReviewSlotClaimed"],
    },
    AggregateEntry {
        aggregate_type: "run_slot",
        workspace_of: WorkspaceOf::NamedRun,
        event_types: &["RunSlotClaimed"],
    },
];

/// Fields of an event's body that never leave the engine: readers outside it (the
/// feed) get the event without them. An API token's digest stays in the token's stream,
/// which only authentication reads.
pub const WITHHELD_FIELDS: &[(&str, &[&str])] = &[("ApiTokenIssued", &["secret_sha256"])];

/// The catalogue entry of `aggregate_type`, if it is one.
pub fn aggregate(aggregate_type: &str) -> Option<&'static AggregateEntry> {
    AGGREGATES
        .iter()
        .find(|a| a.aggregate_type == aggregate_type)
}

/// The aggregate an event type belongs to, if it is in the catalogue.
pub fn aggregate_of(event_type: &str) -> Option<&'static AggregateEntry> {
    AGGREGATES
        .iter()
        .find(|a| a.event_types.contains(&event_type))
}

/// Every event type as `(aggregate type, event type)`, in catalogue order.
pub fn event_types() -> impl Iterator<Item = (&'static str, &'static str)> {
    AGGREGATES
        .iter()
        .flat_map(|a| a.event_types.iter().map(move |t| (a.aggregate_type, *t)))
}

/// The aggregate types whose workspace is found by `rule`.
pub fn aggregate_types_by(rule: WorkspaceOf) -> Vec<&'static str> {
    AGGREGATES
        .iter()
        .filter(|a| a.workspace_of == rule)
        .map(|a| a.aggregate_type)
        .collect()
}

/// The fields of `event_type`'s body withheld from readers outside the engine.
pub fn withheld_fields(event_type: &str) -> &'static [&'static str] {
    WITHHELD_FIELDS
        .iter()
        .find(|(t, _)| *t == event_type)
        .map_or(&[], |(_, fields)| fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn event_type_names_are_unique_across_aggregates() {
        let all: Vec<&str> = event_types().map(|(_, t)| t).collect();
        let unique: HashSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len());
        let aggregates: HashSet<&str> = AGGREGATES.iter().map(|a| a.aggregate_type).collect();
        assert_eq!(aggregates.len(), AGGREGATES.len());
    }

    #[test]
    fn an_event_type_names_its_aggregate() {
        assert_eq!(
            aggregate_of("RunSlotClaimed").map(|a| a.workspace_of),
            Some(WorkspaceOf::NamedRun)
        );
        assert_eq!(
            aggregate_of("ActorCreated").map(|a| a.aggregate_type),
            Some("actor")
        );
        assert!(aggregate_of("Tick").is_none());
        assert_eq!(
            aggregate("workspace").map(|a| a.workspace_of),
            Some(WorkspaceOf::StreamId)
        );
    }

    #[test]
    fn withheld_fields_belong_to_catalogued_events() {
        for (event_type, _) in WITHHELD_FIELDS {
            assert!(aggregate_of(event_type).is_some(), "{event_type}");
        }
        assert_eq!(withheld_fields("ApiTokenIssued"), &["secret_sha256"]);
        assert!(withheld_fields("RunQueued").is_empty());
    }

    #[test]
    fn every_rule_but_the_platforms_names_a_workspace_for_some_aggregate() {
        for rule in [
            WorkspaceOf::StreamId,
            WorkspaceOf::FirstEvent,
            WorkspaceOf::StreamIdPrefix,
            WorkspaceOf::NamedRun,
            WorkspaceOf::Platform,
        ] {
            assert!(!aggregate_types_by(rule).is_empty(), "{rule:?}");
        }
    }
}
