//! The HTTP API under load: the real server (`http::router` over `api_state`, served by
//! axum on a real TCP port in this process) answers 32 concurrent clients paging
//! `GET /api/v1/runs` and opening `GET /api/v1/runs/{id}` over a table of 1,000,000 runs,
//! each client on its own keep-alive connection with a real bearer token. The baseline
//! runs the same queries straight in SQL, with the same clients, on a plain pool of the
//! server's size.
//!
//! Both sides are measured for an operator (every run) and for a workspace member (the
//! runs of its workspace only: the list is scoped by membership, the detail checks it).
//! Two profiles explain the ratio: `GET /healthz` with the same clients (the HTTP stack
//! alone), and the baseline reading the token's and the actor's streams before each
//! statement, as runproof's token check does (two statements a request).
//!
//! The console's runs page is measured beside the API list ([`super::console`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, request, HeaderValue, Request, Response, StatusCode};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use runproof_domain::actor::ActorKind;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tokio::sync::{oneshot, Barrier};
use uuid::Uuid;

use super::{console, failed, per_second, seed, BenchArgs};
use crate::app::{App, DEFAULT_POOL_SIZE};
use crate::cli::error::CliError;
use crate::cli::serve::api_state;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;
use crate::http::api::cursor;
use crate::http::{self, Limits};

/// Workspaces the runs are spread over; the member belongs to one of them.
const WORKSPACES: usize = 8;
/// Rows a list page holds (the API's default page size).
const PAGE: usize = 50;
/// Runs sampled per caller: the deep cursors lists start from, the ids details open.
const SAMPLE: i64 = 1_000;

/// Targets of the issue: p99 of a list page, p99 of a detail, ratio of requests/s.
pub const LIST_P99_TARGET: Duration = Duration::from_millis(50);
pub const DETAIL_P99_TARGET: Duration = Duration::from_millis(20);
pub const RATIO_TARGET: f64 = 0.5;

/// What a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `GET /api/v1/runs`: the first page or a deep cursor, then `next_cursor` onwards.
    List,
    /// `GET /api/v1/runs/{id}` of a random visible run.
    Detail,
}

impl Kind {
    pub fn p99_target(self) -> Duration {
        match self {
            Kind::List => LIST_P99_TARGET,
            Kind::Detail => DETAIL_P99_TARGET,
        }
    }
}

/// Latencies and throughput of one side of one measurement (the median of its rounds).
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub requests: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub per_second: f64,
}

impl Latency {
    /// Each figure's median over rounds.
    pub(super) fn median(rounds: Vec<Latency>) -> Latency {
        let mid = |mut xs: Vec<Duration>| {
            xs.sort();
            xs.get(xs.len() / 2).copied().unwrap_or_default()
        };
        Latency {
            requests: rounds.iter().map(|r| r.requests).sum(),
            p50: mid(rounds.iter().map(|r| r.p50).collect()),
            p99: mid(rounds.iter().map(|r| r.p99).collect()),
            per_second: super::median(rounds.iter().map(|r| r.per_second).collect()),
        }
    }
}

/// One measurement: a caller asking for one kind of thing, through HTTP and in SQL.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub caller: &'static str,
    /// Runs the caller may see.
    pub visible: i64,
    pub kind: Kind,
    pub ours: Latency,
    pub baseline: Latency,
    /// Profile: the baseline reading the token's and the actor's streams first, with the
    /// statement runproof's token check uses (two statements per request).
    pub with_token_check: Latency,
}

impl Measurement {
    /// runproof's requests/s over the baseline's.
    pub fn ratio(&self) -> f64 {
        self.ours.per_second / self.baseline.per_second.max(1e-9)
    }

    /// Which targets the measurement met.
    pub fn verdict(&self) -> &'static str {
        match (
            self.ours.p99 < self.kind.p99_target(),
            self.ratio() >= RATIO_TARGET,
        ) {
            (true, true) => "both met",
            (true, false) => "latency met, ratio missed",
            (false, true) => "latency missed, ratio met",
            (false, false) => "both missed",
        }
    }
}

