//! Sign-in sessions, kept server-side in `console_sessions` (migration 0011).
//!
//! A session id is 256 bits from the operating system's generator; it exists only in
//! the operator's cookie — the table keeps its SHA-256. Each session has its own CSRF
//! secret; its forms carry a token derived from it. A session ends when it was idle for
//! [`Settings::idle`], when it is [`Settings::absolute`] old, when the API token it was
//! opened with is revoked or expires (checked on every request), and at sign-out. Ended
//! rows are deleted when they are met and at every sign-in.
//!
//! Sessions are operational state, not domain truth: no event records them and no
//! projection builds them. Losing the table signs everyone out, nothing more.

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use runproof_domain::access::Caller;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{cookie, Settings};

/// The session cookie.
pub const COOKIE: &str = "runproof_session";

/// Random bytes in a session id and in a CSRF secret.
const RANDOM_BYTES: usize = 32;

/// Why a session could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the operating system's random generator failed")]
    Random(#[source] getrandom::Error),
    #[error("the sessions table could not be read or written")]
    Store(#[from] sqlx::Error),
}

/// 256 bits from the operating system's random generator.
pub fn random() -> Result<[u8; RANDOM_BYTES], SessionError> {
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(SessionError::Random)?;
    Ok(bytes)
}

/// A random value as it goes into a cookie or a form: base64url, 43 characters.
pub fn random_token() -> Result<String, SessionError> {
    Ok(URL_SAFE_NO_PAD.encode(random()?))
}

/// What the table keeps of a session id: its SHA-256. `None` for a value that is no
/// session id (so it is never looked up).
fn key_of(cookie_value: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(cookie_value).ok()?;
    (bytes.len() == RANDOM_BYTES).then(|| Sha256::digest(&bytes).into())
}

/// The session id a request presents, as its key.
pub fn presented(headers: &HeaderMap) -> Option<[u8; 32]> {
    cookie::get(headers, COOKIE).and_then(key_of)
}

/// The CSRF token of a session's forms: derived from its secret, so the secret itself
/// never leaves the server.
pub fn csrf_token(secret: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"runproof console csrf v1\0");
    hash.update(secret);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(expected: &str, given: &str) -> bool {
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// How often activity is recorded at most: a session used every few seconds writes
/// `last_seen_at` once a minute.
pub const ACTIVITY_GRANULARITY: std::time::Duration = std::time::Duration::from_secs(60);

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key: [u8; 32],
    pub actor_id: Uuid,
    pub token_id: Uuid,
    csrf_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session has ended at `now`: idle too long, or too old.
    pub fn ended(&self, now: DateTime<Utc>, settings: &Settings) -> bool {
        let longer = |since: DateTime<Utc>, limit: std::time::Duration| {
            chrono::Duration::from_std(limit).is_ok_and(|limit| now - since >= limit)
        };
        longer(self.last_seen_at, settings.idle) || longer(self.created_at, settings.absolute)
    }

    /// Whether a request at `now` that counts as activity should record it: when the
    /// last record is [`ACTIVITY_GRANULARITY`] old or more (or a tenth of the idle limit,
    /// if that is shorter). Recording every page would be a durable commit per page; the
    /// idle expiry is only as exact as this, and only ever earlier, never later.
    pub fn activity_due(&self, now: DateTime<Utc>, settings: &Settings) -> bool {
        let granularity = ACTIVITY_GRANULARITY.min(settings.idle / 10);
        chrono::Duration::from_std(granularity)
            .is_ok_and(|granularity| now - self.last_seen_at >= granularity)
    }

    /// The CSRF token of this session's forms.
    pub fn csrf_token(&self) -> String {
        csrf_token(&self.csrf_secret)
    }
}

/// The sessions of the console.
#[derive(Clone)]
pub struct Sessions {
    pool: PgPool,
    settings: Settings,
}

impl Sessions {
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        Sessions { pool, settings }
    }

    /// Opens a session for `caller` at `now`; answers the cookie value (the only copy
    /// of the id). Deletes the sessions that have ended by now, while at it.
    pub async fn open(&self, caller: &Caller, now: DateTime<Utc>) -> Result<String, SessionError> {
        let id = random()?;
        let secret = random()?;
        let key: [u8; 32] = Sha256::digest(id).into();
        self.delete_ended(now).await?;
        sqlx::query(
            "INSERT INTO console_sessions \
             (id_sha256, actor_id, token_id, csrf_secret, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(key.as_slice())
        .bind(caller.actor_id)
        .bind(caller.token_id)
        .bind(secret.as_slice())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(URL_SAFE_NO_PAD.encode(id))
    }

    /// The session with this key, if it is stored.
    pub async fn find(&self, key: &[u8; 32]) -> Result<Option<Session>, SessionError> {
        type Columns = (Uuid, Uuid, Vec<u8>, DateTime<Utc>, DateTime<Utc>);
        let row: Option<Columns> = sqlx::query_as(
            "SELECT actor_id, token_id, csrf_secret, created_at, last_seen_at \
             FROM console_sessions WHERE id_sha256 = $1",
        )
        .bind(key.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(actor_id, token_id, csrf_secret, created_at, last_seen_at)| Session {
                key: *key,
                actor_id,
                token_id,
                csrf_secret,
                created_at,
                last_seen_at,
            },
        ))
    }

    /// Records that the operator used the session at `now` (never moves it back).
    pub async fn touch(&self, key: &[u8; 32], now: DateTime<Utc>) -> Result<(), SessionError> {
        sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2 \
             WHERE id_sha256 = $1 AND last_seen_at < $2",
        )
        .bind(key.as_slice())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a session at once.
    pub async fn close(&self, key: &[u8; 32]) -> Result<(), SessionError> {
        sqlx::query("DELETE FROM console_sessions WHERE id_sha256 = $1")
            .bind(key.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes every session that has ended by `now`.
    pub async fn delete_ended(&self, now: DateTime<Utc>) -> Result<u64, SessionError> {
        let before = |limit: std::time::Duration| {
            chrono::Duration::from_std(limit)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let deleted = sqlx::query(
            "DELETE FROM console_sessions WHERE last_seen_at <= $1 OR created_at <= $2",
        )
        .bind(before(self.settings.idle))
        .bind(before(self.settings.absolute))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + minutes * 60, 0).unwrap()
    }

    fn session(created: i64, seen: i64) -> Session {
        Session {
            key: [0; 32],
            actor_id: Uuid::nil(),
            token_id: Uuid::nil(),
            csrf_secret: vec![1; 32],
            created_at: at(created),
            last_seen_at: at(seen),
        }
    }

    #[test]
    fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours_in_all() {
        let s = Settings::default();
        assert!(!session(0, 0).ended(at(29), &s));
        assert!(session(0, 0).ended(at(30), &s));
        assert!(!session(0, 700).ended(at(719), &s));
        assert!(session(0, 719).ended(at(720), &s));
    }

    #[test]
    fn activity_is_recorded_once_a_minute_or_a_tenth_of_a_short_idle_limit() {
        let s = Settings::default();
        assert!(!session(0, 10).activity_due(at(10), &s));
        assert!(session(0, 10).activity_due(at(11), &s));
        let short = Settings {
            idle: std::time::Duration::from_secs(5 * 60),
            ..Settings::default()
        };
        let seen = session(0, 10);
        let half_a_minute = at(10) + chrono::Duration::seconds(30);
        assert!(seen.activity_due(half_a_minute, &short));
        assert!(!seen.activity_due(half_a_minute - chrono::Duration::seconds(1), &short));
    }

    #[test]
    fn only_a_well_formed_id_has_a_key_and_the_key_is_its_hash() {
        let id = random_token().unwrap();
        let key = key_of(&id).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&id).unwrap();
        assert_eq!(key, <[u8; 32]>::from(Sha256::digest(&raw)));
        assert_eq!(key_of("not base64!"), None);
        assert_eq!(key_of("c2hvcnQ"), None);
    }

    #[test]
    fn a_csrf_token_is_derived_from_the_secret_and_compared_whole() {
        let a = csrf_token(&[1; 32]);
        assert_ne!(a, csrf_token(&[2; 32]));
        assert!(!a.contains(&URL_SAFE_NO_PAD.encode([1u8; 32])));
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &a[..a.len() - 1]));
        assert!(!same_token(&a, ""));
    }
}
