//! Writing commands to any aggregate, optionally waiting until the projections show the
//! write (read-your-writes). Services (run lifecycle, restores, …) are built on this.
//!
//! A wait that times out does not fail the write (it is committed): the writer notes it
//! as a [`Lag`] — the position the views did not reach, and what holds the read horizon
//! back — which an interface reads after the command to tell the person at once
//! ([`Writer::lag`]). While the last wait timed out, the next waits do not wait again:
//! each catches up once and either clears the note or renews it, so a write does not cost
//! the full timeout again and again while a long-open transaction holds every reader.

use std::sync::{Arc, Mutex, PoisonError};
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
    /// Whether each write waits by itself (false for a writer that waits once for a
    /// batch of its writes: [`Writer::wait_for_own_writes`]).
    wait_each: bool,
    /// The last wait's lag, shared by every clone (the services of one process).
    lag: Arc<Mutex<Option<Lag>>>,
    /// The highest log position appended through this writer or any of its clones.
    written: Arc<Mutex<Option<LogPosition>>>,
}

impl Writer {
    pub fn new(store: EventStore, projector: Projector) -> Self {
        Writer {
            store,
            projector,
            read_your_writes: None,
            wait_each: true,
            lag: Arc::new(Mutex::new(None)),
            written: Arc::new(Mutex::new(None)),
        }
    }

    /// Notes a write's position (see [`Writer::wait_for_own_writes`]).
    fn note_written(&self, at: LogPosition) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if written.is_none_or(|w| w < at) {
            *written = Some(at);
        }
    }

    /// With read-your-writes on: waits until the projections show every write made
    /// through this process's writer so far (one wait for a batch of writes that did not
    /// wait one by one).
    pub async fn wait_for_own_writes(&self) {
        let written = *self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = written {
            self.wait(at).await;
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

    /// The same writer (sharing its lag note) whose writes do not wait for the
    /// projections: for a writer nobody reads back from right after its write (a
    /// worker's own transitions), which catches the projections up in batches instead.
    pub fn without_read_your_writes(&self) -> Self {
        Writer {
            wait_each: false,
            ..self.clone()
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

    /// The same writer (sharing its lag and its note of what was written) on `store`:
    /// for a worker that runs a stretch of work on one held connection
    /// ([`EventStore::hold`]).
    pub fn on_store(&self, store: EventStore) -> Self {
        Writer {
            store,
            ..self.clone()
        }
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
        if let Some(at) = committed.at {
            self.note_written(at);
            self.wait_shown(at).await;
        }
        Ok(committed)
    }

    /// Appends events of several streams in one transaction (see
    /// [`EventStore::append_atomically`]) and returns the last one's log position; waits
    /// for none of them ([`Writer::wait_shown`] does).
    pub async fn append_atomically(&self, events: &[NewEvent]) -> Result<LogPosition, StoreError> {
        let at = self.store.append_atomically(events).await?;
        self.note_written(at);
        Ok(at)
    }

    /// Appends `events` if the stream they start is still empty (see
    /// [`EventStore::append_to_new_stream`]); `Ok(None)` when it is not.
    pub async fn append_to_new_stream<A: Aggregate>(
        &self,
        id: &str,
        events: &[NewEvent],
    ) -> Result<Option<LogPosition>, StoreError> {
        let at = self.store.append_to_new_stream(A::TYPE, id, events).await?;
        if let Some(at) = at {
            self.note_written(at);
        }
        Ok(at)
    }

    /// With read-your-writes on: waits until the projections show stream `id` at
    /// `version`. The write is committed either way, so a wait that times out (a
    /// long-open transaction holds the read horizon back) is noted as a [`Lag`] and
    /// logged, not returned: the caller keeps its result, and every read catches the
    /// projections up first. While the last wait timed out, this catches up once
    /// without waiting (see the module documentation).
    pub async fn wait_visible<A: Aggregate>(&self, id: &str, version: u64) {
        if self.read_your_writes.is_none() || !self.wait_each {
            return;
        }
        let Ok(sequence) = i64::try_from(version) else {
            return;
        };
        match self.projector.shows(A::TYPE, id, sequence).await {
            // Shown already (another caller's wait caught the views up): nothing to wait for.
            Ok(Some((_, true))) => self.note_lag(None),
            Ok(Some((target, false))) => self.wait(target).await,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the write's log position");
            }
        }
    }

    /// With read-your-writes on: waits until the projections show the event at
    /// `target` (a position an append returned), as [`Writer::wait_visible`] does.
    pub async fn wait_shown(&self, target: LogPosition) {
        if self.wait_each {
            self.wait(target).await;
        }
    }

    async fn wait(&self, target: LogPosition) {
        let Some(timeout) = self.read_your_writes else {
            return;
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
