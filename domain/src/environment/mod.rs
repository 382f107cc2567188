//! Managed environments: a customer environment inside a workspace, its captured evidence
//! snapshots, and which of its reviews is currently published.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::findings::{content_hash, DocumentError, FindingsDocument};
use crate::text_input::valid_name;
use crate::upcasting::{self, Body};

/// The newest evidence snapshot of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    pub snapshot_id: Uuid,
    pub content_hash: String,
    pub captured_at: DateTime<Utc>,
}

/// An environment as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentState {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub latest_snapshot: Option<SnapshotRef>,
    pub published_review: Option<Uuid>,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedEnvironment {
    state: Option<EnvironmentState>,
}

/// Commands to an environment.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvironmentCommand {
    /// The caller checked that the workspace exists.
    Create {
        environment_id: Uuid,
        workspace_id: Uuid,
        name: String,
        created_at: DateTime<Utc>,
    },
    CaptureEvidence {
        snapshot_id: Uuid,
        document: Value,
        captured_at: DateTime<Utc>,
    },
    /// `review_id` is now the environment's published review.
    RecordPublication {
        review_id: Uuid,
        recorded_at: DateTime<Utc>,
    },
}

/// Events of the `managed_environment` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EnvironmentEvent {
    EnvironmentCreated(EnvironmentCreated),
    EvidenceSnapshotCaptured(EvidenceSnapshotCaptured),
    ReviewPublicationRecorded(ReviewPublicationRecorded),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentCreated {
    pub environment_id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Input captured for the environment (version 2.0). The document itself — the anchored
/// input a review is composed from — is stored once in the append-only, content-addressed
/// evidence document store, written in the same transaction as this event; the event
/// carries its reference, `content_hash` (with the workspace), so loading an environment
/// never loads its documents. It never appears in reconciliation evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSnapshotCaptured {
    pub snapshot_id: Uuid,
    pub workspace_id: Uuid,
    pub content_hash: String,
    pub finding_count: u64,
    pub captured_at: DateTime<Utc>,
}

/// Upcaster `EvidenceSnapshotCaptured` 1.0 → 2.0: version 1.0 carried the document inline;
/// it moved to the evidence document store (migration `0008_evidence_documents.sql` copied
/// every 1.0 document there), so the body keeps only its reference.
pub(crate) fn evidence_snapshot_captured_2_0(mut body: Body) -> Result<Body, &'static str> {
    if !body.get("content_hash").is_some_and(Value::is_string) {
        return Err("`content_hash` is missing");
    }
    body.remove("document");
    Ok(body)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPublicationRecorded {
    pub review_id: Uuid,
    pub previous_review_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

/// Why an environment command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("environment already exists")]
    AlreadyExists,
    #[error("environment not found")]
    NotFound,
    #[error("invalid name")]
    InvalidName,
    #[error("{0}")]
    InvalidDocument(DocumentError),
}

impl ManagedEnvironment {
    pub fn state(&self) -> Option<&EnvironmentState> {
        self.state.as_ref()
    }

    pub fn decide(
        &self,
        command: EnvironmentCommand,
    ) -> Result<Vec<EnvironmentEvent>, EnvironmentError> {
        match (command, &self.state) {
            (
                EnvironmentCommand::Create {
                    environment_id,
                    workspace_id,
                    name,
                    created_at,
                },
                None,
            ) => {
                let name = valid_name(&name).ok_or(EnvironmentError::InvalidName)?;
                Ok(vec![EnvironmentEvent::EnvironmentCreated(
                    EnvironmentCreated {
                        environment_id,
                        workspace_id,
                        name,
                        created_at,
                    },
                )])
            }
            (EnvironmentCommand::Create { .. }, Some(_)) => Err(EnvironmentError::AlreadyExists),
            (_, None) => Err(EnvironmentError::NotFound),
            (
                EnvironmentCommand::CaptureEvidence {
                    snapshot_id,
                    document,
                    captured_at,
                },
                Some(s),
            ) => {
                let parsed = FindingsDocument::parse(&document)
                    .map_err(EnvironmentError::InvalidDocument)?;
                Ok(vec![EnvironmentEvent::EvidenceSnapshotCaptured(
                    EvidenceSnapshotCaptured {
                        snapshot_id,
                        workspace_id: s.workspace_id,
                        content_hash: content_hash(&document),
                        finding_count: parsed.findings.len() as u64,
                        captured_at,
                    },
                )])
            }
            (
                EnvironmentCommand::RecordPublication {
                    review_id,
                    recorded_at,
                },
                Some(s),
            ) => {
                if s.published_review == Some(review_id) {
                    return Ok(vec![]);
                }
                Ok(vec![EnvironmentEvent::ReviewPublicationRecorded(
                    ReviewPublicationRecorded {
                        review_id,
                        previous_review_id: s.published_review,
                        recorded_at,
                    },
                )])
            }
        }
    }
}

impl EnvironmentEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            EnvironmentEvent::EnvironmentCreated(e) => e.created_at,
            EnvironmentEvent::EvidenceSnapshotCaptured(e) => e.captured_at,
            EnvironmentEvent::ReviewPublicationRecorded(e) => e.recorded_at,
        }
    }
}

