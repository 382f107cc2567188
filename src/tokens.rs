//! The token service: issuing, revoking and listing API tokens, and authenticating a
//! presented token into a [`Caller`].
//!
//! A token is `rp_<token id, 32 hex>_<secret>`; the secret is 256 bits from the
//! operating system's random generator, base64url. Only its SHA-256 is recorded (in the
//! `ApiTokenIssued` event); the token itself exists once, in the issuer's answer.
//!
//! Authentication reads the token's **stream** and the actor's stream — never a
//! projection — so a revocation or a role change counts from the very next request, in
//! every process, whatever the projections' lag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use runproof_domain::actor::Actor;
use runproof_domain::api_token::{
    ApiToken, ApiTokenCommand, ApiTokenError, PresentedToken, SecretDigest, TokenLifetime,
    TokenRejection, TokenSummary,
};
use runproof_domain::metadata::CommandContext;
use runproof_domain::ReasonCode;
use runproof_projections::stream_guard::StreamGuard;
use uuid::Uuid;

pub use runproof_domain::access::{authorize, Access, Caller};

use crate::clock::Clock;
use crate::event_store::StoreError;
use crate::service_error::ServiceError;
use crate::writer::Writer;

/// Random bytes in a token's secret (256 bits; 43 characters of base64url).
pub const SECRET_BYTES: usize = 32;

/// A token just issued. `token` is the only copy of the secret there will ever be: show
/// it to whoever asked for it, once. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token_id: Uuid,
    pub actor_id: Uuid,
    pub name: Option<String>,
    /// `rp_<token id>_<secret>`.
    pub token: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_id", &self.token_id)
            .field("actor_id", &self.actor_id)
            .field("name", &self.name)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A revocation's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub token_id: Uuid,
    pub actor_id: Uuid,
    /// When the token was revoked: now, or earlier when it already was.
    pub revoked_at: DateTime<Utc>,
    /// False when the token was already revoked (nothing was recorded).
    pub changed: bool,
}

/// Why a presented token was not accepted. The first five variants are one and the same
/// answer to the caller (HTTP 401, `token.unauthorized`); they differ for logs and
/// tests. [`AuthError::Store`] is not the caller's fault (HTTP 503).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not of the form `rp_<32 hex>_<secret>`.
    #[error("malformed token")]
    Malformed,
    /// No token with this id was issued (or its actor does not exist).
    #[error("unknown token")]
    Unknown,
    /// The token exists; the secret is not its secret.
    #[error("wrong secret")]
    WrongSecret,
    /// The token was revoked.
    #[error("token revoked")]
    Revoked,
    /// The token's lifetime is over.
    #[error("token expired")]
    Expired,
    /// The token could not be checked: the store failed. Answer "unavailable", not
    /// "unauthorized".
    #[error("the token could not be checked")]
    Store(#[source] StoreError),
}

impl AuthError {
    /// Whether the caller is simply not authenticated (every variant but `Store`).
    pub fn is_unauthorized(&self) -> bool {
        !matches!(self, AuthError::Store(_))
    }

    /// The reason the caller reads: `token.unauthorized` for every refusal (one answer,
    /// so nothing tells a caller which part was wrong), `db.internal` for a store failure.
    pub fn reason(&self) -> ReasonCode {
        if self.is_unauthorized() {
            ReasonCode::TokenUnauthorized
        } else {
            ReasonCode::DbInternal
        }
    }
}

impl From<TokenRejection> for AuthError {
    fn from(r: TokenRejection) -> Self {
        match r {
            TokenRejection::Unknown => AuthError::Unknown,
            TokenRejection::WrongSecret => AuthError::WrongSecret,
            TokenRejection::Revoked => AuthError::Revoked,
            TokenRejection::Expired => AuthError::Expired,
        }
    }
}

/// Issues, revokes, lists and checks API tokens.
#[derive(Clone)]
pub struct TokenService {
    writer: Writer,
    clock: Arc<dyn Clock>,
    recent: Recent,
}

