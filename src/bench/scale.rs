//! Does a lifecycle cost more as the tables grow or as clients are added? Lifecycles per
//! second with `operation_runs` (and the log) at a small and at a large size, and with
//! 8, 32 and 64 clients — each beside the per-transition raw baseline measured on the
//! same tables in the same round. Here every write waits for the projections
//! (read-your-writes, as the API's writes do), so the projection's upserts into the
//! large table are part of the cost.

use std::sync::Arc;

use sqlx::PgPool;

use super::lifecycle::{ours_round, raw_round, Commits};
use super::{failed, fresh_database, median, seed, BenchArgs};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;

/// One measurement of the scale benchmark.
pub struct ScalePoint {
    /// Rows in `operation_runs` (and lifecycles in the log) before measuring.
    pub rows: usize,
    pub clients: usize,
    /// runproof, lifecycles/s (writes waiting for the projections).
    pub ours: f64,
    /// The same rows, raw, one transaction per transition, lifecycles/s.
    pub raw: f64,
}

pub async fn measure(
    bench: &DatabaseTarget,
    args: &BenchArgs,
) -> Result<Vec<ScalePoint>, CliError> {
    let mut points = Vec::new();
    for rows in [args.scale_small, args.scale_large] {
        let pool = fresh_database(bench).await?;
        seed_tables(&pool, rows).await?;
        let clients: &[usize] = if rows == args.scale_large {
            &[8, 32, 64]
        } else {
            &[8]
        };
        for &c in clients {
            points.push(point(&pool, args, rows, c).await?);
        }
        pool.close().await;
    }
    Ok(points)
}

/// `rows` completed lifecycles: their events in the log and their rows in
/// `operation_runs`, with the projections' checkpoints at the end of the log.
async fn seed_tables(pool: &PgPool, rows: usize) -> Result<(), CliError> {
    eprintln!("bench: seeding {rows} completed lifecycles");
    for start in (0..rows).step_by(50_000) {
        let chunk: Vec<seed::Row> = (start..(start + 50_000).min(rows))
            .flat_map(|n| seed::lifecycle_rows(1_000_000_000 + n))
            .collect();
        seed::insert(pool, "events", &chunk).await.map_err(failed)?;
    }
    let workspaces = seed::workspaces(16);
    seed::fill_completed_runs(pool, rows as i64, &workspaces)
        .await
        .map_err(failed)?;
    sqlx::query("VACUUM ANALYZE")
        .execute(pool)
        .await
        .map_err(failed)?;
    // The seeded runs are in the table already: the projections start after them.
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    let names: Vec<String> = app
        .projector
        .projections()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection, transaction_id, position, events_applied) \
         SELECT p, e.transaction_id, e.position, 0 FROM unnest($1::text[]) AS p, \
           (SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1) e \
         ON CONFLICT (projection) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position",
    )
    .bind(&names)
    .execute(pool)
    .await
    .map_err(failed)?;
    Ok(())
}

async fn point(
    pool: &PgPool,
    args: &BenchArgs,
    rows: usize,
    clients: usize,
) -> Result<ScalePoint, CliError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw_events (LIKE events INCLUDING ALL)")
        .execute(pool)
        .await
        .map_err(failed)?;
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    let args = BenchArgs {
        clients,
        ..args.clone()
    };
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for round in 0..args.rounds.max(1) {
        let offset = (clients * 10 + round) * args.lifecycles * 3;
        raw.push(raw_round(pool, &args, offset, Commits::PerTransition).await?);
        ours.push(ours_round(&app, &args, offset + args.lifecycles).await?);
    }
    let p = ScalePoint {
        rows,
        clients,
        ours: median(ours),
        raw: median(raw),
    };
    eprintln!(
        "bench: {} rows, {} clients: runproof {:.0}/s, raw {:.0}/s",
        p.rows, p.clients, p.ours, p.raw
    );
    Ok(p)
}
