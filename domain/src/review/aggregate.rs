//! The `EnvironmentReview` aggregate.
//!
//! ```text
//!            ┌── retry of a failed review, or takeover of a draft ──┐
//!            │   whose run ended (a new compose run)                │
//!            ▼                                                      │
//! (new) ──▶ draft ──▶ ready ──▶ published ──▶ archived              │
//!            │  ▲                   │                               │
//!            │  └───────────────────┼───────────────────────────────┘
//!            └──▶ failed            └──▶ superseded (a newer review of the environment was published)
//! ```
//!
//! Every run that drafted the review is kept: `run_id` is the current one,
//! `previous_run_ids` the earlier attempts, oldest first.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::fingerprint::Fingerprint;
use crate::reason::ReasonCode;
use crate::review::content::ReviewContent;
use crate::review::status::ReviewStatus;

/// A review as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewState {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub fingerprint: Fingerprint,
    pub snapshot_id: Uuid,
    /// The compose run that (last) drafted it.
    pub run_id: Uuid,
    /// The runs that drafted it before `run_id` (failed or orphaned attempts), oldest
    /// first.
    #[serde(default)]
    pub previous_run_ids: Vec<Uuid>,
    pub status: ReviewStatus,
    pub content: Option<ReviewContent>,
    pub failure: Option<ReasonCode>,
    pub drafted_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub superseded_by: Option<Uuid>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentReview {
    state: Option<ReviewState>,
}

/// Create the draft of a new review (its fingerprint slot is claimed in the same write).
#[derive(Debug, Clone, PartialEq)]
pub struct DraftReview {
    pub review_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub fingerprint: Fingerprint,
    pub snapshot_id: Uuid,
    pub run_id: Uuid,
    pub drafted_at: DateTime<Utc>,
}

/// Commands to a review.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewCommand {
    Draft(DraftReview),
    /// A new compose run drafts the review again: a `failed` review, or a `draft` whose
    /// drafting run is no longer active (the caller read that run's stream and says so
    /// in `previous_run_ended`).
    Redraft {
        run_id: Uuid,
        previous_run_ended: bool,
        drafted_at: DateTime<Utc>,
    },
    /// The drafting run composed the content: the review is ready.
    Compose {
        run_id: Uuid,
        content: ReviewContent,
        composed_at: DateTime<Utc>,
    },
    /// The drafting run could not compose it.
    Fail {
        run_id: Uuid,
        reason_code: ReasonCode,
        failed_at: DateTime<Utc>,
    },
    Publish {
        supersedes: Option<Uuid>,
        published_at: DateTime<Utc>,
    },
    Archive {
        archived_at: DateTime<Utc>,
    },
    Supersede {
        by: Uuid,
        superseded_at: DateTime<Utc>,
    },
}

