//! What every page shares: the layout's data ([`Chrome`]), rendering a template, the
//! error pages ([`PageError`]), links that keep a view's state, and the layer around
//! every console route — it picks the language, renders refusals as pages in it, and
//! adds the security headers.

use std::future::Future;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use runproof_domain::{Lang, ReasonCode};

use super::cookie::{self, SameSite};
use super::lang::{self, ConsoleLang};
use super::session;
use super::text::ConsoleText;
use crate::http::ApiState;

/// The Content-Security-Policy of every console response: nothing but our own files —
/// no inline script or style, no framing, forms only to ourselves.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// Where a page sits in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Workspaces,
    Runs,
    /// A page outside the navigation (sign-in, errors, a run's detail).
    None,
}

/// The signed-in operator, as the header shows them.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// A platform operator: sees every workspace (the system view).
    pub operator: bool,
    /// The CSRF token every POST form of this page carries (`csrf` field).
    pub csrf: String,
}

/// The layout's data: language, title, navigation, the operator, and the language
/// links (the current address with `lang` switched, so a switch keeps the view).
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub title: String,
    pub nav: Nav,
    pub user: Option<User>,
    pub lang_en: String,
    pub lang_de: String,
}

impl Chrome {
    /// The layout for a page at `uri`.
    pub fn new(lang: Lang, title: String, nav: Nav, user: Option<User>, uri: &Uri) -> Self {
        Chrome {
            lang,
            title,
            nav,
            user,
            lang_en: replace_param(uri, "lang", Some("en")),
            lang_de: replace_param(uri, "lang", Some("de")),
        }
    }

    /// A phrase in the page's language.
    pub fn t(&self, text: ConsoleText) -> String {
        text.text(self.lang)
    }

    /// A phrase with its placeholders filled.
    pub fn tr(&self, text: ConsoleText, args: &[(&str, &str)]) -> String {
        text.render(self.lang, args)
    }

    /// A phrase the console shares with the CLI (labels such as "Decision",
    /// "Evidence"), in the page's language — the same words `runs show` prints.
    pub fn ui(&self, text: crate::cli::text::UiText) -> String {
        text.text(self.lang)
    }

    /// Whether the page is this navigation entry.
    pub fn is(&self, nav: Nav) -> bool {
        self.nav == nav
    }

    pub fn is_de(&self) -> bool {
        self.lang == Lang::De
    }

    /// "Signed in as …" (empty when nobody is).
    pub fn signed_in_as(&self) -> String {
        self.user.as_ref().map_or(String::new(), |u| {
            ConsoleText::SignedInAs.render(self.lang, &[("name", &u.name)])
        })
    }

    /// The CSRF token of the page's forms (empty when nobody is signed in).
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.csrf.as_str())
    }
}

/// A template rendered as the page's HTML, or the 500 page when it cannot be.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    match template.render() {
        Ok(html) => Ok(Html(html).into_response()),
        Err(e) => Err(PageError::internal(&e)),
    }
}

/// `path` with its query parameters; empty values are left out (an unset filter).
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    if kept.is_empty() {
        return path.to_string();
    }
    match serde_urlencoded::to_string(&kept) {
        Ok(query) => format!("{path}?{query}"),
        Err(_) => path.to_string(),
    }
}

/// `uri` (path and query) with parameter `key` set to `value`, or removed (`None`).
pub fn replace_param(uri: &Uri, key: &str, value: Option<&str>) -> String {
    let pairs: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut params: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(v) = value {
        params.push((key, v));
    }
    link(uri.path(), &params)
}

/// A text of a page that is not fixed: a console phrase or a reason, with arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Console(ConsoleText, Vec<(&'static str, String)>),
    Reason(ReasonCode, Vec<(&'static str, String)>),
}

impl Message {
    pub fn render(&self, lang: Lang) -> String {
        fn pairs<'a>(a: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
            a.iter().map(|(k, v)| (*k, v.as_str())).collect()
        }
        match self {
            Message::Console(t, a) => t.render(lang, &pairs(a)),
            Message::Reason(r, a) => r.render(lang, &pairs(a)),
        }
    }
}

