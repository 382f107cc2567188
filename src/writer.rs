//! Writing commands to any aggregate, optionally waiting until the projections show the
//! write (read-your-writes). Services (run lifecycle, restores, …) are built on this.
//!
//! A wait that times out does not fail the write (it is committed): the writer notes it
//! as a [`Lag`] — the position the views did not reach, and what holds the read horizon
//! back — which an interface reads after the command to tell the person at once
//! ([`Writer::lag`]). While the last wait timed out, the next waits do not wait again:
//! each catches up once and either clears the note or renews it, so a write does not cost
//! the full timeout again and again while a long-open transaction holds every reader.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::metadata::CommandContext;
use runproof_projections::log::{self, HorizonHolder};
use runproof_projections::{LogPosition, Projector, ProjectorError};
use serde::Serialize;

use crate::event_store::{Committed, EventStore, ExecuteError, NewEvent, StoreError};

/// Why a write failed. Nothing was recorded unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E: std::error::Error + 'static> {
    /// The domain refused the command.
    #[error(transparent)]
    Rejected(E),
    /// Another writer appended to the stream first; reload and decide again.
    #[error("a concurrent write got there first")]
    Conflict,
    /// The store failed; nothing was written.
    #[error("event store failure")]
    Store(#[source] StoreError),
}

/// A write the views did not show within the read-your-writes timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    /// The write's place in the log.
    pub target: LogPosition,
    /// How far every live projection had got.
    pub reached: LogPosition,
    /// What holds the read horizon below the write, when that is why: the oldest
    /// transaction still running on the server. `None` when the write is readable and
    /// the projections are just behind (a backlog, or another process applying).
    pub held_by: Option<HorizonHolder>,
}

/// Executes commands against the event store.
#[derive(Clone)]
pub struct Writer {
    store: EventStore,
    projector: Projector,
    read_your_writes: Option<Duration>,
    /// The last wait's lag, shared by every clone (the services of one process).
    lag: Arc<Mutex<Option<Lag>>>,
}

impl Writer {
    pub fn new(store: EventStore, projector: Projector) -> Self {
        Writer {
            store,
            projector,
            read_your_writes: None,
            lag: Arc::new(Mutex::new(None)),
        }
    }

    /// The lag of the last read-your-writes wait, if it timed out; `None` after a wait
    /// that saw its write (or when no write waited).
    pub fn lag(&self) -> Option<Lag> {
        self.lag
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn note_lag(&self, lag: Option<Lag>) {
        match self.lag.lock() {
            Ok(mut l) => *l = lag,
            Err(p) => *p.into_inner() = lag,
        }
    }

    /// Makes every write wait (up to `timeout`) until the projections show it.
    pub fn with_read_your_writes(mut self, timeout: Option<Duration>) -> Self {
        self.read_your_writes = timeout;
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// Loads, decides and commits one command on aggregate `id`.
    pub async fn execute<A>(
        &self,
        id: &str,
        command: A::Command,
        ctx: &CommandContext,
        now: DateTime<Utc>,
    ) -> Result<Committed, WriteError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Error: 'static,
    {
        let committed = self
            .store
            .execute::<A>(id, command, &(), ctx, now)
            .await
            .map_err(|e| match e {
                ExecuteError::Rejected(e) => WriteError::Rejected(e),
                ExecuteError::Store(StoreError::Conflict) => WriteError::Conflict,
                ExecuteError::Store(e) => WriteError::Store(e),
            })?;
        if committed.events > 0 {
            self.wait_visible::<A>(id, committed.version).await;
        }
        Ok(committed)
    }

    /// Appends events of several streams in one transaction (see
    /// [`EventStore::append_atomically`]); waits for none of them.
    pub async fn append_atomically(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        self.store.append_atomically(events).await
    }

    /// With read-your-writes on: waits until the projections show stream `id` at
    /// `version`. The write is committed either way, so a wait that times out (a
    /// long-open transaction holds the read horizon back) is noted as a [`Lag`] and
    /// logged, not returned: the caller keeps its result, and every read catches the
    /// projections up first. While the last wait timed out, this catches up once
    /// without waiting (see the module documentation).
    pub async fn wait_visible<A: Aggregate>(&self, id: &str, version: u64) {
        let Some(timeout) = self.read_your_writes else {
            return;
        };
        let target = match self.store.position_of::<A>(id, version).await {
            Ok(Some(target)) => target,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the write's log position");
                return;
            }
        };
        let timeout = if self.lag().is_some() {
            Duration::ZERO
        } else {
            timeout
        };
        match self.projector.wait_for(target, timeout).await {
            Ok(()) => self.note_lag(None),
            Err(ProjectorError::Lagging { target, reached }) => {
                let held_by = self.held_by(target).await;
                tracing::warn!(%target, %reached, ?held_by, reason = %runproof_domain::ReasonCode::ProjectionLagging, "the projections have not shown a write yet");
                self.note_lag(Some(Lag {
                    target,
                    reached,
                    held_by,
                }));
            }
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the projections failed");
            }
        }
    }

    /// What holds the read horizon below `target`, if that is why it is not shown.
    async fn held_by(&self, target: LogPosition) -> Option<HorizonHolder> {
        let mut conn = match self.store.pool().acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "cannot look at the read horizon");
                return None;
            }
        };
        match log::oldest_transaction(&mut conn).await {
            Ok(oldest) => oldest.filter(|o| o.holds_back(target)).map(|o| o.holder),
            Err(e) => {
                tracing::debug!(error = %e, "cannot look at the read horizon");
                None
            }
        }
    }
}
