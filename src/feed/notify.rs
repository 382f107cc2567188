//! Telling feed readers that the log grew: after an append commits, the writing process
//! sends one `NOTIFY` on [`super::wake::CHANNEL`], off the append's path — when a feed
//! reader listens.
//!
//! A notification sent from the appending transaction itself (a trigger) would make
//! PostgreSQL commit every appending transaction one at a time — it holds a server-wide
//! lock from the notification's queueing through the commit's flush — which cost writers
//! more than half their throughput (docs/benchmarks.md). Sent afterwards, by one task per
//! process, appends commit together again; the task coalesces every append that commits
//! while a notification is in flight into the next one, and its own transaction does
//! not wait for a flush (`synchronous_commit` off for it: a lost notification delays a
//! reader, which polls anyway, and never makes one skip). Under a steady stream of
//! appends it sends at most one notification per [`NOTIFY_GAP`].
//!
//! Each notification is a round trip and a transaction of its own, so none is sent when
//! nobody listens: a feed listener ([`super::wake`]) connects with the application name
//! [`LISTENER_APPLICATION`], and the statement that notifies does so only while such a
//! connection is open on the database. When it found none, appends send nothing for
//! [`LISTENERS_RECHECK`] (without waking the sending task); then the next append looks
//! again. A reader that starts listening is thus woken by notifications at most that
//! much later — meanwhile it polls, as it always does.
//!
//! Events written around runproof's writer (plain SQL) notify nobody; readers find them
//! at their next poll.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::watch;
use tracing::debug;

use super::wake::CHANNEL;

/// The least time between two notifications of one process. Each is a transaction of
/// its own; sent for every burst, they cost writers about a sixth of a lifecycle's CPU
/// (docs/benchmarks.md, "Lifecycles"); a reader is woken at most this much later for it.
const NOTIFY_GAP: Duration = Duration::from_millis(2);

/// How long "no feed reader listens" holds before an append looks again.
const LISTENERS_RECHECK: Duration = Duration::from_millis(500);

/// The `application_name` of a feed listener's connection: the notifier looks for one
/// before it notifies.
pub const LISTENER_APPLICATION: &str = "runproof feed listener";

/// What the notifier did with the appends it was told of so far (a burst of appends is
/// one notification).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notifications {
    /// Notifications sent (a listener was connected).
    pub sent: u64,
    /// Appends (or bursts of them) not notified because no listener was connected.
    pub unheard: u64,
    /// Notifications that failed (readers poll meanwhile).
    pub failed: u64,
}

/// Sends the wake-up notifications of one process's appends.
#[derive(Clone)]
pub struct AppendNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// Counts appends; the sending task watches it.
    appended: watch::Sender<u64>,
    /// What the sending task did; see [`AppendNotifier::notifications`].
    done: watch::Sender<Notifications>,
    pool: PgPool,
    /// Until when appends notify nobody (no feed reader was listening).
    unheard: Arc<Unheard>,
    started: std::sync::OnceLock<()>,
}

/// "No feed reader listens", believed for a while after the notifier found none: appends
/// meanwhile skip even waking the sending task.
struct Unheard {
    /// How long the belief holds.
    recheck: Duration,
    since: Instant,
    /// Until when, in nanoseconds after `since` (0: not believed).
    until: AtomicU64,
}

impl Unheard {
    fn holds(&self) -> bool {
        let now = self.since.elapsed().as_nanos();
        now < u128::from(self.until.load(Ordering::Relaxed))
    }

    fn believe(&self) {
        let until = (self.since.elapsed() + self.recheck).as_nanos();
        self.until
            .store(u64::try_from(until).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl AppendNotifier {
    pub fn new(pool: PgPool) -> Self {
        Self::with_recheck(pool, LISTENERS_RECHECK)
    }

    /// A notifier that trusts "no feed reader listens" for `recheck` (instead of
    /// [`LISTENERS_RECHECK`]) before it looks again.
    pub fn with_recheck(pool: PgPool, recheck: Duration) -> Self {
        let (appended, _) = watch::channel(0);
        let (done, _) = watch::channel(Notifications::default());
        AppendNotifier {
            inner: Arc::new(Inner {
                appended,
                done,
                pool,
                unheard: Arc::new(Unheard {
                    recheck,
                    since: Instant::now(),
                    until: AtomicU64::new(0),
                }),
                started: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Notes a committed append: a notification follows (at once, or after the one in
    /// flight). Never waits. Must be called inside a Tokio runtime (it starts the sending
    /// task on first use).
    pub fn appended(&self) {
        let inner = &self.inner;
        if inner.unheard.holds() {
            count(&inner.done, "unheard", |n| n.unheard += 1);
            return;
        }
        inner.started.get_or_init(|| {
            tokio::spawn(send(
                inner.pool.clone(),
                inner.appended.subscribe(),
                inner.done.clone(),
                inner.unheard.clone(),
            ));
        });
        inner.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What this notifier did so far, updated after each burst it handled.
    pub fn notifications(&self) -> watch::Receiver<Notifications> {
        self.inner.done.subscribe()
    }
}

/// The sending task: one notification per burst of appends while a feed reader listens,
/// until every notifier of the process is gone.
async fn send(
    pool: PgPool,
    mut appended: watch::Receiver<u64>,
    done: watch::Sender<Notifications>,
    unheard: Arc<Unheard>,
) {
    while appended.changed().await.is_ok() {
        appended.borrow_and_update();
        if unheard.holds() {
            count(&done, "unheard", |n| n.unheard += 1);
            continue;
        }
        // One statement looks for a listener and notifies only if it found one.
        let sent = sqlx::query_scalar::<_, i64>(
            "SELECT count(pg_notify($1, '')) \
             FROM (SELECT set_config('synchronous_commit', 'off', true) \
                   FROM pg_stat_activity \
                   WHERE datname = current_database() AND application_name = $2 \
                   LIMIT 1) AS listener",
        )
        .bind(CHANNEL)
        .bind(LISTENER_APPLICATION)
        .fetch_one(&pool)
        .await;
        match sent {
            Ok(0) => {
                unheard.believe();
                count(&done, "unheard", |n| n.unheard += 1);
                continue;
            }
            Ok(_) => count(&done, "sent", |n| n.sent += 1),
            Err(e) => {
                // Readers poll as well: a notification that could not be sent delays them.
                debug!(error = %e, "could not notify feed readers");
                count(&done, "failed", |n| n.failed += 1);
            }
        }
        // Appends that commit meanwhile wait for the next notification: at most one per
        // gap, and the first after a quiet spell goes at once.
        tokio::time::sleep(NOTIFY_GAP).await;
    }
}

fn count(
    done: &watch::Sender<Notifications>,
    result: &'static str,
    f: impl FnOnce(&mut Notifications),
) {
    metrics::counter!("runproof_feed_notifications_total", "result" => result).increment(1);
    done.send_modify(f);
}