/// Why a page is not shown. The console's layer renders it as a page in the operator's
/// language; nothing internal reaches it (causes are logged where they happen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Not found (404). With a reason and its key (`run`, `workspace`), e.g. "Run with
    /// this id was not found.": the same page for an id outside the caller's scope as for one that
    /// exists nowhere (invariant 10). Without: no page at this address.
    NotFound(Option<(ReasonCode, &'static str)>),
    /// 400: the address holds something the page cannot show (a filter, a page cursor).
    BadRequest(Message),
    /// 403: a form without this session's CSRF token.
    Forbidden,
    /// 500: the service failed; the cause is in the log.
    Internal,
    /// Not signed in (or the session ended): to the sign-in page, then back to `next`.
    /// `htmx`: the request was a partial update, answered with `HX-Redirect`.
    SignIn { next: String, htmx: bool },
    /// 503 with `Retry-After: 1`: the log records the run at this path, but the views do
    /// not show it yet (the API's `run.not_yet_visible`), with a link to reload it. Only
    /// for an operator who may see the run; anyone else gets [`PageError::NotFound`].
    NotYetVisible(String),
    /// 405: the address does not take this method (a GET of a form's target, a POST to
    /// a page).
    MethodNotAllowed,
    /// 503: the server could not answer now (`Retry-After` kept). `again`: the address
    /// to try again (a GET's own; none for a form, which must not be sent twice blindly).
    Busy { busy: Busy, again: Option<String> },
    /// 413: the request is larger than the server accepts.
    TooLarge,
}

/// Why the server could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The request ran over its time (`serve --request-timeout`).
    TimedOut,
    /// The server was serving as many requests as it allows.
    Overloaded,
}

impl PageError {
    /// A failure of the services: logged with its cause, shown as the 500 page.
    pub fn internal(e: &dyn std::fmt::Display) -> PageError {
        tracing::error!(error = %e, "a console page failed");
        PageError::Internal
    }

    /// The not-found page of a resource: `reason` with `{key}` read as "with this id".
    pub fn not_found(reason: ReasonCode, key: &'static str) -> PageError {
        PageError::NotFound(Some((reason, key)))
    }
}

/// An unrendered refusal, carried on the response until the layer renders it.
#[derive(Debug, Clone)]
struct Pending(PageError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(Pending(self));
        response
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    c: Chrome,
    heading: String,
    message: String,
    /// Where to go from here: (address, text).
    links: Vec<(String, String)>,
}

