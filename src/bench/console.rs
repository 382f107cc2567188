//! The console's runs page under load, beside the API list (issue 9: with 1,000,000 runs
//! the runs page renders its first page in under 100 ms, p99, server time).
//!
//! Each client signs in as a browser does — `GET /sign-in` for the form's double-submit
//! cookie and hidden field, `POST /sign-in` with the caller's token — once, and sends the
//! session cookie back on its own keep-alive connection for every round. A walk opens
//! `GET /runs` (the newest page) or, for half the walks, `/runs?after=…` at a sampled run
//! (the address the page's own links use), then follows the page's "older" link, as many
//! pages as the API list's walk. The plans are the API list's ([`http::Plan`], same
//! seeds), and so is the baseline: the raw-SQL list statement, measured again in turns
//! with the console.
//!
//! Latencies on the client include the client (in this process, on the same cores). The
//! server's own time comes from the bench's router, which wraps every answer in
//! [`server_timing`]: `Server-Timing: app;dur=…`, from the request reaching the router to
//! the rendered answer. Production routers do not add it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Request as ServerRequest;
use axum::http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::middleware::Next as Inner;
use sqlx::PgPool;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::http::{self, Caller, Http, Latency, Next, Page, Plan, Sample, Side, Sql};
use super::{failed, mismatch, BenchArgs};
use crate::cli::error::CliError;
use crate::console::runs::paging::{Key, Start};
use crate::console::runs::view::View;
use crate::console::session;
use crate::console::sign_in::FORM_COOKIE;

/// The target: p99 of the server's time for the first page of the runs list.
pub const FIRST_PAGE_P99_TARGET: Duration = Duration::from_millis(100);

/// The header the bench's router adds (a standard one: W3C Server Timing).
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// The median and the 99th percentile of the server's time for some pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerTime {
    /// Pages measured (over all rounds).
    pub pages: usize,
    pub p50: Duration,
    pub p99: Duration,
}

impl ServerTime {
    fn of(times: Vec<Duration>) -> ServerTime {
        let pages = times.len();
        let (p50, p99) = http::percentiles(times);
        ServerTime { pages, p50, p99 }
    }

    /// Each figure's median over rounds.
    fn median(rounds: Vec<ServerTime>) -> ServerTime {
        let mid = |mut xs: Vec<Duration>| {
            xs.sort();
            xs.get(xs.len() / 2).copied().unwrap_or_default()
        };
        ServerTime {
            pages: rounds.iter().map(|r| r.pages).sum(),
            p50: mid(rounds.iter().map(|r| r.p50).collect()),
            p99: mid(rounds.iter().map(|r| r.p99).collect()),
        }
    }
}

/// The runs page for one caller, beside the API list's baseline.
#[derive(Debug, Clone)]
pub struct ConsoleMeasurement {
    pub caller: &'static str,
    /// Runs the caller may see.
    pub visible: i64,
    /// On the client: the request sent until the whole page is read.
    pub ours: Latency,
    /// The raw-SQL list statement with the same plans.
    pub baseline: Latency,
    /// The server's time for every page of the walks.
    pub server: ServerTime,
    /// The server's time for the first page (`GET /runs`) alone.
    pub server_first: ServerTime,
}

impl ConsoleMeasurement {
    /// The console's pages/s over the baseline's.
    pub fn ratio(&self) -> f64 {
        self.ours.per_second / self.baseline.per_second.max(1e-9)
    }

    /// Whether the first page met its target.
    pub fn verdict(&self) -> &'static str {
        if self.server_first.pages == 0 {
            "not measured (no walk started at the first page)"
        } else if self.server_first.p99 < FIRST_PAGE_P99_TARGET {
            "met"
        } else {
            "missed"
        }
    }
}

/// The bench router's outermost layer: how long the server took for the answer, as
/// `Server-Timing: app;dur=<milliseconds>`.
pub async fn server_timing(request: ServerRequest, next: Inner) -> axum::response::Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        response.headers_mut().append(SERVER_TIMING, value);
    }
    response
}

/// A signed-in browser on its own keep-alive connection.
pub struct Console {
    http: Http,
    /// `runproof_session=…`, as the browser sends it back.
    cookie: HeaderValue,
    /// The server's time for each page read since the last [`drain`], and whether it
    /// was the first page.
    server: Vec<(bool, Duration)>,
}

