//! Replay throughput: `runproof replay` over a realistic log, against building the same
//! `operation_runs` table with one `INSERT … SELECT` in SQL (plus the same indexes).

use std::time::Instant;

use runproof_projections::{rebuild, NoProgress, Projector};
use sqlx::PgPool;

use super::{failed, median, mismatch, per_second, seed, BenchArgs, Comparison};
use crate::cli::error::CliError;

/// Runs queued before the first of them starts, and again before it completes.
const LAG: usize = 1_000;

/// The baseline: the run projection written as one SQL statement over the log (the
/// completion note goes into `context` under `completion`, as the projection puts it).
const RAW_FOLD: &str = "
INSERT INTO bench_raw_runs
SELECT id, workspace_id, managed_environment_id, run_type,
       CASE WHEN completed THEN 'completed' WHEN started_at IS NOT NULL THEN 'running' ELSE 'queued' END,
       COALESCE(outcome, 'pending'), initiator, identity_hash,
       CASE WHEN jsonb_typeof(note) = 'object' THEN context || jsonb_build_object('completion', note)
            ELSE context END,
       COALESCE(summary_counts, '{}'::jsonb), COALESCE(failure_summary, '[]'::jsonb),
       created_at, started_at, completed_at,
       COALESCE(completed_at, started_at, created_at), version, last_position
FROM (
  SELECT aggregate_id::uuid AS id,
    max(p #>> '{RunQueued,workspace_id}')::uuid AS workspace_id,
    max(p #>> '{RunQueued,environment_id}')::uuid AS managed_environment_id,
    max(p #>> '{RunQueued,run_type}') AS run_type,
    bool_or(event_type = 'RunCompleted') AS completed,
    max(p #>> '{RunCompleted,outcome}') AS outcome,
    max(p #>> '{RunQueued,initiator}') AS initiator,
    max(p #>> '{RunQueued,identity_hash}') AS identity_hash,
    (array_agg(p #> '{RunQueued,context}') FILTER (WHERE event_type = 'RunQueued'))[1] AS context,
    (array_agg(p #> '{RunCompleted,note}') FILTER (WHERE event_type = 'RunCompleted'))[1] AS note,
    (array_agg(p #> '{RunCompleted,summary}') FILTER (WHERE event_type = 'RunCompleted'))[1] AS summary_counts,
    (array_agg(p #> '{RunCompleted,failures}') FILTER (WHERE event_type = 'RunCompleted'))[1] AS failure_summary,
    max((p #>> '{RunQueued,queued_at}')::timestamptz) AS created_at,
    max((p #>> '{RunStarted,started_at}')::timestamptz) AS started_at,
    max((p #>> '{RunCompleted,completed_at}')::timestamptz) AS completed_at,
    max(sequence) AS version,
    max(position) AS last_position
  FROM (SELECT aggregate_id, event_type, sequence, position, payload::jsonb AS p
        FROM events WHERE aggregate_type = 'operation_run') e
  GROUP BY aggregate_id
) folded";

pub async fn compare(pool: &PgPool, args: &BenchArgs) -> Result<Comparison, CliError> {
    let rows = seed::interleaved_log(args.events, LAG);
    let total = rows.len();
    eprintln!("bench: seeding {total} run events");
    seed::insert(pool, "events", &rows).await.map_err(failed)?;
    sqlx::query("VACUUM ANALYZE events")
        .execute(pool)
        .await
        .map_err(failed)?;

    let projector = Projector::new(pool.clone(), runproof_projections::all());
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    for round in 0..args.rounds.max(1) {
        raw.push(per_second(total, raw_build(pool).await?));
        let started = Instant::now();
        rebuild::rebuild(&projector, &NoProgress)
            .await
            .map_err(failed)?;
        ours.push(per_second(total, started.elapsed()));
        eprintln!(
            "bench: replay round {}: runproof {:.0} events/s, raw {:.0} events/s",
            round + 1,
            ours[round],
            raw[round]
        );
    }
    same_rows(pool).await?;
    Ok(Comparison {
        name: format!("replay of {total} events into operation_runs"),
        unit: "events/s",
        ours: median(ours),
        baseline: median(raw),
        target: 0.5,
    })
}

/// Builds `bench_raw_runs` like a rebuild does: empty table with the key, one
/// INSERT … SELECT, then the same secondary indexes.
async fn raw_build(pool: &PgPool) -> Result<std::time::Duration, CliError> {
    sqlx::query("DROP TABLE IF EXISTS bench_raw_runs")
        .execute(pool)
        .await
        .map_err(failed)?;
    let started = Instant::now();
    let mut tx = pool.begin().await.map_err(failed)?;
    for sql in [
        "CREATE TABLE bench_raw_runs (LIKE operation_runs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        "ALTER TABLE bench_raw_runs ADD PRIMARY KEY (id)",
        RAW_FOLD,
        "CREATE INDEX ON bench_raw_runs (workspace_id, created_at DESC, id)",
        "CREATE INDEX ON bench_raw_runs (created_at DESC, id)",
        "CREATE INDEX ON bench_raw_runs (run_type, created_at) WHERE status = 'queued'",
        "CREATE INDEX ON bench_raw_runs (run_type, started_at) WHERE status = 'running'",
        "CREATE INDEX ON bench_raw_runs (identity_hash, created_at DESC)",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.map_err(failed)?;
    }
    tx.commit().await.map_err(failed)?;
    Ok(started.elapsed())
}

/// The baseline and the rebuild must have produced the same table.
async fn same_rows(pool: &PgPool) -> Result<(), CliError> {
    let differing: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM (SELECT * FROM operation_runs EXCEPT SELECT * FROM bench_raw_runs) a) \
              + (SELECT count(*) FROM (SELECT * FROM bench_raw_runs EXCEPT SELECT * FROM operation_runs) b)",
    )
    .fetch_one(pool)
    .await
    .map_err(failed)?;
    if differing == 0 {
        Ok(())
    } else {
        eprintln!("bench: {differing} rows differ between the baseline and the rebuild");
        Err(mismatch())
    }
}
