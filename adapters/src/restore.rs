//! The restore adapter: a `restore.execute` run follows its own restore record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runproof_domain::operation_run::RunState;
use runproof_domain::reconciliation::{
    restore, stale, AdapterRef, Decision, Evidence, ReadScope, RecordKind, RecordRef, TimeLabel,
};
use runproof_domain::run_type::RunType;
use runproof_projections::restore_runs;
use sqlx::PgPool;
use uuid::Uuid;

use crate::contract::{record_streams, AdapterError, ReconciliationAdapter, StreamRef};

/// The adapter's name and version as recorded with its decisions.
pub const NAME: &str = "restore";
pub const VERSION: &str = "1.0.0";

/// The context key under which a `restore.execute` run names its restore record.
pub const RESTORE_ID_KEY: &str = "restore_id";

/// Proves `restore.execute` runs from `restore_runs`.
#[derive(Clone)]
pub struct RestoreAdapter {
    pool: PgPool,
}

impl RestoreAdapter {
    pub fn new(pool: PgPool) -> Self {
        RestoreAdapter { pool }
    }
}

#[async_trait]
impl ReconciliationAdapter for RestoreAdapter {
    fn run_type(&self) -> RunType {
        RunType::RestoreExecute
    }

    fn identity(&self) -> AdapterRef {
        AdapterRef {
            name: NAME.to_string(),
            version: VERSION.to_string(),
        }
    }

    fn reads(&self) -> &'static [&'static str] {
        &["restore_runs"]
    }

    /// Reads exactly one row: the restore record named by the run's context, of this
    /// run, in this run's workspace and environment. Anything else is never looked at.
    /// The evidence's scope says so (that workspace and environment, that record id).
    async fn gather(&self, run: &RunState, now: DateTime<Utc>) -> Result<Evidence, AdapterError> {
        let mut evidence = stale::base_evidence(run, now);
        let restore_id = run
            .context
            .get(RESTORE_ID_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let (Some(restore_id), Some(environment_id)) = (restore_id, run.environment_id) else {
            return Ok(evidence);
        };
        let mut conn = self.pool.acquire().await?;
        let record = restore_runs::find_for_run(
            &mut conn,
            restore_id,
            run.id,
            run.workspace_id,
            environment_id,
        )
        .await?;
        evidence.scope = Some(ReadScope::new(
            run.workspace_id,
            Some(environment_id),
            [restore_id],
        ));
        if let Some(row) = record {
            evidence.record = Some(RecordRef {
                kind: RecordKind::Restore,
                id: row.state.restore_id,
                status: row.state.status.record_status(),
            });
            evidence
                .timestamps
                .insert(TimeLabel::RecordUpdatedAt, row.updated_at);
        }
        Ok(evidence)
    }

    fn decide(&self, evidence: &Evidence) -> Decision {
        restore::decide(evidence)
    }

    /// The restore stream the run's context names — also when `restore_runs` does not
    /// show its record yet (then the decision waits instead of ending the run as stale).
    fn sources(&self, run: &RunState, evidence: &Evidence) -> Vec<StreamRef> {
        let mut sources = record_streams(evidence);
        if let Some(restore_id) = run
            .context
            .get(RESTORE_ID_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            sources.push(StreamRef {
                aggregate_type: RecordKind::Restore.stream_type(),
                aggregate_id: restore_id.to_string(),
            });
        }
        sources
    }
}
