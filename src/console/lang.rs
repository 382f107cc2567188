//! The operator's language: `?lang=de` or `?lang=en` wins (and is remembered in a
//! cookie), else the cookie, else `Accept-Language` as the API reads it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use runproof_domain::Lang;

use super::cookie;
use crate::http::problem::negotiate;

/// The cookie that remembers the operator's choice.
pub const COOKIE: &str = "runproof_lang";

/// A year, in seconds: how long the choice is remembered.
pub const REMEMBERED_FOR: u64 = 365 * 24 * 60 * 60;

/// The language of this request, chosen once by the console's layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleLang(pub Lang);

/// The language a request asks for, and whether it asked in its query (then the
/// answer remembers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub lang: Lang,
    pub from_query: bool,
}

fn parse(value: &str) -> Option<Lang> {
    match value {
        "en" => Some(Lang::En),
        "de" => Some(Lang::De),
        _ => None,
    }
}

/// The `lang` parameter of a query string, when it names a language.
pub fn in_query(uri: &Uri) -> Option<Lang> {
    let query = uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| parse(&v))
}

/// The language of a request: query, cookie, `Accept-Language`, English.
pub fn choose(uri: &Uri, headers: &HeaderMap) -> Choice {
    if let Some(lang) = in_query(uri) {
        return Choice {
            lang,
            from_query: true,
        };
    }
    let lang = cookie::get(headers, COOKIE)
        .and_then(parse)
        .unwrap_or_else(|| negotiate(headers));
    Choice {
        lang,
        from_query: false,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsoleLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ConsoleLang>()
            .copied()
            .unwrap_or_else(|| ConsoleLang(choose(&parts.uri, &parts.headers).lang)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    fn headers(cookie: Option<&'static str>, accept: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(c) = cookie {
            h.insert(header::COOKIE, HeaderValue::from_static(c));
        }
        if let Some(a) = accept {
            h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(a));
        }
        h
    }

    #[test]
    fn the_query_wins_then_the_cookie_then_accept_language() {
        let uri: Uri = "/runs?status=queued&lang=de".parse().unwrap();
        let all = headers(Some("runproof_lang=en"), Some("en"));
        assert_eq!(
            choose(&uri, &all),
            Choice {
                lang: Lang::De,
                from_query: true
            }
        );
        let plain: Uri = "/runs".parse().unwrap();
        assert_eq!(choose(&plain, &all).lang, Lang::En);
        let german_cookie = headers(Some("runproof_lang=de"), Some("en"));
        assert_eq!(choose(&plain, &german_cookie).lang, Lang::De);
        let accept = headers(None, Some("de-CH, en;q=0.5"));
        assert_eq!(choose(&plain, &accept).lang, Lang::De);
        assert_eq!(choose(&plain, &HeaderMap::new()).lang, Lang::En);
    }

    #[test]
    fn an_unknown_language_in_the_query_or_cookie_is_ignored() {
        let uri: Uri = "/?lang=fr".parse().unwrap();
        let h = headers(Some("runproof_lang=xx"), Some("de"));
        assert_eq!(
            choose(&uri, &h),
            Choice {
                lang: Lang::De,
                from_query: false
            }
        );
    }
}
