//! Review compose under load: 64 concurrent "create or refresh" requests on one
//! environment (latency, and exactly one run), and compose throughput with 1 and 2
//! workers (`--review-workers`: any counts).

use std::sync::Arc;
use std::time::{Duration, Instant};

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::ReasonCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::Barrier;
use uuid::Uuid;

use super::cpu::{CpuPerItem, CpuTimes, MachineCores, MachineTimes};
use super::statements::{self, Statements};
use super::{failed, per_second, BenchArgs};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;
use crate::reviews::Feedback;

/// The figures of the review benchmark.
pub struct ReviewFigures {
    pub requests: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub runs_created: i64,
    pub throughput: Vec<Drain>,
}

/// One drain of the queue by `workers` workers.
pub struct Drain {
    /// The round it belongs to (each round drains with one worker and with two).
    pub round: usize,
    pub workers: usize,
    /// The workers drained apart: each alone on a database of its own (the same
    /// reviews, split evenly), sharing nothing but the server and the machine.
    pub apart: bool,
    pub composed: usize,
    /// Reviews per second.
    pub rate: f64,
    /// CPU per review, where `/proc` tells it.
    pub cpu: Option<CpuPerItem>,
    /// CPU seconds (this process and its backends) per second of the drain: how many of
    /// the machine's cores the drain kept busy.
    pub busy_cores: Option<f64>,
    /// What the whole machine's cores did meanwhile, where `/proc/stat` tells it.
    pub machine: Option<MachineCores>,
    /// Where the server's time went, with `--review-statements`.
    pub statements: Option<Statements>,
}

/// The drains with one worker count (on one queue, or apart), over the rounds.
pub struct DrainSummary {
    pub workers: usize,
    pub apart: bool,
    /// Reviews per drain.
    pub composed: usize,
    /// Reviews per second, round by round.
    pub rates: Vec<f64>,
    /// Medians over the rounds (where `/proc` tells them).
    pub cpu: Option<CpuPerItem>,
    pub busy_cores: Option<f64>,
    pub machine: Option<MachineCores>,
}

impl DrainSummary {
    /// The median of the rounds' rates.
    pub fn rate(&self) -> f64 {
        super::median(self.rates.clone())
    }
}

impl ReviewFigures {
    /// The drains summed up over the rounds, one per worker count and layout, fewest
    /// workers first, on one queue before apart.
    pub fn summaries(&self) -> Vec<DrainSummary> {
        let mut layouts: Vec<(usize, bool)> = self
            .throughput
            .iter()
            .map(|d| (d.workers, d.apart))
            .collect();
        layouts.sort_unstable();
        layouts.dedup();
        layouts
            .into_iter()
            .map(|(workers, apart)| {
                let drains: Vec<&Drain> = self
                    .throughput
                    .iter()
                    .filter(|d| d.workers == workers && d.apart == apart)
                    .collect();
                let cpu: Option<Vec<CpuPerItem>> = drains.iter().map(|d| d.cpu).collect();
                let busy: Option<Vec<f64>> = drains.iter().map(|d| d.busy_cores).collect();
                let machine: Option<Vec<MachineCores>> = drains.iter().map(|d| d.machine).collect();
                DrainSummary {
                    workers,
                    apart,
                    composed: drains.first().map_or(0, |d| d.composed),
                    rates: drains.iter().map(|d| d.rate).collect(),
                    cpu: cpu.map(|c| CpuPerItem::median(&c)),
                    busy_cores: busy.map(super::median),
                    machine: machine.map(|m| MachineCores::median(&m)),
                }
            })
            .collect()
    }

    /// `workers` workers' rate (on one queue, or apart) over one worker's, round by round
    /// (rounds with both only).
    pub fn scaling(&self, workers: usize, apart: bool) -> Vec<f64> {
        ratios(&self.throughput, (workers, apart), (1, false))
    }

    /// `workers` workers' rate on one queue over theirs apart, round by round: how much
    /// of what the machine gives that many workers runproof's shared queue keeps.
    pub fn of_apart(&self, workers: usize) -> Vec<f64> {
        ratios(&self.throughput, (workers, false), (workers, true))
    }
}

