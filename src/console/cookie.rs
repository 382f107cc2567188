//! Reading and writing the console's cookies. Every cookie it sets is `HttpOnly` with a
//! path and a `SameSite` rule, and `Secure` when the request came over https.

use axum::http::{header, HeaderMap, HeaderValue};

use super::Settings;

/// The value of cookie `name` in the request, if it was sent (the first one, when a
/// client sends the name twice).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request came over https: a proxy in front said so
/// (`X-Forwarded-Proto: https`), or the server was told to assume it
/// (`serve --secure-cookies`). Cookies set for such a request are `Secure`.
pub fn secure(headers: &HeaderMap, settings: &Settings) -> bool {
    settings.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// `SameSite` of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Never sent with a request another site started: the session.
    Strict,
    /// Sent when the operator follows a link from elsewhere: the language.
    Lax,
}

/// A `Set-Cookie` value. `max_age` `None` is a cookie for the browser session;
/// `Some(0)` removes the cookie. `value` must be a cookie-safe token (base64url, `en`).
pub fn set(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
    same_site: SameSite,
    secure: bool,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly");
    cookie.push_str(match same_site {
        SameSite::Strict => "; SameSite=Strict",
        SameSite::Lax => "; SameSite=Lax",
    });
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    // Names and values are ours (fixed names, base64url or language codes): always valid.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn remove(name: &str, path: &str, same_site: SameSite, secure: bool) -> HeaderValue {
    set(name, "", path, Some(0), same_site, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others_and_a_missing_one_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; runproof_session=abc ; b=2"),
        );
        assert_eq!(get(&headers, "runproof_session"), Some("abc"));
        assert_eq!(get(&headers, "b"), Some("2"));
        assert_eq!(get(&headers, "c"), None);
    }

    #[test]
    fn a_set_cookie_carries_every_attribute_asked_for() {
        let v = set("s", "v", "/", None, SameSite::Strict, true);
        assert_eq!(v, "s=v; Path=/; HttpOnly; SameSite=Strict; Secure");
        let v = remove("s", "/", SameSite::Strict, false);
        assert_eq!(v, "s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }

    #[test]
    fn https_is_what_the_proxy_says_or_what_the_server_was_told() {
        let mut headers = HeaderMap::new();
        let plain = Settings::default();
        assert!(!secure(&headers, &plain));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(secure(&headers, &plain));
        let told = Settings {
            secure_cookies: true,
            ..Settings::default()
        };
        assert!(secure(&HeaderMap::new(), &told));
    }
}
