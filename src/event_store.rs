//! The event store: cqrs-es aggregates in the `events` table (postgres-es's layout, with a
//! global position), folded from their streams through the upcasting registry, and an
//! atomic append across streams for the writes that must be made in one transaction.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use runproof_domain::metadata::{CommandContext, EventMetadata};
use runproof_domain::upcasting::DecodeError;
use runproof_projections::{log, LogPosition};
use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, PgConnection, PgPool, Postgres};

use crate::evidence_documents::{self, EvidenceDocument};
use crate::feed::notify::AppendNotifier;

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
    fold_decoded(
        aggregate,
        version,
        events.iter().map(|e| (e.sequence, e.decode())),
    )
}

/// Applies each event, given with its sequence and as decoded, to `aggregate`.
fn fold_decoded<A: Aggregate>(
    aggregate: &mut A,
    version: &mut u64,
    events: impl IntoIterator<Item = (i64, Result<A::Event, DecodeError>)>,
) -> Result<(), StoreError> {
    for (sequence, event) in events {
        aggregate.apply(event.map_err(|err| StoreError::Database(Box::new(err)))?);
        *version = u64::try_from(sequence).map_err(|err| StoreError::Database(Box::new(err)))?;
    }
    Ok(())
}

/// An aggregate as loaded from its stream.
#[derive(Debug, Clone, PartialEq)]
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
    /// The log position of the last event written (`None` when nothing was).
    pub at: Option<LogPosition>,
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
    /// The event's JSON text, stored as it is (the `json` column keeps text).
    pub payload: String,
    /// The metadata's JSON text, stored as it is.
    pub metadata: String,
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
                    payload: serde_json::to_string(event)
                        .map_err(|e| StoreError::Database(Box::new(e)))?,
                    metadata: meta
                        .to_json()
                        .map_err(|e| StoreError::Database(Box::new(e)))?,
                })
            })
            .collect()
    }
}

/// Events to append, column by column: bound as arrays, so any number of events of any
/// streams go into the log in one statement.
struct AppendRows<'a> {
    aggregate_types: Vec<&'a str>,
    aggregate_ids: Vec<&'a str>,
    sequences: Vec<i64>,
    event_types: Vec<&'a str>,
    event_versions: Vec<&'a str>,
    payloads: Vec<&'a str>,
    metadata: Vec<&'a str>,
}

impl<'a> AppendRows<'a> {
    fn of(events: &'a [NewEvent]) -> Result<Self, StoreError> {
        let mut rows = AppendRows {
            aggregate_types: Vec::with_capacity(events.len()),
            aggregate_ids: Vec::with_capacity(events.len()),
            sequences: Vec::with_capacity(events.len()),
            event_types: Vec::with_capacity(events.len()),
            event_versions: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
        };
        for e in events {
            // `json` keeps the text, so PostgreSQL would store a `\u0000` escape that no
            // `jsonb` or `text` reading of the event (the projections') can convert:
            // refused here as `jsonb` refused it when the append bound it, nothing
            // written. The domain refuses it in input first (`text_input::contains_nul`).
            if has_nul_escape(&e.payload) || has_nul_escape(&e.metadata) {
                return Err(StoreError::Database(
                    "an event's JSON holds U+0000, which PostgreSQL cannot store as text".into(),
                ));
            }
            rows.aggregate_types.push(e.aggregate_type);
            rows.aggregate_ids.push(&e.aggregate_id);
            rows.sequences
                .push(i64::try_from(e.sequence).map_err(|e| StoreError::Database(Box::new(e)))?);
            rows.event_types.push(&e.event_type);
            rows.event_versions.push(&e.event_version);
            rows.payloads.push(&e.payload);
            rows.metadata.push(&e.metadata);
        }
        Ok(rows)
    }

