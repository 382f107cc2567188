//! The OpenAPI 3.1 document of the HTTP surface, generated from the handlers themselves.
//!
//! Every route is registered through `utoipa_axum`'s `routes!`, which adds the handler to
//! the router and its `#[utoipa::path]` description to the document in one step, so a
//! route cannot be served without being described (`tests/http.rs` checks both ways).
//! Served at `GET /api/openapi.json`.

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::problem::{ProblemDocument, PROBLEM_JSON};

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "runproof",
        description = "Event-sourced reconciliation engine for long-running operation runs. \
            Every /api/v1 route takes a bearer token (`runproof tokens issue`). Errors are \
            RFC 9457 problem documents whose `code` is runproof's reason code and whose \
            `detail` is in the language of Accept-Language (en, de). An id outside the \
            caller's scope answers exactly like an id that does not exist (404).",
        license(name = "Apache-2.0")
    ),
    components(schemas(ProblemDocument), responses(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "runs", description = "Runs: lists, one run decision first, history, explanation, and the lifecycle job systems drive"),
        (name = "restores", description = "Restore records the restore adapter proves runs from"),
        (name = "environments", description = "Evidence capture and review compose requests"),
        (name = "reviews", description = "Reviews: list, show, publish, archive"),
        (name = "directory", description = "Workspaces and their environments"),
        (name = "feed", description = "The downstream feed: every event in commit order as CloudEvents, after the consumer's own cursor (pages, or Server-Sent Events)"),
        (name = "operations", description = "Liveness, readiness and metrics (no token)")
    )
)]
pub struct ApiDoc;

/// This document, as JSON.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "operations", security(),
    responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = Object))
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOCUMENT.get_or_init(super::openapi).clone())
}

/// The `bearer` security scheme every `/api/v1` route requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The problem response every route may answer with (`application/problem+json`).
pub struct Problem;

impl<'r> utoipa::ToResponse<'r> for Problem {
    fn response() -> (
        &'r str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        (
            "Problem",
            ResponseBuilder::new()
                .description(
                    "RFC 9457 problem details: `code` is the reason code, `detail` is in the \
                     language of Accept-Language (en, de). Never SQL, driver text or a trace.",
                )
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name(
                            "ProblemDocument",
                        )))
                        .build(),
                )
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_the_bearer_scheme() {
        let doc = ApiDoc::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
        assert!(json["components"]["schemas"]["ProblemDocument"].is_object());
    }
}
