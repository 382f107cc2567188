//! The downstream feed over HTTP: the log in commit order as CloudEvents, one page at a
//! time (`GET /events`) or as Server-Sent Events (`GET /events/stream`), after the
//! consumer's own cursor and within the caller's scope (docs/feed.md).

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures::Stream;
use runproof_domain::ReasonCode;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::auth::{Authenticated, Presented};
use super::super::openapi::Problem;
use super::super::problem::ApiError;
use super::super::state::ApiState;
use super::{internal, invalid_query};
use crate::feed::{self, CloudEvent, Cursor, PageRequest, Wake};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(stream))
}

/// The header a reconnecting Server-Sent Events client sends with the last id it got.
const LAST_EVENT_ID: &str = "last-event-id";

/// Events a stream reads at a time.
const STREAM_BATCH: i64 = 100;

/// `GET /api/v1/events` query parameters. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The cursor to go on after: a previous page's `next_cursor`, or an event's
    /// `cursor`. Omitted: from the start of the log.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// Only these event types, comma-separated catalogue names (`RunQueued,RunCompleted`).
    pub types: Option<String>,
}

/// `GET /api/v1/events/stream` query parameters. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The cursor to go on after (a `Last-Event-ID` header takes precedence). Omitted:
    /// from the start of the log.
    pub after: Option<String>,
    /// Only these event types, comma-separated catalogue names.
    pub types: Option<String>,
}

/// One page of the feed.
#[derive(Serialize)]
struct EventPage {
    events: Vec<CloudEvent>,
    next_cursor: String,
    caught_up: bool,
}

fn invalid_cursor() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ReasonCode::FeedCursorInvalid,
        vec![],
    )
}

/// The cursor the request goes on after: the start when it names none.
fn cursor(text: Option<&str>) -> Result<Cursor, ApiError> {
    match text {
        None => Ok(Cursor::START),
        Some(text) => Cursor::decode(text).map_err(|_| invalid_cursor()),
    }
}

fn types(text: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    match feed::parse_types(text) {
        Ok(Some(types)) => Ok(Some(types)),
        Ok(None) => Err(invalid_query("types names no event type")),
        Err(feed::UnknownType(name)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ReasonCode::FeedTypeUnknown,
            vec![("type", name)],
        )),
    }
}

fn limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(feed::DEFAULT_LIMIT);
    if (1..=feed::MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ReasonCode::CliLimitOutOfRange,
            vec![
                ("max", feed::MAX_LIMIT.to_string()),
                ("value", limit.to_string()),
            ],
        ))
    }
}

/// Events after a cursor, in commit order, as CloudEvents: the caller's workspaces'
/// events, or every event for an operator or a service actor holding the feed role.
#[utoipa::path(
    get, path = "/events", tag = "feed", params(ListQuery),
    responses(
        (status = 200, description = "`{ events: [CloudEvent], next_cursor, caught_up }`: the events in commit order, each a CloudEvents 1.0 JSON event (docs/feed.md); `next_cursor` is where the next page starts (never null: store it as the checkpoint once the page is handled); `caught_up` says nothing more is readable now", body = Object),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn list(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(q) = query.map_err(invalid_query)?;
    let request = PageRequest {
        after: cursor(q.after.as_deref())?,
        scope: feed::scope_of(&caller),
        types: types(q.types.as_deref())?,
        limit: limit(q.limit)?,
    };
    let page = s.app.feed.page(&request).await.map_err(internal)?;
    Ok(Json(EventPage {
        events: page.events,
        next_cursor: page.next_cursor.encode(),
        caught_up: page.caught_up,
    }))
}

/// The same events as Server-Sent Events, as they are committed: each event's `id:` is
/// its cursor, so a client that reconnects with `Last-Event-ID` goes on exactly after
/// the last event it got.
#[utoipa::path(
    get, path = "/events/stream", tag = "feed",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The `id:` of the last event received: the stream goes on after it (takes precedence over `after`)"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: one message per event — `id:` the event's cursor, `data:` the CloudEvent as one line of JSON — and a `:heartbeat` comment after 15 s without one. Woken when events are committed (PostgreSQL NOTIFY), and polling besides. The stream ends when the token is revoked or the server shuts down; reconnect with `Last-Event-ID`", content_type = "text/event-stream", body = String),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn stream(
    State(s): State<ApiState>,
    presented: Presented,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = query.map_err(invalid_query)?;
    let last_event_id = match headers.get(LAST_EVENT_ID) {
        Some(v) => Some(v.to_str().map_err(|_| invalid_cursor())?),
        None => None,
    };
    let after = cursor(last_event_id.or(q.after.as_deref()))?;
    let types = types(q.types.as_deref())?;
    let heartbeat = s.app.feed.settings().heartbeat;
    let wake = s.app.feed.wake().await;
    let follower = Follower {
        s,
        presented,
        cursor: after,
        types,
        wake,
        pending: VecDeque::new(),
    };
    let events = futures::stream::unfold(follower, |mut f| async move {
        let event = f.next().await?;
        Some((Ok(event), f))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")))
}

/// One stream's reader: reads pages after its cursor, as the caller stands at each
/// read, and waits for a wake-up when it has caught up.
struct Follower {
    s: ApiState,
    presented: Presented,
    cursor: Cursor,
    types: Option<Vec<String>>,
    wake: Wake,
    pending: VecDeque<CloudEvent>,
}

impl Follower {
    /// The next message, or `None` when the stream ends (the token no longer holds,
    /// the server shuts down).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Event::default().id(&e.cursor).data(e.to_json()));
            }
            if self.wake.is_closing() {
                return None;
            }
            self.wake.arm();
            // The token and the actor's roles as they are now: a revocation ends the
            // stream, a role change changes what the next page shows.
            let caller = match self.presented.recheck(&self.s).await {
                Ok(caller) => caller,
                Err(e) if e.status == StatusCode::UNAUTHORIZED => return None,
                Err(_) => {
                    self.wake.wait().await.then_some(())?;
                    continue;
                }
            };
            let request = PageRequest {
                after: self.cursor,
                scope: feed::scope_of(&caller),
                types: self.types.clone(),
                limit: STREAM_BATCH,
            };
            match self.s.app.feed.page(&request).await {
                Ok(page) => {
                    self.cursor = page.next_cursor;
                    self.pending.extend(page.events);
                    if self.pending.is_empty() && page.caught_up {
                        self.wake.wait().await.then_some(())?;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a feed stream could not read; trying again");
                    self.wake.wait().await.then_some(())?;
                }
            }
        }
    }
}
