//! The downstream feed: the log in commit order, from a consumer's own checkpoint, as
//! CloudEvents — what `GET /api/v1/events` and its Server-Sent Events stream serve, and
//! what a relay to an event bus reads (docs/feed.md).
//!
//! The guarantees are the projector's: events are read after a `(transaction id,
//! position)` cursor, only from transactions below the read horizon, in that order — so
//! a consumer that resumes from the cursor of the last event it handled gets every later
//! event exactly once, even when a transaction commits after later ones
//! (docs/adr/0001-commit-order.md).
//!
//! # Layout
//! - [`cloudevent`]: a stored event as a CloudEvent (the wire format, the event id).
//! - [`cursor`]: the opaque commit-order cursor consumers resume from.
//! - [`wake`]: waking readers on PostgreSQL `NOTIFY`, with polling as the fallback.
//! - [`notify`]: sending that `NOTIFY` after a writer's append commits.
//! - this module: [`FeedService`], one page of a caller's scope after a cursor.

pub mod cloudevent;
pub mod cursor;
pub mod notify;
pub mod wake;

use std::sync::Arc;
use std::time::Duration;

use runproof_domain::access::Caller;
use runproof_domain::event_catalogue;
use runproof_projections::scoped_log::{self, Scope, ScopedRead, WorkspaceMemo};
use sqlx::PgPool;

pub use cloudevent::{CloudEvent, Origin};
pub use cursor::{Cursor, InvalidCursor};
pub use wake::{Wake, Wakeups};

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 100;

/// The largest page.
pub const MAX_LIMIT: i64 = 1000;

/// The most events one read examines for a narrower scope (a member's workspaces, some
/// types): a page ends early rather than scanning the whole log for a sparse reader.
pub const SCAN_WINDOW: i64 = 5_000;

/// Streams whose workspace a feed remembers (about 100 bytes each): a reader of the
/// whole log looks each stream's workspace up once while it is remembered, not once per
/// event.
pub const WORKSPACE_MEMO: usize = 100_000;

/// How the feed is served.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// The installation's name in every event's `source` (`runproof/<origin>`).
    pub origin: Origin,
    /// A follower looks for new events at least this often, notification or not.
    pub poll: Duration,
    /// A stream sends a comment when it has sent nothing for this long, so proxies and
    /// clients keep the connection.
    pub heartbeat: Duration,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            origin: Origin::default(),
            poll: Duration::from_secs(1),
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// The scope a caller reads: the whole log for an operator or a service holding the
/// feed role, else the events of the workspaces it is a member of.
pub fn scope_of(caller: &Caller) -> Scope {
    if caller.reads_whole_feed() {
        Scope::Whole
    } else {
        Scope::MemberOf(caller.actor_id)
    }
}

/// An event type that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`")]
pub struct UnknownType(pub String);

/// A `types` filter (`RunQueued,RunCompleted`): catalogue event type names, separated by
/// commas. `None` when it names none.
pub fn parse_types(text: &str) -> Result<Option<Vec<String>>, UnknownType> {
    let mut types = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if event_catalogue::aggregate_of(name).is_none() {
            return Err(UnknownType(name.to_string()));
        }
        if !types.iter().any(|t| t == name) {
            types.push(name.to_string());
        }
    }
    Ok((!types.is_empty()).then_some(types))
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Cursor,
    pub scope: Scope,
    /// Only these event types (`None`: every type).
    pub types: Option<Vec<String>>,
    /// 1 to [`MAX_LIMIT`].
    pub limit: i64,
}

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// The events, in commit order.
    pub events: Vec<CloudEvent>,
    /// Where the next page starts; never behind `after`. Store it as the checkpoint once
    /// the page is handled.
    pub next_cursor: Cursor,
    /// Nothing more is readable now: read again later (or follow the stream).
    pub caught_up: bool,
}

/// The feed over one database.
#[derive(Clone)]
pub struct FeedService {
    pool: PgPool,
    settings: Arc<FeedSettings>,
    wakeups: Wakeups,
    /// Shared by every whole-log reader of this service (the relay, operators' and feed
    /// services' pages and streams).
    memo: Arc<WorkspaceMemo>,
}

impl FeedService {
    pub fn new(pool: PgPool) -> Self {
        FeedService {
            wakeups: Wakeups::new(pool.clone()),
            pool,
            settings: Arc::new(FeedSettings::default()),
            memo: Arc::new(WorkspaceMemo::new(WORKSPACE_MEMO)),
        }
    }

    /// The same feed served with other settings.
    pub fn with_settings(self, settings: FeedSettings) -> Self {
        FeedService {
            settings: Arc::new(settings),
            ..self
        }
    }

    pub fn settings(&self) -> &FeedSettings {
        &self.settings
    }

    /// One page of `request.scope` after `request.after`, in commit order.
    pub async fn page(&self, request: &PageRequest) -> Result<FeedPage, sqlx::Error> {
        let limit = request.limit.clamp(1, MAX_LIMIT);
        let narrow = request.scope != Scope::Whole || request.types.is_some();
        let mut conn = self.pool.acquire().await?;
        let page = scoped_log::read_scoped(
            &mut conn,
            &ScopedRead {
                after: request.after.position(),
                scope: request.scope,
                types: request.types.as_deref(),
                limit,
                scan: if narrow {
                    SCAN_WINDOW.max(limit)
                } else {
                    limit
                },
                memo: Some(&self.memo),
            },
        )
        .await?;
        let origin = &self.settings.origin;
        Ok(FeedPage {
            events: page
                .events
                .iter()
                .map(|e| CloudEvent::of(e, origin))
                .collect(),
            next_cursor: Cursor::at(page.next),
            caught_up: page.caught_up,
        })
    }

    /// A wake-up for a follower: woken when events are appended, and every poll
    /// interval.
    pub async fn wake(&self) -> Wake {
        self.wakeups.subscribe(self.settings.poll).await
    }

    /// Ends every follower (their streams end; clients resume from their last cursor
    /// elsewhere or later). For a shutdown: a server waits for open streams otherwise.
    pub fn close(&self) {
        self.wakeups.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn types_are_catalogue_names_separated_by_commas() {
        assert_eq!(parse_types(""), Ok(None));
        assert_eq!(parse_types(" , "), Ok(None));
        assert_eq!(
            parse_types("RunQueued, RunCompleted,RunQueued"),
            Ok(Some(vec![
                "RunQueued".to_string(),
                "RunCompleted".to_string()
            ]))
        );
        assert_eq!(
            parse_types("RunQueued,runqueued"),
            Err(UnknownType("runqueued".to_string()))
        );
    }

    #[test]
    fn operators_and_feed_services_read_everything_members_their_workspaces() {
        let caller = |operator, feed| Caller {
            actor_id: Uuid::from_u128(7),
            token_id: Uuid::from_u128(8),
            operator,
            service: feed,
            feed,
        };
        assert_eq!(scope_of(&caller(true, false)), Scope::Whole);
        assert_eq!(scope_of(&caller(false, true)), Scope::Whole);
        assert_eq!(
            scope_of(&caller(false, false)),
            Scope::MemberOf(Uuid::from_u128(7))
        );
    }
}
