//! Who is looking at a page: [`SignedIn`] (a live session whose token still stands) and
//! [`CheckedForm`] (that, plus a POSTed form carrying the session's CSRF token).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};
use runproof_domain::access::Caller;
use runproof_domain::Lang;
use serde::de::DeserializeOwned;
use tracing::debug;

use super::lang::ConsoleLang;
use super::page::{Chrome, Message, Nav, PageError, User};
use super::session::{self, Sessions};
use super::text::ConsoleText;
use crate::http::ApiState;

/// The signed-in operator of a request: the caller its session's token proves now
/// (roles as recorded now), the page's language and address, and the CSRF token of the
/// page's forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub caller: Caller,
    pub actor_name: String,
    pub lang: Lang,
    /// The request's path and query (for links that keep the view).
    pub uri: Uri,
    /// The session's key (the SHA-256 of its id).
    pub key: [u8; 32],
    csrf: String,
}

impl SignedIn {
    /// The layout of a page in the navigation entry `nav`, titled `title`.
    pub fn chrome(&self, nav: Nav, title: String) -> Chrome {
        Chrome::new(
            self.lang,
            title,
            nav,
            Some(User {
                name: self.actor_name.clone(),
                operator: self.caller.operator,
                csrf: self.csrf.clone(),
            }),
            &self.uri,
        )
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Whether a request is an htmx partial update (`HX-Request: true`).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "true")
}

/// The console's sessions over the server's pool.
pub fn sessions(state: &ApiState) -> Sessions {
    Sessions::new(state.app.pool.clone(), state.console)
}

impl FromRequestParts<ApiState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, PageError> {
        let htmx = is_htmx(&parts.headers);
        // A form's target is no page to come back to.
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string())
        } else {
            "/".to_string()
        };
        let sign_in = || PageError::SignIn {
            next: next.clone(),
            htmx,
        };
        let ConsoleLang(lang) = ConsoleLang::from_request_parts(parts, state)
            .await
            .unwrap_or(ConsoleLang(Lang::En));
        let Some(key) = session::presented(&parts.headers) else {
            return Err(sign_in());
        };
        let sessions = sessions(state);
        let now = state.app.clock.now();
        let internal = |e: &dyn std::fmt::Display| PageError::internal(e);
        let Some(session) = sessions.find(&key).await.map_err(|e| internal(&e))? else {
            return Err(sign_in());
        };
        if session.ended(now, &state.console) {
            debug!("console session ended (idle or absolute expiry)");
            sessions.close(&key).await.map_err(|e| internal(&e))?;
            return Err(sign_in());
        }
        let standing = match state
            .app
            .tokens
            .standing(session.token_id, session.actor_id, now)
            .await
        {
            Ok(standing) => standing,
            Err(e) if e.is_unauthorized() => {
                debug!(reason = %e, "console session ended: its token no longer stands");
                sessions.close(&key).await.map_err(|e| internal(&e))?;
                return Err(sign_in());
            }
            Err(e) => return Err(internal(&e)),
        };
        // A live refresh is no sign of a person at the screen: only other requests keep
        // the session from idling out.
        if !(htmx && parts.method == Method::GET) && session.activity_due(now, &state.console) {
            sessions.touch(&key, now).await.map_err(|e| internal(&e))?;
        }
        Ok(SignedIn {
            caller: standing.caller,
            actor_name: standing.actor_name,
            lang,
            uri: parts.uri.clone(),
            key,
            csrf: session.csrf_token(),
        })
    }
}

/// A POSTed form (`application/x-www-form-urlencoded`) of a signed-in operator, whose
/// `csrf` field holds the session's CSRF token; `T` is read from the other fields. A
/// missing or wrong token is the 403 page; nothing of the form is acted on.
#[derive(Debug, Clone)]
pub struct CheckedForm<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

/// A form's fields as sent, or `None` when the body is not a form.
pub fn fields(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

/// The value of field `name`, if the form has it.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl<T: DeserializeOwned + Send> FromRequest<ApiState> for CheckedForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| PageError::Forbidden)?;
        let sent = fields(&bytes).ok_or(PageError::Forbidden)?;
        let given = field(&sent, "csrf").unwrap_or("");
        if !session::same_token(signed_in.csrf(), given) {
            debug!("a console form without this session's CSRF token was refused");
            return Err(PageError::Forbidden);
        }
        let rest: Vec<&(String, String)> = sent.iter().filter(|(k, _)| k != "csrf").collect();
        let form = serde_urlencoded::to_string(&rest)
            .ok()
            .and_then(|q| serde_urlencoded::from_str::<T>(&q).ok())
            .ok_or(PageError::BadRequest(Message::Console(
                ConsoleText::FormInvalid,
                vec![],
            )))?;
        Ok(CheckedForm { signed_in, form })
    }
}
