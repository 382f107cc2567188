//! Feed test support: the CloudEvents format check every served event and every
//! documented example must pass, paging helpers, and a Server-Sent Events reader over
//! the real router.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use runproof::cli::serve::api_state;
use runproof::database::DatabaseTarget;
use runproof::feed::cloudevent::event_id;
use runproof::feed::{Cursor, FeedSettings};
use runproof::http::{self, Limits};
use runproof_domain::event_catalogue;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

use super::http::call;
use super::TestDb;

/// Every attribute an event may carry: the CloudEvents context attributes runproof sets,
/// `data`, and its extensions.
const ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "data",
    "position",
    "sequence",
    "cursor",
    "workspace",
    "withheld",
    "leafindex",
    "leafhash",
];

fn decimal(v: &Value, name: &str) -> Result<i64, String> {
    let s = v[name].as_str().ok_or(format!("{name} is not a string"))?;
    let n: i64 = s.parse().map_err(|_| format!("{name} is not a number"))?;
    (n >= 0 && n.to_string() == s)
        .then_some(n)
        .ok_or(format!("{name} is not a plain decimal"))
}

/// Checks one event against docs/feed.md's format; returns its `(aggregate type, event
/// type, version)`.
pub fn check_format(v: &Value) -> Result<(String, String, String), String> {
    let object = v.as_object().ok_or("not an object")?;
    for name in object.keys() {
        if !ATTRIBUTES.contains(&name.as_str()) {
            return Err(format!("unknown attribute {name}"));
        }
        // CloudEvents attribute names: lowercase letters and digits.
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(format!("attribute name {name}"));
        }
    }
    if v["specversion"] != "1.0" {
        return Err("specversion".into());
    }
    let id: Uuid = v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("id is not a UUID")?;
    let source = v["source"].as_str().ok_or("source")?;
    let origin = source.strip_prefix("runproof/").ok_or("source prefix")?;
    if origin.parse::<runproof::feed::Origin>().is_err() {
        return Err(format!("source origin {origin}"));
    }
    let ty = v["type"].as_str().ok_or("type")?;
    let rest = ty.strip_prefix("runproof.").ok_or("type prefix")?;
    let (aggregate, rest) = rest.split_once('.').ok_or("type aggregate")?;
    let (event_type, version) = rest.split_once(".v").ok_or("type version")?;
    let entry = event_catalogue::aggregate_of(event_type)
        .ok_or(format!("{event_type} is not in the catalogue"))?;
    if entry.aggregate_type != aggregate {
        return Err(format!("{event_type} belongs to {}", entry.aggregate_type));
    }
    let mut parts = version.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !(numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()) {
        return Err(format!("version {version}"));
    }
    let subject = v["subject"].as_str().ok_or("subject")?;
    if subject.is_empty() {
        return Err("empty subject".into());
    }
    let time = v["time"].as_str().ok_or("time")?;
    chrono::DateTime::parse_from_rfc3339(time).map_err(|_| format!("time {time}"))?;
    if v["datacontenttype"] != "application/json" {
        return Err("datacontenttype".into());
    }
    let data = v["data"].as_object().ok_or("data is not an object")?;
    let position = decimal(v, "position")?;
    let sequence = decimal(v, "sequence")?;
    if sequence < 1 {
        return Err("sequence starts at 1".into());
    }
    let cursor = v["cursor"].as_str().ok_or("cursor")?;
    let at = Cursor::decode(cursor).map_err(|_| format!("cursor {cursor}"))?;
    if at.position().position != position {
        return Err("the cursor is not at the event's position".into());
    }
    if let Some(ws) = v.get("workspace") {
        ws.as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or("workspace is not a UUID")?;
    }
    match (v.get("leafindex"), v.get("leafhash")) {
        (None, None) => {}
        (Some(_), Some(hash)) => {
            decimal(v, "leafindex")?;
            let hash = hash.as_str().ok_or("leafhash")?;
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!("leafhash {hash}"));
            }
        }
        _ => return Err("leafindex and leafhash come together".into()),
    }
    let withheld = event_catalogue::withheld_fields(event_type);
    if let Some(w) = v.get("withheld") {
        let named: Vec<&str> = w.as_str().ok_or("withheld")?.split(',').collect();
        if named.iter().any(|f| !withheld.contains(f)) {
            return Err(format!("withheld {w}"));
        }
    }
    if withheld.iter().any(|f| data.contains_key(*f)) {
        return Err("a withheld field is in data".into());
    }
    if id != event_id(aggregate, subject, sequence) {
        return Err("id is not the event id of type, subject and sequence".into());
    }
    Ok((
        aggregate.to_string(),
        event_type.to_string(),
        version.to_string(),
    ))
}

