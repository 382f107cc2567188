//! The operator console: server-rendered pages over the same services as the CLI and the
//! API (DESIGN.md, "Interfaces over the services"), in English and German, served by
//! `runproof serve` beside the API. Every page works without JavaScript — links and GET
//! forms whose query string holds the whole view — and htmx (vendored under `static/`)
//! only adds partial updates such as the runs list's live refresh.
//!
//! # Layout
//! - [`text`]: every phrase of the console, in EN and DE.
//! - [`lang`]: the operator's language (`?lang=`, its cookie, `Accept-Language`).
//! - [`page`]: the layout every page shares ([`page::Chrome`]), rendering, the error
//!   pages ([`page::PageError`]) and the layer that adds the security headers.
//! - [`refusals`]: what the layers around the routes refuse (a wrong method, a timeout,
//!   overload), as pages too.
//! - [`session`]: sign-in sessions, stored server-side (only a hash of their id) with
//!   their CSRF secret; [`cookie`]: reading and setting the console's cookies.
//! - [`auth`]: the [`auth::SignedIn`] extractor (a live session whose token still
//!   stands) and the CSRF-checked [`auth::CheckedForm`].
//! - [`assets`]: the stylesheet and htmx, compiled into the binary.
//! - [`time`]: relative times with the exact UTC time beside them.
//! - [`scope`]: ids in paths, what the operator may see and do there, rows read through.
//! - [`evidence`], [`timeline`]: a decision's evidence as facts; a stream's history as
//!   a timeline — shared by the pages of one run and one review. [`changes`]: what one
//!   event changed about a run (the run page as of a point).
//! - [`sign_in`], [`workspaces`], [`runs`]: sign-in, the start page, the runs list.
//! - [`run`], [`workspace`], [`environment`], [`review`]: the pages of one run, one
//!   workspace, one environment (with the compose button), one review (publish,
//!   archive).
//!
//! # Adding a page
//! Write a handler that takes [`auth::SignedIn`] (or [`auth::CheckedForm`] for a
//! POST), builds a template struct holding a [`page::Chrome`] from
//! `signed_in.chrome(Nav::…, title)`, and returns `page::render(&template)`; register it
//! in [`routes`]. Refuse with a [`page::PageError`]: the layer renders it as a page in
//! the operator's language.

pub mod assets;
pub mod auth;
pub mod changes;
pub mod cookie;
pub mod environment;
pub mod evidence;
pub mod lang;
pub mod page;
pub mod refusals;
pub mod review;
pub mod run;
pub mod runs;
pub mod scope;
pub mod session;
pub mod sign_in;
pub mod text;
pub mod time;
pub mod timeline;
pub mod workspace;
pub mod workspaces;

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::http::ApiState;

/// How sessions behave.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A session nobody used for this long has ended.
    pub idle: Duration,
    /// A session this old has ended, however busy.
    pub absolute: Duration,
    /// Mark cookies `Secure` on every response (besides requests that came over https,
    /// `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            secure_cookies: false,
        }
    }
}

/// Every page of the console, with its layer (language, error pages, security headers).
pub fn routes(state: &ApiState) -> Router<ApiState> {
    Router::new()
        .route("/", get(workspaces::page))
        .route("/runs", get(runs::page))
        .route("/runs/{id}", get(run::page))
        .route("/workspaces/{id}", get(workspace::page))
        .route("/environments/{id}", get(environment::page))
        .route("/environments/{id}/reviews", post(environment::compose))
        .route("/reviews/{id}", get(review::page))
        .route(
            "/reviews/{id}/publish",
            get(review::confirm_publish).post(review::publish),
        )
        .route(
            "/reviews/{id}/archive",
            get(review::confirm_archive).post(review::archive),
        )
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route(assets::STYLESHEET, get(assets::stylesheet))
        .route(assets::HTMX, get(assets::htmx))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page::layer,
        ))
}

/// The console's not-found page for a path no route serves.
pub async fn not_found(state: ApiState, request: Request) -> Response {
    page::wrap(&state, request, |_| async {
        axum::response::IntoResponse::into_response(page::PageError::NotFound(None))
    })
    .await
}
