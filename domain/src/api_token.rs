//! API tokens: how an actor proves who it is to runproof's HTTP API.
//!
//! A token is `rp_<token id as 32 lowercase hex characters>_<secret>`. The secret (at
//! least 128 bits from the operating system's random generator, drawn by the service
//! that issues it) is shown once; the log keeps only its SHA-256 ([`SecretDigest`]).
//! One stream per token id: [`ApiTokenIssued`], then at most one [`ApiTokenRevoked`].
//!
//! Checking a presented token is the pure [`ApiToken::authenticate`]: the stored digest
//! is compared with the presented secret's in constant time, then revocation and
//! expiry are checked against the time the caller passes in.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::text_input::valid_name;
use crate::upcasting;

/// Every token starts with this.
pub const TOKEN_PREFIX: &str = "rp_";

/// The SHA-256 of a token's secret: all the log keeps of it. Serialised as 64 lowercase
/// hex characters; its `Debug` shows no digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of a secret as presented (its text, byte for byte).
    pub fn of(secret: &str) -> Self {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether two digests are equal, in time that does not depend on where they differ.
    pub fn matches(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The digest as 64 lowercase hex characters (as stored).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(…)")
    }
}

impl Serialize for SecretDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SecretDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|_| serde::de::Error::custom("a secret digest is 64 hex characters"))?;
        Ok(SecretDigest(bytes))
    }
}

/// A token as presented by a caller, split into its id and its secret. Its `Debug`
/// shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken {
    pub token_id: Uuid,
    secret: String,
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedToken")
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

/// The shortest secret a token may carry: 22 characters of base64url hold 132 bits.
/// Tokens runproof issues carry 43 (256 bits).
pub const SECRET_MIN_CHARS: usize = 22;
/// The longest secret a token may carry (anything longer is not a runproof token).
pub const SECRET_MAX_CHARS: usize = 128;

/// A presented string is not a runproof token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a runproof API token")]
pub struct MalformedToken;

impl PresentedToken {
    /// The token text for an id and a secret (`rp_<32 hex>_<secret>`).
    pub fn format(token_id: Uuid, secret: &str) -> String {
        format!("{TOKEN_PREFIX}{}_{secret}", token_id.simple())
    }

    /// Splits `rp_<32 lowercase hex>_<secret>`; the secret is base64url (`A–Z a–z 0–9 - _`),
    /// 22 to 128 characters. The id has a fixed length, so a `_` inside the secret is
    /// no ambiguity.
    pub fn parse(text: &str) -> Result<PresentedToken, MalformedToken> {
        let rest = text.strip_prefix(TOKEN_PREFIX).ok_or(MalformedToken)?;
        let (id, rest) = rest.split_at_checked(32).ok_or(MalformedToken)?;
        let secret = rest.strip_prefix('_').ok_or(MalformedToken)?;
        let lowercase_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if !id.chars().all(lowercase_hex) {
            return Err(MalformedToken);
        }
        let token_id = Uuid::try_parse(id).map_err(|_| MalformedToken)?;
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if !(SECRET_MIN_CHARS..=SECRET_MAX_CHARS).contains(&secret.len())
            || !secret.chars().all(base64url)
        {
            return Err(MalformedToken);
        }
        Ok(PresentedToken {
            token_id,
            secret: secret.to_string(),
        })
    }

    /// The digest of the presented secret.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.secret)
    }
}

/// How long a token is valid: more than zero, at most [`TokenLifetime::MAX_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetime(Duration);

/// A lifetime outside its bounds or not in the `<number><m|h|d>` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a token lifetime is a number followed by m, h or d, more than zero and at most ten years")]
pub struct InvalidLifetime;

impl TokenLifetime {
    /// Ten years (of 365 days).
    pub const MAX_DAYS: i64 = 3650;

    /// A lifetime of `duration`, if it is within the bounds.
    pub fn new(duration: Duration) -> Result<TokenLifetime, InvalidLifetime> {
        if duration > Duration::zero() && duration <= Duration::days(Self::MAX_DAYS) {
            Ok(TokenLifetime(duration))
        } else {
            Err(InvalidLifetime)
        }
    }

