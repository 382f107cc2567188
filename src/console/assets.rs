//! The console's static files, compiled into the binary (no file is read at run time):
//! our stylesheet and htmx, vendored from its npm package with its version and SHA-256
//! in `static/htmx.VERSION`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// Where the stylesheet is served.
pub const STYLESHEET: &str = "/static/console.css";
/// Where htmx is served.
pub const HTMX: &str = "/static/htmx.min.js";

const CSS: &str = include_str!("../../static/console.css");
const HTMX_JS: &str = include_str!("../../static/htmx.min.js");

/// An hour: the files change only with the binary.
const CACHE: &str = "public, max-age=3600";

fn file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        body,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    file(CSS, "text/css; charset=utf-8")
}

pub async fn htmx() -> Response {
    file(HTMX_JS, "text/javascript; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_served_htmx_is_the_vendored_file_its_version_file_names() {
        let version = include_str!("../../static/htmx.VERSION");
        let field = |key: &str| {
            version
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
                .expect("htmx.VERSION names the field")
        };
        assert_eq!(
            hex::encode(Sha256::digest(HTMX_JS.as_bytes())),
            field("sha256: ")
        );
        assert_eq!(field("package: "), "htmx.org");
        assert!(field("version: ").starts_with("2.0."), "{version}");
    }
}