impl EnvironmentState {
    pub fn fold(
        state: Option<EnvironmentState>,
        event: EnvironmentEvent,
    ) -> Option<EnvironmentState> {
        match (state, event) {
            (None, EnvironmentEvent::EnvironmentCreated(e)) => Some(EnvironmentState {
                id: e.environment_id,
                workspace_id: e.workspace_id,
                name: e.name,
                created_at: e.created_at,
                latest_snapshot: None,
                published_review: None,
            }),
            (Some(mut s), EnvironmentEvent::EvidenceSnapshotCaptured(e)) => {
                s.latest_snapshot = Some(SnapshotRef {
                    snapshot_id: e.snapshot_id,
                    content_hash: e.content_hash,
                    captured_at: e.captured_at,
                });
                Some(s)
            }
            (Some(mut s), EnvironmentEvent::ReviewPublicationRecorded(e)) => {
                s.published_review = Some(e.review_id);
                Some(s)
            }
            (state, _) => state,
        }
    }
}

impl DomainEvent for EnvironmentEvent {
    fn event_type(&self) -> String {
        match self {
            EnvironmentEvent::EnvironmentCreated(_) => "EnvironmentCreated",
            EnvironmentEvent::EvidenceSnapshotCaptured(_) => "EvidenceSnapshotCaptured",
            EnvironmentEvent::ReviewPublicationRecorded(_) => "ReviewPublicationRecorded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        upcasting::current_version(&self.event_type()).to_string()
    }
}

impl Aggregate for ManagedEnvironment {
    const TYPE: &'static str = "managed_environment";
    type Command = EnvironmentCommand;
    type Event = EnvironmentEvent;
    type Error = EnvironmentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.state = EnvironmentState::fold(self.state.take(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn created() -> EnvironmentEvent {
        EnvironmentEvent::EnvironmentCreated(EnvironmentCreated {
            environment_id: Uuid::from_u128(2),
            workspace_id: Uuid::from_u128(1),
            name: "prod".into(),
            created_at: at(),
        })
    }

    #[test]
    fn it_should_capture_evidence_with_its_content_hash() {
        let document = json!({"findings": [{"severity": "high", "category": "identity"}]});
        let events = TestFramework::<ManagedEnvironment>::with(())
            .given(vec![created()])
            .when(EnvironmentCommand::CaptureEvidence {
                snapshot_id: Uuid::from_u128(3),
                document: document.clone(),
                captured_at: at(),
            })
            .inspect_result()
            .unwrap();
        let [EnvironmentEvent::EvidenceSnapshotCaptured(e)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(e.content_hash, content_hash(&document));
        assert_eq!(e.finding_count, 1);
    }

    #[test]
    fn it_should_refuse_invalid_documents_and_unknown_environments() {
        TestFramework::<ManagedEnvironment>::with(())
            .given(vec![created()])
            .when(EnvironmentCommand::CaptureEvidence {
                snapshot_id: Uuid::from_u128(3),
                document: json!("nope"),
                captured_at: at(),
            })
            .then_expect_error(EnvironmentError::InvalidDocument(
                DocumentError::NotAFindingsObject,
            ));
        TestFramework::<ManagedEnvironment>::with(())
            .given_no_previous_events()
            .when(EnvironmentCommand::RecordPublication {
                review_id: Uuid::from_u128(5),
                recorded_at: at(),
            })
            .then_expect_error(EnvironmentError::NotFound);
    }

    #[test]
    fn a_capture_stored_in_its_1_0_shape_with_the_document_inline_reads_as_2_0() {
        let stored = json!({ "EvidenceSnapshotCaptured": {
            "snapshot_id": Uuid::from_u128(3),
            "workspace_id": Uuid::from_u128(1),
            "content_hash": "sha256:abc",
            "finding_count": 1,
            "document": { "findings": [{ "severity": "high", "category": "identity" }] },
            "captured_at": at(),
        }});
        let event: EnvironmentEvent =
            crate::upcasting::decode("EvidenceSnapshotCaptured", "1.0", &stored.to_string())
                .unwrap();
        assert_eq!(
            event,
            EnvironmentEvent::EvidenceSnapshotCaptured(EvidenceSnapshotCaptured {
                snapshot_id: Uuid::from_u128(3),
                workspace_id: Uuid::from_u128(1),
                content_hash: "sha256:abc".into(),
                finding_count: 1,
                captured_at: at(),
            })
        );
        assert_eq!(event.event_version(), "2.0");
        // The current shape carries no document: it lives in the evidence document store.
        let written = serde_json::to_value(&event).unwrap();
        assert!(written["EvidenceSnapshotCaptured"]
            .get("document")
            .is_none());
    }

    #[test]
    fn it_should_record_a_publication_once() {
        let recorded = EnvironmentEvent::ReviewPublicationRecorded(ReviewPublicationRecorded {
            review_id: Uuid::from_u128(5),
            previous_review_id: None,
            recorded_at: at(),
        });
        TestFramework::<ManagedEnvironment>::with(())
            .given(vec![created()])
            .when(EnvironmentCommand::RecordPublication {
                review_id: Uuid::from_u128(5),
                recorded_at: at(),
            })
            .then_expect_events(vec![recorded.clone()]);
        TestFramework::<ManagedEnvironment>::with(())
            .given(vec![created(), recorded])
            .when(EnvironmentCommand::RecordPublication {
                review_id: Uuid::from_u128(5),
                recorded_at: at(),
            })
            .then_expect_events(vec![]);
    }
}