/// What the last full check of each token found: the token as its stream stood, the
/// caller it proved, and both streams' versions. It lets [`TokenService::recall`] answer
/// without reading anything — an answer that holds only together with a read guarded by
/// the versions (see [`runproof_projections::stream_guard`]), which fails as soon as
/// either stream has moved. Nothing here is trusted on its own.
#[derive(Clone, Default)]
struct Recent(Arc<Mutex<HashMap<Uuid, Remembered>>>);

#[derive(Clone)]
struct Remembered {
    token: ApiToken,
    token_version: u64,
    caller: Caller,
    actor_version: u64,
}

/// Tokens remembered at most; past this the map starts over (it only saves a round trip).
const RECENT_MAX: usize = 100_000;

impl Recent {
    fn get(&self, token_id: Uuid) -> Option<Remembered> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token_id)
            .cloned()
    }

    fn remember(&self, token_id: Uuid, remembered: Remembered) {
        let mut recent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() >= RECENT_MAX {
            recent.clear();
        }
        recent.insert(token_id, remembered);
    }
}

/// A caller recalled from the last full check of its token, with the guard a read must
/// carry for the answer to hold ([`TokenService::recall`]).
#[derive(Debug, Clone)]
pub struct Recalled {
    /// Who the token proved at its last check — not yet confirmed for this request.
    pub caller: Caller,
    /// The token's and the actor's streams at the versions that check read.
    pub guard: StreamGuard,
}

/// A new secret: [`SECRET_BYTES`] from the operating system's random generator.
fn new_secret() -> Result<String, ServiceError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(ServiceError::store)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn token_not_found(token_id: Uuid) -> ServiceError {
    ServiceError::refused(
        ReasonCode::TokenNotFound,
        vec![("token", token_id.to_string())],
    )
}

fn actor_not_found(actor_id: Uuid) -> ServiceError {
    ServiceError::refused(
        ReasonCode::ActorNotFound,
        vec![("actor", actor_id.to_string())],
    )
}