    /// Inserts the rows in their order (positions increase with it) and returns the
    /// last one's log position; `None` when `unless_exists` names a stream that has an
    /// event (then nothing is inserted). The payload and metadata are bound as the JSON
    /// text the writer serialised and stored as that text: PostgreSQL only checks it is
    /// JSON (binding `jsonb` made it parse, rebuild and print every document again).
    async fn insert(
        &self,
        conn: &mut PgConnection,
        unless_exists: Option<(&str, &str)>,
    ) -> Result<Option<LogPosition>, StoreError> {
        if self.sequences.is_empty() {
            return Err(StoreError::Database("nothing to append".into()));
        }
        // A plain `INSERT … SELECT` returning each row (the writer takes the last): a
        // CTE around it to return one row cost a quarter of the statement's server time.
        // The rows are inserted in the arrays' order, so positions follow it: PostgreSQL
        // emits a function scan's rows in order and inserts each as it comes (nothing
        // in between can reorder them; `tests/log_order.rs` checks it — an `ORDER BY`
        // over `WITH ORDINALITY` to say so cost a sort per append). The guard is a
        // separate statement text, so the usual append carries none.
        macro_rules! insert {
            ($guard:literal) => {
                concat!(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                       event_version, payload, metadata) \
                     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], \
                                          $5::text[], $6::json[], $7::json[]) ",
                    $guard,
                    " RETURNING transaction_id::text::bigint, position"
                )
            };
        }
        let sql = match unless_exists {
            None => insert!(""),
            Some(_) => insert!(
                "WHERE NOT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $8 AND aggregate_id = $9)"
            ),
        };
        let mut query = sqlx::query_as::<_, (i64, i64)>(sql)
            .bind(&self.aggregate_types)
            .bind(&self.aggregate_ids)
            .bind(&self.sequences)
            .bind(&self.event_types)
            .bind(&self.event_versions)
            .bind(&self.payloads)
            .bind(&self.metadata);
        if let Some((aggregate_type, aggregate_id)) = unless_exists {
            query = query.bind(aggregate_type).bind(aggregate_id);
        }
        let rows = query.fetch_all(conn).await?;
        Ok(rows
            .into_iter()
            .max()
            .map(|(transaction_id, position)| LogPosition {
                transaction_id,
                position,
            }))
    }
}

/// Whether JSON text holds the escape of U+0000. In JSON text a backslash only appears
/// in strings, where it always starts an escape, so escapes are read two characters (or,
/// for `\u`, six) at a time and an escaped backslash followed by `u0000` is not one.
fn has_nul_escape(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        match bytes.get(at + 1) {
            Some(b'u') if bytes.get(at + 2..at + 6) == Some(b"0000".as_slice()) => return true,
            Some(b'u') => i = at + 6,
            _ => i = at + 2,
        }
        if i >= bytes.len() {
            return false;
        }
    }
    false
}

/// The connection a store's statement runs on: one taken from the pool for it, or the
/// connection the store holds ([`EventStore::hold`]).
pub enum StoreConnection<'a> {
    Pooled(PoolConnection<Postgres>),
    Held(tokio::sync::MutexGuard<'a, PoolConnection<Postgres>>),
}

impl Deref for StoreConnection<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            StoreConnection::Pooled(c) => c,
            StoreConnection::Held(c) => c,
        }
    }
}

impl DerefMut for StoreConnection<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            StoreConnection::Pooled(c) => c,
            StoreConnection::Held(c) => c,
        }
    }
}

/// A connection a store holds ([`EventStore::hold`]).
struct HeldConnection {
    conn: tokio::sync::Mutex<PoolConnection<Postgres>>,
    /// Its session holds advisory locks ([`EventStore::holds_session_locks`]).
    session_locks: AtomicBool,
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        if *self.session_locks.get_mut() {
            self.conn.get_mut().close_on_drop();
        }
    }
}