/// The figures of the HTTP benchmark.
pub struct HttpFigures {
    pub runs: i64,
    pub clients: usize,
    pub requests: usize,
    pub rounds: usize,
    pub pages: usize,
    pub pool: u32,
    /// `GET /healthz` with the same clients: the HTTP stack alone (profile).
    pub http_alone: Latency,
    pub measurements: Vec<Measurement>,
    /// The console's runs page, per caller.
    pub console: Vec<console::ConsoleMeasurement>,
}

/// A caller of the API: its token, and the actor the baseline scopes by (none for an
/// operator).
pub(super) struct Caller {
    pub(super) name: &'static str,
    pub(super) token: String,
    /// The streams a token check reads: the token's and its actor's ids.
    streams: (Uuid, Uuid),
    pub(super) visible_to: Option<Uuid>,
}

/// Runs of one caller to start from: `(created_at, id)` spread over its whole list.
pub(super) type Sample = Arc<Vec<(DateTime<Utc>, Uuid)>>;

pub async fn measure(
    pool: &PgPool,
    bench: &DatabaseTarget,
    args: &BenchArgs,
) -> Result<HttpFigures, CliError> {
    let (callers, runs) = seed_world(pool, args).await?;

    // The server as `runproof serve` runs it, on a real port.
    let state = api_state(bench, Limits::default()).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(failed)?;
    let address = listener.local_addr().map_err(failed)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        // The bench's router adds `Server-Timing` (the console's server time).
        let router = http::router(state).layer(axum::middleware::from_fn(console::server_timing));
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    // The baseline: a plain pool of the server's size.
    let baseline = bench
        .connect(DEFAULT_POOL_SIZE)
        .await
        .map_err(|e| CliError::from_database(&e, bench))?;

    let alone = http_alone(address, args).await;
    let measured = measure_callers(pool, &baseline, address, &callers, args).await;
    let console = if measured.is_ok() {
        console::measure(pool, &baseline, address, &callers, args).await
    } else {
        Ok(Vec::new())
    };
    let _ = stop.send(());
    server.await.map_err(failed)?.map_err(failed)?;
    baseline.close().await;
    Ok(HttpFigures {
        runs,
        clients: args.http_clients.max(1),
        requests: args.http_requests.max(1),
        rounds: args.rounds.max(1),
        pages: args.http_pages.max(1),
        pool: DEFAULT_POOL_SIZE,
        http_alone: alone?,
        measurements: measured?,
        console: console?,
    })
}

/// `GET /healthz` by the same clients on their own connections: what the HTTP stack
/// costs without a token or the database.
async fn http_alone(address: SocketAddr, args: &BenchArgs) -> Result<Latency, CliError> {
    let requests = args.http_requests.max(1);
    let run = |requests: usize| {
        phase(args, move |client| {
            let plan = Plan {
                ask: Ask::Healthz,
                requests,
                pages: 1,
                sample: Arc::new(Vec::new()),
                seed: client as u64 + 1,
            };
            async move {
                let mut side = Side::Http(Http::connect(address, None).await?);
                plan.run(&mut side).await
            }
        })
    };
    run(requests.div_ceil(10)).await?;
    let mut rounds = Vec::new();
    for _ in 0..args.rounds.max(1) {
        rounds.push(run(requests).await?);
    }
    let alone = Latency::median(rounds);
    eprintln!(
        "bench: http GET /healthz: p50 {:.1?} p99 {:.1?} {:.0}/s",
        alone.p50, alone.p99, alone.per_second
    );
    Ok(alone)
}

