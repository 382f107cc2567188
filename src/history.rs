//! A stream's history as recorded: a run's or a review's events in order, each in its
//! current shape (through the domain's upcasting registry) or flagged as undecodable,
//! with the streams it links to — the reviews a run touched, the runs that drafted a
//! review — so an operator can follow from one to the other.
//!
//! This reads the log, not a projection: it is what the engine recorded, event by event.

use std::collections::BTreeSet;

use cqrs_es::Aggregate;
use runproof_domain::metadata::{EventMetadata, ForeignMetadata};
use runproof_domain::operation_run::{OperationRun, OperationRunEvent};
use runproof_domain::reconciliation::{RecordKind, RecordRef};
use runproof_domain::review::{EnvironmentReview, ReviewEvent};
use runproof_domain::upcasting::{self, DecodeError};
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::LogPosition;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::event_store::metadata_of;

/// The kinds of stream `history` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// An operation run (`operation_run` stream).
    Run,
    /// An environment review (`environment_review` stream).
    Review,
}

impl StreamKind {
    /// The aggregate type of the stream.
    pub fn aggregate_type(self) -> &'static str {
        match self {
            StreamKind::Run => OperationRun::TYPE,
            StreamKind::Review => EnvironmentReview::TYPE,
        }
    }
}

/// An event of either stream kind, in its current shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Run(OperationRunEvent),
    Review(ReviewEvent),
}

/// One recorded event.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub stored: StoredEvent,
    pub metadata: Option<EventMetadata>,
    /// Set when the metadata is not what runproof's writer writes: the event was added
    /// some other way ([`EventMetadata::as_written`]).
    pub foreign: Option<ForeignMetadata>,
    /// The event in its current shape, or why this build cannot read it.
    pub decoded: Result<Decoded, DecodeError>,
}

impl Recorded {
    /// The version the event is shown in: its current version once decoded, the stored
    /// one otherwise.
    pub fn version(&self) -> String {
        match &self.decoded {
            Ok(_) => upcasting::current_version(&self.stored.event_type).to_string(),
            Err(_) => self.stored.event_version.clone(),
        }
    }

    /// The payload as shown: the current shape when decoded, as stored otherwise.
    pub fn payload(&self) -> Value {
        let current = match &self.decoded {
            Ok(Decoded::Run(e)) => serde_json::to_value(e).ok(),
            Ok(Decoded::Review(e)) => serde_json::to_value(e).ok(),
            Err(_) => None,
        };
        current.unwrap_or_else(|| serde_json::from_str(&self.stored.payload).unwrap_or(Value::Null))
    }
}

/// Another stream this one links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    pub stream: StreamKind,
    pub id: Uuid,
}

/// A stream's history.
#[derive(Debug, Clone)]
pub struct History {
    pub stream: StreamKind,
    pub id: Uuid,
    /// The workspace the stream belongs to, from its first event (`None` when that
    /// event cannot be read: the stream is then visible to no actor).
    pub workspace_id: Option<Uuid>,
    pub events: Vec<Recorded>,
    /// The streams it names or that name it, in kind and id order.
    pub links: Vec<Link>,
}

/// Loads the history of `id`: a run's, or else a review's (only `only`'s kind when
/// given). `None` when no such stream exists.
pub async fn load(
    pool: &PgPool,
    id: Uuid,
    only: Option<StreamKind>,
) -> Result<Option<History>, sqlx::Error> {
    load_upto(pool, id, only, None).await
}

/// [`load`], as the log stood at `upto` (inclusive, in commit order) when given: only
/// the events up to there, and only the links they (and the streams naming the run up
/// to there) make. `None` when the stream had no event by then.
pub async fn load_upto(
    pool: &PgPool,
    id: Uuid,
    only: Option<StreamKind>,
    upto: Option<LogPosition>,
) -> Result<Option<History>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let kinds: &[StreamKind] = match only {
        Some(StreamKind::Run) => &[StreamKind::Run],
        Some(StreamKind::Review) => &[StreamKind::Review],
        None => &[StreamKind::Run, StreamKind::Review],
    };
    for &stream in kinds {
        let mut stored =
            log::read_stream(&mut conn, stream.aggregate_type(), &id.to_string()).await?;
        if let Some(upto) = upto {
            stored.retain(|e| e.at <= upto);
        }
        if stored.is_empty() {
            continue;
        }
        let events: Vec<Recorded> = stored.into_iter().map(|e| record(stream, e)).collect();
        let mut links = BTreeSet::new();
        match stream {
            StreamKind::Run => {
                for e in &events {
                    if let Ok(Decoded::Run(event)) = &e.decoded {
                        links.extend(reviews_named_by(event));
                    }
                }
                let drafted =
                    log::streams_naming_run(&mut conn, EnvironmentReview::TYPE, id, upto).await?;
                links.extend(
                    drafted
                        .iter()
                        .filter_map(|s| Uuid::parse_str(s).ok())
                        .map(|id| Link {
                            stream: StreamKind::Review,
                            id,
                        }),
                );
            }
            StreamKind::Review => {
                // Generic over review events: any that carries a `run_id` links its run.
                for e in &events {
                    if e.decoded.is_err() {
                        continue;
                    }
                    let payload = e.payload();
                    let run = payload
                        .get(&e.stored.event_type)
                        .and_then(|body| body.get("run_id"))
                        .and_then(Value::as_str)
                        .and_then(|s| Uuid::parse_str(s).ok());
                    links.extend(run.map(|id| Link {
                        stream: StreamKind::Run,
                        id,
                    }));
                }
            }
        }
        let workspace_id = events.first().and_then(|e| match &e.decoded {
            Ok(Decoded::Run(OperationRunEvent::RunQueued(q))) => Some(q.workspace_id),
            Ok(Decoded::Review(ReviewEvent::ReviewDrafted(d))) => Some(d.workspace_id),
            _ => None,
        });
        return Ok(Some(History {
            stream,
            id,
            workspace_id,
            events,
            links: links.into_iter().collect(),
        }));
    }
    Ok(None)
}

fn record(stream: StreamKind, stored: StoredEvent) -> Recorded {
    let decoded = match stream {
        StreamKind::Run => stored.decode().map(Decoded::Run),
        StreamKind::Review => stored.decode().map(Decoded::Review),
    };
    let (metadata, foreign) =
        match EventMetadata::as_written(&stored.metadata, &stored.event_version) {
            Ok(metadata) => (Some(metadata), None),
            Err(foreign) => (metadata_of(&stored), Some(foreign)),
        };
    Recorded {
        metadata,
        foreign,
        decoded,
        stored,
    }
}

/// The reviews a run event names: the record of its completion note, the record its
/// reconciliation decided on.
fn reviews_named_by(event: &OperationRunEvent) -> Option<Link> {
    let record: Option<&RecordRef> = match event {
        OperationRunEvent::RunCompleted(e) => e.note.record.as_ref(),
        OperationRunEvent::RunReconciled(e) => e.reconciliation.evidence.record.as_ref(),
        OperationRunEvent::RunQueued(_) | OperationRunEvent::RunStarted(_) => None,
    };
    record
        .filter(|r| r.kind == RecordKind::EnvironmentReview)
        .map(|r| Link {
            stream: StreamKind::Review,
            id: r.id,
        })
}
