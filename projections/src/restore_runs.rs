//! The `restore_runs` projection: one row per restore record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::restore::{Restore, RestoreEvent, RestoreState};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::sql::quote_ident;
use crate::stream_table::{self, Row, StreamTable};

/// The projection's name and checkpoint row.
pub const NAME: &str = "restore_runs";

const TABLES: &[TableSpec] = &[TableSpec {
    name: "restore_runs",
    key: "restore_id",
    columns: "
        restore_id     uuid PRIMARY KEY,
        run_id         uuid        NOT NULL,
        workspace_id   uuid        NOT NULL,
        environment_id uuid        NOT NULL,
        status         text        NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'completed_with_errors', 'failed')),
        requested_at   timestamptz NOT NULL,
        started_at     timestamptz,
        finished_at    timestamptz,
        items_total    bigint      NOT NULL,
        items_failed   bigint      NOT NULL,
        updated_at     timestamptz NOT NULL,
        version        bigint      NOT NULL,
        last_position  bigint      NOT NULL",
    // the adapter's scoped lookup: its run, its workspace, its environment
    indexes: &[IndexSpec {
        name: "restore_runs_scope_idx",
        unique: false,
        definition: "(run_id, workspace_id, environment_id)",
    }],
}];

const COLUMNS: &str = "restore_id, run_id, workspace_id, environment_id, status, requested_at, \
     started_at, finished_at, items_total, items_failed, updated_at, version, last_position";

/// One projected restore record.
pub type RestoreRow = Row<RestoreState>;

/// Folds `restore` events into `restore_runs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreRunsProjection;

/// The restore record of `run_id`, looked up in the run's own workspace and environment
/// only. A record with the same restore id elsewhere is never returned.
pub async fn find_for_run(
    conn: &mut PgConnection,
    restore_id: Uuid,
    run_id: Uuid,
    workspace_id: Uuid,
    environment_id: Uuid,
) -> Result<Option<RestoreRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM restore_runs \
         WHERE restore_id = $1 AND run_id = $2 AND workspace_id = $3 AND environment_id = $4"
    );
    let row = sqlx::query(&sql)
        .bind(restore_id)
        .bind(run_id)
        .bind(workspace_id)
        .bind(environment_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

fn decode(row: &PgRow) -> Result<RestoreRow, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let count = |name: &str| -> Result<u64, sqlx::Error> {
        let v: i64 = row.try_get(name)?;
        u64::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Row {
        state: RestoreState {
            restore_id: row.try_get("restore_id")?,
            run_id: row.try_get("run_id")?,
            workspace_id: row.try_get("workspace_id")?,
            environment_id: row.try_get("environment_id")?,
            status: status
                .parse()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            requested_at: row.try_get("requested_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            items_total: count("items_total")?,
            items_failed: count("items_failed")?,
        },
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
        last_position: row.try_get("last_position")?,
    })
}

#[async_trait]
impl Projection for RestoreRunsProjection {
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
impl StreamTable for RestoreRunsProjection {
    type Event = RestoreEvent;
    type State = RestoreState;

    fn table(&self) -> &'static str {
        NAME
    }

    fn aggregate_type(&self) -> &'static str {
        Restore::TYPE
    }

    fn fold(state: Option<RestoreState>, event: RestoreEvent) -> Option<RestoreState> {
        RestoreState::fold(state, event)
    }

    fn occurred_at(event: &RestoreEvent) -> DateTime<Utc> {
        event.occurred_at()
    }

    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, RestoreRow)>, sqlx::Error> {
        let table = quote_ident(table)?;
        let sql = format!("SELECT {COLUMNS} FROM {table} WHERE restore_id = ANY($1)");
        let rows = sqlx::query(&sql).bind(ids).fetch_all(conn).await?;
        rows.iter()
            .map(|r| decode(r).map(|row| (row.state.restore_id, row)))
            .collect()
    }

    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[RestoreRow],
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let table = quote_ident(table)?;
        let to_i64 = |v: u64| i64::try_from(v).map_err(|e| sqlx::Error::Encode(Box::new(e)));
        let mut restore_id = Vec::new();
        let mut run_id = Vec::new();
        let mut workspace = Vec::new();
        let mut environment = Vec::new();
        let mut status = Vec::new();
        let mut requested = Vec::new();
        let mut started = Vec::new();
        let mut finished = Vec::new();
        let mut total = Vec::new();
        let mut failed = Vec::new();
        let mut updated = Vec::new();
        let mut version = Vec::new();
        let mut position = Vec::new();
        for r in rows {
            let s = &r.state;
            restore_id.push(s.restore_id);
            run_id.push(s.run_id);
            workspace.push(s.workspace_id);
            environment.push(s.environment_id);
            status.push(s.status.as_str());
            requested.push(s.requested_at);
            started.push(s.started_at);
            finished.push(s.finished_at);
            total.push(to_i64(s.items_total)?);
            failed.push(to_i64(s.items_failed)?);
            updated.push(r.updated_at);
            version.push(r.version);
            position.push(r.last_position);
        }
        let sql = format!(
            "INSERT INTO {table} ({COLUMNS}) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], \
                 $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::int8[], $10::int8[], \
                 $11::timestamptz[], $12::int8[], $13::int8[]) \
             ON CONFLICT (restore_id) DO UPDATE SET \
               run_id = EXCLUDED.run_id, workspace_id = EXCLUDED.workspace_id, \
               environment_id = EXCLUDED.environment_id, status = EXCLUDED.status, \
               requested_at = EXCLUDED.requested_at, started_at = EXCLUDED.started_at, \
               finished_at = EXCLUDED.finished_at, items_total = EXCLUDED.items_total, \
               items_failed = EXCLUDED.items_failed, updated_at = EXCLUDED.updated_at, \
               version = EXCLUDED.version, last_position = EXCLUDED.last_position \
             WHERE {table}.version < EXCLUDED.version"
        );
        sqlx::query(&sql)
            .bind(restore_id)
            .bind(run_id)
            .bind(workspace)
            .bind(environment)
            .bind(status)
            .bind(requested)
            .bind(started)
            .bind(finished)
            .bind(total)
            .bind(failed)
            .bind(updated)
            .bind(version)
            .bind(position)
            .execute(conn)
            .await?;
        Ok(())
    }
}
