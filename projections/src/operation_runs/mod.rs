//! The `operation_runs` projection: one row per run, the only place run state is read.

mod queries;
mod row;

pub use queries::{
    find_active_by_identity, get, get_with_sight, get_with_sight_guarded, list, list_guarded,
    list_in, workspace_counts, RunFilter, WorkspaceRunCounts,
};
pub use row::{RunRow, COMPLETION_KEY, RECONCILIATION_KEY};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::operation_run::{OperationRun, OperationRunEvent, RunState};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{self, Row, StreamTable};

/// The projection's name and checkpoint row.
pub const NAME: &str = "operation_runs";

const TABLES: &[TableSpec] = &[TableSpec {
    name: "operation_runs",
    key: "id",
    // `context` holds type-specific context, `context.reconciliation` once something else
    // decided the run; `updated_at`, `version` and `last_position` are the time, stream
    // version and log position of the run's last event. The last CHECK keeps the two
    // families apart: pending exactly while not completed.
    columns: "
        id                     uuid PRIMARY KEY,
        workspace_id           uuid        NOT NULL,
        managed_environment_id uuid,
        run_type               text        NOT NULL,
        status                 text        NOT NULL CHECK (status IN ('queued', 'running', 'completed')),
        outcome                text        NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'partially_succeeded', 'blocked', 'failed')),
        initiator              text        NOT NULL,
        identity_hash          text        NOT NULL,
        context                jsonb       NOT NULL,
        summary_counts         jsonb       NOT NULL,
        failure_summary        jsonb       NOT NULL,
        created_at             timestamptz NOT NULL,
        started_at             timestamptz,
        completed_at           timestamptz,
        updated_at             timestamptz NOT NULL,
        version                bigint      NOT NULL,
        last_position          bigint      NOT NULL,
        CHECK ((status = 'completed') = (outcome <> 'pending'))",
    indexes: &[
        // the list: a workspace's runs, newest first (and all runs, newest first)
        IndexSpec {
            name: "operation_runs_workspace_created_idx",
            unique: false,
            definition: "(workspace_id, created_at DESC, id)",
        },
        IndexSpec {
            name: "operation_runs_created_idx",
            unique: false,
            definition: "(created_at DESC, id)",
        },
        // the stale scan: cost follows the number of active runs, not the table size;
        // and the worker's queue, read a page at a time from a (created_at, id) cursor
        // (migration 0015)
        IndexSpec {
            name: "operation_runs_stale_queued_idx",
            unique: false,
            definition: "(run_type, created_at, id) WHERE status = 'queued'",
        },
        IndexSpec {
            name: "operation_runs_stale_running_idx",
            unique: false,
            definition: "(run_type, started_at) WHERE status = 'running'",
        },
        // lookups by run identity
        IndexSpec {
            name: "operation_runs_identity_idx",
            unique: false,
            definition: "(identity_hash, created_at DESC)",
        },
        // an environment's runs, newest first (migration 0007)
        IndexSpec {
            name: "operation_runs_environment_created_idx",
            unique: false,
            definition: "(managed_environment_id, created_at DESC, id)",
        },
        // runs that ended badly, newest first (`runs list --needs-attention`; migration 0007)
        IndexSpec {
            name: "operation_runs_attention_idx",
            unique: false,
            definition: "(created_at DESC, id) \
                         WHERE outcome IN ('failed', 'blocked', 'partially_succeeded')",
        },
    ],
}];

/// One run's row from its events (in sequence order), folded exactly as the projection
/// folds them into `operation_runs` (the domain's [`RunState::fold`], the event's own
/// time, sequence and position): the run as a prefix of its stream leaves it, without a
/// table. `None` before its `RunQueued`.
pub fn fold_run(events: &[StoredEvent]) -> Result<Option<RunRow>, ProjectionError> {
    stream_table::fold_stream(&OperationRunsProjection, events)
}

/// Folds `operation_run` events into `operation_runs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperationRunsProjection;

#[async_trait]
impl Projection for OperationRunsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        stream_table::apply(self, conn, &set.table(NAME), events).await
    }
}

#[async_trait]
impl StreamTable for OperationRunsProjection {
    type Event = OperationRunEvent;
    type State = RunState;

    fn table(&self) -> &'static str {
        NAME
    }

    fn aggregate_type(&self) -> &'static str {
        OperationRun::TYPE
    }

    fn fold(state: Option<RunState>, event: OperationRunEvent) -> Option<RunState> {
        RunState::fold(state, event)
    }

    fn occurred_at(event: &OperationRunEvent) -> DateTime<Utc> {
        event.occurred_at()
    }

    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<RunState>)>, sqlx::Error> {
        Ok(queries::load(conn, table, ids)
            .await?
            .into_iter()
            .map(|r| (r.state.id, r))
            .collect())
    }

    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<RunState>],
    ) -> Result<(), sqlx::Error> {
        queries::upsert(conn, table, rows).await
    }
}