async fn measure_callers(
    pool: &PgPool,
    baseline: &PgPool,
    address: SocketAddr,
    callers: &[Caller],
    args: &BenchArgs,
) -> Result<Vec<Measurement>, CliError> {
    let mut measurements = Vec::new();
    for caller in callers {
        let (visible, sample) = sample(pool, caller.visible_to).await?;
        same_pages(baseline, address, caller, &sample).await?;
        for kind in [Kind::List, Kind::Detail] {
            let plan = |client: usize, requests: usize| Plan {
                ask: Ask::Measured(kind),
                requests,
                pages: args.http_pages.max(1),
                sample: sample.clone(),
                seed: client as u64 + 1,
            };
            let ours = |requests: usize| {
                phase(args, move |client| {
                    let (plan, token) = (plan(client, requests), caller.token.clone());
                    async move {
                        let mut side = Side::Http(Http::connect(address, Some(&token)).await?);
                        plan.run(&mut side).await
                    }
                })
            };
            let raw = |requests: usize, check: bool| {
                phase(args, move |client| {
                    let plan = plan(client, requests);
                    let mut side = Side::Sql(Sql {
                        pool: baseline.clone(),
                        visible_to: caller.visible_to,
                        check: check.then_some(caller.streams),
                    });
                    async move { plan.run(&mut side).await }
                })
            };
            // A warm-up of a tenth of the requests on each side, then the rounds, the
            // sides taking turns so that a busy moment of the machine hits all of them.
            let requests = args.http_requests.max(1);
            ours(requests.div_ceil(10)).await?;
            raw(requests.div_ceil(10), false).await?;
            let (mut o, mut p, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..args.rounds.max(1) {
                o.push(ours(requests).await?);
                p.push(raw(requests, false).await?);
                c.push(raw(requests, true).await?);
            }
            let (ours, plain, checked) =
                (Latency::median(o), Latency::median(p), Latency::median(c));
            eprintln!(
                "bench: http {:?} as {}: runproof p50 {:.1?} p99 {:.1?} {:.0}/s; raw SQL p50 {:.1?} p99 {:.1?} {:.0}/s; with the token's streams read first {:.0}/s",
                kind, caller.name, ours.p50, ours.p99, ours.per_second, plain.p50, plain.p99, plain.per_second, checked.per_second
            );
            measurements.push(Measurement {
                caller: caller.name,
                visible,
                kind,
                ours,
                baseline: plain,
                with_token_check: checked,
            });
        }
    }
    Ok(measurements)
}

/// Workspaces, an operator and a member of one workspace (each with a token), and
/// `http_runs` completed runs spread over the workspaces; statistics fresh.
async fn seed_world(pool: &PgPool, args: &BenchArgs) -> Result<(Vec<Caller>, i64), CliError> {
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    let ctx = CommandContext::new(Initiator::system("bench"));
    let service = |e: crate::service_error::ServiceError| CliError::from_service(&e);
    let mut workspaces = Vec::with_capacity(WORKSPACES);
    for k in 0..WORKSPACES {
        let id = app
            .directory
            .create_workspace(Uuid::new_v4(), &format!("Bench {k}"), &ctx)
            .await
            .map_err(service)?;
        workspaces.push(id);
    }
    let operator = app
        .directory
        .create_actor_as(Uuid::new_v4(), "Operator", ActorKind::Member, true, &ctx)
        .await
        .map_err(service)?;
    let member = app
        .directory
        .create_actor(Uuid::new_v4(), "Member", &ctx)
        .await
        .map_err(service)?;
    app.directory
        .add_member(workspaces[0], member, &ctx)
        .await
        .map_err(service)?;
    let mut callers = Vec::new();
    for (name, actor, visible_to) in [
        ("operator", operator, None),
        ("member", member, Some(member)),
    ] {
        let issued = app
            .tokens
            .issue(actor, Some("bench"), None, &ctx)
            .await
            .map_err(service)?;
        callers.push(Caller {
            name,
            token: issued.token,
            streams: (issued.token_id, actor),
            visible_to,
        });
    }
    seed::fill_completed_runs(pool, args.http_runs as i64, &workspaces)
        .await
        .map_err(failed)?;
    for statement in ["VACUUM ANALYZE", "CHECKPOINT"] {
        sqlx::query(statement).execute(pool).await.map_err(failed)?;
    }
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM operation_runs")
        .fetch_one(pool)
        .await
        .map_err(failed)?;
    Ok((callers, runs))
}

/// How many runs `visible_to` may see, and a random sample of them.
pub(super) async fn sample(
    pool: &PgPool,
    visible_to: Option<Uuid>,
) -> Result<(i64, Sample), CliError> {
    let actor = visible_to.map(|a| a.to_string());
    let visible: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM operation_runs \
         WHERE ($1::text IS NULL OR workspace_id IN (SELECT id FROM workspaces WHERE member_ids ? $1))",
    )
    .bind(&actor)
    .fetch_one(pool)
    .await
    .map_err(failed)?;
    let rows: Vec<(DateTime<Utc>, Uuid)> = sqlx::query_as(
        "SELECT created_at, id FROM operation_runs \
         WHERE ($1::text IS NULL OR workspace_id IN (SELECT id FROM workspaces WHERE member_ids ? $1)) \
         ORDER BY random() LIMIT $2",
    )
    .bind(&actor)
    .bind(SAMPLE)
    .fetch_all(pool)
    .await
    .map_err(failed)?;
    if rows.is_empty() {
        eprintln!("bench: the caller sees no runs");
        return Err(super::mismatch());
    }
    Ok((visible, Arc::new(rows)))
}

