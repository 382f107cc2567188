//! Reading ahead: the log's next pages, made ready to publish while the current one is
//! being published.
//!
//! The reader runs as a task of its own, one page after the other, each page starting
//! after the previous one's `next_cursor` — the feed's own commit-order read, so the
//! pages are consecutive and below the read horizon. It is never more than
//! [`READ_AHEAD`] pages ahead of the publisher. Everything a message needs (subject,
//! body, headers) is built here, so the publisher only sends and counts acks, and its
//! ack window does not have to empty between pages.

use std::time::Instant;

use runproof_projections::scoped_log::Scope;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::subject::SubjectPrefix;
use super::RelayError;
use crate::feed::{CloudEvent, Cursor, FeedPage, FeedService, PageRequest, Wake};

/// Pages read and made ready ahead of the one being published, at most.
pub const READ_AHEAD: usize = 2;

/// One event as it goes onto the bus.
pub struct Outgoing {
    /// The event id: `Nats-Msg-Id`.
    pub id: Uuid,
    pub subject: String,
    /// The CloudEvent as the HTTP feed serves it.
    pub body: String,
    /// The event's cursor: the `Runproof-Cursor` header, and the stream's tail once the
    /// message is acknowledged.
    pub cursor: Cursor,
    pub cursor_text: String,
}

impl Outgoing {
    /// `event` as the message published under `prefix`.
    pub fn of(event: &CloudEvent, prefix: &SubjectPrefix) -> Result<Outgoing, RelayError> {
        // The feed wrote this cursor; failing to read it back would be a bug, and the
        // relay does not guess where an event is.
        let cursor =
            Cursor::decode(&event.cursor).map_err(|_| RelayError::ForeignTail { sequence: 0 })?;
        Ok(Outgoing {
            id: event.id,
            subject: prefix.subject_of(event),
            body: event.to_json(),
            cursor,
            cursor_text: event.cursor.clone(),
        })
    }
}

/// A page of messages, or why the next could not be read.
pub type Batch = Result<Vec<Outgoing>, RelayError>;

/// What the reader reads with.
pub struct Reader {
    pub feed: FeedService,
    pub prefix: SubjectPrefix,
    /// Events per page.
    pub batch: i64,
}

impl Reader {
    /// Reads the log after `after`, page by page, into `out` (at most [`READ_AHEAD`]
    /// pages waiting there). Caught up, it waits for `wake` (a notification or the poll
    /// interval). Ends when `out` is closed, after sending an error, or when the feed
    /// closes.
    pub async fn run(self, mut after: Cursor, mut wake: Wake, out: mpsc::Sender<Batch>) {
        loop {
            // Armed before the read: a notification during it wakes the wait below at once.
            wake.arm();
            let page = match self.read(after).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = out.send(Err(e.into())).await;
                    return;
                }
            };
            after = page.next_cursor;
            let caught_up = page.caught_up;
            if !page.events.is_empty() {
                let batch: Batch = page
                    .events
                    .iter()
                    .map(|e| Outgoing::of(e, &self.prefix))
                    .collect();
                let failed = batch.is_err();
                if out.send(batch).await.is_err() || failed {
                    return;
                }
            }
            if caught_up {
                tokio::select! {
                    open = wake.wait() => if !open { return },
                    _ = out.closed() => return,
                }
            }
        }
    }

    /// The log's next page after `after`, in commit order.
    async fn read(&self, after: Cursor) -> Result<FeedPage, sqlx::Error> {
        let started = Instant::now();
        let page = self
            .feed
            .page(&PageRequest {
                after,
                scope: Scope::Whole,
                types: None,
                limit: self.batch,
            })
            .await?;
        tracing::debug!(
            events = page.events.len(),
            took_ms = started.elapsed().as_secs_f64() * 1000.0,
            "relay: read a page"
        );
        Ok(page)
    }
}