    /// Parses `<whole number><unit>`, the unit `m` (minutes), `h` (hours) or `d` (days):
    /// `90m`, `12h`, `30d`. Nothing else is accepted (no spaces, signs, fractions or other
    /// units), so `1m` can never be read as a month.
    pub fn parse(text: &str) -> Result<TokenLifetime, InvalidLifetime> {
        let split = text
            .char_indices()
            .last()
            .map(|(i, _)| i)
            .ok_or(InvalidLifetime)?;
        let (number, unit) = text.split_at(split);
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(InvalidLifetime);
        }
        // More digits than any bounded lifetime needs are out of bounds, not an overflow.
        let n: i64 = number.parse().map_err(|_| InvalidLifetime)?;
        let minutes_per_unit = match unit {
            "m" => 1,
            "h" => 60,
            "d" => 24 * 60,
            _ => return Err(InvalidLifetime),
        };
        let minutes = n.checked_mul(minutes_per_unit).ok_or(InvalidLifetime)?;
        TokenLifetime::new(Duration::try_minutes(minutes).ok_or(InvalidLifetime)?)
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

/// In the form [`TokenLifetime::parse`] reads, with the largest unit that divides it
/// (`30d`, `36h`, `90m`).
impl fmt::Display for TokenLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.num_minutes();
        match minutes {
            m if m % (24 * 60) == 0 => write!(f, "{}d", m / (24 * 60)),
            m if m % 60 == 0 => write!(f, "{}h", m / 60),
            m => write!(f, "{m}m"),
        }
    }
}

/// A token as recorded (with its digest: never leaves the aggregate's stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenState {
    pub token_id: Uuid,
    pub actor_id: Uuid,
    pub name: Option<String>,
    pub secret_sha256: SecretDigest,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What may be shown of a token: everything but its digest. The `api_tokens` projection
/// and `tokens list` are folded into this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub token_id: Uuid,
    pub actor_id: Uuid,
    pub name: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether a token is accepted at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Revoked,
    Expired,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Revoked => "revoked",
            TokenStatus::Expired => "expired",
        }
    }
}

/// A token expires at `expires_at`: from that instant on it is refused.
fn status(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TokenStatus {
    if revoked_at.is_some() {
        TokenStatus::Revoked
    } else if expires_at.is_some_and(|e| e <= now) {
        TokenStatus::Expired
    } else {
        TokenStatus::Active
    }
}

impl TokenSummary {
    /// The token's status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        status(self.revoked_at, self.expires_at, now)
    }

    /// Folds one event (the projection's fold; the digest is dropped here).
    pub fn fold(state: Option<TokenSummary>, event: ApiTokenEvent) -> Option<TokenSummary> {
        match (state, event) {
            (None, ApiTokenEvent::ApiTokenIssued(e)) => Some(TokenSummary {
                token_id: e.token_id,
                actor_id: e.actor_id,
                name: e.name,
                issued_at: e.issued_at,
                expires_at: e.expires_at,
                revoked_at: None,
            }),
            (Some(mut s), ApiTokenEvent::ApiTokenRevoked(e)) if s.revoked_at.is_none() => {
                s.revoked_at = Some(e.revoked_at);
                Some(s)
            }
            (state, _) => state,
        }
    }
}

/// The aggregate: one stream per token id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    state: Option<ApiTokenState>,
}

/// Commands to a token.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiTokenCommand {
    /// The caller checked that the actor exists and drew the secret.
    Issue {
        token_id: Uuid,
        actor_id: Uuid,
        name: Option<String>,
        secret_sha256: SecretDigest,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    },
    /// Revoking a revoked token records nothing.
    Revoke { revoked_at: DateTime<Utc> },
}

/// Events of the `api_token` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ApiTokenEvent {
    ApiTokenIssued(ApiTokenIssued),
    ApiTokenRevoked(ApiTokenRevoked),
}

/// A token was issued to an actor. Carries the secret's digest, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenIssued {
    pub token_id: Uuid,
    pub actor_id: Uuid,
    pub name: Option<String>,
    pub secret_sha256: SecretDigest,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The token was revoked (who revoked it is in the event's metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenRevoked {
    pub revoked_at: DateTime<Utc>,
}

/// Why a token command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiTokenError {
    #[error("token already issued")]
    AlreadyIssued,
    #[error("token not found")]
    NotFound,
    #[error("invalid name")]
    InvalidName,
    #[error("the token would expire before it is issued")]
    ExpiresBeforeIssued,
}

/// Why a presented token is not accepted. Every variant is the same "unauthorized" to
/// the caller; they differ for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// No token with this id was issued.
    #[error("unknown token")]
    Unknown,
    /// The token exists, the secret is not its secret.
    #[error("wrong secret")]
    WrongSecret,
    /// The token was revoked.
    #[error("token revoked")]
    Revoked,
    /// The token's lifetime is over.
    #[error("token expired")]
    Expired,
}

impl ApiToken {
    pub fn state(&self) -> Option<&ApiTokenState> {
        self.state.as_ref()
    }