/// Before timing anything: the API and the baseline answer the same pages (the first
/// one, and the one after a sampled run).
async fn same_pages(
    baseline: &PgPool,
    address: SocketAddr,
    caller: &Caller,
    sample: &Sample,
) -> Result<(), CliError> {
    let mut http = Side::Http(Http::connect(address, Some(&caller.token)).await?);
    let mut sql = Side::Sql(Sql {
        pool: baseline.clone(),
        visible_to: caller.visible_to,
        check: None,
    });
    for start in [None, sample.first().copied()] {
        let ours = http.page(start.map(Next::Keyset), true).await?;
        let raw = sql.page(start.map(Next::Keyset), true).await?;
        if ours.ids != raw.ids || ours.ids.is_empty() {
            eprintln!(
                "bench: GET /api/v1/runs as {} answered {} runs, the baseline {}; they differ",
                caller.name,
                ours.ids.len(),
                raw.ids.len()
            );
            return Err(super::mismatch());
        }
    }
    Ok(())
}

/// Runs one plan per client, all released at once, and gathers their latencies.
pub(super) async fn phase<F, Fut>(args: &BenchArgs, plan: F) -> Result<Latency, CliError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Duration>, CliError>> + Send + 'static,
{
    let clients = args.http_clients.max(1);
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let (barrier, run) = (barrier.clone(), plan(client));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            run.await
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(failed)??);
    }
    let elapsed = started.elapsed();
    let requests = latencies.len();
    let (p50, p99) = percentiles(latencies);
    Ok(Latency {
        requests,
        p50,
        p99,
        per_second: per_second(requests, elapsed),
    })
}

/// The median and the 99th percentile of some latencies.
pub(super) fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    (at(0.5), at(0.99))
}

/// What a plan's requests are.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ask {
    Measured(Kind),
    /// `GET /healthz`: the HTTP stack alone, no token, no database.
    Healthz,
}

/// What one client does: `requests` requests, chosen by a seeded generator so both
/// sides ask for exactly the same things.
pub(super) struct Plan {
    pub(super) ask: Ask,
    pub(super) requests: usize,
    pub(super) pages: usize,
    pub(super) sample: Sample,
    pub(super) seed: u64,
}

impl Plan {
    pub(super) async fn run(self, side: &mut Side) -> Result<Vec<Duration>, CliError> {
        let mut random = SplitMix(self.seed);
        let mut latencies = Vec::with_capacity(self.requests);
        while latencies.len() < self.requests {
            match self.ask {
                Ask::Healthz => {
                    let started = Instant::now();
                    side.healthz().await?;
                    latencies.push(started.elapsed());
                }
                Ask::Measured(Kind::Detail) => {
                    let (_, id) = self.sample[random.below(self.sample.len())];
                    let started = Instant::now();
                    side.detail(id).await?;
                    latencies.push(started.elapsed());
                }
                Ask::Measured(Kind::List) => {
                    // Half the walks start at the newest page, half deep in the list.
                    let mut next = (random.below(2) == 1)
                        .then(|| Next::Keyset(self.sample[random.below(self.sample.len())]));
                    for _ in 0..self.pages {
                        if latencies.len() == self.requests {
                            break;
                        }
                        let started = Instant::now();
                        let page = side.page(next.take(), false).await?;
                        latencies.push(started.elapsed());
                        match page.next {
                            Some(n) => next = Some(n),
                            None => break,
                        }
                    }
                }
            }
        }
        Ok(latencies)
    }
}

/// Where the next page starts: a run's `(created_at, id)`, or the API's opaque cursor
/// (for the console: the address of the page's "older" link).
pub(super) enum Next {
    Keyset((DateTime<Utc>, Uuid)),
    Cursor(String),
}

