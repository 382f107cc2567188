//! The event store: cqrs-es aggregates persisted by postgres-es, plus an atomic append
//! across streams for the writes that must be made in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, DomainEvent, EventStore as _};
use postgres_es::PostgresEventRepository;
use runproof_domain::metadata::{CommandContext, EventMetadata};
use runproof_domain::upcasting;
use runproof_projections::{log, LogPosition};
use sqlx::PgPool;

use crate::evidence_documents::{self, EvidenceDocument};

/// Aggregate types whose streams grow without bound — an environment gains an event per
/// evidence capture — and are therefore loaded from a cached state plus the events after
/// it, so a load costs the same after 10,000 captures as after 10.
const CACHED_STATES: &[&str] = &["managed_environment"];

/// A load that folded at least this many events stores its state in the cache.
const CACHE_AFTER_EVENTS: usize = 32;

/// Bump when an aggregate's state or fold changes in a way the crate version does not
/// show: cached states of another format are ignored (and replaced on the next load).
const CACHE_FORMAT: u32 = 1;

/// Which fold wrote a cached state: the aggregate type, this build's version, the format.
fn cache_format<A: Aggregate>() -> String {
    format!("{}/{}/{}", A::TYPE, env!("CARGO_PKG_VERSION"), CACHE_FORMAT)
}

/// The checksum of a cached state: SHA-256 over its format, version and text. It catches
/// a row edited by hand (which is then ignored); it is no defence against a forger who
/// can write the database — the log's own tamper evidence is the audit's concern.
fn cache_checksum(format: &str, version: i64, state: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(format.as_bytes());
    h.update([0]);
    h.update(version.to_be_bytes());
    h.update(state.as_bytes());
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Applies `events` (one stream's, in sequence order, after `version`) to `aggregate`.
fn fold<A: Aggregate>(
    aggregate: &mut A,
    version: &mut u64,
    events: &[log::StoredEvent],
) -> Result<(), StoreError> {
    for e in events {
        let event: A::Event = e
            .decode()
            .map_err(|err| StoreError::Database(Box::new(err)))?;
        aggregate.apply(event);
        *version = u64::try_from(e.sequence).map_err(|err| StoreError::Database(Box::new(err)))?;
    }
    Ok(())
}

/// An aggregate as loaded from its stream.
pub struct Loaded<A> {
    pub aggregate: A,
    /// The stream's last sequence number (0 when the stream is empty).
    pub version: u64,
}

/// What a successful command wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The stream's version after the command.
    pub version: u64,
    /// Number of events written (0 for an idempotent no-op).
    pub events: usize,
}

/// Why a write failed, apart from a domain rejection.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended to one of the streams first. Nothing was written; reload
    /// and decide again.
    #[error("a concurrent write changed the stream")]
    Conflict,
    /// The database failed. Nothing was written (the transaction rolled back).
    #[error("event store error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A command's result: the domain may reject it, or the store may fail.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                StoreError::Conflict
            }
            _ => StoreError::Database(Box::new(e)),
        }
    }
}

/// One event to append in [`EventStore::append_atomically`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub sequence: u64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
}

impl NewEvent {
    /// The events an aggregate decided, numbered after `version`.
    pub fn for_stream<A: Aggregate>(
        aggregate_id: &str,
        version: u64,
        events: &[A::Event],
        ctx: &CommandContext,
        occurred_at: DateTime<Utc>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let meta = ctx.metadata(occurred_at, &event.event_version());
                Ok(NewEvent {
                    aggregate_type: A::TYPE,
                    aggregate_id: aggregate_id.to_string(),
                    sequence: version + 1 + i as u64,
                    event_type: event.event_type(),
                    event_version: event.event_version(),
                    payload: serde_json::to_value(event)
                        .map_err(|e| StoreError::Database(Box::new(e)))?,
                    metadata: serde_json::to_value(meta.to_map())
                        .map_err(|e| StoreError::Database(Box::new(e)))?,
                })
            })
            .collect()
    }
}

