//! Writing commands to any aggregate, optionally waiting until the projections show the
//! write (read-your-writes). Services (run lifecycle, restores, …) are built on this.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::metadata::CommandContext;
use runproof_projections::Projector;

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

/// Executes commands against the event store.
#[derive(Clone)]
pub struct Writer {
    store: EventStore,
    projector: Projector,
    read_your_writes: Option<Duration>,
}

impl Writer {
    pub fn new(store: EventStore, projector: Projector) -> Self {
        Writer {
            store,
            projector,
            read_your_writes: None,
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
    /// long-open transaction holds the read horizon back) is logged, not returned: the
    /// caller keeps its result, and every read catches the projections up first.
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
        if let Err(e) = self.projector.wait_for(target, timeout).await {
            tracing::warn!(error = %e, reason = %runproof_domain::ReasonCode::ProjectionLagging, "the projections have not shown a write yet");
        }
    }
}
