//! Run lifecycles per second through the aggregate (ensure → start → complete) with
//! concurrent clients, against inserting the same rows into an events-shaped table with
//! raw SQL: one transaction per transition (what the target is judged by: each
//! transition must be durable before the next happens), and one transaction per
//! lifecycle (what no real lifecycle can do). Each raw transaction is one multi-row
//! `INSERT` statement, the fewest round trips raw SQL needs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::TerminalOutcome;
use sqlx::PgPool;

use super::cpu::{CpuPerItem, CpuTimes};
use super::{failed, median, per_second, seed, BenchArgs, Comparison};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;
use crate::lifecycle::EnsureRun;

pub async fn compare(pool: &PgPool, args: &BenchArgs) -> Result<Lifecycles, CliError> {
    sqlx::query("CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)")
        .execute(pool)
        .await
        .map_err(failed)?;
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .map_err(failed)?;
    let cpu_now = || CpuTimes::now(&database);
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    let mut per_transition = Vec::new();
    let (mut ours_cpu, mut per_transition_cpu) = (Vec::new(), Vec::new());
    let mut offset = 0;
    for round in 0..args.rounds.max(1) {
        raw.push(raw_round(pool, args, offset, Commits::PerLifecycle).await?);
        offset += args.lifecycles;
        let before = cpu_now();
        per_transition.push(raw_round(pool, args, offset, Commits::PerTransition).await?);
        let between = cpu_now();
        offset += args.lifecycles;
        ours.push(ours_round(&app, args, offset).await?);
        let after = cpu_now();
        offset += args.lifecycles;
        if let (Some(before), Some(between), Some(after)) = (before, between, after) {
            per_transition_cpu.push(before.per_item(between, args.lifecycles));
            ours_cpu.push(between.per_item(after, args.lifecycles));
        }
        eprintln!(
            "bench: lifecycle round {}: runproof {:.0}/s, raw {:.0}/s (one transaction per transition: {:.0}/s)",
            round + 1,
            ours[round],
            raw[round],
            per_transition[round]
        );
    }
    Ok(Lifecycles {
        comparison: Comparison {
            name: format!(
                "run lifecycles (queue+start+complete), {} clients, against raw SQL with one commit per transition",
                args.clients
            ),
            unit: "lifecycles/s",
            ours: median(ours),
            baseline: median(per_transition),
            target: 0.85,
        },
        raw_per_lifecycle: median(raw),
        cpu: (!ours_cpu.is_empty()).then(|| LifecycleCpu {
            ours: CpuPerItem::median(&ours_cpu),
            per_transition: CpuPerItem::median(&per_transition_cpu),
        }),
    })
}

/// CPU per lifecycle of each side (medians of the rounds).
pub struct LifecycleCpu {
    pub ours: CpuPerItem,
    /// The per-transition raw baseline.
    pub per_transition: CpuPerItem,
}

/// The lifecycle measurement against the per-transition baseline, with the one-commit
/// baseline beside it.
pub struct Lifecycles {
    pub comparison: Comparison,
    /// The same rows, raw, all of a lifecycle in one transaction: a lower bound no real
    /// lifecycle can reach (it would make a run's start durable only with its end).
    pub raw_per_lifecycle: f64,
    /// CPU per lifecycle, where `/proc` tells it.
    pub cpu: Option<LifecycleCpu>,
}

/// How the raw baseline groups its inserts into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commits {
    /// All four rows of a lifecycle in one transaction (the baseline).
    PerLifecycle,
    /// One transaction per transition, as the lifecycle really happens.
    PerTransition,
}

pub(super) async fn ours_round(
    app: &App,
    args: &BenchArgs,
    offset: usize,
) -> Result<f64, CliError> {
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let app = app.clone();
        let (clients_n, total) = (args.clients, args.lifecycles);
        clients.push(tokio::spawn(async move {
            let ctx = CommandContext::new(Initiator::system("bench"));
            let mut n = c;
            while n < total {
                let k = offset + n;
                let run = app
                    .lifecycle
                    .ensure(
                        EnsureRun {
                            workspace_id: seed::workspace(k),
                            environment_id: None,
                            run_type: "report.export".into(),
                            identity_inputs: seed::inputs(k),
                            context: seed::inputs(k),
                        },
                        &ctx,
                    )
                    .await?
                    .run_id();
                app.lifecycle.start(run, &ctx).await?;
                app.lifecycle
                    .complete(
                        run,
                        TerminalOutcome::Succeeded,
                        BTreeMap::from([("items".to_string(), (k % 50) as u64)]),
                        vec![],
                        &ctx,
                    )
                    .await?;
                n += clients_n;
            }
            Ok::<_, crate::lifecycle::LifecycleError>(())
        }));
    }
    for c in clients {
        c.await
            .map_err(failed)?
            .map_err(|e| CliError::from_lifecycle(&e))?;
    }
    Ok(per_second(args.lifecycles, started.elapsed()))
}

pub(super) async fn raw_round(
    pool: &PgPool,
    args: &BenchArgs,
    offset: usize,
    commits: Commits,
) -> Result<f64, CliError> {
    // Payloads are built before the clock starts: the baseline measures the database.
    let lifecycles: Vec<Vec<seed::Row>> = (0..args.lifecycles)
        .map(|n| seed::lifecycle_rows(offset + n))
        .collect();
    let lifecycles = Arc::new(lifecycles);
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let pool = pool.clone();
        let lifecycles = lifecycles.clone();
        let step = args.clients;
        clients.push(tokio::spawn(async move {
            let mut n = c;
            while let Some(rows) = lifecycles.get(n) {
                let groups: Vec<&[seed::Row]> = match commits {
                    Commits::PerLifecycle => vec![rows.as_slice()],
                    // slot claim + queued together, then started, then completed
                    Commits::PerTransition => {
                        let (claim, rest) = rows.split_at(2.min(rows.len()));
                        let (started, completed) = rest.split_at(1.min(rest.len()));
                        vec![claim, started, completed]
                    }
                };
                for group in groups {
                    insert_rows(&pool, group).await?;
                }
                n += step;
            }
            Ok::<_, sqlx::Error>(())
        }));
    }
    for c in clients {
        c.await.map_err(failed)?.map_err(failed)?;
    }
    Ok(per_second(args.lifecycles, started.elapsed()))
}

/// One multi-row `INSERT` (its own transaction, one round trip).
async fn insert_rows(pool: &PgPool, rows: &[seed::Row]) -> Result<(), sqlx::Error> {
    let column = |f: fn(&seed::Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let sequences: Vec<i64> = rows.iter().map(|r| r.sequence).collect();
    sqlx::query(
        "INSERT INTO bench_raw_events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
                              $6::json[], $7::json[])",
    )
    .bind(column(|r| r.aggregate_type))
    .bind(column(|r| &r.aggregate_id))
    .bind(sequences)
    .bind(column(|r| &r.event_type))
    .bind(column(|r| &r.event_version))
    .bind(column(|r| &r.payload))
    .bind(column(|r| &r.metadata))
    .execute(pool)
    .await?;
    Ok(())
}