/// The rate of the drains laid out as `over` (workers, apart) divided by that of those
/// laid out as `under`, round by round (rounds with both only).
fn ratios(drains: &[Drain], over: (usize, bool), under: (usize, bool)) -> Vec<f64> {
    let rate = |round: usize, (workers, apart): (usize, bool)| {
        drains
            .iter()
            .find(|d| d.round == round && d.workers == workers && d.apart == apart)
            .map(|d| d.rate)
    };
    let mut rounds: Vec<usize> = drains.iter().map(|d| d.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    rounds
        .into_iter()
        .filter_map(|r| Some(rate(r, over)? / rate(r, under)?))
        .collect()
}

fn document(seed: usize) -> Value {
    let items: Vec<Value> = (0..40)
        .map(|i| {
            let severity = ["critical", "high", "medium", "low", "info"][(i + seed) % 5];
            let category = ["identity", "network", "backup", "devices"][(i * 7 + seed) % 4];
            json!({ "severity": severity, "category": category, "title": format!("finding {i}") })
        })
        .collect();
    json!({ "findings": items, "seed": seed })
}

fn failed_service(e: crate::service_error::ServiceError) -> CliError {
    CliError::from_service(&e)
}

pub async fn measure(
    pool: &PgPool,
    bench: &DatabaseTarget,
    args: &BenchArgs,
) -> Result<ReviewFigures, CliError> {
    let top_statements = args.review_statements as usize;
    if top_statements > 0 {
        statements::prepare(pool).await?;
    }
    let ctx = CommandContext::new(Initiator::system("bench"));
    let site = ComposeSite::prepare(pool.clone(), &ctx).await?;
    let (app, workspace, actor) = (&site.app, site.workspace, site.actor);

    // A warm-up burst on another environment first: a serving process's pool holds open
    // connections with their statements prepared, and so does this one when the burst
    // that is measured comes.
    let warm = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "warm-up", &ctx)
        .await
        .map_err(failed_service)?;
    app.directory
        .capture_evidence(warm, document(usize::MAX / 2), &ctx)
        .await
        .map_err(failed_service)?;
    burst(app, args.review_requests, actor, workspace, warm, &ctx).await?;

    // 64 concurrent requests on one environment.
    let env = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "hot", &ctx)
        .await
        .map_err(failed_service)?;
    app.directory
        .capture_evidence(env, document(0), &ctx)
        .await
        .map_err(failed_service)?;
    let mut latencies = burst(app, args.review_requests, actor, workspace, env, &ctx).await?;
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let runs_created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM operation_runs WHERE managed_environment_id = $1")
            .bind(env)
            .fetch_one(pool)
            .await
            .map_err(failed)?;
    eprintln!(
        "bench: {} concurrent requests: p50 {:?}, p99 {:?}, {runs_created} run(s)",
        args.review_requests,
        at(0.5),
        at(0.99)
    );
    app.worker().run_until_idle().await.map_err(failed)?;

    // Compose throughput: queue one compose per environment, then drain with N workers
    // on one queue, and (N > 1) with N workers apart — each alone on a database of its
    // own, sharing nothing but the server and the machine: the most N workers of this
    // kind can give here. `rounds` times each, the fewest workers first in even rounds
    // and the most first in odd ones, so what drifts over a run (a shared machine's
    // load, the tables' growth) weighs on both sides of a round's ratios alike.
    let mut counts: Vec<usize> = args.review_workers.iter().map(|&n| n as usize).collect();
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    let most = counts.last().copied().unwrap_or(1);
    let mut apart = Vec::new();
    for k in 2..=most {
        let target = apart_target(bench, k);
        let pool = super::fresh_database(&target).await?;
        apart.push((target, ComposeSite::prepare(pool, &ctx).await?));
    }
    let mut layouts = Vec::new();
    for &workers in &counts {
        layouts.push((workers, false));
        if workers > 1 {
            layouts.push((workers, true));
        }
    }
    let drains = async {
        let mut throughput = Vec::new();
        for round in 0..args.rounds.max(1) {
            let mut order = layouts.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            for (workers, separate) in order {
                let sites: Vec<&ComposeSite> = if separate {
                    std::iter::once(&site)
                        .chain(apart.iter().map(|(_, s)| s).take(workers - 1))
                        .collect()
                } else {
                    vec![&site]
                };
                let shape = Shape {
                    composes: args.review_composes,
                    batch: args.review_batch as usize,
                    round,
                    workers,
                    top_statements: if separate { 0 } else { top_statements },
                };
                throughput.push(queue_and_drain(&sites, shape, &ctx).await?);
            }
        }
        Ok::<_, CliError>(throughput)
    }
    .await;
    // The databases apart go whether the drains succeeded or not.
    for (target, site) in apart {
        site.pool.close().await;
        target
            .drop_if_exists()
            .await
            .map_err(|e| CliError::from_database(&e, &target))?;
    }
    let throughput = drains?;
    Ok(ReviewFigures {
        requests: args.review_requests,
        p50: at(0.5),
        p99: at(0.99),
        runs_created,
        throughput,
    })
}

