//! Given / when / then specifications of every run transition, valid and invalid.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::identity::IdentityHash;
use crate::initiator::Initiator;
use crate::reason::{Detail, ReasonCode};
use crate::reconciliation::{
    AdapterRef, DecisionKind, Evidence, Reconciliation, ReconciliationSource, RecordKind,
    RecordRef, RecordStatus,
};
use crate::run_type::RunType;
use cqrs_es::DomainEvent;

type RunTest = TestFramework<OperationRun>;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

fn run_id() -> Uuid {
    Uuid::from_u128(0xA1)
}

fn workspace() -> Uuid {
    Uuid::from_u128(0xB2)
}

fn hash() -> IdentityHash {
    IdentityHash::of(
        workspace(),
        None,
        RunType::ReportExport,
        &json!({"report": "monthly"}),
    )
}

fn queue_cmd() -> OperationRunCommand {
    OperationRunCommand::Queue(QueueRun {
        run_id: run_id(),
        workspace_id: workspace(),
        environment_id: None,
        run_type: "report.export".into(),
        initiator: Initiator::Actor(Uuid::from_u128(0xC3)),
        identity_hash: hash(),
        context: json!({"report": "monthly"}),
        queued_at: t0(),
    })
}

fn queued() -> OperationRunEvent {
    OperationRunEvent::RunQueued(RunQueued {
        run_id: run_id(),
        workspace_id: workspace(),
        environment_id: None,
        run_type: RunType::ReportExport,
        initiator: Initiator::Actor(Uuid::from_u128(0xC3)),
        identity_hash: hash(),
        context: json!({"report": "monthly"}).as_object().unwrap().clone(),
        queued_at: t0(),
    })
}

fn started() -> OperationRunEvent {
    OperationRunEvent::RunStarted(RunStarted {
        started_at: t0() + Duration::seconds(5),
    })
}

fn start_cmd() -> OperationRunCommand {
    OperationRunCommand::Start(StartRun {
        started_at: t0() + Duration::seconds(5),
    })
}

fn complete_cmd(outcome: TerminalOutcome) -> OperationRunCommand {
    OperationRunCommand::Complete(CompleteRun::with_outcome(
        outcome,
        t0() + Duration::seconds(60),
    ))
}

fn completed(outcome: TerminalOutcome) -> OperationRunEvent {
    OperationRunEvent::RunCompleted(RunCompleted {
        outcome,
        summary: BTreeMap::new(),
        failures: vec![],
        completed_at: t0() + Duration::seconds(60),
        note: CompletionNote::implied(&[]),
    })
}

fn stale_reconciliation() -> Reconciliation {
    Reconciliation {
        source: ReconciliationSource::Stale,
        adapter: None,
        decision: DecisionKind::ProvenFailed,
        reason_code: ReasonCode::JobTimedOut,
        evidence: Evidence {
            workspace_id: Some(workspace()),
            ..Evidence::default()
        },
        decided_at: t0() + Duration::hours(2),
    }
}

fn reconcile_cmd(expected_version: u64, reconciliation: Reconciliation) -> OperationRunCommand {
    OperationRunCommand::Reconcile(ReconcileRun {
        expected_version,
        reconciliation,
    })
}

// --- queue ---

#[test]
fn it_should_queue_a_new_run() {
    RunTest::with(())
        .given_no_previous_events()
        .when(queue_cmd())
        .then_expect_events(vec![queued()]);
}

#[test]
fn it_should_not_queue_an_unknown_run_type() {
    let OperationRunCommand::Queue(mut cmd) = queue_cmd() else {
        unreachable!()
    };
    cmd.run_type = "backup.nightly".into();
    RunTest::with(())
        .given_no_previous_events()
        .when(OperationRunCommand::Queue(cmd))
        .then_expect_error(OperationRunError::UnknownRunType("backup.nightly".into()));
}

#[test]
fn it_should_not_queue_a_run_twice() {
    RunTest::with(())
        .given(vec![queued()])
        .when(queue_cmd())
        .then_expect_error(OperationRunError::AlreadyExists);
}

