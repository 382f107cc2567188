//! The `operation_runs` projection: one row per run, the only place run state is read.

mod queries;
mod row;

pub use queries::{find_active_by_identity, get, list, RunFilter};
pub use row::{RunRow, RECONCILIATION_KEY};

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::operation_run::{OperationRun, OperationRunEvent, RunState};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{Projection, ProjectionError, TableSet, TableSpec};

/// The aggregate type whose events this projection folds.
const AGGREGATE_TYPE: &str = <OperationRun as Aggregate>::TYPE;

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
        let mut decoded = Vec::new();
        for e in events.iter().filter(|e| e.aggregate_type == AGGREGATE_TYPE) {
            let id = Uuid::parse_str(&e.aggregate_id).map_err(|err| decode_error(e, err))?;
            let event: OperationRunEvent =
                serde_json::from_str(&e.payload).map_err(|err| decode_error(e, err))?;
            decoded.push((id, e, event));
        }
        if decoded.is_empty() {
            return Ok(());
        }
        let table = set.table(NAME);
        let mut ids: Vec<Uuid> = decoded.iter().map(|(id, _, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut rows: HashMap<Uuid, Fold> = queries::load(conn, &table, &ids)
            .await?
            .into_iter()
            .map(|r| (r.state.id, Fold::from_row(r)))
            .collect();

        let mut touched: Vec<Uuid> = Vec::new();
        let mut seen: HashSet<Uuid> = HashSet::new();
        for (id, stored, event) in decoded {
            let fold = rows.entry(id).or_default();
            if stored.sequence <= fold.version {
                continue; // already applied (idempotent re-application)
            }
            let at = event.occurred_at();
            fold.state = RunState::fold(fold.state.take(), event);
            fold.version = stored.sequence;
            fold.last_position = stored.at.position;
            fold.updated_at = Some(at);
            if seen.insert(id) {
                touched.push(id);
            }
        }
        let changed: Vec<RunRow> = touched
            .into_iter()
            .filter_map(|id| rows.remove(&id).and_then(Fold::into_row))
            .collect();
        queries::upsert(conn, &table, &changed).await?;
        Ok(())
    }
}

fn decode_error(e: &StoredEvent, err: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Decode {
        at: e.at,
        event_type: e.event_type.clone(),
        reason: err.to_string(),
    }
}

/// A run being folded in memory during one batch.
#[derive(Default)]
struct Fold {
    state: Option<RunState>,
    version: i64,
    last_position: i64,
    updated_at: Option<DateTime<Utc>>,
}

impl Fold {
    fn from_row(r: RunRow) -> Self {
        Fold {
            state: Some(r.state),
            version: r.version,
            last_position: r.last_position,
            updated_at: Some(r.updated_at),
        }
    }

    fn into_row(self) -> Option<RunRow> {
        Some(RunRow {
            state: self.state?,
            updated_at: self.updated_at?,
            version: self.version,
            last_position: self.last_position,
        })
    }
}