/// The scratch database of the `k`-th worker apart: `<bench database>_apart<k>`, the
/// bench database's name shortened where PostgreSQL would cut the whole at 63 bytes
/// (and so give every `k` the same database).
fn apart_target(bench: &DatabaseTarget, k: usize) -> DatabaseTarget {
    let suffix = format!("_apart{k}");
    let mut base = bench.database();
    while base.len() + suffix.len() > MAX_IDENTIFIER_BYTES {
        let mut cut = base.len() - 1;
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base = &base[..cut];
    }
    bench.with_database(&format!("{base}{suffix}"))
}

/// PostgreSQL's longest identifier (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Where throughput drains queue their compose runs: one database, one workspace in
/// it and the workspace's member.
struct ComposeSite {
    app: App,
    pool: PgPool,
    /// The database's name, which its backends' process titles carry (CPU figures).
    database: String,
    workspace: Uuid,
    actor: Uuid,
}

impl ComposeSite {
    async fn prepare(pool: PgPool, ctx: &CommandContext) -> Result<ComposeSite, CliError> {
        let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
        let workspace = app
            .directory
            .create_workspace(Uuid::new_v4(), "Bench", ctx)
            .await
            .map_err(failed_service)?;
        let actor = app
            .directory
            .create_actor(Uuid::new_v4(), "Bench", ctx)
            .await
            .map_err(failed_service)?;
        app.directory
            .add_member(workspace, actor, ctx)
            .await
            .map_err(failed_service)?;
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&pool)
            .await
            .map_err(failed)?;
        Ok(ComposeSite {
            app,
            pool,
            database,
            workspace,
            actor,
        })
    }

    /// Queues `composes` compose runs, one per new environment, and vacuums.
    async fn queue(
        &self,
        composes: usize,
        label: &str,
        ctx: &CommandContext,
    ) -> Result<(), CliError> {
        let ComposeSite {
            app,
            workspace,
            actor,
            ..
        } = self;
        for k in 0..composes {
            let env = app
                .directory
                .create_environment(*workspace, Uuid::new_v4(), &format!("env {label}-{k}"), ctx)
                .await
                .map_err(failed_service)?;
            app.directory
                .capture_evidence(env, document(k + 1), ctx)
                .await
                .map_err(failed_service)?;
            app.reviews
                .create_or_refresh(*actor, *workspace, env, ctx)
                .await
                .map_err(failed_service)?;
        }
        // Every drain starts from a vacuumed database: the drains before this one left
        // dead row versions (of the projections' updates, and of the queue's index),
        // and how many of them autovacuum has removed by now — if it runs at all — would
        // otherwise decide the figure more than the worker does.
        sqlx::query("VACUUM (ANALYZE)")
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }
}

/// What one drain measures.
#[derive(Clone, Copy)]
struct Shape {
    /// Compose runs queued for the drain, over all its sites.
    composes: usize,
    batch: usize,
    round: usize,
    workers: usize,
    top_statements: usize,
}

/// The runs each of `sites` sites gets of `composes`: as even as they divide.
fn shares(composes: usize, sites: usize) -> Vec<usize> {
    let sites = sites.max(1);
    (0..sites)
        .map(|i| composes / sites + usize::from(i < composes % sites))
        .collect()
}