/// The router over `db` with the feed served with `settings`.
pub async fn router(db: &TestDb, settings: FeedSettings) -> Router {
    let target = DatabaseTarget::parse(&db.url()).unwrap();
    let state = api_state(&target, Limits::default())
        .await
        .unwrap()
        .with_feed(settings);
    http::router(state)
}

/// Quick polling and heartbeats, so tests wait milliseconds, not seconds.
pub fn quick() -> FeedSettings {
    FeedSettings {
        poll: Duration::from_millis(50),
        heartbeat: Duration::from_secs(3600),
        ..FeedSettings::default()
    }
}

pub fn get_feed(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// One page: the answer's status and body.
pub async fn page(router: &Router, token: &str, query: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(router, get_feed(&format!("/api/v1/events{query}"), token)).await;
    (status, body)
}

/// Pages from `after` with `limit` until at least `n` events were read and the feed is
/// caught up (other tests' open transactions on the server can hold the read horizon
/// back for a moment), at most 30 s. Returns the events and the last `next_cursor`.
pub async fn read(
    router: &Router,
    token: &str,
    after: Option<&str>,
    limit: i64,
    n: usize,
) -> (Vec<Value>, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = Vec::new();
    let mut cursor = after.map(str::to_string);
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit={limit}&after={c}"),
            None => format!("?limit={limit}"),
        };
        let (status, body) = page(router, token, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let got = body["events"].as_array().unwrap();
        assert!(got.len() as i64 <= limit);
        events.extend(got.iter().cloned());
        let next = body["next_cursor"].as_str().unwrap().to_string();
        cursor = Some(next.clone());
        let caught_up = body["caught_up"].as_bool().unwrap();
        if caught_up && events.len() >= n {
            return (events, next);
        }
        if Instant::now() > deadline {
            return (events, next);
        }
        if caught_up {
            tokio::task::yield_now().await;
        }
    }
}

/// The number of events in the log.
pub async fn log_len(db: &TestDb) -> usize {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    n as usize
}

/// The event ids of the whole log in commit order, as the feed must serve them.
pub async fn log_ids(db: &TestDb) -> Vec<String> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, sequence FROM events \
         ORDER BY transaction_id, position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|(t, id, s)| event_id(t, id, *s).to_string())
        .collect()
}

pub fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// One Server-Sent Events message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Event { id: String, data: Value },
    Comment(String),
}

/// Reads a Server-Sent Events answer message by message.
pub struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    /// Opens `path` (with headers) and checks it is an event stream.
    pub async fn open(router: &Router, path: &str, token: &str, headers: &[(&str, &str)]) -> Self {
        let mut request =
            Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        SseReader {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next message within `within`; `None` when the stream ended or nothing came.
    pub async fn next(&mut self, within: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
                _ => return None,
            }
        }
    }

    /// Whether the stream ends within `within` (messages before the end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(None) => return true,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) => return true,
                Err(_) => return false,
            }
        }
    }

    /// The next `n` events (skipping comments), each within 30 s.
    pub async fn events(&mut self, n: usize) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.next(Duration::from_secs(30)).await {
                Some(Message::Event { id, data }) => out.push((id, data)),
                Some(Message::Comment(_)) => {}
                None => panic!("the stream gave {} of {n} events", out.len()),
            }
        }
        out
    }
}

fn parse(block: &str) -> Message {
    let mut id = None;
    let mut data = String::new();
    let mut comment = None;
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            comment = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("id:") {
            id = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    match (id, comment) {
        (Some(id), _) => Message::Event {
            id,
            data: serde_json::from_str(&data).unwrap(),
        },
        (None, Some(c)) => Message::Comment(c),
        (None, None) => panic!("an empty message: {block:?}"),
    }
}