#[test]
fn it_should_not_queue_a_context_that_is_not_an_object() {
    let OperationRunCommand::Queue(mut cmd) = queue_cmd() else {
        unreachable!()
    };
    cmd.context = json!(["not", "an", "object"]);
    RunTest::with(())
        .given_no_previous_events()
        .when(OperationRunCommand::Queue(cmd))
        .then_expect_error(OperationRunError::InvalidInput(Detail::RunContextNotObject));
}

#[test]
fn it_should_not_queue_a_context_using_the_reserved_reconciliation_key() {
    let OperationRunCommand::Queue(mut cmd) = queue_cmd() else {
        unreachable!()
    };
    cmd.context = json!({"reconciliation": {"source": "adapter"}});
    let err = RunTest::with(())
        .given_no_previous_events()
        .when(OperationRunCommand::Queue(cmd))
        .inspect_result()
        .unwrap_err();
    assert_eq!(err.reason(), ReasonCode::RunInvalidInput);
}

#[test]
fn it_should_not_queue_a_context_that_cannot_be_stored() {
    let OperationRunCommand::Queue(mut cmd) = queue_cmd() else {
        unreachable!()
    };
    cmd.context = json!({"note": "a\u{0}b"});
    RunTest::with(())
        .given_no_previous_events()
        .when(OperationRunCommand::Queue(cmd))
        .then_expect_error(OperationRunError::InvalidInput(
            Detail::RunContextNulCharacter,
        ));
}

#[test]
fn it_should_not_queue_an_oversized_context() {
    let OperationRunCommand::Queue(mut cmd) = queue_cmd() else {
        unreachable!()
    };
    cmd.context = json!({"blob": "x".repeat(limits::CONTEXT_BYTES)});
    RunTest::with(())
        .given_no_previous_events()
        .when(OperationRunCommand::Queue(cmd))
        .then_expect_error(OperationRunError::InvalidInput(Detail::RunContextTooLarge));
}

// --- start ---

#[test]
fn it_should_start_a_queued_run() {
    RunTest::with(())
        .given(vec![queued()])
        .when(start_cmd())
        .then_expect_events(vec![started()]);
}

#[test]
fn it_should_not_start_a_run_that_does_not_exist() {
    RunTest::with(())
        .given_no_previous_events()
        .when(start_cmd())
        .then_expect_error(OperationRunError::NotFound);
}

#[test]
fn it_should_not_start_a_running_run_twice() {
    RunTest::with(())
        .given(vec![queued(), started()])
        .when(start_cmd())
        .then_expect_error(OperationRunError::AlreadyRunning);
}

#[test]
fn it_should_not_start_a_completed_run() {
    RunTest::with(())
        .given(vec![
            queued(),
            started(),
            completed(TerminalOutcome::Succeeded),
        ])
        .when(start_cmd())
        .then_expect_error(OperationRunError::AlreadyCompleted);
}

// --- complete ---

#[test]
fn it_should_complete_a_running_run_with_each_outcome() {
    for outcome in TerminalOutcome::ALL {
        RunTest::with(())
            .given(vec![queued(), started()])
            .when(complete_cmd(outcome))
            .then_expect_events(vec![completed(outcome)]);
    }
}

#[test]
fn it_should_record_summary_counts_and_failures() {
    let cmd = CompleteRun {
        outcome: TerminalOutcome::PartiallySucceeded,
        summary: BTreeMap::from([("total".into(), 10), ("failed".into(), 2)]),
        failures: vec![Failure {
            reason_code: ReasonCode::JobItemsFailed,
            message: Some("2 of 10 policies could not be restored".into()),
        }],
        completed_at: t0() + Duration::seconds(60),
        note: None,
    };
    let events = RunTest::with(())
        .given(vec![queued(), started()])
        .when(OperationRunCommand::Complete(cmd.clone()))
        .inspect_result()
        .unwrap();
    assert_eq!(
        events,
        vec![OperationRunEvent::RunCompleted(RunCompleted {
            outcome: cmd.outcome,
            summary: cmd.summary,
            failures: cmd.failures,
            completed_at: cmd.completed_at,
            // The job named no reason: its first failure is the reason.
            note: CompletionNote {
                reason_code: ReasonCode::JobItemsFailed,
                record: None,
            },
        })]
    );
}