/// Queues `shape.composes` compose runs over `sites` and drains them with
/// `shape.workers` workers: all on the one site's queue, or (several sites) one worker
/// alone on each site.
async fn queue_and_drain(
    sites: &[&ComposeSite],
    shape: Shape,
    ctx: &CommandContext,
) -> Result<Drain, CliError> {
    let Shape {
        composes,
        batch,
        round,
        workers,
        top_statements,
    } = shape;
    let apart = sites.len() > 1;
    for (i, (site, share)) in sites.iter().zip(shares(composes, sites.len())).enumerate() {
        let label = format!("{round}-{workers}{}-{i}", if apart { "apart" } else { "" });
        site.queue(share, &label, ctx).await?;
    }
    let main = sites.first().map(|s| &s.pool).ok_or_else(super::mismatch)?;
    if top_statements > 0 {
        statements::reset(main).await?;
    }
    let databases: Vec<&str> = sites.iter().map(|s| s.database.as_str()).collect();
    let cpu_before = CpuTimes::now_for(&databases);
    let machine_before = MachineTimes::now();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..workers {
        let site = sites[k % sites.len()];
        let worker = App::from_pool(site.pool.clone(), Arc::new(SystemClock))
            .worker()
            .with_batch(batch);
        tasks.push(tokio::spawn(async move {
            let done = worker.run_until_idle().await;
            (done, worker.claims_lost(), worker.runs_left_to_others())
        }));
    }
    let (mut composed, mut claims_lost, mut left) = (0, 0, 0);
    for t in tasks {
        let (done, lost, left_to_others) = t.await.map_err(failed)?;
        composed += done.map_err(failed)?.len();
        claims_lost += lost;
        left += left_to_others;
    }
    let elapsed = started.elapsed();
    drain_complete(composed, composes)?;
    let rate = per_second(composed, elapsed);
    let cpu = cpu_before
        .zip(CpuTimes::now_for(&databases))
        .map(|(before, after)| before.per_item(after, composed));
    let busy_cores = cpu.map(|c| c.total_us() * composed as f64 / 1e6 / elapsed.as_secs_f64());
    let machine = machine_before
        .zip(MachineTimes::now())
        .map(|(before, after)| before.cores_until(after, elapsed.as_secs_f64()));
    // Read after the CPU figures, so that reading them is not counted in the drain.
    let statements = match top_statements {
        0 => None,
        top => Some(statements::read(main, top).await?),
    };
    let how = if apart { " apart" } else { "" };
    eprintln!(
        "bench: round {round}, {workers} worker(s){how}: {composed} reviews in {elapsed:?} ({rate:.0}/s; claims lost {claims_lost}, runs left to another worker {left}; CPU per review {cpu:?}, cores busy {busy_cores:?}, machine {machine:?})",
    );
    Ok(Drain {
        round,
        workers,
        apart,
        composed,
        rate,
        cpu,
        busy_cores,
        machine,
        statements,
    })
}

/// A drain's statements as a Markdown table: per review, what each took of the server's
/// time executing statements.
pub fn statements_table(d: &Drain, s: &Statements) -> String {
    let per_review = |x: f64| x / d.composed.max(1) as f64;
    let mut lines = vec![
        format!(
            "Compose statements, round {}, {} worker(s), {} reviews: {:.0} µs of statement time and {:.2} statements per review",
            d.round + 1,
            d.workers,
            d.composed,
            per_review(s.total_ms * 1000.0),
            per_review(s.calls as f64),
        ),
        String::new(),
        "| statement | calls per review | µs per review | share | rows per call |".into(),
        "|---|---:|---:|---:|---:|".into(),
    ];
    for t in &s.top {
        let mut query = t.query.replace('|', "\\|");
        if query.chars().count() > 160 {
            query = query.chars().take(157).collect::<String>() + "…";
        }
        lines.push(format!(
            "| `{query}` | {:.2} | {:.1} | {:.1} % | {:.1} |",
            per_review(t.calls as f64),
            per_review(t.total_ms * 1000.0),
            100.0 * t.total_ms / s.total_ms.max(f64::MIN_POSITIVE),
            t.rows as f64 / t.calls.max(1) as f64,
        ));
    }
    lines.join("\n")
}

/// `requests` concurrent "create or refresh" requests on one environment, released
/// together; their latencies.
async fn burst(
    app: &App,
    requests: usize,
    actor: Uuid,
    workspace: Uuid,
    env: Uuid,
    ctx: &CommandContext,
) -> Result<Vec<Duration>, CliError> {
    let barrier = Arc::new(Barrier::new(requests));
    let mut calls = Vec::new();
    for _ in 0..requests {
        let (app, barrier, ctx) = (app.clone(), barrier.clone(), ctx.clone());
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            let started = Instant::now();
            let feedback = app
                .reviews
                .create_or_refresh(actor, workspace, env, &ctx)
                .await;
            (started.elapsed(), feedback)
        }));
    }
    let mut latencies = Vec::new();
    for c in calls {
        let (elapsed, feedback) = c.await.map_err(failed)?;
        match feedback.map_err(failed_service)? {
            Feedback::Queued { .. } | Feedback::AlreadyRunning { .. } => latencies.push(elapsed),
            Feedback::AlreadyAvailable { .. } => return Err(super::mismatch()),
        }
    }
    Ok(latencies)
}

