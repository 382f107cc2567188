//! Wiring: one pool, the event store, the projector and the lifecycle service.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::clock::Clock;
use crate::database::{self, DatabaseError, DatabaseTarget};
use crate::directory::DirectoryService;
use crate::event_store::EventStore;
use crate::feed::{FeedService, FeedSettings};
use crate::lifecycle::RunLifecycle;
use crate::restore::RestoreService;
use crate::reviews::worker::ComposeWorker;
use crate::reviews::ReviewService;
use crate::tokens::TokenService;
use crate::writer::{Lag, Writer};
use runproof_projections::Projector;

/// Connections per process by default.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// How long a write waits for its projection when read-your-writes is on.
pub const READ_YOUR_WRITES_TIMEOUT: Duration = Duration::from_secs(10);

/// The services of one runproof process.
#[derive(Clone)]
pub struct App {
    pub pool: PgPool,
    pub store: EventStore,
    pub projector: Projector,
    pub lifecycle: RunLifecycle,
    pub restores: RestoreService,
    pub directory: DirectoryService,
    pub reviews: ReviewService,
    pub tokens: TokenService,
    /// The downstream feed (the log as CloudEvents, from a consumer's checkpoint).
    pub feed: FeedService,
    pub clock: Arc<dyn Clock>,
    writer: Writer,
}

impl App {
    /// Connects and refuses a database whose schema this build does not know.
    pub async fn open(
        target: &DatabaseTarget,
        clock: Arc<dyn Clock>,
    ) -> Result<App, DatabaseError> {
        let pool = target.connect(DEFAULT_POOL_SIZE).await?;
        database::check_schema(&pool).await?;
        Ok(App::from_pool(pool, clock))
    }

    /// Wires the services over an existing, migrated pool. Writes wait until the
    /// projections show them (read-your-writes).
    pub fn from_pool(pool: PgPool, clock: Arc<dyn Clock>) -> App {
        App::wire(pool, clock, Some(READ_YOUR_WRITES_TIMEOUT))
    }

    fn wire(pool: PgPool, clock: Arc<dyn Clock>, read_your_writes: Option<Duration>) -> App {
        let store = EventStore::new(pool.clone());
        let projector = Projector::new(pool.clone(), runproof_projections::all());
        let writer =
            Writer::new(store.clone(), projector.clone()).with_read_your_writes(read_your_writes);
        let lifecycle = RunLifecycle::new(writer.clone(), clock.clone());
        App {
            reviews: ReviewService::new(writer.clone(), lifecycle.clone(), clock.clone()),
            directory: DirectoryService::new(writer.clone(), clock.clone()),
            lifecycle,
            restores: RestoreService::new(writer.clone(), clock.clone()),
            tokens: TokenService::new(writer.clone(), clock.clone()),
            feed: FeedService::new(pool.clone()),
            writer,
            clock,
            pool,
            store,
            projector,
        }
    }

    /// The compose worker of this process.
    pub fn worker(&self) -> ComposeWorker {
        ComposeWorker::new(
            self.pool.clone(),
            self.reviews.clone(),
            self.lifecycle.clone(),
            self.clock.clone(),
        )
    }

    /// The same services without read-your-writes waits (writers that do not read back).
    pub fn without_read_your_writes(self) -> App {
        self.with_read_your_writes(None)
    }

    /// The same services, with writes waiting up to `timeout` for the projections to
    /// show them (`None`: not at all).
    pub fn with_read_your_writes(self, timeout: Option<Duration>) -> App {
        App {
            feed: self.feed,
            ..App::wire(self.pool, self.clock, timeout)
        }
    }

    /// The same services, with the feed served with `settings` (its origin, how often
    /// followers poll and streams send a heartbeat).
    pub fn with_feed(self, settings: FeedSettings) -> App {
        App {
            feed: self.feed.with_settings(settings),
            ..self
        }
    }

    /// The lag of this process's last read-your-writes wait, if it timed out: the write
    /// is recorded, but the views do not show it yet (see [`Writer::lag`]).
    pub fn lag(&self) -> Option<Lag> {
        self.writer.lag()
    }
}
