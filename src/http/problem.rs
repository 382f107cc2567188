//! Errors as an HTTP client sees them: RFC 9457 `application/problem+json` with the reason
//! code, a title and a detail in the language the client asked for (`Accept-Language`:
//! `de` or `en`, default `en`), and the status that fits. Nothing else ever reaches the
//! body: no SQL, driver text or stack trace (causes go to the log).
//!
//! A handler returns [`ApiError`]; it becomes an empty response carrying an unrendered
//! [`Problem`]. The outermost layer, [`render_problems`], renders it in the request's
//! language — so timeouts and overload answers from the tower layers get the same shape.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use runproof_domain::{Lang, ReasonCode};
use serde::Serialize;

use crate::cli::error::CliError;
use crate::service_error::ServiceError;

/// Stands for the id in a not-found text; rendered as "with this id" in the reader's
/// language.
const THIS_ID: &str = "\u{0}this-id";

/// The media type of problem details (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failed request: its status, its reason, and the reason's placeholder values.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: ReasonCode,
    pub args: Vec<(&'static str, String)>,
    /// Seconds after which a retry may succeed (`Retry-After`), for 503s.
    pub retry_after: Option<u64>,
}

/// An unrendered problem, attached to a response until the language is known.
#[derive(Debug, Clone)]
pub struct Problem(pub ApiError);

impl ApiError {
    pub fn new(status: StatusCode, reason: ReasonCode, args: Vec<(&'static str, String)>) -> Self {
        ApiError {
            status,
            reason,
            args,
            retry_after: None,
        }
    }

    /// The answer for an id that does not exist — and, byte for byte, for one outside the
    /// caller's scope (invariant 10: never a 403 that reveals existence). The text names
    /// no id ("Run with this id was not found."), so the bytes cannot differ by id either.
    pub fn not_found(reason: ReasonCode, key: &'static str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            reason,
            vec![(key, THIS_ID.to_string())],
        )
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A service's refusal or failure, with the status that fits it.
    pub fn from_service(e: &ServiceError) -> Self {
        Self::from_cli(&CliError::from_service(e))
    }

    /// The CLI's classification of a failure (one place decides what is input, what is
    /// the environment), with the HTTP status that fits the reason.
    pub fn from_cli(e: &CliError) -> Self {
        let status = match e.exit {
            crate::cli::error::EXIT_INPUT => status_of_input(e.reason),
            _ => status_of_environment(e.reason),
        };
        ApiError::new(status, e.reason, e.args.clone())
    }

    /// The problem document in `lang`.
    pub fn document(&self, lang: Lang) -> ProblemDocument {
        let this_id = lang.pick("with this id", "mit dieser ID");
        let args: Vec<(&str, &str)> = self
            .args
            .iter()
            .map(|(k, v)| (*k, if v == THIS_ID { this_id } else { v.as_str() }))
            .collect();
        ProblemDocument {
            r#type: format!("https://runproof.dev/problems/{}", self.reason),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.reason.render_with_details(lang, &args),
            code: self.reason.code(),
        }
    }
}

/// Input that names something missing is 404; a lost race or a state that does not allow
/// the step is 409; everything else the client sent is 422 (well-formed, not acceptable).
fn status_of_input(reason: ReasonCode) -> StatusCode {
    let code = reason.code();
    if code.ends_with(".not_found") {
        StatusCode::NOT_FOUND
    } else if code.ends_with(".concurrent_change")
        || code.ends_with(".invalid_transition")
        || code.ends_with(".outcome_conflict")
        || code.ends_with(".already_running")
        || code.ends_with(".already_completed")
        || code.ends_with(".already_finished")
        || code.ends_with(".already_exists")
        || code.ends_with(".already_member")
        || code.ends_with(".held_elsewhere")
        || code.ends_with(".version_mismatch")
        || code.ends_with(".not_started")
    {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The database or the engine could not serve the request now.
fn status_of_environment(_reason: ReasonCode) -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

/// RFC 9457 problem details, with runproof's reason code as an extension member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://runproof.dev/problems/run.not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "Run with this id was not found.",
    "code": "run.not_found"
}))]
pub struct ProblemDocument {
    /// `https://runproof.dev/problems/<code>`.
    pub r#type: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do, in the language of Accept-Language (en, de).
    pub detail: String,
    /// runproof's reason code (stable; the same as the CLI's).
    #[schema(value_type = String)]
    pub code: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(Problem(self));
        response
    }
}

/// The language a client asked for: the first of `de` or `en` in `Accept-Language`
/// (quality values are ignored: the first acceptable tag wins), else English.
pub fn negotiate(headers: &HeaderMap) -> Lang {
    let Some(value) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Lang::En;
    };
    for tag in value.split(',') {
        let primary = tag
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .split('-')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "de" => return Lang::De,
            "en" => return Lang::En,
            _ => {}
        }
    }
    Lang::En
}

/// Renders every response's unrendered [`Problem`] as `application/problem+json` in the
/// request's language, and answers with a problem for statuses the router produced
/// without one (an unknown route, a method it does not serve).
pub async fn render_problems(request: Request, next: Next) -> Response {
    let lang = negotiate(request.headers());
    let mut response = next.run(request).await;
    let problem = response.extensions_mut().remove::<Problem>().map(|p| p.0);
    let problem = match problem {
        Some(p) => p,
        None if response.status() == StatusCode::NOT_FOUND && is_empty(&response) => {
            ApiError::new(StatusCode::NOT_FOUND, ReasonCode::HttpRouteNotFound, vec![])
        }
        None if response.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ReasonCode::HttpBodyTooLarge,
            vec![],
        ),
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ReasonCode::HttpMethodNotAllowed,
            vec![],
        ),
        None => return response,
    };
    let mut rendered = (
        problem.status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        axum::Json(problem.document(lang)),
    )
        .into_response();
    // The JSON extractor's own content type must not survive into a problem.
    rendered
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if problem.status == StatusCode::UNAUTHORIZED {
        rendered.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"runproof\""),
        );
    }
    if let Some(seconds) = problem.retry_after {
        rendered.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&seconds.to_string()).unwrap_or(HeaderValue::from_static("1")),
        );
    }
    for (name, value) in response.headers() {
        if name == header::ALLOW || name.as_str() == "x-request-id" {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

fn is_empty(response: &Response) -> bool {
    use axum::body::HttpBody;
    response.body().size_hint().exact() == Some(0)
}