    /// Whether `presented` is this token's, accepted at `now`: returns its actor. The
    /// secret is checked first (in constant time), so nothing about the token is told to
    /// a caller that does not hold it.
    pub fn authenticate(
        &self,
        presented: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<Uuid, TokenRejection> {
        let s = self.state.as_ref().ok_or(TokenRejection::Unknown)?;
        if !s.secret_sha256.matches(presented) {
            return Err(TokenRejection::WrongSecret);
        }
        match status(s.revoked_at, s.expires_at, now) {
            TokenStatus::Active => Ok(s.actor_id),
            TokenStatus::Revoked => Err(TokenRejection::Revoked),
            TokenStatus::Expired => Err(TokenRejection::Expired),
        }
    }

    /// Whether this token, once proven by its secret, is still accepted at `now`: returns
    /// its actor. For a caller that checked the secret earlier and keeps only the token's
    /// id (a console session): a revocation or the end of the token's lifetime counts from
    /// the next request.
    pub fn standing(&self, now: DateTime<Utc>) -> Result<Uuid, TokenRejection> {
        let s = self.state.as_ref().ok_or(TokenRejection::Unknown)?;
        match status(s.revoked_at, s.expires_at, now) {
            TokenStatus::Active => Ok(s.actor_id),
            TokenStatus::Revoked => Err(TokenRejection::Revoked),
            TokenStatus::Expired => Err(TokenRejection::Expired),
        }
    }

    pub fn decide(&self, command: ApiTokenCommand) -> Result<Vec<ApiTokenEvent>, ApiTokenError> {
        match (command, &self.state) {
            (ApiTokenCommand::Issue { .. }, Some(_)) => Err(ApiTokenError::AlreadyIssued),
            (
                ApiTokenCommand::Issue {
                    token_id,
                    actor_id,
                    name,
                    secret_sha256,
                    issued_at,
                    expires_at,
                },
                None,
            ) => {
                let name = name
                    .map(|n| valid_name(&n).ok_or(ApiTokenError::InvalidName))
                    .transpose()?;
                if expires_at.is_some_and(|e| e <= issued_at) {
                    return Err(ApiTokenError::ExpiresBeforeIssued);
                }
                Ok(vec![ApiTokenEvent::ApiTokenIssued(ApiTokenIssued {
                    token_id,
                    actor_id,
                    name,
                    secret_sha256,
                    issued_at,
                    expires_at,
                })])
            }
            (ApiTokenCommand::Revoke { .. }, None) => Err(ApiTokenError::NotFound),
            (ApiTokenCommand::Revoke { revoked_at }, Some(s)) => Ok(if s.revoked_at.is_some() {
                vec![]
            } else {
                vec![ApiTokenEvent::ApiTokenRevoked(ApiTokenRevoked {
                    revoked_at,
                })]
            }),
        }
    }
}

impl ApiTokenEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            ApiTokenEvent::ApiTokenIssued(e) => e.issued_at,
            ApiTokenEvent::ApiTokenRevoked(e) => e.revoked_at,
        }
    }
}

impl ApiTokenState {
    pub fn fold(state: Option<ApiTokenState>, event: ApiTokenEvent) -> Option<ApiTokenState> {
        match (state, event) {
            (None, ApiTokenEvent::ApiTokenIssued(e)) => Some(ApiTokenState {
                token_id: e.token_id,
                actor_id: e.actor_id,
                name: e.name,
                secret_sha256: e.secret_sha256,
                issued_at: e.issued_at,
                expires_at: e.expires_at,
                revoked_at: None,
            }),
            (Some(mut s), ApiTokenEvent::ApiTokenRevoked(e)) if s.revoked_at.is_none() => {
                s.revoked_at = Some(e.revoked_at);
                Some(s)
            }
            (state, _) => state,
        }
    }
}