/// Refuses a drain that executed fewer (or more) runs than it queued: its rate would
/// not be a figure.
fn drain_complete(executed: usize, queued: usize) -> Result<(), CliError> {
    if executed == queued {
        return Ok(());
    }
    Err(CliError::environment_state(
        ReasonCode::BenchDrainIncomplete,
        vec![
            ("executed", executed.to_string()),
            ("queued", queued.to_string()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_that_executed_fewer_runs_than_it_queued_is_refused_naming_both_counts() {
        assert!(drain_complete(4000, 4000).is_ok());
        let refused = drain_complete(0, 4000).unwrap_err();
        let en = refused.message(runproof_domain::Lang::En);
        assert!(en.contains("executed 0 of the 4000 runs"), "{en}");
        assert!(en.ends_with("[bench.drain_incomplete]"), "{en}");
        let de = refused.message(runproof_domain::Lang::De);
        assert!(de.contains("0 der 4000"), "{de}");
    }

    fn drain(round: usize, workers: usize, rate: f64) -> Drain {
        Drain {
            round,
            workers,
            apart: false,
            composed: 100,
            rate,
            cpu: None,
            busy_cores: None,
            machine: None,
            statements: None,
        }
    }

    #[test]
    fn a_drains_statements_are_shown_per_review_with_their_share() {
        let s = Statements {
            total_ms: 400.0,
            calls: 250,
            top: vec![super::statements::StatementTime {
                calls: 50,
                total_ms: 100.0,
                rows: 400,
                query: "SELECT a | b FROM t".into(),
            }],
        };
        let table = statements_table(&drain(0, 2, 1.0), &s);
        assert!(
            table.starts_with("Compose statements, round 1, 2 worker(s), 100 reviews: 4000 µs of statement time and 2.50 statements per review"),
            "{table}"
        );
        assert!(
            table.ends_with("| `SELECT a \\| b FROM t` | 0.50 | 1000.0 | 25.0 % | 8.0 |"),
            "{table}"
        );
    }

    #[test]
    fn scaling_pairs_the_two_drains_of_each_round() {
        // Two workers first in the odd round, as measured; a round without its pair
        // gives no ratio.
        let drains = [
            drain(0, 1, 200.0),
            drain(0, 2, 330.0),
            drain(1, 2, 300.0),
            drain(1, 1, 150.0),
            drain(2, 1, 100.0),
        ];
        assert_eq!(ratios(&drains, (2, false), (1, false)), vec![1.65, 2.0]);
        assert_eq!(ratios(&drains, (4, false), (1, false)), Vec::<f64>::new());
    }

    #[test]
    fn workers_apart_are_paired_with_one_worker_and_with_the_same_count_on_one_queue() {
        let apart = |round, rate| Drain {
            apart: true,
            ..drain(round, 2, rate)
        };
        let figures = ReviewFigures {
            requests: 0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            runs_created: 0,
            throughput: vec![
                drain(0, 1, 100.0),
                drain(0, 2, 120.0),
                apart(0, 150.0),
                apart(1, 180.0),
                drain(1, 2, 135.0),
                drain(1, 1, 100.0),
            ],
        };
        assert_eq!(figures.scaling(2, false), vec![1.2, 1.35]);
        assert_eq!(figures.scaling(2, true), vec![1.5, 1.8]);
        assert_eq!(figures.of_apart(2), vec![0.8, 0.75]);
        let layouts: Vec<(usize, bool, Vec<f64>)> = figures
            .summaries()
            .into_iter()
            .map(|d| (d.workers, d.apart, d.rates))
            .collect();
        assert_eq!(
            layouts,
            vec![
                (1, false, vec![100.0, 100.0]),
                (2, false, vec![120.0, 135.0]),
                (2, true, vec![150.0, 180.0]),
            ]
        );
    }

    #[test]
    fn each_worker_apart_has_a_database_of_its_own_however_long_the_bench_databases_name() {
        let bench = DatabaseTarget::parse("postgres://postgres@127.0.0.1:5432/x_bench").unwrap();
        assert_eq!(apart_target(&bench, 2).database(), "x_bench_apart2");
        let bench = bench.with_database(&format!("{}_bench", "ä".repeat(40)));
        let names: Vec<String> = (2..=16)
            .map(|k| apart_target(&bench, k).database().to_string())
            .collect();
        for name in &names {
            assert!(name.len() <= MAX_IDENTIFIER_BYTES, "{name}");
            assert!(name.starts_with("ää"), "{name}");
        }
        assert!(names[0].ends_with("_apart2") && names[14].ends_with("_apart16"));
        let mut distinct = names.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 15);
    }

    #[test]
    fn the_reviews_of_a_drain_apart_are_split_as_evenly_as_they_divide() {
        assert_eq!(shares(3000, 1), vec![3000]);
        assert_eq!(shares(3000, 2), vec![1500, 1500]);
        assert_eq!(shares(7, 3), vec![3, 2, 2]);
        assert_eq!(shares(1, 2), vec![1, 0]);
    }
}