#[test]
fn it_should_record_the_note_the_job_gives() {
    let note = CompletionNote {
        reason_code: ReasonCode::ReviewDuplicateRecovered,
        record: Some(RecordRef {
            kind: RecordKind::EnvironmentReview,
            id: Uuid::from_u128(77),
            status: RecordStatus::Ready,
        }),
    };
    let mut cmd =
        CompleteRun::with_outcome(TerminalOutcome::Succeeded, t0() + Duration::seconds(60));
    cmd.note = Some(note.clone());
    let events = RunTest::with(())
        .given(vec![queued(), started()])
        .when(OperationRunCommand::Complete(cmd))
        .inspect_result()
        .unwrap();
    let [OperationRunEvent::RunCompleted(e)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(e.note, note);
}

#[test]
fn it_should_record_that_no_reason_was_named_for_a_plain_completion() {
    RunTest::with(())
        .given(vec![queued(), started()])
        .when(complete_cmd(TerminalOutcome::Succeeded))
        .then_expect_events(vec![completed(TerminalOutcome::Succeeded)]);
    assert!(!CompletionNote::implied(&[]).has_reason());
}

#[test]
fn it_should_write_a_completion_at_version_1_1_and_the_other_run_events_at_1_0() {
    assert_eq!(completed(TerminalOutcome::Succeeded).event_version(), "1.1");
    assert_eq!(queued().event_version(), "1.0");
    assert_eq!(started().event_version(), "1.0");
}

#[test]
fn a_1_0_completion_without_a_note_is_read_with_the_note_it_implied() {
    let stored = json!({"RunCompleted": {
        "outcome": "partially_succeeded",
        "summary": {"total": 10, "failed": 2},
        "failures": [{"reason_code": "job.items_failed", "message": "2 of 10"}],
        "completed_at": "2026-01-01T00:01:00Z"
    }})
    .to_string();
    let event: OperationRunEvent =
        crate::upcasting::decode("RunCompleted", "1.0", &stored).unwrap();
    let OperationRunEvent::RunCompleted(e) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        e.note,
        CompletionNote {
            reason_code: ReasonCode::JobItemsFailed,
            record: None
        }
    );
    assert_eq!(e.failures[0].message.as_deref(), Some("2 of 10"));
}

#[test]
fn a_1_0_completion_with_a_note_keeps_it() {
    let note = json!({"reason_code": "review.ready", "record": {"kind": "environment_review", "id": Uuid::from_u128(5), "status": "ready"}});
    let stored = json!({"RunCompleted": {
        "outcome": "succeeded", "summary": {}, "failures": [],
        "completed_at": "2026-01-01T00:01:00Z", "note": note
    }})
    .to_string();
    let event: OperationRunEvent =
        crate::upcasting::decode("RunCompleted", "1.0", &stored).unwrap();
    let OperationRunEvent::RunCompleted(e) = event else {
        panic!("{event:?}")
    };
    assert_eq!(serde_json::to_value(e.note).unwrap(), note);
}

#[test]
fn a_1_1_completion_without_its_note_is_undecodable() {
    let stored = json!({"RunCompleted": {
        "outcome": "succeeded", "summary": {}, "failures": [],
        "completed_at": "2026-01-01T00:01:00Z"
    }})
    .to_string();
    let err =
        crate::upcasting::decode::<OperationRunEvent>("RunCompleted", "1.1", &stored).unwrap_err();
    assert!(
        matches!(err, crate::upcasting::DecodeError::Payload { .. }),
        "{err:?}"
    );
}

