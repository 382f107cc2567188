//! The `operation_runs` projection: one row per run, the only place run state is read.

mod queries;
mod row;

pub use queries::{find_active_by_identity, get, list, RunFilter};
pub use row::{RunRow, COMPLETION_KEY, RECONCILIATION_KEY};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::operation_run::{OperationRun, OperationRunEvent, RunState};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{self, Row, StreamTable};

/// The projection's name and checkpoint row.
pub const NAME: &str = "operation_runs";

const TABLES: &[TableSpec] = &[TableSpec {
    name: "operation_runs",
    key: "id",
}];

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
