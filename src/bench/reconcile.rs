//! One reconciliation pass over 10,000 stale runs in an `operation_runs` table of
//! 100,000 rows and of 1,000,000 rows: the pass should cost the same, because the scan
//! goes through the partial indexes of active runs, not through the table.

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use cqrs_es::Aggregate;
use runproof_domain::identity::IdentityHash;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{OperationRun, OperationRunEvent, RunQueued};
use runproof_domain::run_slot::{RunSlot, RunSlotClaimed, RunSlotEvent};
use runproof_domain::run_type::RunType;
use sqlx::PgPool;
use uuid::Uuid;

use super::{failed, per_second, seed, BenchArgs};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;
use crate::reconciliation;

/// The figures of the reconciliation benchmark.
pub struct Passes {
    pub stale: usize,
    /// (table rows, runs decided per second)
    pub small: (i64, f64),
    pub large: (i64, f64),
}

impl Passes {
    /// How much more the pass over the large table cost than over the small one.
    pub fn cost_ratio(&self) -> f64 {
        self.small.1 / self.large.1.max(1e-9)
    }
}

pub async fn compare(pool: &PgPool, args: &BenchArgs) -> Result<Passes, CliError> {
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let reconciler = reconciliation::reconciler(&app).map_err(failed)?;
    let now = seed::epoch() + Duration::days(1);

    let mut sizes = Vec::new();
    for (round, target) in [args.reconcile_small, args.reconcile_large]
        .into_iter()
        .enumerate()
    {
        seed_stale(pool, &app, args.reconcile_stale, round).await?;
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM operation_runs")
            .fetch_one(pool)
            .await
            .map_err(failed)?;
        seed::fill_completed_runs(pool, (target as i64 - rows).max(0), &seed::workspaces(64))
            .await
            .map_err(failed)?;
        // Same footing for both sizes: statistics fresh, no dirty pages left from the fill.
        sqlx::query("VACUUM ANALYZE operation_runs")
            .execute(pool)
            .await
            .map_err(failed)?;
        sqlx::query("CHECKPOINT")
            .execute(pool)
            .await
            .map_err(failed)?;
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM operation_runs")
            .fetch_one(pool)
            .await
            .map_err(failed)?;
        let started = Instant::now();
        let report = reconciler.pass(now).await.map_err(failed)?;
        let elapsed = started.elapsed();
        let decided = report.decided().count();
        if decided != args.reconcile_stale {
            eprintln!(
                "bench: the pass decided {decided} of {} stale runs",
                args.reconcile_stale
            );
            return Err(super::mismatch());
        }
        let rate = per_second(decided, elapsed);
        eprintln!("bench: reconcile pass over {rows} rows: {decided} decided in {elapsed:.2?} ({rate:.0}/s)");
        sizes.push((rows, rate));
    }
    Ok(Passes {
        stale: args.reconcile_stale,
        small: sizes[0],
        large: sizes[1],
    })
}

/// `n` queued `report.export` runs from a day ago, written as real events (slot claim and
/// run queued) and projected.
async fn seed_stale(pool: &PgPool, app: &App, n: usize, round: usize) -> Result<(), CliError> {
    let ctx = CommandContext::new(Initiator::system("bench"));
    let mut rows = Vec::with_capacity(n * 2);
    for k in 0..n {
        let key = round * 10_000_000 + k;
        let (run_id, ws) = (Uuid::new_v4(), seed::workspace(key));
        let at = seed::epoch();
        let identity = IdentityHash::of(ws, None, RunType::ReportExport, &seed::inputs(key));
        let slot = RunSlotEvent::RunSlotClaimed(RunSlotClaimed {
            identity_hash: identity.clone(),
            run_id,
            previous_run_id: None,
            claimed_at: at,
        });
        let queued = OperationRunEvent::RunQueued(RunQueued {
            run_id,
            workspace_id: ws,
            environment_id: None,
            run_type: RunType::ReportExport,
            initiator: Initiator::system("bench"),
            identity_hash: identity.clone(),
            context: seed::inputs(key).as_object().cloned().unwrap_or_default(),
            queued_at: at,
        });
        rows.push(seed::row::<RunSlot>(identity.as_str(), 1, &slot, at, &ctx));
        rows.push(seed::row::<OperationRun>(
            &run_id.to_string(),
            1,
            &queued,
            at,
            &ctx,
        ));
    }
    debug_assert_eq!(<OperationRun as Aggregate>::TYPE, "operation_run");
    seed::insert(pool, "events", &rows).await.map_err(failed)?;
    app.projector.catch_up().await.map_err(failed)?;
    Ok(())
}