impl Console {
    /// Signs in with `token` through the sign-in form, as a browser does.
    async fn sign_in(address: SocketAddr, token: &str) -> Result<Console, CliError> {
        let mut http = Http::connect(address, None).await?;
        let form = http.send(Request::get("/sign-in"), Bytes::new()).await?;
        let form_cookie = set_cookie(&form, FORM_COOKIE);
        let csrf = hidden_field(std::str::from_utf8(form.body()).map_err(failed)?, "csrf");
        let (StatusCode::OK, Some(form_cookie), Some(csrf)) = (form.status(), form_cookie, csrf)
        else {
            eprintln!(
                "bench: GET /sign-in answered {} without its form token",
                form.status()
            );
            return Err(mismatch());
        };
        let fields = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("next", "/runs"),
            ("token", token),
        ])
        .map_err(failed)?;
        let answer = http
            .send(
                Request::post("/sign-in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, format!("{FORM_COOKIE}={form_cookie}")),
                Bytes::from(fields),
            )
            .await?;
        match (answer.status(), set_cookie(&answer, session::COOKIE)) {
            (StatusCode::SEE_OTHER, Some(id)) => Ok(Console {
                http,
                cookie: HeaderValue::from_str(&format!("{}={id}", session::COOKIE))
                    .map_err(failed)?,
                server: Vec::new(),
            }),
            (status, _) => {
                eprintln!("bench: signing in to the console answered {status}");
                Err(mismatch())
            }
        }
    }

    /// One page of the runs list: the newest, the one after a run, or the address of
    /// an "older" link; its run ids only when `with_ids`.
    pub(super) async fn page(
        &mut self,
        after: Option<Next>,
        with_ids: bool,
    ) -> Result<Page, CliError> {
        let first = after.is_none();
        let path = match after {
            None => "/runs".to_string(),
            Some(Next::Keyset(run)) => deep(run),
            Some(Next::Cursor(href)) => href,
        };
        let response = self
            .http
            .send(
                Request::get(path.as_str()).header(header::COOKIE, self.cookie.clone()),
                Bytes::new(),
            )
            .await?;
        if response.status() != StatusCode::OK {
            eprintln!("bench: GET {path} answered {}", response.status());
            return Err(mismatch());
        }
        let Some(took) = server_time(&response) else {
            eprintln!("bench: GET {path} answered without Server-Timing");
            return Err(mismatch());
        };
        self.server.push((first, took));
        let body = std::str::from_utf8(response.body()).map_err(failed)?;
        Ok(Page {
            ids: if with_ids { run_ids(body)? } else { Vec::new() },
            next: older(body).map(Next::Cursor),
        })
    }
}

/// The runs list from just after `run`, as the page's own links write it.
fn deep(run: Key) -> String {
    View {
        live: true,
        ..View::default()
    }
    .link(Start::After(run))
}

/// The value the response sets for cookie `name` (not a removal).
fn set_cookie(response: &Response<Bytes>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// An attribute value as a browser reads it.
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&")
}

/// The value of the hidden field `name`.
fn hidden_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = &body[body.find(&marker)? + marker.len()..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// The address of the page's "older" link (`rel="next"`), if it has one.
fn older(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&body[start..end]))
}

/// The runs of the page, in order (from the links to their pages).
fn run_ids(body: &str) -> Result<Vec<Uuid>, CliError> {
    body.match_indices("href=\"/runs/")
        .map(|(i, m)| {
            let rest = &body[i + m.len()..];
            Uuid::parse_str(rest.split('"').next().unwrap_or_default()).map_err(failed)
        })
        .collect()
}

/// The server's time from `Server-Timing: app;dur=<ms>`.
fn server_time(response: &Response<Bytes>) -> Option<Duration> {
    let value = response.headers().get(SERVER_TIMING)?.to_str().ok()?;
    let ms: f64 = value
        .split_once("dur=")?
        .1
        .split([';', ','])
        .next()?
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
}

/// One signed-in browser per client, lent to a round and given back.
type Browsers = Arc<Vec<Mutex<Option<Console>>>>;

/// The server's times the browsers recorded since the last call.
async fn drain(browsers: &Browsers) -> Vec<(bool, Duration)> {
    let mut times = Vec::new();
    for slot in browsers.iter() {
        if let Some(console) = slot.lock().await.as_mut() {
            times.append(&mut console.server);
        }
    }
    times
}