impl DomainEvent for ApiTokenEvent {
    fn event_type(&self) -> String {
        match self {
            ApiTokenEvent::ApiTokenIssued(_) => "ApiTokenIssued",
            ApiTokenEvent::ApiTokenRevoked(_) => "ApiTokenRevoked",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        upcasting::current_version(&self.event_type()).to_string()
    }
}

impl Aggregate for ApiToken {
    const TYPE: &'static str = "api_token";
    type Command = ApiTokenCommand;
    type Event = ApiTokenEvent;
    type Error = ApiTokenError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.state = ApiTokenState::fold(self.state.take(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
    }

    fn issue(expires_at: Option<DateTime<Utc>>) -> ApiTokenCommand {
        ApiTokenCommand::Issue {
            token_id: Uuid::from_u128(7),
            actor_id: Uuid::from_u128(1),
            name: Some(" ci ".into()),
            secret_sha256: SecretDigest::of(SECRET),
            issued_at: at(0),
            expires_at,
        }
    }

    fn issued(expires_at: Option<DateTime<Utc>>) -> ApiTokenEvent {
        ApiTokenEvent::ApiTokenIssued(ApiTokenIssued {
            token_id: Uuid::from_u128(7),
            actor_id: Uuid::from_u128(1),
            name: Some("ci".into()),
            secret_sha256: SecretDigest::of(SECRET),
            issued_at: at(0),
            expires_at,
        })
    }

    fn revoked(secs: i64) -> ApiTokenEvent {
        ApiTokenEvent::ApiTokenRevoked(ApiTokenRevoked {
            revoked_at: at(secs),
        })
    }

    fn token(events: Vec<ApiTokenEvent>) -> ApiToken {
        let mut t = ApiToken::default();
        for e in events {
            t.apply(e);
        }
        t
    }

    #[test]
    fn it_should_issue_a_token_once() {
        TestFramework::<ApiToken>::with(())
            .given_no_previous_events()
            .when(issue(Some(at(60))))
            .then_expect_events(vec![issued(Some(at(60)))]);
        TestFramework::<ApiToken>::with(())
            .given(vec![issued(None)])
            .when(issue(None))
            .then_expect_error(ApiTokenError::AlreadyIssued);
    }

    #[test]
    fn it_should_refuse_a_token_that_expires_when_it_is_issued_or_has_an_invalid_name() {
        TestFramework::<ApiToken>::with(())
            .given_no_previous_events()
            .when(issue(Some(at(0))))
            .then_expect_error(ApiTokenError::ExpiresBeforeIssued);
        let mut bad_name = issue(None);
        if let ApiTokenCommand::Issue { name, .. } = &mut bad_name {
            *name = Some("a\u{202e}b".into());
        }
        TestFramework::<ApiToken>::with(())
            .given_no_previous_events()
            .when(bad_name)
            .then_expect_error(ApiTokenError::InvalidName);
    }

    #[test]
    fn revoking_twice_records_one_revocation_and_revoking_an_unknown_token_is_not_found() {
        TestFramework::<ApiToken>::with(())
            .given(vec![issued(None)])
            .when(ApiTokenCommand::Revoke { revoked_at: at(5) })
            .then_expect_events(vec![revoked(5)]);
        TestFramework::<ApiToken>::with(())
            .given(vec![issued(None), revoked(5)])
            .when(ApiTokenCommand::Revoke { revoked_at: at(9) })
            .then_expect_events(vec![]);
        TestFramework::<ApiToken>::with(())
            .given_no_previous_events()
            .when(ApiTokenCommand::Revoke { revoked_at: at(5) })
            .then_expect_error(ApiTokenError::NotFound);
    }

    #[test]
    fn a_token_is_accepted_with_its_secret_until_it_expires_or_is_revoked() {
        let good = SecretDigest::of(SECRET);
        let t = token(vec![issued(Some(at(60)))]);
        assert_eq!(t.authenticate(&good, at(59)), Ok(Uuid::from_u128(1)));
        assert_eq!(t.authenticate(&good, at(60)), Err(TokenRejection::Expired));
        assert_eq!(
            t.authenticate(&SecretDigest::of("another-secret-of-22-chars"), at(1)),
            Err(TokenRejection::WrongSecret)
        );
        let t = token(vec![issued(None), revoked(5)]);
        assert_eq!(t.authenticate(&good, at(1)), Err(TokenRejection::Revoked));
        assert_eq!(
            ApiToken::default().authenticate(&good, at(1)),
            Err(TokenRejection::Unknown)
        );
    }

    #[test]
    fn a_tokens_standing_without_its_secret_ends_with_revocation_or_expiry() {
        let t = token(vec![issued(Some(at(60)))]);
        assert_eq!(t.standing(at(59)), Ok(Uuid::from_u128(1)));
        assert_eq!(t.standing(at(60)), Err(TokenRejection::Expired));
        let t = token(vec![issued(None), revoked(5)]);
        assert_eq!(t.standing(at(1)), Err(TokenRejection::Revoked));
        assert_eq!(
            ApiToken::default().standing(at(1)),
            Err(TokenRejection::Unknown)
        );
    }

    #[test]
    fn a_wrong_secret_is_told_before_revocation_or_expiry() {
        let t = token(vec![issued(Some(at(60))), revoked(5)]);
        assert_eq!(
            t.authenticate(&SecretDigest::of("another-secret-of-22-chars"), at(99)),
            Err(TokenRejection::WrongSecret)
        );
    }

    #[test]
    fn a_token_parses_into_its_id_and_secret() {
        let id = Uuid::from_u128(0xabc);
        let text = PresentedToken::format(id, SECRET);
        assert_eq!(
            text,
            format!("rp_00000000000000000000000000000abc_{SECRET}")
        );
        let presented = PresentedToken::parse(&text).unwrap();
        assert_eq!(presented.token_id, id);
        assert!(presented.digest().matches(&SecretDigest::of(SECRET)));
        // A `_` inside the secret is part of the secret.
        let underscored = PresentedToken::format(id, "abc_def-ghi_jkl_mno_pqr");
        assert!(PresentedToken::parse(&underscored)
            .unwrap()
            .digest()
            .matches(&SecretDigest::of("abc_def-ghi_jkl_mno_pqr")));
    }

    #[test]
    fn anything_else_is_malformed() {
        let id = "00000000000000000000000000000abc";
        for text in [
            String::new(),
            "rp_".into(),
            SECRET.into(),
            format!("xx_{id}_{SECRET}"),
            format!("rp_{id}{SECRET}"),
            format!("rp_{}_{SECRET}", id.to_uppercase()),
            format!("rp_{}_{SECRET}", &id[1..]),
            format!("rp_{id}_short"),
            format!("rp_{id}_{SECRET}="),
            format!("rp_{id}_{SECRET} "),
            format!("rp_{id}_{}", "a".repeat(SECRET_MAX_CHARS + 1)),
            format!("rp_{}_{SECRET}", "é".repeat(16)),
            format!("Bearer rp_{id}_{SECRET}"),
        ] {
            assert_eq!(PresentedToken::parse(&text), Err(MalformedToken), "{text}");
        }
    }

    #[test]
    fn debug_output_shows_neither_the_secret_nor_its_digest() {
        let text = PresentedToken::format(Uuid::from_u128(1), SECRET);
        let presented = PresentedToken::parse(&text).unwrap();
        let digest = SecretDigest::of(SECRET);
        let shown = format!("{presented:?} {digest:?} {:?}", token(vec![issued(None)]));
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains(&digest.to_hex()), "{shown}");
    }

