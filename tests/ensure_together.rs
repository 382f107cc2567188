//! Requests that ensure one identity together in one process: the first leads, the
//! others follow and answer with its run without claiming the slot themselves; when the
//! leader dies before it answers, they ensure on their own and one of them queues the run
//! (invariant 11).
//!
//! A test binary of its own: it configures a failpoint callback, and the failpoint
//! registry is global to the process (every other ensure would meet it too). Built only
//! with the `failpoints` feature (`cargo test --all-features`).
#![cfg(feature = "failpoints")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{operator, TestDb};
use runproof::app::App;
use runproof::clock::SystemClock;
use runproof::lifecycle::{EnsureRun, Ensured, LifecycleError};
use tokio::task::JoinHandle;
use uuid::Uuid;

const FOLLOWERS: usize = 31;

fn compose(workspace: Uuid, environment: Uuid) -> EnsureRun {
    common::compose_request(workspace, environment, "sha256:together")
}

/// The failpoint every ensure that does its own work meets (a follower answered by its
/// leader never does). The first one to meet it says so on `entered` and waits for
/// `release`, then dies when `die`; the others pass. Returns how many met it.
fn hold_the_first(
    entered: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
    die: bool,
) -> Arc<AtomicUsize> {
    let met = Arc::new(AtomicUsize::new(0));
    let (entered, release) = (Mutex::new(entered), Mutex::new(release));
    let counter = met.clone();
    fail::cfg_callback("lifecycle.ensure_lead", move || {
        if counter.fetch_add(1, Ordering::SeqCst) > 0 {
            return;
        }
        entered.lock().unwrap().send(()).unwrap();
        release.lock().unwrap().recv().unwrap();
        if die {
            panic!("the leading request dies before it answers");
        }
    })
    .unwrap();
    met
}

type Pending = Pin<Box<dyn Future<Output = Result<Ensured, LifecycleError>> + Send>>;

/// `n` ensures of the identity, each polled once: each has taken its turn (none of them
/// can go further while the leader holds it).
async fn followers(app: &App, workspace: Uuid, environment: Uuid, n: usize) -> Vec<Pending> {
    let mut pending: Vec<Pending> = Vec::new();
    for _ in 0..n {
        let lifecycle = app.lifecycle.clone();
        let mut call: Pending = Box::pin(async move {
            lifecycle
                .ensure(compose(workspace, environment), &operator())
                .await
        });
        assert!(futures::poll!(call.as_mut()).is_pending());
        pending.push(call);
    }
    pending
}

/// One ensure that leads, held at the failpoint while `FOLLOWERS` more take their turn,
/// then let go (to die when `die`).
struct Together {
    db: TestDb,
    app: App,
    workspace: Uuid,
    environment: Uuid,
    /// How many ensures met the failpoint.
    met: Arc<AtomicUsize>,
    leader: JoinHandle<Result<Ensured, LifecycleError>>,
    pending: Vec<Pending>,
}

async fn leader_held_while_followers_come(die: bool) -> Together {
    let db = TestDb::new().await;
    let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
    let (workspace, environment) = (Uuid::new_v4(), Uuid::new_v4());
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let met = hold_the_first(entered_tx, release_rx, die);
    let lifecycle = app.lifecycle.clone();
    let leader = tokio::spawn(async move {
        lifecycle
            .ensure(compose(workspace, environment), &operator())
            .await
    });
    tokio::task::spawn_blocking(move || entered.recv().unwrap())
        .await
        .unwrap();
    let pending = followers(&app, workspace, environment, FOLLOWERS).await;
    release.send(()).unwrap();
    Together {
        db,
        app,
        workspace,
        environment,
        met,
        leader,
        pending,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_come_while_one_ensures_the_identity_answer_with_its_run_and_claim_nothing() {
    let scenario = fail::FailScenario::setup();
    let Together {
        db,
        app,
        workspace,
        environment,
        met,
        leader,
        pending,
    } = leader_held_while_followers_come(false).await;

    let led = leader.await.unwrap().unwrap();
    assert!(
        matches!(led, Ensured::Queued(_)),
        "the leader queued the run"
    );
    let answers = futures::future::join_all(pending).await;
    for answer in answers {
        assert_eq!(answer.unwrap(), Ensured::Existing(led.run_id()));
    }
    assert_eq!(
        met.load(Ordering::SeqCst),
        1,
        "only the leader did the work: no follower read or claimed the slot"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE event_type = 'RunQueued'")
            .await,
        1
    );
    // The run is shown to every follower as to the leader (read-your-writes).
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM operation_runs WHERE id = '{}' AND status = 'queued'",
            led.run_id()
        ))
        .await,
        1
    );
    // Requests after the answer lead again, and find the run active.
    let again = app
        .lifecycle
        .ensure(compose(workspace, environment), &operator())
        .await
        .unwrap();
    assert_eq!(again, Ensured::Existing(led.run_id()));
    assert_eq!(met.load(Ordering::SeqCst), 2);
    scenario.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leading_request_dies_its_followers_ensure_on_their_own_and_one_queues_the_run() {
    let scenario = fail::FailScenario::setup();
    let Together {
        db,
        met,
        leader,
        pending,
        ..
    } = leader_held_while_followers_come(true).await;
    assert!(leader.await.unwrap_err().is_panic(), "the leader died");

    let answers: Vec<Ensured> = futures::future::join_all(pending)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let runs: HashSet<Uuid> = answers.iter().map(|a| a.run_id()).collect();
    assert_eq!(runs.len(), 1, "every follower got the same run");
    assert_eq!(
        answers
            .iter()
            .filter(|a| matches!(a, Ensured::Queued(_)))
            .count(),
        1,
        "one follower queued it"
    );
    assert_eq!(
        met.load(Ordering::SeqCst),
        1 + FOLLOWERS,
        "each follower did the work itself"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM events WHERE event_type = 'RunQueued'")
            .await,
        1
    );
    scenario.teardown();
}