/// Events of the `environment_review` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReviewEvent {
    ReviewDrafted(ReviewDrafted),
    ReviewRedrafted(ReviewRedrafted),
    ReviewDraftTakenOver(ReviewDraftTakenOver),
    ReviewComposed(ReviewComposed),
    ReviewCompositionFailed(ReviewCompositionFailed),
    ReviewPublished(ReviewPublished),
    ReviewArchived(ReviewArchived),
    ReviewSuperseded(ReviewSuperseded),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDrafted {
    pub review_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub fingerprint: Fingerprint,
    pub snapshot_id: Uuid,
    pub run_id: Uuid,
    pub drafted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRedrafted {
    pub run_id: Uuid,
    pub drafted_at: DateTime<Utc>,
}

/// A draft left behind by a run that ended (it crashed, or the reconciler ended it) was
/// taken over by a new compose run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDraftTakenOver {
    pub run_id: Uuid,
    pub previous_run_id: Uuid,
    pub drafted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewComposed {
    pub content: ReviewContent,
    pub composed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewCompositionFailed {
    pub reason_code: ReasonCode,
    pub failed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPublished {
    pub supersedes: Option<Uuid>,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewArchived {
    pub archived_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSuperseded {
    pub superseded_by: Uuid,
    pub superseded_at: DateTime<Utc>,
}

/// Why a review command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("review already exists")]
    AlreadyExists,
    #[error("review not found")]
    NotFound,
    /// The review is not in a status that allows this.
    #[error("a {from} review cannot be {action}")]
    InvalidTransition {
        from: ReviewStatus,
        action: &'static str,
    },
    /// Another compose run holds this review's draft.
    #[error("the review is drafted by another run")]
    NotHeldByRun,
}

impl ReviewError {
    pub fn reason(&self) -> ReasonCode {
        match self {
            ReviewError::AlreadyExists | ReviewError::NotHeldByRun => {
                ReasonCode::ReviewHeldElsewhere
            }
            ReviewError::NotFound => ReasonCode::ReviewNotFound,
            ReviewError::InvalidTransition { .. } => ReasonCode::ReviewInvalidTransition,
        }
    }
}

impl EnvironmentReview {
    pub fn state(&self) -> Option<&ReviewState> {
        self.state.as_ref()
    }

    /// Pure decision.
    pub fn decide(&self, command: ReviewCommand) -> Result<Vec<ReviewEvent>, ReviewError> {
        let Some(s) = &self.state else {
            return match command {
                ReviewCommand::Draft(d) => Ok(vec![ReviewEvent::ReviewDrafted(ReviewDrafted {
                    review_id: d.review_id,
                    workspace_id: d.workspace_id,
                    environment_id: d.environment_id,
                    fingerprint: d.fingerprint,
                    snapshot_id: d.snapshot_id,
                    run_id: d.run_id,
                    drafted_at: d.drafted_at,
                })]),
                _ => Err(ReviewError::NotFound),
            };
        };
        let invalid = |action| {
            Err(ReviewError::InvalidTransition {
                from: s.status,
                action,
            })
        };
        match command {
            ReviewCommand::Draft(_) => Err(ReviewError::AlreadyExists),
            ReviewCommand::Redraft {
                run_id,
                previous_run_ended,
                drafted_at,
            } => match s.status {
                ReviewStatus::Failed => Ok(vec![ReviewEvent::ReviewRedrafted(ReviewRedrafted {
                    run_id,
                    drafted_at,
                })]),
                ReviewStatus::Draft if s.run_id == run_id => invalid("drafted again"),
                ReviewStatus::Draft if previous_run_ended => {
                    Ok(vec![ReviewEvent::ReviewDraftTakenOver(
                        ReviewDraftTakenOver {
                            run_id,
                            previous_run_id: s.run_id,
                            drafted_at,
                        },
                    )])
                }
                ReviewStatus::Draft => Err(ReviewError::NotHeldByRun),
                _ => invalid("drafted again"),
            },
            ReviewCommand::Compose {
                run_id,
                content,
                composed_at,
            } => match s.status {
                ReviewStatus::Draft if s.run_id == run_id => {
                    Ok(vec![ReviewEvent::ReviewComposed(ReviewComposed {
                        content,
                        composed_at,
                    })])
                }
                ReviewStatus::Draft => Err(ReviewError::NotHeldByRun),
                _ => invalid("composed"),
            },
            ReviewCommand::Fail {
                run_id,
                reason_code,
                failed_at,
            } => match s.status {
                ReviewStatus::Draft if s.run_id == run_id => {
                    Ok(vec![ReviewEvent::ReviewCompositionFailed(
                        ReviewCompositionFailed {
                            reason_code,
                            failed_at,
                        },
                    )])
                }
                ReviewStatus::Draft => Err(ReviewError::NotHeldByRun),
                _ => invalid("failed"),
            },
            ReviewCommand::Publish {
                supersedes,
                published_at,
            } => match s.status {
                ReviewStatus::Ready => Ok(vec![ReviewEvent::ReviewPublished(ReviewPublished {
                    supersedes,
                    published_at,
                })]),
                _ => invalid("published"),
            },
            ReviewCommand::Archive { archived_at } => match s.status {
                ReviewStatus::Published => Ok(vec![ReviewEvent::ReviewArchived(ReviewArchived {
                    archived_at,
                })]),
                _ => invalid("archived"),
            },
            ReviewCommand::Supersede { by, superseded_at } => match s.status {
                ReviewStatus::Published => {
                    Ok(vec![ReviewEvent::ReviewSuperseded(ReviewSuperseded {
                        superseded_by: by,
                        superseded_at,
                    })])
                }
                _ => invalid("superseded"),
            },
        }
    }
}

impl ReviewEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            ReviewEvent::ReviewDrafted(e) => e.drafted_at,
            ReviewEvent::ReviewRedrafted(e) => e.drafted_at,
            ReviewEvent::ReviewDraftTakenOver(e) => e.drafted_at,
            ReviewEvent::ReviewComposed(e) => e.composed_at,
            ReviewEvent::ReviewCompositionFailed(e) => e.failed_at,
            ReviewEvent::ReviewPublished(e) => e.published_at,
            ReviewEvent::ReviewArchived(e) => e.archived_at,
            ReviewEvent::ReviewSuperseded(e) => e.superseded_at,
        }
    }
}

impl ReviewState {
    /// Folds one event into an optional state.
    pub fn fold(state: Option<ReviewState>, event: ReviewEvent) -> Option<ReviewState> {
        let (mut state, event) = match (state, event) {
            (None, ReviewEvent::ReviewDrafted(e)) => {
                return Some(ReviewState {
                    id: e.review_id,
                    workspace_id: e.workspace_id,
                    environment_id: e.environment_id,
                    fingerprint: e.fingerprint,
                    snapshot_id: e.snapshot_id,
                    run_id: e.run_id,
                    previous_run_ids: Vec::new(),
                    status: ReviewStatus::Draft,
                    content: None,
                    failure: None,
                    drafted_at: e.drafted_at,
                    ready_at: None,
                    published_at: None,
                    archived_at: None,
                    superseded_by: None,
                    superseded_at: None,
                })
            }
            (None, _) => return None,
            (Some(s), e) => (s, e),
        };
        match event {
            ReviewEvent::ReviewDrafted(_) => {}
            ReviewEvent::ReviewRedrafted(ReviewRedrafted { run_id, drafted_at })
            | ReviewEvent::ReviewDraftTakenOver(ReviewDraftTakenOver {
                run_id, drafted_at, ..
            }) => {
                state.previous_run_ids.push(state.run_id);
                state.status = ReviewStatus::Draft;
                state.run_id = run_id;
                state.failure = None;
                state.drafted_at = drafted_at;
            }
            ReviewEvent::ReviewComposed(e) => {
                state.status = ReviewStatus::Ready;
                state.content = Some(e.content);
                state.ready_at = Some(e.composed_at);
            }
            ReviewEvent::ReviewCompositionFailed(e) => {
                state.status = ReviewStatus::Failed;
                state.failure = Some(e.reason_code);
            }
            ReviewEvent::ReviewPublished(e) => {
                state.status = ReviewStatus::Published;
                state.published_at = Some(e.published_at);
            }
            ReviewEvent::ReviewArchived(e) => {
                state.status = ReviewStatus::Archived;
                state.archived_at = Some(e.archived_at);
            }
            ReviewEvent::ReviewSuperseded(e) => {
                state.status = ReviewStatus::Superseded;
                state.superseded_by = Some(e.superseded_by);
                state.superseded_at = Some(e.superseded_at);
            }
        }
        Some(state)
    }
}

impl DomainEvent for ReviewEvent {
    fn event_type(&self) -> String {
        match self {
            ReviewEvent::ReviewDrafted(_) => "ReviewDrafted",
            ReviewEvent::ReviewRedrafted(_) => "ReviewRedrafted",
            ReviewEvent::ReviewDraftTakenOver(_) => "ReviewDraftTakenOver",
            ReviewEvent::ReviewComposed(_) => "ReviewComposed",
            ReviewEvent::ReviewCompositionFailed(_) => "ReviewCompositionFailed",
            ReviewEvent::ReviewPublished(_) => "ReviewPublished",
            ReviewEvent::ReviewArchived(_) => "ReviewArchived",
            ReviewEvent::ReviewSuperseded(_) => "ReviewSuperseded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

impl Aggregate for EnvironmentReview {
    const TYPE: &'static str = "environment_review";
    type Command = ReviewCommand;
    type Event = ReviewEvent;
    type Error = ReviewError;
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
        self.state = ReviewState::fold(self.state.take(), event);
    }
}