/// The event store over one pool.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    /// The one connection every statement runs on, when the store holds one.
    held: Option<Arc<HeldConnection>>,
    /// Wakes feed readers after each append (see [`crate::feed::notify`]).
    notifier: AppendNotifier,
}

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        EventStore {
            notifier: AppendNotifier::new(pool.clone()),
            held: None,
            pool,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The same store, running every statement on one connection taken from the pool
    /// now, one statement at a time, until this store and all its clones are dropped
    /// (the connection then goes back to the pool). For a worker that runs many short
    /// statements in a row: sqlx pings each connection that goes back to the pool, so a
    /// statement on a connection of its own costs two round trips, on a held one a
    /// single one. Nothing else changes: every append is still its own transaction.
    /// A held connection that broke stays broken: hold another one after a failure.
    /// A statement run on a connection taken with [`EventStore::connection`] must
    /// release it before calling the store again.
    pub async fn hold(&self) -> Result<EventStore, StoreError> {
        let conn = self.pool.acquire().await?;
        Ok(EventStore {
            held: Some(Arc::new(HeldConnection {
                conn: tokio::sync::Mutex::new(conn),
                session_locks: AtomicBool::new(false),
            })),
            ..self.clone()
        })
    }

    /// Says whether the held connection's session holds advisory locks: while it does,
    /// the connection is closed instead of going back to the pool when the store and
    /// its clones are dropped (closing the session releases them), so no lock can
    /// outlive the work that took it. Set it before taking a lock and clear it once all
    /// are released. Without a held connection, does nothing.
    pub fn holds_session_locks(&self, holds: bool) {
        if let Some(held) = &self.held {
            held.session_locks.store(holds, Ordering::Relaxed);
        }
    }

    /// The connection for the store's next statement: the held one, or one from the pool.
    pub async fn connection(&self) -> Result<StoreConnection<'_>, sqlx::Error> {
        Ok(match &self.held {
            Some(held) => StoreConnection::Held(held.conn.lock().await),
            None => StoreConnection::Pooled(self.pool.acquire().await?),
        })
    }

    /// Loads an aggregate by replaying its stream.
    pub async fn load<A: Aggregate>(&self, aggregate_id: &str) -> Result<Loaded<A>, StoreError> {
        if CACHED_STATES.contains(&A::TYPE) {
            return self.load_from_cache(aggregate_id).await;
        }
        self.load_stream(aggregate_id).await
    }

    /// Loads an aggregate by folding its whole stream, each event decoded through the
    /// upcasting registry (so it is folded in its current shape).
    async fn load_stream<A: Aggregate>(&self, aggregate_id: &str) -> Result<Loaded<A>, StoreError> {
        let mut loaded = self.load_many::<A>(&[aggregate_id.to_string()]).await?;
        Ok(loaded.remove(aggregate_id).unwrap_or(Loaded {
            aggregate: A::default(),
            version: 0,
        }))
    }

    /// Loads the streams `ids` of `A` in one statement, each folded from its whole
    /// stream, without cached state (for short streams only). A stream without events
    /// is left out.
    pub async fn load_many<A: Aggregate>(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Loaded<A>>, StoreError> {
        let events = {
            let mut conn = self.connection().await?;
            log::read_streams_to_fold(&mut conn, A::TYPE, ids).await?
        };
        let mut loaded: HashMap<String, Loaded<A>> = HashMap::new();
        for event in events {
            let decoded = event.decode();
            let stream = loaded.entry(event.aggregate_id).or_insert_with(|| Loaded {
                aggregate: A::default(),
                version: 0,
            });
            fold_decoded(
                &mut stream.aggregate,
                &mut stream.version,
                [(event.sequence, decoded)],
            )?;
        }
        Ok(loaded)
    }

    /// Loads two streams in one statement (one round trip, both as of the same moment),
    /// each folded from its events through the upcasting registry as [`Self::load`]
    /// folds them. For short streams only: it reads no cached state.
    pub async fn load_two<A: Aggregate, B: Aggregate>(
        &self,
        a_id: &str,
        b_id: &str,
    ) -> Result<(Loaded<A>, Loaded<B>), StoreError> {
        let mut conn = self.connection().await?;
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
        let mut conn = self.connection().await?;
        let format = cache_format::<A>();
        let (cached, after_cache) =
            log::read_stream_after_cache(&mut conn, A::TYPE, aggregate_id, &format).await?;
        self.fold_after_cache(&mut conn, aggregate_id, &format, cached, after_cache)
            .await
    }

    /// Loads a short stream `S` and a cached stream `C` (one that grows without bound,
    /// loaded as [`Self::load`] loads it) in one statement: both as of the same moment,
    /// in one round trip.
    pub async fn load_with_cached<S: Aggregate, C: Aggregate>(
        &self,
        short_id: &str,
        cached_id: &str,
    ) -> Result<(Loaded<S>, Loaded<C>), StoreError> {
        if !CACHED_STATES.contains(&C::TYPE) || CACHED_STATES.contains(&S::TYPE) {
            return Ok((self.load(short_id).await?, self.load(cached_id).await?));
        }
        let mut conn = self.connection().await?;
        let format = cache_format::<C>();
        let (cached, after_cache, short) = log::read_stream_after_cache_with(
            &mut conn,
            C::TYPE,
            cached_id,
            &format,
            (S::TYPE, short_id),
        )
        .await?;
        let (mut s, mut s_version) = (S::default(), 0);
        fold(&mut s, &mut s_version, &short)?;
        let c = self
            .fold_after_cache(&mut conn, cached_id, &format, cached, after_cache)
            .await?;
        Ok((
            Loaded {
                aggregate: s,
                version: s_version,
            },
            c,
        ))
    }

    /// Folds a cached stream from what [`log::read_stream_after_cache`] read.
    async fn fold_after_cache<A: Aggregate>(
        &self,
        conn: &mut PgConnection,
        aggregate_id: &str,
        format: &str,
        cached: Option<log::CachedState>,
        after_cache: Vec<log::StoredEvent>,
    ) -> Result<Loaded<A>, StoreError> {
        let cached_version = cached.as_ref().map(|(version, _, _)| *version);
        // A row whose checksum does not match was edited by hand: ignore it and fold the
        // stream (the refresh below overwrites it).
        let (mut aggregate, mut version) = cached
            .filter(|(version, state, checksum)| {
                let valid = *checksum == cache_checksum(format, *version, state);
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
        // The events read were those after the cached version; when that state is not
        // used, the stream is read again from the start.
        let events = if cached_version.is_some() && version == 0 {
            log::read_stream_after(&mut *conn, A::TYPE, aggregate_id, 0).await?
        } else {
            after_cache
        };
        fold(&mut aggregate, &mut version, &events)?;
        if events.len() >= CACHE_AFTER_EVENTS {
            if let Err(e) = self
                .cache_state(conn, aggregate_id, format, &aggregate, version)
                .await
            {
                tracing::debug!(error = %e, "the aggregate state cache was not refreshed");
            }
        }
        Ok(Loaded { aggregate, version })
    }

    async fn cache_state<A: Aggregate>(
        &self,
        conn: &mut PgConnection,
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

    /// Executes a command: loads the aggregate, lets it decide, and appends what it
    /// decided at the version it was loaded at (one statement; see
    /// [`EventStore::append_atomically`]). A concurrent append to the same stream makes
    /// the append fail with [`StoreError::Conflict`]; nothing is written then.
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
        // Folded from the whole stream (not from a cached state): commands go through here
        // on every schema this build migrates from.
        let loaded = self.load_stream::<A>(aggregate_id).await?;
        let mut aggregate = loaded.aggregate;
        let sink: EventSink<A> = EventSink::default();
        aggregate
            .handle(command, services, &sink)
            .await
            .map_err(ExecuteError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok(Committed {
                version: loaded.version,
                events: 0,
                at: None,
            });
        }
        let writes =
            NewEvent::for_stream::<A>(aggregate_id, loaded.version, &events, ctx, occurred_at)?;
        let at = self.append_atomically(&writes).await?;
        Ok(Committed {
            version: loaded.version + events.len() as u64,
            events: events.len(),
            at: Some(at),
        })
    }

    /// Appends events of several streams in one transaction, each at the sequence it
    /// names, and returns the log position of the last one (what a read-your-writes wait
    /// waits for). If any stream moved on since it was read, the primary key on
    /// `(aggregate_type, aggregate_id, sequence)` fails the whole transaction with
    /// [`StoreError::Conflict`] and nothing is written.
    ///
    /// The events go in one `INSERT` statement, so the append is one round trip and one
    /// commit however many streams it touches.
    pub async fn append_atomically(&self, events: &[NewEvent]) -> Result<LogPosition, StoreError> {
        let rows = AppendRows::of(events)?;
        let mut conn = self.connection().await?;
        let at = rows
            .insert(&mut conn, None)
            .await?
            .ok_or(StoreError::Conflict)?;
        self.notifier.appended();
        Ok(at)
    }

    /// Appends `events` only if the stream `(aggregate_type, aggregate_id)` has no event
    /// yet, in one statement: `Ok(None)` when it has one (nothing is written), otherwise
    /// as [`EventStore::append_atomically`]. For a writer that decided on the empty
    /// stream without reading it: the guard and the primary key together prove the
    /// stream was empty, so the decision stands exactly as if the stream had been read.
    pub async fn append_to_new_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        events: &[NewEvent],
    ) -> Result<Option<LogPosition>, StoreError> {
        let rows = AppendRows::of(events)?;
        let mut conn = self.connection().await?;
        let at = rows
            .insert(&mut conn, Some((aggregate_type, aggregate_id)))
            .await?;
        if at.is_some() {
            self.notifier.appended();
        }
        Ok(at)
    }

    /// Like [`EventStore::append_atomically`], storing the evidence documents the events
    /// reference in the same transaction (a document already stored is kept as it is).
    pub async fn append_with_documents(
        &self,
        events: &[NewEvent],
        documents: &[EvidenceDocument],
    ) -> Result<LogPosition, StoreError> {
        let rows = AppendRows::of(events)?;
        let mut conn = self.connection().await?;
        let mut tx = conn.begin().await?;
        for d in documents {
            evidence_documents::put(&mut tx, d).await?;
        }
        let at = rows
            .insert(&mut tx, None)
            .await?
            .ok_or(StoreError::Conflict)?;
        tx.commit().await?;
        self.notifier.appended();
        Ok(at)
    }
}

/// The metadata map of a stored event, typed.
pub fn metadata_of(event: &log::StoredEvent) -> Option<EventMetadata> {
    let map: HashMap<String, String> = serde_json::from_str(&event.metadata).ok()?;
    EventMetadata::from_map(&map).ok()
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn the_escape_of_u0000_is_found_and_an_escaped_backslash_before_u0000_is_not() {
        let text = |s: &str| serde_json::to_string(&serde_json::json!({ "k": s })).unwrap();
        assert!(has_nul_escape(&text("a\0b")));
        assert!(has_nul_escape(&text("\0")));
        assert!(!has_nul_escape(&text("a\\u0000b")));
        assert!(!has_nul_escape(&text("\\")));
        assert!(!has_nul_escape(&text("\u{1}")));
        assert!(has_nul_escape(&text("\\\0")));
        assert!(!has_nul_escape(r#"{"k":"plain"}"#));
        assert!(!has_nul_escape(r#"{"k":"\\"}"#));
    }
}
