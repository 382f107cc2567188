//! `runproof bench`: runproof against raw-SQL baselines, side by side, in one run on one
//! scratch database (`<database>_bench`, dropped and created anew).
//!
//! Each measurement reports runproof's rate, the baseline's rate on the same data, and
//! their ratio. Results print as Markdown, ready for `docs/benchmarks.md`.

mod audit;
mod capture;
mod console;
mod cpu;
mod feed;
mod footprint;
pub mod http;
mod lifecycle;
mod reconcile;
mod replay;
mod reviews;
mod scale;
pub mod seed;
mod statements;

use std::time::Duration;

use clap::Args;
use runproof_domain::ReasonCode;
use sqlx::PgPool;

use crate::cli::error::CliError;
use crate::cli::out::Out;
use crate::database::{self, DatabaseTarget};

/// Options of `runproof bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Run lifecycles (queue+start+complete) per round in the lifecycle benchmark.
    #[arg(long, default_value_t = 2_000)]
    pub lifecycles: usize,
    /// Concurrent clients in the lifecycle benchmark.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Events in the log for the replay benchmark.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Rounds per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Stale runs per reconciliation pass.
    #[arg(long, default_value_t = 10_000)]
    pub reconcile_stale: usize,
    /// Rows of `operation_runs` in the small reconciliation table.
    #[arg(long, default_value_t = 100_000)]
    pub reconcile_small: usize,
    /// Rows of `operation_runs` in the large reconciliation table.
    #[arg(long, default_value_t = 1_000_000)]
    pub reconcile_large: usize,
    /// Concurrent compose requests on one environment.
    #[arg(long, default_value_t = 64)]
    pub review_requests: usize,
    /// Compose runs drained per worker count in the throughput measurement.
    #[arg(long, default_value_t = 200)]
    pub review_composes: usize,
    /// Runs each compose worker starts and completes per commit (`runproof worker
    /// --batch`; 1: each run alone, as before batches).
    #[arg(long, default_value_t = crate::reviews::worker::COMPOSE_BATCH as u32,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub review_batch: u32,
    /// The worker counts the compose throughput drains with, each `--rounds` times (every
    /// count's rate is compared with one worker's, round by round).
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub review_workers: Vec<u32>,
    /// Print, for each compose drain, this many of its statements that took the most
    /// server time, from PostgreSQL's `pg_stat_statements` (which the server has to
    /// preload); 0: none.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=50))]
    pub review_statements: u32,
    /// Earlier captures on the environment with few captures (capture benchmark).
    #[arg(long, default_value_t = 10)]
    pub captures_few: usize,
    /// Earlier captures on the environment with many captures (capture benchmark).
    #[arg(long, default_value_t = 1_000)]
    pub captures_many: usize,
    /// Size of each captured document in KiB (capture benchmark).
    #[arg(long, default_value_t = 100)]
    pub capture_document_kib: usize,
    /// Captures measured on each environment (capture benchmark; the median is reported).
    #[arg(long, default_value_t = 50)]
    pub capture_samples: usize,
    /// Runs in `operation_runs` for the HTTP benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    pub http_runs: usize,
    /// Concurrent clients of the HTTP benchmark (each on its own connection).
    #[arg(long, default_value_t = 32)]
    pub http_clients: usize,
    /// Requests each HTTP client makes per measurement (after a warm-up of a tenth).
    #[arg(long, default_value_t = 200)]
    pub http_requests: usize,
    /// Pages an HTTP client follows through `next_cursor` from where it starts.
    #[arg(long, default_value_t = 5)]
    pub http_pages: usize,
    /// Events in the log the NATS relay publishes (feed benchmark).
    #[arg(long, default_value_t = 200_000)]
    pub feed_events: usize,
    /// Publishes awaiting their ack at most, for the relay and the straight publisher.
    #[arg(long, default_value_t = 256)]
    pub feed_window: usize,
    /// Events per second the writer appends while the feed's lag is measured.
    #[arg(long, default_value_t = 500)]
    pub feed_rate: u32,
    /// Seconds the writer appends while the feed's lag is measured.
    #[arg(long, default_value_t = 20)]
    pub feed_seconds: u64,
    /// The NATS server (with JetStream) of the feed benchmark.
    #[arg(long, env = "RUNPROOF_NATS_URL", default_value = crate::cli::relay::DEFAULT_NATS_URL)]
    pub nats_url: String,
    /// Rows of `operation_runs` (and lifecycles in the log) in the small table of the
    /// scale benchmark.
    #[arg(long, default_value_t = 10_000)]
    pub scale_small: usize,
    /// Rows of `operation_runs` (and lifecycles in the log) in the large table of the
    /// scale benchmark (measured with 8, 32 and 64 clients).
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_large: usize,
    /// Compose runs the worker drains in the memory benchmark (and a tenth of them).
    #[arg(long, default_value_t = 10_000)]
    pub memory_composes: usize,
    /// Events replayed in the memory benchmark (and a tenth of them).
    #[arg(long, default_value_t = 1_000_000)]
    pub memory_events: usize,
    /// Run only these benchmarks (comma-separated: lifecycle, replay, audit, reconcile,
    /// reviews, capture, http, feed; and, only when named, scale and memory).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// The connection string the command was given (the memory benchmark starts this
    /// binary on the scratch database).
    #[arg(skip)]
    pub database_url: String,
}