/// The event store over one pool.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
}

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        EventStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The cqrs-es store for `A`, reading every stored event through the domain's
    /// upcasting registry (so an aggregate is folded from events in their current shape).
    fn store<A: Aggregate>(&self) -> PersistedEventStore<PostgresEventRepository, A> {
        PersistedEventStore::new_event_store(PostgresEventRepository::new(self.pool.clone()))
            .with_upcasters(upcasting::upcasters())
    }

    /// Loads an aggregate by replaying its stream.
    pub async fn load<A: Aggregate>(&self, aggregate_id: &str) -> Result<Loaded<A>, StoreError> {
        if CACHED_STATES.contains(&A::TYPE) {
            return self.load_from_cache(aggregate_id).await;
        }
        let context = self
            .store::<A>()
            .load_aggregate(aggregate_id)
            .await
            .map_err(store_error)?;
        let version = context.current_sequence as u64;
        Ok(Loaded {
            aggregate: context.aggregate,
            version,
        })
    }

    /// Loads two streams in one statement (one round trip, both as of the same moment),
    /// each folded from its events through the upcasting registry as [`Self::load`]
    /// folds them. For short streams only: it reads no cached state.
    pub async fn load_two<A: Aggregate, B: Aggregate>(
        &self,
        a_id: &str,
        b_id: &str,
    ) -> Result<(Loaded<A>, Loaded<B>), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let events = log::read_streams(&mut conn, &[(A::TYPE, a_id), (B::TYPE, b_id)]).await?;
        drop(conn);
        let (of_a, of_b): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| e.aggregate_type == A::TYPE && e.aggregate_id == a_id);
        let (mut a, mut a_version) = (A::default(), 0);
        fold(&mut a, &mut a_version, &of_a)?;
        let (mut b, mut b_version) = (B::default(), 0);
        fold(&mut b, &mut b_version, &of_b)?;
        Ok((
            Loaded {
                aggregate: a,
                version: a_version,
            },
            Loaded {
                aggregate: b,
                version: b_version,
            },
        ))
    }

    /// Loads a stream that grows without bound from its cached state (if any, written by
    /// this build's fold) plus the events after it, decoded through the one upcasting
    /// registry. A load that folded many events refreshes the cache; the cache is only an
    /// optimisation: dropping `aggregate_state_cache` at any time is safe.
    async fn load_from_cache<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Loaded<A>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let format = cache_format::<A>();
        let cached: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT version, state::text, checksum FROM aggregate_state_cache \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND format = $3",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(&format)
        .fetch_optional(&mut *conn)
        .await?;
        // A row whose checksum does not match was edited by hand: ignore it and fold the
        // stream (the refresh below overwrites it).
        let (mut aggregate, mut version) = cached
            .filter(|(version, state, checksum)| {
                let valid = *checksum == cache_checksum(&format, *version, state);
                if !valid {
                    tracing::warn!(
                        aggregate_id,
                        "a cached aggregate state does not match its checksum; folding the stream"
                    );
                }
                valid
            })
            .and_then(|(version, state, _)| {
                let aggregate = serde_json::from_str::<A>(&state).ok()?;
                Some((aggregate, u64::try_from(version).ok()?))
            })
            .unwrap_or_default();
        let from = i64::try_from(version).map_err(|e| StoreError::Database(Box::new(e)))?;
        let events = log::read_stream_after(&mut conn, A::TYPE, aggregate_id, from).await?;
        fold(&mut aggregate, &mut version, &events)?;
        if events.len() >= CACHE_AFTER_EVENTS {
            if let Err(e) = self
                .cache_state(&mut conn, aggregate_id, &format, &aggregate, version)
                .await
            {
                tracing::debug!(error = %e, "the aggregate state cache was not refreshed");
            }
        }
        Ok(Loaded { aggregate, version })
    }

    async fn cache_state<A: Aggregate>(
        &self,
        conn: &mut sqlx::PgConnection,
        aggregate_id: &str,
        format: &str,
        aggregate: &A,
        version: u64,
    ) -> Result<(), StoreError> {
        let state =
            serde_json::to_string(aggregate).map_err(|e| StoreError::Database(Box::new(e)))?;
        let version = i64::try_from(version).map_err(|e| StoreError::Database(Box::new(e)))?;
        let checksum = cache_checksum(format, version, &state);
        sqlx::query(
            "INSERT INTO aggregate_state_cache \
               (aggregate_type, aggregate_id, format, version, state, checksum) \
             VALUES ($1, $2, $3, $4, $5::text::json, $6) \
             ON CONFLICT (aggregate_type, aggregate_id, format) DO UPDATE \
             SET version = EXCLUDED.version, state = EXCLUDED.state, checksum = EXCLUDED.checksum \
             WHERE aggregate_state_cache.version < EXCLUDED.version \
                OR aggregate_state_cache.checksum <> EXCLUDED.checksum",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(format)
        .bind(version)
        .bind(state)
        .bind(checksum)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Executes a command the cqrs-es way (load, handle, commit with metadata) and
    /// reports what was written. A concurrent append to the same stream makes the
    /// commit fail with [`StoreError::Conflict`].
    pub async fn execute<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        ctx: &CommandContext,
        occurred_at: DateTime<Utc>,
    ) -> Result<Committed, ExecuteError<A::Error>>
    where
        A::Error: 'static,
    {
        let store = self.store::<A>();
        let mut context = store
            .load_aggregate(aggregate_id)
            .await
            .map_err(store_error)?;
        let version = context.current_sequence as u64;
        let sink: EventSink<A> = EventSink::default();
        context
            .aggregate()
            .handle(command, services, &sink)
            .await
            .map_err(ExecuteError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok(Committed { version, events: 0 });
        }
        let version_tag = events
            .first()
            .map(DomainEvent::event_version)
            .unwrap_or_default();
        let metadata = ctx.metadata(occurred_at, &version_tag).to_map();
        let written = store
            .commit(events, context, metadata)
            .await
            .map_err(store_error)?;
        Ok(Committed {
            version: version + written.len() as u64,
            events: written.len(),
        })
    }

    /// Appends events of several streams in one transaction, each at the sequence it
    /// names. If any stream moved on since it was read, the primary key on
    /// `(aggregate_type, aggregate_id, sequence)` fails the whole transaction with
    /// [`StoreError::Conflict`] and nothing is written.
    pub async fn append_atomically(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        self.append_with_documents(events, &[]).await
    }

    /// Like [`EventStore::append_atomically`], storing the evidence documents the events
    /// reference in the same transaction (a document already stored is kept as it is).
    pub async fn append_with_documents(
        &self,
        events: &[NewEvent],
        documents: &[EvidenceDocument],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for d in documents {
            evidence_documents::put(&mut tx, d).await?;
        }
        for e in events {
            let sequence =
                i64::try_from(e.sequence).map_err(|e| StoreError::Database(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                 event_version, payload, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.aggregate_type)
            .bind(&e.aggregate_id)
            .bind(sequence)
            .bind(&e.event_type)
            .bind(&e.event_version)
            .bind(&e.payload)
            .bind(&e.metadata)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The log position of a stream's event, to wait for its projection.
    pub async fn position_of<A: Aggregate>(
        &self,
        aggregate_id: &str,
        sequence: u64,
    ) -> Result<Option<LogPosition>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sequence = i64::try_from(sequence).map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(log::position_of(&mut conn, A::TYPE, aggregate_id, sequence).await?)
    }
}

fn store_error<E: std::error::Error>(e: AggregateError<E>) -> StoreError {
    match e {
        AggregateError::AggregateConflict => StoreError::Conflict,
        AggregateError::DatabaseConnectionError(e)
        | AggregateError::DeserializationError(e)
        | AggregateError::UnexpectedError(e) => StoreError::Database(e),
        AggregateError::UserError(e) => StoreError::Database(e.to_string().into()),
    }
}

/// The metadata map of a stored event, typed.
pub fn metadata_of(event: &log::StoredEvent) -> Option<EventMetadata> {
    let map: HashMap<String, String> = serde_json::from_str(&event.metadata).ok()?;
    EventMetadata::from_map(&map).ok()
}