impl TokenService {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        TokenService {
            writer,
            clock,
            recent: Recent::default(),
        }
    }

    /// Whether the actor exists, by its stream.
    async fn actor_exists(&self, actor_id: Uuid) -> Result<bool, ServiceError> {
        let actor = self
            .writer
            .store()
            .load::<Actor>(&actor_id.to_string())
            .await?;
        Ok(actor.aggregate.state().is_some())
    }

    /// Issues a token to an existing actor, valid for `lifetime` from now (`None`: until
    /// revoked). The answer holds the token; nothing else ever will.
    pub async fn issue(
        &self,
        actor_id: Uuid,
        name: Option<&str>,
        lifetime: Option<TokenLifetime>,
        ctx: &CommandContext,
    ) -> Result<IssuedToken, ServiceError> {
        if !self.actor_exists(actor_id).await? {
            return Err(actor_not_found(actor_id));
        }
        let secret = new_secret()?;
        let token_id = Uuid::new_v4();
        let now = self.clock.now();
        let expiry_invalid = || {
            ServiceError::refused(
                ReasonCode::TokenExpiryInvalid,
                vec![("value", lifetime.map(|l| l.to_string()).unwrap_or_default())],
            )
        };
        let expires_at = lifetime
            .map(|l| {
                now.checked_add_signed(l.duration())
                    .ok_or_else(expiry_invalid)
            })
            .transpose()?;
        let command = ApiTokenCommand::Issue {
            token_id,
            actor_id,
            name: name.map(str::to_string),
            secret_sha256: SecretDigest::of(&secret),
            issued_at: now,
            expires_at,
        };
        self.writer
            .execute::<ApiToken>(&token_id.to_string(), command, ctx, now)
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    ApiTokenError::InvalidName => {
                        ServiceError::refused(ReasonCode::NameInvalid, vec![])
                    }
                    ApiTokenError::ExpiresBeforeIssued => expiry_invalid(),
                    ApiTokenError::AlreadyIssued | ApiTokenError::NotFound => {
                        ServiceError::conflict()
                    }
                })
            })?;
        tracing::info!(token = %token_id, actor = %actor_id, "API token issued");
        Ok(IssuedToken {
            token_id,
            actor_id,
            name: name.map(|n| n.trim().to_string()),
            token: PresentedToken::format(token_id, &secret),
            issued_at: now,
            expires_at,
        })
    }

    /// Revokes a token: from the next request on it is refused. Revoking a revoked token
    /// records nothing and answers when it was revoked; an unknown id is
    /// `token.not_found`.
    pub async fn revoke(
        &self,
        token_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Revocation, ServiceError> {
        let now = self.clock.now();
        let committed = self
            .writer
            .execute::<ApiToken>(
                &token_id.to_string(),
                ApiTokenCommand::Revoke { revoked_at: now },
                ctx,
                now,
            )
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| match e {
                    ApiTokenError::NotFound => token_not_found(token_id),
                    _ => ServiceError::conflict(),
                })
            })?;
        let token = self
            .writer
            .store()
            .load::<ApiToken>(&token_id.to_string())
            .await?;
        let state = token
            .aggregate
            .state()
            .ok_or_else(|| token_not_found(token_id))?;
        tracing::info!(token = %token_id, changed = committed.events > 0, "API token revoked");
        Ok(Revocation {
            token_id,
            actor_id: state.actor_id,
            revoked_at: state.revoked_at.unwrap_or(now),
            changed: committed.events > 0,
        })
    }

    /// An existing actor's tokens, newest first, from the `api_tokens` projection (catch
    /// the projections up first to include writes of other processes).
    pub async fn list(&self, actor_id: Uuid) -> Result<Vec<TokenSummary>, ServiceError> {
        if !self.actor_exists(actor_id).await? {
            return Err(actor_not_found(actor_id));
        }
        let mut conn = self.writer.store().pool().acquire().await?;
        let rows = runproof_projections::api_tokens::of_actor(&mut conn, actor_id).await?;
        Ok(rows.into_iter().map(|r| r.state).collect())
    }

    /// Who `presented` proves to be at `now`: parses the token, loads its stream,
    /// compares the secret's SHA-256 in constant time, checks revocation and expiry, and
    /// loads the actor's stream for its roles.
    pub async fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        let result = self.check(presented, now).await;
        if let Err(e) = &result {
            // Never the token: the id at most, which is no secret.
            let token = PresentedToken::parse(presented).ok().map(|p| p.token_id);
            tracing::debug!(?token, reason = %e, "API token refused");
        }
        result
    }

    async fn check(&self, presented: &str, now: DateTime<Utc>) -> Result<Caller, AuthError> {
        let presented = PresentedToken::parse(presented).map_err(|_| AuthError::Malformed)?;
        let digest = presented.digest();
        let store = self.writer.store();
        let token_id = presented.token_id;
        let (token, actor) = match self.recent.get(token_id) {
            // A token's actor is fixed by its first event: both streams in one statement,
            // the token's state (revoked? expired?) and the actor's roles as they are now.
            Some(known) => store
                .load_two::<ApiToken, Actor>(
                    &token_id.to_string(),
                    &known.caller.actor_id.to_string(),
                )
                .await
                .map_err(AuthError::Store)?,
            None => {
                let token = store
                    .load::<ApiToken>(&token_id.to_string())
                    .await
                    .map_err(AuthError::Store)?;
                let owner = token.aggregate.authenticate(&digest, now)?;
                let actor = store
                    .load::<Actor>(&owner.to_string())
                    .await
                    .map_err(AuthError::Store)?;
                (token, actor)
            }
        };
        let actor_id = token.aggregate.authenticate(&digest, now)?;
        let Some(state) = actor.aggregate.state().filter(|a| a.id == actor_id) else {
            tracing::warn!(token = %token_id, actor = %actor_id, "a token names an actor without a history");
            return Err(AuthError::Unknown);
        };
        let caller = Caller::of(state, token_id);
        self.recent.remember(
            token_id,
            Remembered {
                token: token.aggregate,
                token_version: token.version,
                caller,
                actor_version: actor.version,
            },
        );
        Ok(caller)
    }

    /// Who `presented` proved to be at the last full check of this token in this
    /// process, if the token as it stood then still accepts this secret at `now`
    /// (revocation, expiry): no I/O. The answer is not a verdict: it holds only for a read
    /// that carries its guard and finds both streams unmoved; otherwise
    /// [`Self::authenticate`] decides. `None`: authenticate.
    pub fn recall(&self, presented: &str, now: DateTime<Utc>) -> Option<Recalled> {
        let presented = PresentedToken::parse(presented).ok()?;
        let known = self.recent.get(presented.token_id)?;
        let actor_id = known
            .token
            .authenticate(&presented.digest(), now)
            .ok()
            .filter(|a| *a == known.caller.actor_id)?;
        let guard = StreamGuard::new()
            .at(
                ApiToken::TYPE,
                presented.token_id.to_string(),
                known.token_version,
            )
            .at(Actor::TYPE, actor_id.to_string(), known.actor_version);
        Some(Recalled {
            caller: known.caller,
            guard,
        })
    }
}