#[test]
fn it_should_not_complete_a_run_that_never_started() {
    RunTest::with(())
        .given(vec![queued()])
        .when(complete_cmd(TerminalOutcome::Succeeded))
        .then_expect_error(OperationRunError::NotStarted);
}

#[test]
fn it_should_not_complete_a_run_that_does_not_exist() {
    RunTest::with(())
        .given_no_previous_events()
        .when(complete_cmd(TerminalOutcome::Succeeded))
        .then_expect_error(OperationRunError::NotFound);
}

#[test]
fn it_should_treat_a_repeated_completion_with_the_same_outcome_as_a_no_op() {
    RunTest::with(())
        .given(vec![
            queued(),
            started(),
            completed(TerminalOutcome::Failed),
        ])
        .when(complete_cmd(TerminalOutcome::Failed))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_never_flip_an_outcome() {
    RunTest::with(())
        .given(vec![
            queued(),
            started(),
            completed(TerminalOutcome::Failed),
        ])
        .when(complete_cmd(TerminalOutcome::Succeeded))
        .then_expect_error(OperationRunError::OutcomeConflict {
            current: TerminalOutcome::Failed,
            requested: TerminalOutcome::Succeeded,
        });
}

#[test]
fn it_should_not_flip_the_outcome_of_a_reconciled_run() {
    let reconciled = OperationRunEvent::RunReconciled(RunReconciled {
        outcome: TerminalOutcome::Failed,
        reconciliation: stale_reconciliation(),
        completed_at: t0() + Duration::hours(2),
    });
    RunTest::with(())
        .given(vec![queued(), started(), reconciled.clone()])
        .when(complete_cmd(TerminalOutcome::Succeeded))
        .then_expect_error(OperationRunError::OutcomeConflict {
            current: TerminalOutcome::Failed,
            requested: TerminalOutcome::Succeeded,
        });
    RunTest::with(())
        .given(vec![queued(), started(), reconciled])
        .when(complete_cmd(TerminalOutcome::Failed))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_not_accept_unsafe_failure_messages_or_summary_keys() {
    let mut cmd = CompleteRun::with_outcome(TerminalOutcome::Failed, t0());
    cmd.failures = vec![Failure {
        reason_code: ReasonCode::JobFailed,
        message: Some("line one\nERROR: duplicate key value violates constraint".into()),
    }];
    let err = RunTest::with(())
        .given(vec![queued(), started()])
        .when(OperationRunCommand::Complete(cmd))
        .inspect_result()
        .unwrap_err();
    assert_eq!(
        err,
        OperationRunError::InvalidInput(Detail::RunFailureMessage)
    );

    let mut cmd = CompleteRun::with_outcome(TerminalOutcome::Succeeded, t0());
    cmd.summary = BTreeMap::from([("Robert'); DROP TABLE".into(), 1)]);
    RunTest::with(())
        .given(vec![queued(), started()])
        .when(OperationRunCommand::Complete(cmd))
        .then_expect_error(OperationRunError::InvalidInput(Detail::RunSummaryKey));
}

// --- reconcile ---

#[test]
fn it_should_reconcile_a_stale_queued_run_at_the_expected_version() {
    RunTest::with(())
        .given(vec![queued()])
        .when(reconcile_cmd(1, stale_reconciliation()))
        .then_expect_events(vec![OperationRunEvent::RunReconciled(RunReconciled {
            outcome: TerminalOutcome::Failed,
            reconciliation: stale_reconciliation(),
            completed_at: t0() + Duration::hours(2),
        })]);
}

#[test]
fn it_should_reconcile_a_running_run_with_an_adapter_decision() {
    let reconciliation = Reconciliation {
        source: ReconciliationSource::Adapter,
        adapter: Some(AdapterRef::new("restore", "1.0.0").unwrap()),
        decision: DecisionKind::ProvenPartiallySucceeded,
        ..stale_reconciliation()
    };
    RunTest::with(())
        .given(vec![queued(), started()])
        .when(reconcile_cmd(2, reconciliation.clone()))
        .then_expect_events(vec![OperationRunEvent::RunReconciled(RunReconciled {
            outcome: TerminalOutcome::PartiallySucceeded,
            completed_at: reconciliation.decided_at,
            reconciliation,
        })]);
}

#[test]
fn it_should_not_reconcile_on_a_decision_made_at_an_older_version() {
    RunTest::with(())
        .given(vec![queued(), started()])
        .when(reconcile_cmd(1, stale_reconciliation()))
        .then_expect_error(OperationRunError::VersionMismatch {
            expected: 1,
            actual: 2,
        });
}

#[test]
fn it_should_not_reconcile_a_completed_run() {
    RunTest::with(())
        .given(vec![
            queued(),
            started(),
            completed(TerminalOutcome::Succeeded),
        ])
        .when(reconcile_cmd(3, stale_reconciliation()))
        .then_expect_error(OperationRunError::AlreadyCompleted);
}

#[test]
fn it_should_not_reconcile_a_run_that_does_not_exist() {
    RunTest::with(())
        .given_no_previous_events()
        .when(reconcile_cmd(0, stale_reconciliation()))
        .then_expect_error(OperationRunError::NotFound);
}

#[test]
fn it_should_require_an_adapter_for_adapter_decisions_and_none_for_stale_ones() {
    let no_adapter = Reconciliation {
        source: ReconciliationSource::Adapter,
        adapter: None,
        ..stale_reconciliation()
    };
    RunTest::with(())
        .given(vec![queued()])
        .when(reconcile_cmd(1, no_adapter))
        .then_expect_error(OperationRunError::InvalidInput(Detail::RunAdapterMissing));
    let stale_with_adapter = Reconciliation {
        adapter: Some(AdapterRef::new("restore", "1.0.0").unwrap()),
        ..stale_reconciliation()
    };
    RunTest::with(())
        .given(vec![queued()])
        .when(reconcile_cmd(1, stale_with_adapter))
        .then_expect_error(OperationRunError::InvalidInput(Detail::RunStaleWithAdapter));
}

// --- the fold ---

#[test]
fn the_fold_tracks_status_outcome_version_and_reconciliation() {
    let mut run = OperationRun::default();
    assert!(run.state().is_none());
    for e in [queued(), started()] {
        cqrs_es::Aggregate::apply(&mut run, e);
    }
    assert_eq!(run.version(), 2);
    assert!(run.is_active());
    let s = run.state().unwrap();
    assert_eq!(
        (s.status, s.outcome),
        (RunStatus::Running, RunOutcome::Pending)
    );
    cqrs_es::Aggregate::apply(
        &mut run,
        OperationRunEvent::RunReconciled(RunReconciled {
            outcome: TerminalOutcome::Failed,
            reconciliation: stale_reconciliation(),
            completed_at: t0() + Duration::hours(2),
        }),
    );
    let s = run.state().unwrap();
    assert_eq!(
        (s.status, s.outcome),
        (RunStatus::Completed, RunOutcome::Failed)
    );
    assert_eq!(s.reconciliation, Some(stale_reconciliation()));
    assert!(!run.is_active());
}

#[test]
fn every_rejection_has_a_catalogued_reason() {
    let errors = [
        OperationRunError::UnknownRunType("x".into()),
        OperationRunError::AlreadyExists,
        OperationRunError::NotFound,
        OperationRunError::AlreadyRunning,
        OperationRunError::AlreadyCompleted,
        OperationRunError::NotStarted,
        OperationRunError::OutcomeConflict {
            current: TerminalOutcome::Failed,
            requested: TerminalOutcome::Succeeded,
        },
        OperationRunError::VersionMismatch {
            expected: 1,
            actual: 2,
        },
        OperationRunError::InvalidInput(Detail::RunContextTooLarge),
    ];
    for e in errors {
        assert!(ReasonCode::ALL.contains(&e.reason()));
    }
}
