//! The `Restore` aggregate: `queued` → `running` → `completed` | `completed_with_errors`
//! | `failed`.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::reason::ReasonCode;
use crate::reconciliation::RecordStatus;

/// The schema version of restore events at this release.
pub const RESTORE_EVENT_VERSION: &str = "1.0";

/// Where a restore is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreStatus {
    Queued,
    Running,
    Completed,
    CompletedWithErrors,
    Failed,
}

impl RestoreStatus {
    pub const ALL: [RestoreStatus; 5] = [
        RestoreStatus::Queued,
        RestoreStatus::Running,
        RestoreStatus::Completed,
        RestoreStatus::CompletedWithErrors,
        RestoreStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStatus::Queued => "queued",
            RestoreStatus::Running => "running",
            RestoreStatus::Completed => "completed",
            RestoreStatus::CompletedWithErrors => "completed_with_errors",
            RestoreStatus::Failed => "failed",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RestoreStatus::Completed | RestoreStatus::CompletedWithErrors | RestoreStatus::Failed
        )
    }

    /// The status as evidence records it.
    pub fn record_status(self) -> RecordStatus {
        match self {
            RestoreStatus::Queued => RecordStatus::Queued,
            RestoreStatus::Running => RecordStatus::Running,
            RestoreStatus::Completed => RecordStatus::Completed,
            RestoreStatus::CompletedWithErrors => RecordStatus::CompletedWithErrors,
            RestoreStatus::Failed => RecordStatus::Failed,
        }
    }
}

impl std::str::FromStr for RestoreStatus {
    type Err = crate::operation_run::UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RestoreStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| crate::operation_run::UnknownValue(s.to_string()))
    }
}

/// A restore record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreState {
    pub restore_id: Uuid,
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub status: RestoreStatus,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub items_total: u64,
    pub items_failed: u64,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    state: Option<RestoreState>,
}

/// Commands to a restore.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreCommand {
    Request(RequestRestore),
    Start { started_at: DateTime<Utc> },
    Finish(FinishRestore),
}

/// Record a restore for a `restore.execute` run.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRestore {
    pub restore_id: Uuid,
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// The restore ended; `items_failed` decides between completed and completed with errors
/// unless `failed` says the restore as a whole failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishRestore {
    pub failed: bool,
    pub items_total: u64,
    pub items_failed: u64,
    pub finished_at: DateTime<Utc>,
}

/// Events of the `restore` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RestoreEvent {
    RestoreRequested(RestoreRequested),
    RestoreStarted(RestoreStarted),
    RestoreFinished(RestoreFinished),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequested {
    pub restore_id: Uuid,
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreStarted {
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreFinished {
    /// `completed`, `completed_with_errors` or `failed`.
    pub status: RestoreStatus,
    pub items_total: u64,
    pub items_failed: u64,
    pub finished_at: DateTime<Utc>,
}

/// Why a restore command was refused. Nothing was recorded. A report that repeats what
/// the record already says is not refused: it records nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// The id is recorded for another run (or scope): choose a new restore id.
    #[error("restore already exists")]
    AlreadyExists,
    /// The restore has no history: check the id, or request it first.
    #[error("restore not found")]
    NotFound,
    /// The restore finished with another result (or a running report came after it
    /// finished): a result never changes.
    #[error("restore already finished")]
    AlreadyFinished,
    /// A finish for a restore never reported running: report it running first.
    #[error("restore was never started")]
    NotStarted,
    /// More failed items than items: fix the counts.
    #[error("more failed items than items")]
    InvalidCounts,
}

impl RestoreError {
    /// The catalogued reason for this refusal.
    pub fn reason(&self) -> ReasonCode {
        match self {
            RestoreError::AlreadyExists => ReasonCode::RestoreAlreadyExists,
            RestoreError::NotFound => ReasonCode::RestoreNotFound,
            RestoreError::AlreadyFinished => ReasonCode::RestoreAlreadyFinished,
            RestoreError::NotStarted => ReasonCode::RestoreNotStarted,
            RestoreError::InvalidCounts => ReasonCode::RestoreInvalidCounts,
        }
    }
}

impl RestoreEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            RestoreEvent::RestoreRequested(e) => e.requested_at,
            RestoreEvent::RestoreStarted(e) => e.started_at,
            RestoreEvent::RestoreFinished(e) => e.finished_at,
        }
    }
}

