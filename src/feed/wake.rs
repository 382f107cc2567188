//! Waking feed readers when the log grows: PostgreSQL `LISTEN`, with polling as the
//! fallback.
//!
//! A process that appends events notifies the channel [`CHANNEL`] after its appends
//! commit, while a listener is connected ([`super::notify`]). One listener per process —
//! on a connection of its own, named [`LISTENER_APPLICATION`] so that writers know it is
//! there, started by the first reader — bumps a counter that every reader watches. A
//! notification only says "look again": readers read in commit order below the read
//! horizon whatever woke them, and also look again every poll interval, because a
//! notification can be missed (the listener's connection dropped) and because an event
//! can become readable without one (a transaction that wrote nothing, but held the read
//! horizon back, ended).

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::{watch, OnceCell};
use tracing::{debug, warn};

use super::notify::LISTENER_APPLICATION;

/// The channel appends notify.
pub const CHANNEL: &str = "runproof_events";

/// How often the listener checks whether anyone still listens, while no notification
/// arrives.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// The longest wait before the listener connects again after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The process's wake-ups: shared by every reader of one [`super::FeedService`].
#[derive(Clone)]
pub struct Wakeups {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    /// Counts notifications; readers watch it.
    tx: Arc<watch::Sender<u64>>,
    /// Ends every reader's wait for good (the server is shutting down).
    closing: watch::Sender<bool>,
    started: OnceCell<()>,
}

impl Wakeups {
    pub fn new(pool: PgPool) -> Self {
        let (tx, _) = watch::channel(0);
        let (closing, _) = watch::channel(false);
        Wakeups {
            inner: Arc::new(Inner {
                pool,
                tx: Arc::new(tx),
                closing,
                started: OnceCell::new(),
            }),
        }
    }

    /// A reader's wake-up, polling every `poll` at the latest. Starts the process's
    /// listener on first use.
    pub async fn subscribe(&self, poll: Duration) -> Wake {
        let inner = &self.inner;
        inner
            .started
            .get_or_init(|| async {
                let pool = inner.pool.clone();
                let tx = Arc::downgrade(&inner.tx);
                tokio::spawn(listen(pool, tx));
            })
            .await;
        Wake {
            rx: inner.tx.subscribe(),
            closing: inner.closing.subscribe(),
            poll: poll.max(Duration::from_millis(1)),
        }
    }

    /// Ends every reader's wait, now and later: followers stop (for a shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Whether [`Wakeups::close`] was called.
    pub fn is_closed(&self) -> bool {
        *self.inner.closing.borrow()
    }
}

/// One reader's wake-up.
pub struct Wake {
    rx: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    poll: Duration,
}

impl Wake {
    /// Forgets the notifications so far: call it before reading, so that a notification
    /// that arrives during the read wakes the next [`Wake::wait`] at once.
    pub fn arm(&mut self) {
        self.rx.borrow_and_update();
    }

    /// Waits until a notification arrived since [`Wake::arm`], or the poll interval
    /// passed. Returns false when the feed is closing (the reader should stop).
    pub async fn wait(&mut self) -> bool {
        if *self.closing.borrow() {
            return false;
        }
        tokio::select! {
            _ = self.rx.changed() => {}
            _ = tokio::time::sleep(self.poll) => {}
            _ = self.closing.changed() => {}
        }
        !*self.closing.borrow()
    }

    /// Whether the feed is closing.
    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }
}

/// The listener: connects on a connection of its own (never one a request needs),
/// listens, and bumps the counter on every notification — and after every (re)connect,
/// as notifications may have been missed. Ends once no [`Wakeups`] is left.
async fn listen(pool: PgPool, tx: Weak<watch::Sender<u64>>) {
    let bump = |tx: &Weak<watch::Sender<u64>>| match tx.upgrade() {
        Some(tx) => {
            tx.send_modify(|n| *n = n.wrapping_add(1));
            true
        }
        None => false,
    };
    let own = PgPoolOptions::new().max_connections(1).connect_lazy_with(
        (*pool.connect_options())
            .clone()
            .application_name(LISTENER_APPLICATION),
    );
    drop(pool);
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&own).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                warn!(error = %e, retry_in = ?backoff, "the feed cannot listen for new events; readers poll meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if tx.strong_count() == 0 {
                    return;
                }
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        debug!("listening for new events");
        if !bump(&tx) {
            return;
        }
        loop {
            match tokio::time::timeout(IDLE_CHECK, listener.try_recv()).await {
                Ok(Ok(Some(_))) => {
                    if !bump(&tx) {
                        return;
                    }
                }
                // The connection was lost: it reconnects on the next call; wake readers
                // in case a notification was missed meanwhile.
                Ok(Ok(None)) => {
                    if !bump(&tx) {
                        return;
                    }
                }
                Ok(Err(e)) => {
                    warn!(error = %e, "the feed's listener failed; listening again");
                    break;
                }
                Err(_) => {
                    if tx.strong_count() == 0 {
                        return;
                    }
                }
            }
        }
    }
}