/// `error` as its page in `lang`, for a request to `uri` (the layer's, and the one
/// around the routes: `console::refusals`).
pub(crate) fn error_page(error: &PageError, lang: Lang, uri: &Uri) -> Response {
    let back = ("/".to_string(), ConsoleText::BackToStart.text(lang));
    let (status, heading, message, links) = match error {
        PageError::NotFound(what) => (
            StatusCode::NOT_FOUND,
            ConsoleText::NotFoundHeading,
            match what {
                Some((reason, key)) => {
                    reason.render(lang, &[(key, ConsoleText::WithThisId.text(lang).as_str())])
                }
                None => ConsoleText::NotFoundText.text(lang),
            },
            vec![back],
        ),
        PageError::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            ConsoleText::BadRequestHeading,
            m.render(lang),
            vec![back],
        ),
        PageError::Forbidden => (
            StatusCode::FORBIDDEN,
            ConsoleText::ForbiddenHeading,
            ConsoleText::ForbiddenText.text(lang),
            vec![back],
        ),
        PageError::NotYetVisible(path) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ConsoleText::NotYetVisibleHeading,
            ConsoleText::NotYetVisibleText.text(lang),
            vec![(path.clone(), ConsoleText::Reload.text(lang)), back],
        ),
        PageError::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            ConsoleText::MethodNotAllowedHeading,
            ConsoleText::MethodNotAllowedText.text(lang),
            vec![back],
        ),
        PageError::Busy { busy, again } => (
            StatusCode::SERVICE_UNAVAILABLE,
            ConsoleText::BusyHeading,
            match busy {
                Busy::TimedOut => ConsoleText::TimedOutText,
                Busy::Overloaded => ConsoleText::OverloadedText,
            }
            .text(lang),
            again
                .iter()
                .map(|a| (a.clone(), ConsoleText::TryAgain.text(lang)))
                .chain([back])
                .collect(),
        ),
        PageError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ConsoleText::TooLargeHeading,
            ConsoleText::TooLargeText.text(lang),
            vec![back],
        ),
        PageError::Internal | PageError::SignIn { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ConsoleText::InternalHeading,
            ConsoleText::InternalText.text(lang),
            vec![back],
        ),
    };
    // The language links stay on this path but drop its query: an error page must not
    // echo the address (a page for an id outside the caller's scope is byte for byte the
    // page for an id that exists nowhere).
    let mut c = Chrome::new(lang, heading.text(lang), Nav::None, None, uri);
    c.lang_en = "?lang=en".into();
    c.lang_de = "?lang=de".into();
    let page = ErrorPage {
        c,
        heading: heading.text(lang),
        message,
        links,
    };
    let body = page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the error page failed to render");
        heading.text(lang)
    });
    let mut response = (status, Html(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The answer may differ in a moment: say when to ask again.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The answer to a request that must sign in first.
fn to_sign_in(next: &str, htmx: bool, secure: bool) -> Response {
    let target = link("/sign-in", &[("next", next)]);
    let mut response = if htmx {
        // htmx follows this with a full page load instead of swapping in a sign-in page.
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        let mut r = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie::remove(session::COOKIE, "/", SameSite::Strict, secure),
    );
    response
}

/// The console's layer (see [`wrap`]).
pub async fn layer(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    wrap(&state, request, |r| next.run(r)).await
}

/// Runs `inner` for a console request: chooses the language (and remembers a choice
/// made in the query), renders a [`PageError`] as its page, and adds the security
/// headers to whatever the answer is.
pub async fn wrap<F, Fut>(state: &ApiState, mut request: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let choice = lang::choose(request.uri(), request.headers());
    let secure = cookie::secure(request.headers(), &state.console);
    let uri = request.uri().clone();
    request.extensions_mut().insert(ConsoleLang(choice.lang));
    let mut response = inner(request).await;
    if let Some(Pending(error)) = response.extensions_mut().remove::<Pending>() {
        let cookies: Vec<HeaderValue> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        response = match &error {
            PageError::SignIn { next, htmx } => to_sign_in(next, *htmx, secure),
            other => error_page(other, choice.lang, &uri),
        };
        for c in cookies {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    if choice.from_query {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie::set(
                lang::COOKIE,
                &choice.lang.to_string(),
                "/",
                Some(lang::REMEMBERED_FOR),
                SameSite::Lax,
                secure,
            ),
        );
    }
    secure_headers(&mut response);
    response
}

/// The security headers of every console response. Pages are never cached (they show
/// one operator's view); a response that chose its own caching (the static files)
/// keeps it.
pub(crate) fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_leaves_out_empty_parameters_and_encodes_the_rest() {
        assert_eq!(link("/runs", &[("status", ""), ("after", "")]), "/runs");
        assert_eq!(
            link("/runs", &[("workspace", "a b&c"), ("live", "0")]),
            "/runs?workspace=a+b%26c&live=0"
        );
    }

    #[test]
    fn a_language_link_keeps_every_other_parameter() {
        let uri: Uri = "/runs?status=queued&lang=en&after=xyz".parse().unwrap();
        assert_eq!(
            replace_param(&uri, "lang", Some("de")),
            "/runs?status=queued&after=xyz&lang=de"
        );
        assert_eq!(
            replace_param(&uri, "after", None),
            "/runs?status=queued&lang=en"
        );
    }
}