pub(super) struct Page {
    pub(super) ids: Vec<Uuid>,
    pub(super) next: Option<Next>,
}

/// Who answers: the API over HTTP, the baseline's SQL, or the console's runs page.
pub(super) enum Side {
    Http(Http),
    Sql(Sql),
    Console(console::Console),
}

/// The baseline: plain statements on a pool, scoped to an actor if any; with `check`,
/// each request first reads the token's and the actor's streams (ids), as runproof's
/// token check does.
pub(super) struct Sql {
    pub(super) pool: PgPool,
    pub(super) visible_to: Option<Uuid>,
    pub(super) check: Option<(Uuid, Uuid)>,
}

impl Sql {
    async fn check(&self) -> Result<(), CliError> {
        let Some((token, actor)) = self.check else {
            return Ok(());
        };
        let events = sqlx::query(
            "SELECT transaction_id::text::bigint AS transaction_id, position, aggregate_type, \
                    aggregate_id, sequence, event_type, event_version, payload::text AS payload, \
                    metadata::text AS metadata \
             FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS s(t, i, n) \
             JOIN events ON aggregate_type = s.t AND aggregate_id = s.i ORDER BY s.n, sequence",
        )
        .bind(["api_token", "actor"])
        .bind([token.to_string(), actor.to_string()])
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        if events.is_empty() {
            return Err(super::mismatch());
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ListDocument {
    runs: Vec<ListedRun>,
    next_cursor: Option<String>,
}

/// What a pager reads of a page: where the next one starts (the runs are skipped, not
/// decoded, as the baseline's client does not decode its rows either).
#[derive(Deserialize)]
struct NextOnly {
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct ListedRun {
    id: Uuid,
}

impl Side {
    /// One page; its run ids only when `with_ids` (to compare the sides before timing).
    pub(super) async fn page(
        &mut self,
        after: Option<Next>,
        with_ids: bool,
    ) -> Result<Page, CliError> {
        match self {
            Side::Console(console) => console.page(after, with_ids).await,
            Side::Http(http) => {
                let path = match after {
                    None => "/api/v1/runs".to_string(),
                    Some(Next::Cursor(c)) => format!("/api/v1/runs?cursor={c}"),
                    Some(Next::Keyset((at, id))) => {
                        format!("/api/v1/runs?cursor={}", cursor::encode(at, id))
                    }
                };
                let body = http.get(&path).await?;
                if !with_ids {
                    let next: NextOnly = serde_json::from_slice(&body).map_err(failed)?;
                    return Ok(Page {
                        ids: Vec::new(),
                        next: next.next_cursor.map(Next::Cursor),
                    });
                }
                let document: ListDocument = serde_json::from_slice(&body).map_err(failed)?;
                Ok(Page {
                    ids: document.runs.iter().map(|r| r.id).collect(),
                    next: document.next_cursor.map(Next::Cursor),
                })
            }
            Side::Sql(sql) => {
                sql.check().await?;
                let (pool, visible_to) = (&sql.pool, &sql.visible_to);
                let keyset = match after {
                    None => None,
                    Some(Next::Keyset(k)) => Some(k),
                    Some(Next::Cursor(_)) => return Err(super::mismatch()),
                };
                let rows = list_sql(pool, keyset, *visible_to).await.map_err(failed)?;
                let mut ids = Vec::new();
                for row in rows.iter().filter(|_| with_ids) {
                    ids.push(row.try_get::<Uuid, _>("id").map_err(failed)?);
                }
                let next = match rows.last() {
                    Some(last) if rows.len() == PAGE => Some(Next::Keyset((
                        last.try_get("created_at").map_err(failed)?,
                        last.try_get("id").map_err(failed)?,
                    ))),
                    _ => None,
                };
                Ok(Page { ids, next })
            }
        }
    }

    async fn healthz(&mut self) -> Result<(), CliError> {
        match self {
            Side::Http(http) => http.get("/healthz").await.map(drop),
            Side::Sql(..) | Side::Console(..) => Err(super::mismatch()),
        }
    }

    async fn detail(&mut self, id: Uuid) -> Result<(), CliError> {
        match self {
            Side::Console(..) => return Err(super::mismatch()),
            Side::Http(http) => {
                http.get(&format!("/api/v1/runs/{id}")).await?;
            }
            Side::Sql(sql) => {
                sql.check().await?;
                let pool = &sql.pool;
                let actor = sql.visible_to.map(|a| a.to_string());
                let row = match &actor {
                    None => {
                        sqlx::query("SELECT * FROM operation_runs WHERE id = $1")
                            .bind(id)
                            .fetch_optional(pool)
                            .await
                    }
                    Some(actor) => {
                        sqlx::query(
                            "SELECT * FROM operation_runs WHERE id = $1 \
                             AND workspace_id IN (SELECT id FROM workspaces WHERE member_ids ? $2)",
                        )
                        .bind(id)
                        .bind(actor)
                        .fetch_optional(pool)
                        .await
                    }
                }
                .map_err(failed)?;
                if row.is_none() {
                    return Err(super::mismatch());
                }
            }
        }
        Ok(())
    }
}

/// The baseline's page: the keyset `SELECT` a person would write by hand, one statement
/// per shape (first page or after a run; everyone or a member's workspaces).
async fn list_sql(
    pool: &PgPool,
    after: Option<(DateTime<Utc>, Uuid)>,
    visible_to: Option<Uuid>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    const SELECT: &str = "SELECT * FROM operation_runs";
    const AFTER: &str = "created_at <= $1 AND (created_at < $1 OR id > $2)";
    const MEMBER: &str = "workspace_id IN (SELECT id FROM workspaces WHERE member_ids ? ";
    let order = format!("ORDER BY created_at DESC, id LIMIT {PAGE}");
    let actor = visible_to.map(|a| a.to_string());
    match (after, actor) {
        (None, None) => {
            sqlx::query(&format!("{SELECT} {order}"))
                .fetch_all(pool)
                .await
        }
        (Some((at, id)), None) => {
            sqlx::query(&format!("{SELECT} WHERE {AFTER} {order}"))
                .bind(at)
                .bind(id)
                .fetch_all(pool)
                .await
        }
        (None, Some(actor)) => {
            sqlx::query(&format!("{SELECT} WHERE {MEMBER}$1) {order}"))
                .bind(actor)
                .fetch_all(pool)
                .await
        }
        (Some((at, id)), Some(actor)) => {
            sqlx::query(&format!("{SELECT} WHERE {AFTER} AND {MEMBER}$3) {order}"))
                .bind(at)
                .bind(id)
                .bind(actor)
                .fetch_all(pool)
                .await
        }
    }
}

/// One keep-alive HTTP/1.1 connection of a client, with its bearer token.
pub(super) struct Http {
    sender: SendRequest<Full<Bytes>>,
    authorization: Option<HeaderValue>,
    host: HeaderValue,
}

impl Http {
    pub(super) async fn connect(
        address: SocketAddr,
        token: Option<&str>,
    ) -> Result<Http, CliError> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(failed)?;
        stream.set_nodelay(true).map_err(failed)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(failed)?;
        tokio::spawn(connection);
        Ok(Http {
            sender,
            authorization: token
                .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
                .transpose()
                .map_err(failed)?,
            host: HeaderValue::from_str(&address.to_string()).map_err(failed)?,
        })
    }

    /// The body of a `200 OK` answer to `GET path`; any other answer fails the bench.
    async fn get(&mut self, path: &str) -> Result<Bytes, CliError> {
        let response = self.send(Request::get(path), Bytes::new()).await?;
        if response.status() != StatusCode::OK {
            eprintln!("bench: GET {path} answered {}", response.status());
            return Err(super::mismatch());
        }
        Ok(response.into_body())
    }

    /// The whole answer to `request` with `body`, sent with this connection's host and
    /// bearer token (if any).
    pub(super) async fn send(
        &mut self,
        request: request::Builder,
        body: Bytes,
    ) -> Result<Response<Bytes>, CliError> {
        self.sender.ready().await.map_err(failed)?;
        let mut request = request.header(header::HOST, self.host.clone());
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let request = request.body(Full::new(body)).map_err(failed)?;
        let response = self.sender.send_request(request).await.map_err(failed)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(failed)?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

/// A small seeded generator (SplitMix64): the same seed gives both sides the same
/// requests.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
