//! Finding candidate runs through the projection's partial indexes: the cost follows the
//! number of active runs of each type, not the size of `operation_runs`.

use chrono::{DateTime, Utc};
use runproof_domain::operation_run::RunStatus;
use runproof_domain::reconciliation::stale;
use runproof_domain::run_type::RunType;
use sqlx::PgConnection;
use uuid::Uuid;

/// Runs to look at this pass: every stale run of every type, and every active run of a
/// type that has an adapter (late or duplicate work can be proven before it is stale).
pub async fn candidates(
    conn: &mut PgConnection,
    adapter_types: &[RunType],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut ids = Vec::new();
    for run_type in RunType::ALL {
        let all_active = adapter_types.contains(&run_type);
        // With an adapter, every active run is a candidate; otherwise only stale ones
        // (the domain's stale rule, as cut-offs).
        let cut = |status| {
            if all_active {
                None
            } else {
                stale::stale_cutoff(run_type, status, now)
            }
        };
        let queued_cut = cut(RunStatus::Queued);
        let running_cut = cut(RunStatus::Running);
        let queued: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM operation_runs WHERE status = 'queued' AND run_type = $1 \
             AND ($2::timestamptz IS NULL OR created_at <= $2) ORDER BY created_at",
        )
        .bind(run_type.key())
        .bind(queued_cut)
        .fetch_all(&mut *conn)
        .await?;
        let running: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM operation_runs WHERE status = 'running' AND run_type = $1 \
             AND ($2::timestamptz IS NULL OR started_at <= $2) ORDER BY started_at",
        )
        .bind(run_type.key())
        .bind(running_cut)
        .fetch_all(&mut *conn)
        .await?;
        ids.extend(queued);
        ids.extend(running);
    }
    Ok(ids)
}