impl RestoreState {
    /// Folds one event into an optional state.
    pub fn fold(state: Option<RestoreState>, event: RestoreEvent) -> Option<RestoreState> {
        match (state, event) {
            (None, RestoreEvent::RestoreRequested(e)) => Some(RestoreState {
                restore_id: e.restore_id,
                run_id: e.run_id,
                workspace_id: e.workspace_id,
                environment_id: e.environment_id,
                status: RestoreStatus::Queued,
                requested_at: e.requested_at,
                started_at: None,
                finished_at: None,
                items_total: 0,
                items_failed: 0,
            }),
            (Some(mut s), RestoreEvent::RestoreStarted(e)) => {
                s.status = RestoreStatus::Running;
                s.started_at = Some(e.started_at);
                Some(s)
            }
            (Some(mut s), RestoreEvent::RestoreFinished(e)) => {
                s.status = e.status;
                s.items_total = e.items_total;
                s.items_failed = e.items_failed;
                s.finished_at = Some(e.finished_at);
                Some(s)
            }
            (state, _) => state,
        }
    }
}

impl Restore {
    pub fn state(&self) -> Option<&RestoreState> {
        self.state.as_ref()
    }

    /// Pure decision.
    pub fn decide(&self, command: RestoreCommand) -> Result<Vec<RestoreEvent>, RestoreError> {
        match (command, &self.state) {
            (RestoreCommand::Request(c), None) => {
                Ok(vec![RestoreEvent::RestoreRequested(RestoreRequested {
                    restore_id: c.restore_id,
                    run_id: c.run_id,
                    workspace_id: c.workspace_id,
                    environment_id: c.environment_id,
                    requested_at: c.requested_at,
                })])
            }
            // A repeated request for the same run and scope records nothing.
            (RestoreCommand::Request(c), Some(s)) => {
                if (s.run_id, s.workspace_id, s.environment_id)
                    == (c.run_id, c.workspace_id, c.environment_id)
                {
                    Ok(vec![])
                } else {
                    Err(RestoreError::AlreadyExists)
                }
            }
            (_, None) => Err(RestoreError::NotFound),
            (RestoreCommand::Start { started_at }, Some(s)) => match s.status {
                RestoreStatus::Queued => Ok(vec![RestoreEvent::RestoreStarted(RestoreStarted {
                    started_at,
                })]),
                // A repeated "running" records nothing.
                RestoreStatus::Running => Ok(vec![]),
                _ => Err(RestoreError::AlreadyFinished),
            },
            (RestoreCommand::Finish(c), Some(s)) => {
                let status = if c.failed {
                    RestoreStatus::Failed
                } else if c.items_failed > 0 {
                    RestoreStatus::CompletedWithErrors
                } else {
                    RestoreStatus::Completed
                };
                if s.status.is_finished() {
                    // The same result again records nothing; another one never replaces it.
                    return if (s.status, s.items_total, s.items_failed)
                        == (status, c.items_total, c.items_failed)
                    {
                        Ok(vec![])
                    } else {
                        Err(RestoreError::AlreadyFinished)
                    };
                }
                if s.status == RestoreStatus::Queued {
                    return Err(RestoreError::NotStarted);
                }
                if c.items_failed > c.items_total {
                    return Err(RestoreError::InvalidCounts);
                }
                Ok(vec![RestoreEvent::RestoreFinished(RestoreFinished {
                    status,
                    items_total: c.items_total,
                    items_failed: c.items_failed,
                    finished_at: c.finished_at,
                })])
            }
        }
    }
}

