//! Signing in with an API token, and out.
//!
//! The sign-in form has no session to take a CSRF token from, so it carries a random
//! value that is also set as a cookie only the sign-in page receives (a double-submit
//! token): a form posted from another site carries no such pair, and cannot sign an
//! operator into someone else's account.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use runproof_domain::Lang;
use serde::Deserialize;
use tracing::{debug, info};

use super::auth::{field, fields, sessions, CheckedForm};
use super::cookie::{self, SameSite};
use super::lang::ConsoleLang;
use super::page::{render, Chrome, Nav, PageError};
use super::session::{self, same_token};
use super::text::ConsoleText;
use crate::http::ApiState;

/// The sign-in form's double-submit cookie; only `/sign-in` receives it.
pub const FORM_COOKIE: &str = "runproof_sign_in";
const FORM_COOKIE_PATH: &str = "/sign-in";

/// Where to go after signing in: only a path on this site (`/runs?status=queued`), never
/// another site (`//evil.example`, `https://…`, `/\evil`), else the start page.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && next.chars().all(|c| !c.is_control() && c != '\\');
    if ok {
        next
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    c: Chrome,
    next: String,
    form_token: String,
    refused: bool,
    rules: String,
}

/// `GET /sign-in` query: where to go afterwards (`lang` is the layer's).
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

fn page(
    state: &ApiState,
    lang: Lang,
    uri: &Uri,
    next: &str,
    form_token: String,
    refused: bool,
) -> Result<Response, PageError> {
    let minutes = (state.console.idle.as_secs() / 60).to_string();
    let hours = (state.console.absolute.as_secs() / 3600).to_string();
    let title = ConsoleText::SignInTitle.text(lang);
    render(&SignInPage {
        c: Chrome::new(lang, title, Nav::None, None, uri),
        next: safe_next(next).to_string(),
        rules: ConsoleText::SignInRules.render(lang, &[("idle", &minutes), ("absolute", &hours)]),
        form_token,
        refused,
    })
}

/// The form token this browser holds already, or a new one.
fn form_token(headers: &HeaderMap) -> Result<(String, bool), PageError> {
    match cookie::get(headers, FORM_COOKIE).filter(|v| v.len() == 43) {
        Some(existing) => Ok((existing.to_string(), false)),
        None => session::random_token()
            .map(|t| (t, true))
            .map_err(|e| PageError::internal(&e)),
    }
}

/// The sign-in form.
pub async fn form(
    State(state): State<ApiState>,
    ConsoleLang(lang): ConsoleLang,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let next = query.ok().and_then(|Query(q)| q.next).unwrap_or_default();
    let (token, new) = form_token(&headers)?;
    let mut response = page(&state, lang, &uri, &next, token.clone(), false)?;
    if new {
        let secure = cookie::secure(&headers, &state.console);
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie::set(
                FORM_COOKIE,
                &token,
                FORM_COOKIE_PATH,
                None,
                SameSite::Strict,
                secure,
            ),
        );
    }
    Ok(response)
}

/// Signs in: checks the form's token pair, authenticates the API token, opens a session
/// (a new id, whatever the browser held before) and goes on to `next`. A token that is
/// not accepted shows the form again with one message for every kind of refusal.
pub async fn submit(
    State(state): State<ApiState>,
    ConsoleLang(lang): ConsoleLang,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let sent = fields(&body).ok_or(PageError::Forbidden)?;
    let expected = cookie::get(&headers, FORM_COOKIE).unwrap_or("");
    let given = field(&sent, "csrf").unwrap_or("");
    if expected.is_empty() || !same_token(expected, given) {
        debug!("a sign-in form without its double-submit token was refused");
        return Err(PageError::Forbidden);
    }
    let next = safe_next(field(&sent, "next").unwrap_or("/")).to_string();
    let presented = field(&sent, "token").unwrap_or("").trim();
    let now = state.app.clock.now();
    let caller = match state.app.tokens.authenticate(presented, now).await {
        Ok(caller) => caller,
        Err(e) if e.is_unauthorized() => {
            let mut response = page(&state, lang, &uri, &next, expected.to_string(), true)?;
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(response);
        }
        Err(e) => return Err(PageError::internal(&e)),
    };
    let sessions = sessions(&state);
    if let Some(old) = session::presented(&headers) {
        sessions
            .close(&old)
            .await
            .map_err(|e| PageError::internal(&e))?;
    }
    let id = sessions
        .open(&caller, now)
        .await
        .map_err(|e| PageError::internal(&e))?;
    info!(actor = %caller.actor_id, token = %caller.token_id, "console session opened");
    let secure = cookie::secure(&headers, &state.console);
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")),
    );
    h.append(
        header::SET_COOKIE,
        cookie::set(session::COOKIE, &id, "/", None, SameSite::Strict, secure),
    );
    h.append(
        header::SET_COOKIE,
        cookie::remove(FORM_COOKIE, FORM_COOKIE_PATH, SameSite::Strict, secure),
    );
    Ok(response)
}

/// A form with no fields of its own (its CSRF token aside).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// Signs out: the session ends at once (its row is deleted) and the cookie is removed.
pub async fn sign_out(
    State(state): State<ApiState>,
    headers: HeaderMap,
    CheckedForm { signed_in, .. }: CheckedForm<NoFields>,
) -> Result<Response, PageError> {
    sessions(&state)
        .close(&signed_in.key)
        .await
        .map_err(|e| PageError::internal(&e))?;
    info!(actor = %signed_in.caller.actor_id, "console session closed (sign-out)");
    let secure = cookie::secure(&headers, &state.console);
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/sign-in"));
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie::remove(session::COOKIE, "/", SameSite::Strict, secure),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_on_this_site_is_a_place_to_go_after_signing_in() {
        assert_eq!(safe_next("/runs?status=queued"), "/runs?status=queued");
        assert_eq!(safe_next("/"), "/");
        for bad in [
            "",
            "runs",
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example",
            "/runs\r\nSet-Cookie: x=1",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