impl BenchArgs {
    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.named(name)
    }

    /// Long benchmarks run only when asked for by name.
    fn named(&self, name: &str) -> bool {
        self.only.iter().any(|o| o == name)
    }
}

/// One side-by-side measurement.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub name: String,
    pub unit: &'static str,
    pub ours: f64,
    pub baseline: f64,
    pub target: f64,
}

impl Comparison {
    pub fn ratio(&self) -> f64 {
        if self.baseline > 0.0 {
            self.ours / self.baseline
        } else {
            0.0
        }
    }
}

/// The median of a few rates.
pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Failure of a benchmark step: an internal error for the operator, details logged.
pub(crate) fn failed(e: impl std::error::Error + 'static) -> CliError {
    CliError::internal(&e)
}

/// The scratch database the bench measures on: `<database>_bench` on the same server.
pub fn scratch_target(target: &DatabaseTarget) -> DatabaseTarget {
    target.with_database(&format!("{}_bench", target.database()))
}

pub async fn run(target: &DatabaseTarget, args: BenchArgs, out: &Out) -> Result<(), CliError> {
    let bench = scratch_target(target);
    let mut table = Vec::new();
    let mut notes = Vec::new();

    // Refused before anything is measured when the server cannot say where time went.
    if args.wants("reviews") && args.review_statements > 0 {
        let pool = fresh_database(&bench).await?;
        statements::require(&pool).await?;
        pool.close().await;
    }
    if args.wants("lifecycle") {
        let pool = fresh_database(&bench).await?;
        let lifecycle = lifecycle::compare(&pool, &args).await?;
        notes.push(format!(
            "Lifecycles against the one-commit baseline (the same rows, raw, all of a lifecycle in \
             one transaction, which no real lifecycle may do): {:.0} lifecycles/s; runproof \
             reaches {:.2} of that.",
            lifecycle.raw_per_lifecycle,
            lifecycle.comparison.ours / lifecycle.raw_per_lifecycle.max(1e-9)
        ));
        if let Some(cpu) = &lifecycle.cpu {
            notes.push(format!(
                "CPU per lifecycle, this process + the PostgreSQL backends serving it (medians \
                 of the rounds): runproof {:.0} + {:.0} µs, raw SQL with one commit per \
                 transition {:.0} + {:.0} µs. Where CPU is what runs out (an idle machine: \
                 both sides are CPU-bound), the throughput ratio tends to {:.2}.",
                cpu.ours.own_us,
                cpu.ours.server_us,
                cpu.per_transition.own_us,
                cpu.per_transition.server_us,
                cpu.per_transition.total_us() / cpu.ours.total_us().max(1e-9)
            ));
        }
        table.push(lifecycle.comparison);
    }
    if args.wants("replay") {
        let pool = fresh_database(&bench).await?;
        table.push(replay::compare(&pool, &args).await?);
    }
    if args.wants("feed") {
        let pool = fresh_database(&bench).await?;
        let lag_pool = fresh_database(&feed::lag_target(&bench)).await?;
        let f = feed::measure(&pool, &bench, &lag_pool, &args).await?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        notes.push(format!(
            "Feed: the relay and the straight publisher each keep at most {} publishes unacknowledged. \
             Under a steady {} events/s for {} s (one event per transaction), from each commit: \
             to the relay's JetStream ack p50 {:.1} ms / p99 {:.1} ms; to an SSE client of \
             `GET /api/v1/events/stream` p50 {:.1} ms / p99 {:.1} ms ({} events).",
            f.window,
            f.rate,
            f.seconds,
            ms(f.to_ack.p50),
            ms(f.to_ack.p99),
            ms(f.to_sse.p50),
            ms(f.to_sse.p99),
            f.to_ack.samples
        ));
        table.push(f.throughput);
    }
    let mut audit_lines = Vec::new();
    if args.wants("audit") {
        let pool = fresh_database(&bench).await?;
        let figures = audit::measure(&pool, &args).await?;
        table.push(figures.comparison);
        audit_lines = figures.lines;
    }
    if !table.is_empty() {
        out.line("| benchmark | runproof | raw-SQL baseline | ratio | target |");
        out.line("|---|---:|---:|---:|---:|");
        for c in &table {
            out.line(format!(
                "| {} | {:.0} {unit} | {:.0} {unit} | {:.2} | ≥ {:.2} |",
                c.name,
                c.ours,
                c.baseline,
                c.ratio(),
                c.target,
                unit = c.unit
            ));
        }
    }
    if !audit_lines.is_empty() {
        out.line("");
        audit_lines.into_iter().for_each(|l| out.line(l));
    }
    if args.wants("reconcile") {
        let pool = fresh_database(&bench).await?;
        let passes = reconcile::compare(&pool, &args).await?;
        out.line("");
        out.line("| reconciliation pass | table rows | stale runs | runs decided/s |");
        out.line("|---|---:|---:|---:|");
        for (label, (rows, rate)) in [("small table", passes.small), ("large table", passes.large)]
        {
            out.line(format!(
                "| {label} | {rows} | {} | {rate:.0} |",
                passes.stale
            ));
        }
        notes.push(format!(
            "Reconciliation: the pass over the large table cost {:.2}× the pass over the small one (target ≤ 1.20).",
            passes.cost_ratio()
        ));
    }
    if args.wants("reviews") {
        let pool = fresh_database(&bench).await?;
        let r = reviews::measure(&pool, &bench, &args).await?;
        out.line("");
        out.line("| review compose | figure |");
        out.line("|---|---:|");
        out.line(format!(
            "| {} concurrent requests on one environment: p50 latency | {:.1} ms |",
            r.requests,
            r.p50.as_secs_f64() * 1000.0
        ));
        out.line(format!(
            "| {} concurrent requests on one environment: p99 latency | {:.1} ms |",
            r.requests,
            r.p99.as_secs_f64() * 1000.0
        ));
        out.line(format!(
            "| runs created by those requests | {} |",
            r.runs_created
        ));
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        for d in r.summaries() {
            let rates: Vec<String> = d.rates.iter().map(|x| format!("{x:.0}")).collect();
            let who = match (d.workers, d.apart) {
                (n, true) => format!(
                    "{n} workers apart (each alone on a database of its own, the reviews split evenly: what {n} workers get from this machine and server)"
                ),
                (n, false) => format!("{n} worker(s)"),
            };
            out.line(format!(
                "| compose throughput, {who}, batches of {} ({} reviews per drain, median of {} rounds: {}) | {:.0} reviews/s |",
                args.review_batch,
                d.composed,
                d.rates.len(),
                rates.join(", "),
                d.rate()
            ));
            let who = match (d.workers, d.apart) {
                (n, true) => format!("{n} workers apart"),
                (n, false) => format!("{n} worker(s)"),
            };
            if let (Some(cpu), Some(busy)) = (d.cpu, d.busy_cores) {
                out.line(format!(
                    "| compose, {who}: CPU per review, runproof + its PostgreSQL backends (cores kept busy) | {:.0} + {:.0} µs ({:.2} of {cores} cores) |",
                    cpu.own_us, cpu.server_us, busy,
                ));
            }
            if let Some(m) = d.machine {
                out.line(format!(
                    "| compose, {who}: the machine's {cores} cores: busy, idle, waiting for I/O, taken by the hypervisor | {:.2}, {:.2}, {:.2}, {:.2} |",
                    m.busy, m.idle, m.iowait, m.steal,
                ));
            }
        }
        let round_by_round = |ratios: &[f64]| {
            let each: Vec<String> = ratios.iter().map(|x| format!("{x:.2}")).collect();
            each.join(", ")
        };
        for d in r.summaries().iter().filter(|d| d.workers > 1) {
            let scaling = r.scaling(d.workers, d.apart);
            if scaling.is_empty() {
                continue;
            }
            let who = if d.apart { " apart" } else { "" };
            out.line(format!(
                "| compose, {} workers{who} ÷ 1, round by round ({}) | {:.2}× (median) |",
                d.workers,
                round_by_round(&scaling),
                median(scaling)
            ));
            if d.apart {
                let kept = r.of_apart(d.workers);
                if !kept.is_empty() {
                    out.line(format!(
                        "| compose, {n} workers on one queue ÷ {n} apart, round by round ({}) | {:.2} (median) |",
                        round_by_round(&kept),
                        median(kept),
                        n = d.workers,
                    ));
                }
            }
        }
        for d in &r.throughput {
            if let Some(s) = &d.statements {
                notes.push(reviews::statements_table(d, s));
            }
        }
    }
    if args.wants("capture") {
        let pool = fresh_database(&bench).await?;
        let c = capture::measure(&pool, &args).await?;
        out.line("");
        out.line("| evidence capture | median latency |");
        out.line("|---|---:|");
        for (captures, latency) in [c.few, c.many] {
            out.line(format!(
                "| one capture of a {} KiB document after {captures} captures ({} samples) | {:.1} ms |",
                c.document_kib,
                c.samples,
                latency.as_secs_f64() * 1000.0
            ));
        }
        notes.push(format!(
            "Capture: after {} captures one capture cost {:.2}× what it cost after {} (target ≤ 1.20).",
            c.many.0,
            c.cost_ratio(),
            c.few.0
        ));
    }
    if args.wants("http") {
        let pool = fresh_database(&bench).await?;
        let h = http::measure(&pool, &bench, &args).await?;
        pool.close().await;
        out.line("");
        out.line(format!(
            "| HTTP API: {} runs, {} clients × {} requests, median of {} rounds | caller sees | runproof p50 / p99 | runproof req/s | raw SQL p50 / p99 | raw SQL req/s | ratio | target |",
            h.runs, h.clients, h.requests, h.rounds
        ));
        out.line("|---|---:|---:|---:|---:|---:|---:|---|");
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for m in &h.measurements {
            let what = match m.kind {
                http::Kind::List => format!(
                    "`GET /api/v1/runs` (newest page or a deep cursor, then up to {} pages), {}",
                    h.pages, m.caller
                ),
                http::Kind::Detail => {
                    format!("`GET /api/v1/runs/{{id}}` (random run), {}", m.caller)
                }
            };
            out.line(format!(
                "| {what} | {} runs | {:.1} / {:.1} ms | {:.0} | {:.1} / {:.1} ms | {:.0} | {:.2} | p99 < {} ms, ratio ≥ {:.2}: {} |",
                m.visible,
                ms(m.ours.p50),
                ms(m.ours.p99),
                m.ours.per_second,
                ms(m.baseline.p50),
                ms(m.baseline.p99),
                m.baseline.per_second,
                m.ratio(),
                m.kind.p99_target().as_millis(),
                http::RATIO_TARGET,
                m.verdict()
            ));
        }
        for c in &h.console {
            out.line(format!(
                "| console `GET /runs` (newest page or a deep `after=` address, then up to {} \"older\" links), {} | {} runs | {:.1} / {:.1} ms | {:.0} | {:.1} / {:.1} ms | {:.0} | {:.2} | first page p99 < {} ms, server time: {} |",
                h.pages,
                c.caller,
                c.visible,
                ms(c.ours.p50),
                ms(c.ours.p99),
                c.ours.per_second,
                ms(c.baseline.p50),
                ms(c.baseline.p99),
                c.baseline.per_second,
                c.ratio(),
                console::FIRST_PAGE_P99_TARGET.as_millis(),
                c.verdict()
            ));
        }
        out.line(format!(
            "| profile: `GET /healthz` (HTTP alone: no token, no database) | – | {:.1} / {:.1} ms | {:.0} | | | | |",
            ms(h.http_alone.p50),
            ms(h.http_alone.p99),
            h.http_alone.per_second
        ));
        out.line("");
        out.line("| profile: raw SQL reading the token's and the actor's streams first (two statements a request) | req/s | runproof ÷ this |");
        out.line("|---|---:|---:|");
        for m in &h.measurements {
            let kind = match m.kind {
                http::Kind::List => "list",
                http::Kind::Detail => "detail",
            };
            out.line(format!(
                "| {kind}, {} | {:.0} | {:.2} |",
                m.caller,
                m.with_token_check.per_second,
                m.ours.per_second / m.with_token_check.per_second.max(1e-9)
            ));
        }
        if !h.console.is_empty() {
            out.line("");
            out.line("| console runs page: server time (`Server-Timing` of the bench's router) | first page (`GET /runs`) p50 / p99 | every page p50 / p99 | pages timed (all rounds) | target |");
            out.line("|---|---:|---:|---:|---|");
            for c in &h.console {
                out.line(format!(
                    "| {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {} | first page p99 < {} ms: {} |",
                    c.caller,
                    ms(c.server_first.p50),
                    ms(c.server_first.p99),
                    ms(c.server.p50),
                    ms(c.server.p99),
                    c.server.pages,
                    console::FIRST_PAGE_P99_TARGET.as_millis(),
                    c.verdict()
                ));
            }
            notes.push(
                "Console: each client signed in through the sign-in form once and sends its session cookie; \
                 the client's latencies include the client (same process, same cores), the server time is \
                 the answer's `Server-Timing`, which only the bench's router adds."
                    .to_string(),
            );
        }
        notes.push(format!(
            "HTTP: the server and the baseline each use a pool of {} connections; every API request carries a bearer token; the list and the detail check it in their own statement (the token's and the actor's stream versions guard the read), the console reads both streams with each page.",
            h.pool
        ));
    }
    if args.named("scale") {
        let points = scale::measure(&bench, &args).await?;
        out.line("");
        out.line("| lifecycles (writes waiting for the projections) | `operation_runs` rows | clients | runproof | raw SQL, one commit per transition |");
        out.line("|---|---:|---:|---:|---:|");
        for p in &points {
            out.line(format!(
                "| {} lifecycles × {} rounds | {} | {} | {:.0} lifecycles/s | {:.0} lifecycles/s |",
                args.lifecycles, args.rounds, p.rows, p.clients, p.ours, p.raw
            ));
        }
    }
    if args.named("memory") {
        let url = footprint::url_of_database(&args.database_url, bench.database());
        let peaks = footprint::measure(&bench, &url, &args).await?;
        out.line("");
        out.line("| peak resident set | processed | peak |");
        out.line("|---|---:|---:|");
        for p in &peaks {
            out.line(format!(
                "| `runproof {}` | {} {} | {:.1} MiB |",
                p.command,
                p.items,
                p.unit,
                p.peak_kib as f64 / 1024.0
            ));
        }
    }
    for note in notes {
        out.line("");
        out.line(note);
    }
    Ok(())
}

/// Drops and creates the scratch database, migrated.
pub async fn fresh_database(bench: &DatabaseTarget) -> Result<PgPool, CliError> {
    eprintln!("bench: database {bench} (recreated)");
    bench
        .drop_if_exists()
        .await
        .map_err(|e| CliError::from_database(&e, bench))?;
    bench
        .create_if_missing()
        .await
        .map_err(|e| CliError::from_database(&e, bench))?;
    let pool = bench
        .connect(24)
        .await
        .map_err(|e| CliError::from_database(&e, bench))?;
    database::migrate(&pool)
        .await
        .map_err(|e| CliError::from_database(&e, bench))?;
    Ok(pool)
}

/// A bench step found the two sides disagreeing: report it rather than a rate.
pub(crate) fn mismatch() -> CliError {
    CliError::environment(
        ReasonCode::ReplayDifferences,
        vec![("count", "the baseline and runproof".into())],
        &std::io::Error::other("benchmark sides produced different tables"),
    )
}