/// A token that still stands, checked by its id alone, with its actor's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub caller: Caller,
    pub actor_name: String,
}

impl TokenService {
    /// Whether the token `token_id`, whose secret `actor_id` proved earlier (at a console
    /// sign-in), is still accepted at `now`: reads the token's and the actor's streams —
    /// never a projection — so a revocation, an expiry or a role change counts from the
    /// very next request. A token that now names another actor is `Unknown`.
    pub async fn standing(
        &self,
        token_id: Uuid,
        actor_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Standing, AuthError> {
        // Both streams in one statement (the actor is the one the sign-in proved).
        let (token, actor) = self
            .writer
            .store()
            .load_two::<ApiToken, Actor>(&token_id.to_string(), &actor_id.to_string())
            .await
            .map_err(AuthError::Store)?;
        let owner = token.aggregate.standing(now)?;
        if owner != actor_id {
            return Err(AuthError::Unknown);
        }
        let Some(actor) = actor.aggregate.state() else {
            return Err(AuthError::Unknown);
        };
        Ok(Standing {
            caller: Caller::of(actor, token_id),
            actor_name: actor.display_name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_is_256_random_bits_in_base64url() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), SECRET_BYTES);
        let token = PresentedToken::format(Uuid::new_v4(), &a);
        assert!(PresentedToken::parse(&token).is_ok());
    }

    #[test]
    fn every_refusal_is_one_answer_and_a_store_failure_another() {
        for e in [
            AuthError::Malformed,
            AuthError::Unknown,
            AuthError::WrongSecret,
            AuthError::Revoked,
            AuthError::Expired,
        ] {
            assert!(e.is_unauthorized());
            assert_eq!(e.reason(), ReasonCode::TokenUnauthorized);
        }
        let store = AuthError::Store(StoreError::Conflict);
        assert!(!store.is_unauthorized());
        assert_eq!(store.reason(), ReasonCode::DbInternal);
    }

    #[test]
    fn an_issued_token_does_not_show_its_secret_in_debug_output() {
        let issued = IssuedToken {
            token_id: Uuid::from_u128(1),
            actor_id: Uuid::from_u128(2),
            name: None,
            token: "rp_00000000000000000000000000000001_secretsecretsecretsecret".into(),
            issued_at: DateTime::from_timestamp(0, 0).unwrap(),
            expires_at: None,
        };
        assert!(!format!("{issued:?}").contains("secret"));
    }
}