/// The runs page for each caller, and the baseline in turns with it.
pub(super) async fn measure(
    pool: &PgPool,
    baseline: &PgPool,
    address: SocketAddr,
    callers: &[Caller],
    args: &BenchArgs,
) -> Result<Vec<ConsoleMeasurement>, CliError> {
    let mut measurements = Vec::new();
    for caller in callers {
        let (visible, sample) = http::sample(pool, caller.visible_to).await?;
        let clients = args.http_clients.max(1);
        let mut signed_in = Vec::with_capacity(clients);
        for _ in 0..clients {
            signed_in.push(Mutex::new(Some(
                Console::sign_in(address, &caller.token).await?,
            )));
        }
        let browsers: Browsers = Arc::new(signed_in);
        same_pages(baseline, &browsers, caller, &sample).await?;

        let plan = |client: usize, requests: usize| Plan {
            ask: http::Ask::Measured(http::Kind::List),
            requests,
            pages: args.http_pages.max(1),
            sample: sample.clone(),
            seed: client as u64 + 1,
        };
        let lent = &browsers;
        let ours = |requests: usize| {
            http::phase(args, move |client| {
                let (plan, browsers) = (plan(client, requests), Arc::clone(lent));
                async move {
                    let console = browsers[client].lock().await.take();
                    let mut side = Side::Console(console.ok_or_else(mismatch)?);
                    let latencies = plan.run(&mut side).await;
                    if let Side::Console(console) = side {
                        *browsers[client].lock().await = Some(console);
                    }
                    latencies
                }
            })
        };
        let raw = |requests: usize| {
            http::phase(args, move |client| {
                let plan = plan(client, requests);
                let mut side = Side::Sql(Sql {
                    pool: baseline.clone(),
                    visible_to: caller.visible_to,
                    check: None,
                });
                async move { plan.run(&mut side).await }
            })
        };
        // As for the API: a warm-up of a tenth, then the rounds, the sides taking turns.
        let requests = args.http_requests.max(1);
        ours(requests.div_ceil(10)).await?;
        raw(requests.div_ceil(10)).await?;
        drain(&browsers).await;
        let (mut o, mut p, mut every, mut first) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.rounds.max(1) {
            o.push(ours(requests).await?);
            let times = drain(&browsers).await;
            first.push(ServerTime::of(
                times.iter().filter(|t| t.0).map(|t| t.1).collect(),
            ));
            every.push(ServerTime::of(times.into_iter().map(|t| t.1).collect()));
            p.push(raw(requests).await?);
        }
        let m = ConsoleMeasurement {
            caller: caller.name,
            visible,
            ours: Latency::median(o),
            baseline: Latency::median(p),
            server: ServerTime::median(every),
            server_first: ServerTime::median(first),
        };
        eprintln!(
            "bench: console GET /runs as {}: client p50 {:.1?} p99 {:.1?} {:.0}/s; server p50 {:.1?} p99 {:.1?}, first page p50 {:.1?} p99 {:.1?}; raw SQL p50 {:.1?} p99 {:.1?} {:.0}/s",
            m.caller, m.ours.p50, m.ours.p99, m.ours.per_second, m.server.p50, m.server.p99,
            m.server_first.p50, m.server_first.p99, m.baseline.p50, m.baseline.p99, m.baseline.per_second
        );
        measurements.push(m);
    }
    Ok(measurements)
}

/// Before timing anything: the console and the baseline show the same runs (the first
/// page, and the one after a sampled run).
async fn same_pages(
    baseline: &PgPool,
    browsers: &Browsers,
    caller: &Caller,
    sample: &Sample,
) -> Result<(), CliError> {
    let mut slot = browsers.first().ok_or_else(mismatch)?.lock().await;
    let mut console = Side::Console(slot.take().ok_or_else(mismatch)?);
    let mut sql = Side::Sql(Sql {
        pool: baseline.clone(),
        visible_to: caller.visible_to,
        check: None,
    });
    let mut checked = Ok(());
    for start in [None, sample.first().copied()] {
        let ours = console.page(start.map(Next::Keyset), true).await;
        let raw = sql.page(start.map(Next::Keyset), true).await?;
        match ours {
            Ok(ours) if ours.ids == raw.ids && !ours.ids.is_empty() => {}
            Ok(ours) => {
                eprintln!(
                    "bench: the console's runs page as {} showed {} runs, the baseline {}; they differ",
                    caller.name,
                    ours.ids.len(),
                    raw.ids.len()
                );
                checked = Err(mismatch());
            }
            Err(e) => checked = Err(e),
        }
        if checked.is_err() {
            break;
        }
    }
    if let Side::Console(console) = console {
        *slot = Some(console);
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&str, &str)]) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        for (name, value) in headers {
            response.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        response
    }

    #[test]
    fn the_older_link_and_the_run_ids_are_read_from_the_page_as_a_browser_reads_them() {
        let id = Uuid::new_v4();
        let body = format!(
            "<a class=\"mono\" href=\"/runs/{id}\">x</a>\
             <a href=\"/runs?status=failed&#38;after=abc\" rel=\"prev\">newer</a>\
             <a href=\"/runs?status=failed&#38;after=def\" rel=\"next\">older</a>"
        );
        assert_eq!(
            older(&body).as_deref(),
            Some("/runs?status=failed&after=def")
        );
        assert_eq!(run_ids(&body).unwrap(), vec![id]);
        assert_eq!(older("<p>no more</p>"), None);
        assert_eq!(
            hidden_field(
                "<input type=\"hidden\" name=\"csrf\" value=\"a-b_c\">",
                "csrf"
            )
            .as_deref(),
            Some("a-b_c")
        );
    }

    #[test]
    fn server_time_and_cookies_are_read_from_the_answer() {
        let response = answer(&[
            ("server-timing", "app;dur=12.500"),
            ("set-cookie", "runproof_sign_in=; Path=/sign-in; Max-Age=0"),
            ("set-cookie", "runproof_session=abc; Path=/; HttpOnly"),
        ]);
        assert_eq!(server_time(&response), Some(Duration::from_micros(12_500)));
        assert_eq!(
            set_cookie(&response, "runproof_session").as_deref(),
            Some("abc")
        );
        assert_eq!(set_cookie(&response, "runproof_sign_in"), None);
        assert_eq!(server_time(&answer(&[])), None);
    }

    #[test]
    fn a_deep_walk_starts_at_the_address_the_pages_older_link_uses() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let path = deep((at, Uuid::nil()));
        assert!(path.starts_with("/runs?after="), "{path}");
        assert!(!path.contains('&'), "{path}");
    }
}