    #[test]
    fn the_digest_is_stored_as_lowercase_hex_and_read_back() {
        let digest = SecretDigest::of("abc");
        let stored = serde_json::to_value(digest).unwrap();
        assert_eq!(
            stored,
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            serde_json::from_value::<SecretDigest>(stored).unwrap(),
            digest
        );
        assert!(serde_json::from_value::<SecretDigest>(json!("abc")).is_err());
    }

    #[test]
    fn lifetimes_are_minutes_hours_or_days_within_ten_years() {
        let minutes = |m| Ok(TokenLifetime(Duration::minutes(m)));
        assert_eq!(TokenLifetime::parse("90m"), minutes(90));
        assert_eq!(TokenLifetime::parse("12h"), minutes(12 * 60));
        assert_eq!(TokenLifetime::parse("30d"), minutes(30 * 24 * 60));
        assert_eq!(TokenLifetime::parse("3650d"), minutes(3650 * 24 * 60));
        for (text, shown) in [
            ("90m", "90m"),
            ("120m", "2h"),
            ("48h", "2d"),
            ("30d", "30d"),
        ] {
            assert_eq!(TokenLifetime::parse(text).unwrap().to_string(), shown);
        }
        for bad in [
            "",
            "d",
            "0d",
            "0m",
            "3651d",
            "87601h",
            "-1d",
            "+1d",
            "1.5d",
            "1 d",
            "1w",
            "1M",
            "1y",
            "30",
            "1dd",
            "１d",
            "99999999999999999999d",
            "9223372036854775807d",
        ] {
            assert_eq!(TokenLifetime::parse(bad), Err(InvalidLifetime), "{bad}");
        }
    }

    #[test]
    fn the_summary_drops_the_digest_and_tells_the_status() {
        let s = TokenSummary::fold(None, issued(Some(at(60)))).unwrap();
        assert!(!serde_json::to_string(&s)
            .unwrap()
            .contains(&SecretDigest::of(SECRET).to_hex()));
        assert_eq!(s.status(at(59)), TokenStatus::Active);
        assert_eq!(s.status(at(60)), TokenStatus::Expired);
        let s = TokenSummary::fold(Some(s), revoked(5)).unwrap();
        assert_eq!(s.revoked_at, Some(at(5)));
        assert_eq!(s.status(at(1)), TokenStatus::Revoked);
        let s = TokenSummary::fold(Some(s), revoked(9)).unwrap();
        assert_eq!(s.revoked_at, Some(at(5)), "the first revocation counts");
    }
}