impl DomainEvent for RestoreEvent {
    fn event_type(&self) -> String {
        match self {
            RestoreEvent::RestoreRequested(_) => "RestoreRequested",
            RestoreEvent::RestoreStarted(_) => "RestoreStarted",
            RestoreEvent::RestoreFinished(_) => "RestoreFinished",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        RESTORE_EVENT_VERSION.to_string()
    }
}

impl Aggregate for Restore {
    const TYPE: &'static str = "restore";
    type Command = RestoreCommand;
    type Event = RestoreEvent;
    type Error = RestoreError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.state = RestoreState::fold(self.state.take(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type RestoreTest = TestFramework<Restore>;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
    }

    fn requested() -> RestoreEvent {
        RestoreEvent::RestoreRequested(RestoreRequested {
            restore_id: Uuid::from_u128(1),
            run_id: Uuid::from_u128(2),
            workspace_id: Uuid::from_u128(3),
            environment_id: Uuid::from_u128(4),
            requested_at: t(0),
        })
    }

    fn started() -> RestoreEvent {
        RestoreEvent::RestoreStarted(RestoreStarted { started_at: t(1) })
    }

    fn finish(failed: bool, total: u64, bad: u64) -> RestoreCommand {
        RestoreCommand::Finish(FinishRestore {
            failed,
            items_total: total,
            items_failed: bad,
            finished_at: t(9),
        })
    }

    fn finished(status: RestoreStatus, total: u64, bad: u64) -> RestoreEvent {
        RestoreEvent::RestoreFinished(RestoreFinished {
            status,
            items_total: total,
            items_failed: bad,
            finished_at: t(9),
        })
    }

    #[test]
    fn it_should_request_start_and_finish_a_restore() {
        RestoreTest::with(())
            .given_no_previous_events()
            .when(RestoreCommand::Request(RequestRestore {
                restore_id: Uuid::from_u128(1),
                run_id: Uuid::from_u128(2),
                workspace_id: Uuid::from_u128(3),
                environment_id: Uuid::from_u128(4),
                requested_at: t(0),
            }))
            .then_expect_events(vec![requested()]);
        RestoreTest::with(())
            .given(vec![requested()])
            .when(RestoreCommand::Start { started_at: t(1) })
            .then_expect_events(vec![started()]);
    }

    #[test]
    fn it_should_classify_how_a_restore_ended() {
        for (cmd, event) in [
            (
                finish(false, 10, 0),
                finished(RestoreStatus::Completed, 10, 0),
            ),
            (
                finish(false, 10, 2),
                finished(RestoreStatus::CompletedWithErrors, 10, 2),
            ),
            (
                finish(true, 10, 10),
                finished(RestoreStatus::Failed, 10, 10),
            ),
        ] {
            RestoreTest::with(())
                .given(vec![requested(), started()])
                .when(cmd)
                .then_expect_events(vec![event]);
        }
    }

    #[test]
    fn it_should_refuse_invalid_transitions() {
        RestoreTest::with(())
            .given(vec![requested()])
            .when(finish(false, 1, 0))
            .then_expect_error(RestoreError::NotStarted);
        RestoreTest::with(())
            .given(vec![
                requested(),
                started(),
                finished(RestoreStatus::Completed, 1, 0),
            ])
            .when(finish(true, 1, 1))
            .then_expect_error(RestoreError::AlreadyFinished);
        RestoreTest::with(())
            .given(vec![requested(), started()])
            .when(finish(false, 1, 2))
            .then_expect_error(RestoreError::InvalidCounts);
        RestoreTest::with(())
            .given_no_previous_events()
            .when(RestoreCommand::Start { started_at: t(1) })
            .then_expect_error(RestoreError::NotFound);
        RestoreTest::with(())
            .given(vec![
                requested(),
                started(),
                finished(RestoreStatus::Completed, 1, 0),
            ])
            .when(RestoreCommand::Start { started_at: t(10) })
            .then_expect_error(RestoreError::AlreadyFinished);
    }

    #[test]
    fn it_should_record_nothing_for_a_report_it_already_has() {
        RestoreTest::with(())
            .given(vec![requested()])
            .when(RestoreCommand::Request(RequestRestore {
                restore_id: Uuid::from_u128(1),
                run_id: Uuid::from_u128(2),
                workspace_id: Uuid::from_u128(3),
                environment_id: Uuid::from_u128(4),
                requested_at: t(5),
            }))
            .then_expect_events(vec![]);
        RestoreTest::with(())
            .given(vec![requested(), started()])
            .when(RestoreCommand::Start { started_at: t(5) })
            .then_expect_events(vec![]);
        RestoreTest::with(())
            .given(vec![
                requested(),
                started(),
                finished(RestoreStatus::CompletedWithErrors, 10, 2),
            ])
            .when(finish(false, 10, 2))
            .then_expect_events(vec![]);
    }

    #[test]
    fn it_should_never_let_a_restore_change_its_run_or_its_result() {
        RestoreTest::with(())
            .given(vec![requested()])
            .when(RestoreCommand::Request(RequestRestore {
                restore_id: Uuid::from_u128(1),
                run_id: Uuid::from_u128(99),
                workspace_id: Uuid::from_u128(3),
                environment_id: Uuid::from_u128(4),
                requested_at: t(5),
            }))
            .then_expect_error(RestoreError::AlreadyExists);
        RestoreTest::with(())
            .given(vec![
                requested(),
                started(),
                finished(RestoreStatus::CompletedWithErrors, 10, 2),
            ])
            .when(finish(false, 10, 3))
            .then_expect_error(RestoreError::AlreadyFinished);
        assert_eq!(
            RestoreError::AlreadyFinished.reason(),
            ReasonCode::RestoreAlreadyFinished
        );
    }
}
