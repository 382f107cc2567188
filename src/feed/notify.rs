//! Telling feed readers that the log grew: after an append commits, the writing process
//! sends one `NOTIFY` on [`super::wake::CHANNEL`], off the append's path.
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
//! Events written around runproof's writer (plain SQL) notify nobody; readers find them
//! at their next poll.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::watch;
use tracing::debug;

use super::wake::CHANNEL;

/// The least time between two notifications of one process. Each is a transaction of
/// its own; sent for every burst, they cost writers about a sixth of a lifecycle's CPU
/// (docs/benchmarks.md, "Lifecycles"); a reader is woken at most this much later for it.
const NOTIFY_GAP: std::time::Duration = std::time::Duration::from_millis(2);

/// Sends the wake-up notifications of one process's appends.
#[derive(Clone)]
pub struct AppendNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// Counts appends; the sending task watches it.
    appended: watch::Sender<u64>,
    pool: PgPool,
    started: std::sync::OnceLock<()>,
}

impl AppendNotifier {
    pub fn new(pool: PgPool) -> Self {
        let (appended, _) = watch::channel(0);
        AppendNotifier {
            inner: Arc::new(Inner {
                appended,
                pool,
                started: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Notes a committed append: a notification follows (at once, or after the one in
    /// flight). Never waits. Must be called inside a Tokio runtime (it starts the sending
    /// task on first use).
    pub fn appended(&self) {
        let inner = &self.inner;
        inner.started.get_or_init(|| {
            tokio::spawn(send(inner.pool.clone(), inner.appended.subscribe()));
        });
        inner.appended.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The sending task: one notification per burst of appends, until every notifier of the
/// process is gone.
async fn send(pool: PgPool, mut appended: watch::Receiver<u64>) {
    while appended.changed().await.is_ok() {
        appended.borrow_and_update();
        let sent =
            sqlx::query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&pool)
                .await;
        if let Err(e) = sent {
            // Readers poll as well: a notification that could not be sent delays them.
            debug!(error = %e, "could not notify feed readers");
        }
        // Appends that commit meanwhile wait for the next notification: at most one per
        // gap, and the first after a quiet spell goes at once.
        tokio::time::sleep(NOTIFY_GAP).await;
    }
}
