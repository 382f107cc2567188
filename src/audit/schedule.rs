//! The periodic checkpoint of `runproof serve` and `runproof project`: when a signer key
//! is configured, a checkpoint of the sequenced leaves every N minutes.
//!
//! Whether one is due is decided by an injected clock ([`Checkpointer::tick`] takes
//! "now"), so tests advance a manual clock instead of sleeping; [`Checkpointer::run`]
//! only wakes the ticks up. The first tick of a process signs at once (when there is
//! anything new), so a restart never waits a full period. Any number of processes may
//! run it: signing is serialised, and a tree head already signed is not signed again.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use runproof_audit::SignerKey;
use sqlx::PgPool;
use tracing::{debug, warn};

use super::checkpoints::{self, Signed};
use super::AuditError;
use crate::clock::Clock;

/// The default period between checkpoints.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(600);

/// Signs a checkpoint whenever one is due.
pub struct Checkpointer {
    pool: PgPool,
    key: SignerKey,
    origin: String,
    every: Duration,
    last: Mutex<Option<DateTime<Utc>>>,
}

impl Checkpointer {
    pub fn new(pool: PgPool, key: SignerKey, origin: String, every: Duration) -> Self {
        Checkpointer {
            pool,
            key,
            origin,
            every: every.max(Duration::from_secs(1)),
            last: Mutex::new(None),
        }
    }

    /// The period between checkpoints.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// Whether a checkpoint is due at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        match (last, chrono::Duration::from_std(self.every)) {
            (None, _) => true,
            (Some(last), Ok(every)) => now - last >= every,
            (Some(_), Err(_)) => false,
        }
    }

    /// Signs a checkpoint if one is due at `now`: `Ok(None)` when not due.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Option<Signed>, AuditError> {
        if !self.due(now) {
            return Ok(None);
        }
        // An attempt counts, also a failed one: a refused fork is reported once a period,
        // not on every poll.
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        checkpoints::sign_current(&self.pool, &self.key, &self.origin, now)
            .await
            .map(Some)
    }

    /// Ticks until `shutdown` resolves, checking every `poll` whether a checkpoint is
    /// due by `clock`. A failure (a refused fork, a lost connection) is logged and
    /// tried again at the next poll.
    pub async fn run(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        poll: Duration,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            match self.tick(clock.now()).await {
                Ok(Some(Signed::New(c))) => {
                    debug!(
                        checkpoint = c.id,
                        tree_size = c.tree_size,
                        "audit checkpoint"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %e, "audit checkpoint not signed; trying again later");
                    debug!(cause = ?e, "audit checkpoint failure");
                }
            }
            tokio::select! {
                biased;
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}
