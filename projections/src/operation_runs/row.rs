//! A row of `operation_runs`: the run's folded state plus where it stands in the log.

use runproof_domain::operation_run::{CompletionNote, Failure, RunState};
use runproof_domain::reconciliation::Reconciliation;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row as _;
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::stream_table::Row;

/// The key under which the reconciliation context appears in `operation_runs.context`.
pub const RECONCILIATION_KEY: &str = "reconciliation";
/// The key under which the job's completion note appears in `operation_runs.context`.
pub const COMPLETION_KEY: &str = "completion";

/// One projected run.
pub type RunRow = Row<RunState>;

/// The row's column list, in the order used by reads and writes.
pub(crate) const COLUMNS: &str =
    "id, workspace_id, managed_environment_id, run_type, status, outcome, \
     initiator, identity_hash, context, summary_counts, failure_summary, created_at, started_at, \
     completed_at, updated_at, version, last_position";

fn bad(column: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("operation_runs.{column}: {e}").into())
}

impl Row<RunState> {
    /// The `context` column: the run's context with the reconciliation merged in.
    pub fn context_column(&self) -> Value {
        let mut context = self.state.context.clone();
        if let Some(r) = &self.state.reconciliation {
            if let Ok(v) = serde_json::to_value(r) {
                context.insert(RECONCILIATION_KEY.into(), v);
            }
        }
        if let Some(n) = &self.state.completion {
            if let Ok(v) = serde_json::to_value(n) {
                context.insert(COMPLETION_KEY.into(), v);
            }
        }
        Value::Object(context)
    }

    pub(crate) fn decode(row: &PgRow) -> Result<RunRow, sqlx::Error> {
        let status: String = row.try_get("status")?;
        let outcome: String = row.try_get("outcome")?;
        let run_type: String = row.try_get("run_type")?;
        let initiator: String = row.try_get("initiator")?;
        let identity: String = row.try_get("identity_hash")?;
        let Value::Object(mut context): Value = row.try_get("context")? else {
            return Err(bad("context", "not an object"));
        };
        let reconciliation: Option<Reconciliation> = context
            .remove(RECONCILIATION_KEY)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("context.reconciliation", e))?;
        let completion: Option<CompletionNote> = context
            .remove(COMPLETION_KEY)
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| bad("context.completion", e))?;
        let summary: BTreeMap<String, u64> = serde_json::from_value(row.try_get("summary_counts")?)
            .map_err(|e| bad("summary_counts", e))?;
        let failures: Vec<Failure> = serde_json::from_value(row.try_get("failure_summary")?)
            .map_err(|e| bad("failure_summary", e))?;
        Ok(RunRow {
            state: RunState {
                id: row.try_get::<Uuid, _>("id")?,
                workspace_id: row.try_get("workspace_id")?,
                environment_id: row.try_get("managed_environment_id")?,
                run_type: run_type.parse().map_err(|e| bad("run_type", e))?,
                status: status.parse().map_err(|e| bad("status", e))?,
                outcome: outcome.parse().map_err(|e| bad("outcome", e))?,
                initiator: initiator.parse().map_err(|e| bad("initiator", e))?,
                identity_hash: identity.try_into().map_err(|e| bad("identity_hash", e))?,
                context,
                summary,
                failures,
                created_at: row.try_get("created_at")?,
                started_at: row.try_get("started_at")?,
                completed_at: row.try_get("completed_at")?,
                reconciliation,
                completion,
            },
            updated_at: row.try_get("updated_at")?,
            version: row.try_get("version")?,
            last_position: row.try_get("last_position")?,
        })
    }
}
