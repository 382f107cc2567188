//! What is refused around the console's routes — a method an address does not take
//! (405), a request over its time or a full server (503, `Retry-After` kept), a request
//! over the size limit (413) — answered as console pages in the operator's language, not
//! as the API's problem+json. The router sends every answer on a console path (one that
//! `http::is_machine_path` does not claim) through [`render`]; the API's paths go through
//! `http::problem::render_problems` instead.
//!
//! Those refusals come from the tower layers (`http::middleware::layer_error`: timeout,
//! overload) as an unrendered problem, or from the router as a bare status (405, 413):
//! nothing else of theirs reaches the page, so no internal text can.

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use runproof_domain::ReasonCode;

use super::lang;
use super::page::{self, Busy, PageError};
use crate::http::problem::{ApiError, Problem};

/// Renders a refusal on a console path as its page; any other answer passes unchanged.
pub async fn render(request: Request, next: Next) -> Response {
    let lang = lang::choose(request.uri(), request.headers()).lang;
    let uri = request.uri().clone();
    // A page can simply be asked for again; a form must not be sent twice blindly.
    let again = matches!(*request.method(), Method::GET | Method::HEAD)
        .then(|| uri.path_and_query().map_or("/", |p| p.as_str()).to_string());
    let mut response = next.run(request).await;
    let problem = response.extensions_mut().remove::<Problem>().map(|p| p.0);
    let error = match &problem {
        Some(p) => of_problem(p, again),
        None => match response.status() {
            StatusCode::METHOD_NOT_ALLOWED if is_empty(&response) => PageError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => PageError::TooLarge,
            _ => return response,
        },
    };
    let mut page = page::error_page(&error, lang, &uri);
    if let Some(p) = &problem {
        *page.status_mut() = p.status;
        if let Some(seconds) = p.retry_after {
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                page.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
    }
    // What the answer carried besides its body — `Allow`, the request id, cookies the
    // console's layer set — stays.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    page::secure_headers(&mut page);
    page
}

/// The page of a problem a layer answered with.
fn of_problem(p: &ApiError, again: Option<String>) -> PageError {
    match p.reason {
        ReasonCode::HttpTimeout => PageError::Busy {
            busy: Busy::TimedOut,
            again,
        },
        ReasonCode::HttpOverloaded => PageError::Busy {
            busy: Busy::Overloaded,
            again,
        },
        _ if p.status == StatusCode::METHOD_NOT_ALLOWED => PageError::MethodNotAllowed,
        _ if p.status == StatusCode::PAYLOAD_TOO_LARGE => PageError::TooLarge,
        // Any other failure of a layer: the failure page (with the problem's status);
        // its cause was logged where it happened.
        _ => PageError::Internal,
    }
}

fn is_empty(response: &Response) -> bool {
    response.body().size_hint().exact() == Some(0)
}
