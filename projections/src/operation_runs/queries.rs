//! Reads and writes of `operation_runs`.

use chrono::{DateTime, Utc};
use runproof_domain::identity::IdentityHash;
use runproof_domain::operation_run::attention::ATTENTION_OUTCOMES;
use runproof_domain::operation_run::{RunOutcome, RunStatus};
use runproof_domain::reconciliation::stale;
use runproof_domain::run_type::RunType;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use super::row::{RunRow, COLUMNS};
use crate::sql::quote_ident;
use crate::stream_guard::{self, Guarded, StreamGuard};

/// Filters for listing runs; every filter is optional and they combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub workspace_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
    pub status: Option<RunStatus>,
    pub outcome: Option<RunOutcome>,
    pub run_type: Option<RunType>,
    /// Only runs that need attention at this time
    /// ([`runproof_domain::operation_run::attention::needs_attention`]).
    pub needs_attention_at: Option<DateTime<Utc>>,
    /// Only runs of workspaces this actor belongs to.
    pub visible_to: Option<Uuid>,
    /// At most this many rows (newest first), within `1..=`[`crate::LIST_LIMIT_MAX`].
    pub limit: i64,
    /// Keyset paging: only runs after this one in the list's order (newest first), given
    /// as its `(created_at, id)`. No OFFSET: a deep page costs what the first one does.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// Keyset paging backwards: only runs before this one in the list's order (the
    /// newer ones), the `limit` closest to it — still returned newest first.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    /// Only runs queued at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Only runs queued before this time.
    pub created_to: Option<DateTime<Utc>>,
}

/// Runs matching `filter`, newest first. With `before`, the page just before that run
/// (read from it backwards, returned newest first like every page).
///
/// The statement holds only the filters that are set, so every condition is one the
/// planner can use, whatever plan a pooled connection caches for it: a keyset page is an
/// index range (`created_at <= cursor`, or `>=` backwards) wherever it lies in the list,
/// not a walk from the newest run. A member's list walks each of its workspaces on its own
/// (`operation_runs_workspace_created_idx`) and merges the pages, so it costs the same
/// whether its workspaces hold most of the table or a sliver of it.
pub async fn list(conn: &mut PgConnection, filter: &RunFilter) -> Result<Vec<RunRow>, sqlx::Error> {
    match list_guarded(conn, filter, None).await? {
        Guarded::Fresh(rows) => Ok(rows),
        // Without a guard, nothing can have moved.
        Guarded::Moved => Ok(Vec::new()),
    }
}

/// [`list`], in the same statement as the check of `guard` (see [`crate::stream_guard`]).
pub async fn list_guarded(
    conn: &mut PgConnection,
    filter: &RunFilter,
    guard: Option<&StreamGuard>,
) -> Result<Guarded<Vec<RunRow>>, sqlx::Error> {
    list_from(conn, "operation_runs", filter, guard).await
}

/// [`list_guarded`] from `table` (a quoted name, or the live table's).
async fn list_from(
    conn: &mut PgConnection,
    table: &str,
    filter: &RunFilter,
    guard: Option<&StreamGuard>,
) -> Result<Guarded<Vec<RunRow>>, sqlx::Error> {
    let limit = filter.limit.clamp(1, crate::LIST_LIMIT_MAX);
    let backwards = filter.before.is_some();
    let order = if backwards {
        "r.created_at ASC, r.id DESC"
    } else {
        "r.created_at DESC, r.id"
    };
    let outer_order = order.replace("r.", "q.");
    let rows = stream_guard::fetch_all(conn, guard, Some(&outer_order), "id", |q| {
        push_list(q, table, filter, order, limit)
    })
    .await?;
    rows.map(|rows| {
        let mut rows = rows
            .iter()
            .map(RunRow::decode)
            .collect::<Result<Vec<_>, _>>()?;
        if backwards {
            rows.reverse();
        }
        Ok(rows)
    })
    .transpose()
}

/// [`list`] over another table of `operation_runs`' shape — the temporary copy the log
/// was folded into up to an earlier position ([`crate::as_of`]): the same statement,
/// another table.
pub async fn list_in(
    conn: &mut PgConnection,
    table: &str,
    filter: &RunFilter,
) -> Result<Vec<RunRow>, sqlx::Error> {
    match list_from(conn, &quote_ident(table)?, filter, None).await? {
        Guarded::Fresh(rows) => Ok(rows),
        Guarded::Moved => Ok(Vec::new()),
    }
}

/// The statement of [`list`] over `table` (a name already quoted, or the live table's).
fn push_list(
    q: &mut QueryBuilder<Postgres>,
    table: &str,
    filter: &RunFilter,
    order: &str,
    limit: i64,
) {
    if let Some(actor) = filter.visible_to {
        q.push(format!(
            "SELECT {COLUMNS} FROM (SELECT id AS member_of FROM workspaces WHERE member_ids ? "
        ))
        .push_bind(actor.to_string())
        .push(") w CROSS JOIN LATERAL (");
    }
    q.push(format!("SELECT {COLUMNS} FROM {table} r WHERE TRUE"));
    if filter.visible_to.is_some() {
        q.push(" AND r.workspace_id = w.member_of");
    }
    if let Some(workspace) = filter.workspace_id {
        q.push(" AND r.workspace_id = ").push_bind(workspace);
    }
    if let Some(environment) = filter.environment_id {
        q.push(" AND r.managed_environment_id = ")
            .push_bind(environment);
    }
    if let Some(status) = filter.status {
        q.push(" AND r.status = ").push_bind(status.as_str());
    }
    if let Some(outcome) = filter.outcome {
        q.push(" AND r.outcome = ").push_bind(outcome.as_str());
    }
    if let Some(run_type) = filter.run_type {
        q.push(" AND r.run_type = ").push_bind(run_type.key());
    }
    if let Some(now) = filter.needs_attention_at {
        let outcomes: Vec<&str> = ATTENTION_OUTCOMES.iter().map(|o| o.as_str()).collect();
        let cutoffs = StaleCutoffs::at(now);
        q.push(" AND (r.outcome = ANY(")
            .push_bind(outcomes)
            .push("::text[]) OR EXISTS (SELECT 1 FROM UNNEST(")
            .push_bind(cutoffs.types)
            .push("::text[], ")
            .push_bind(cutoffs.queued)
            .push("::timestamptz[], ")
            .push_bind(cutoffs.running)
            .push(
                "::timestamptz[]) AS c(run_type, queued_cut, running_cut) \
                 WHERE c.run_type = r.run_type \
                   AND ((r.status = 'queued' AND r.created_at <= c.queued_cut) \
                     OR (r.status = 'running' AND COALESCE(r.started_at, r.created_at) <= c.running_cut))))",
            );
    }
    if let Some((at, id)) = filter.after {
        // The first condition is the index range; the second drops the runs of the same
        // instant up to the cursor.
        q.push(" AND r.created_at <= ")
            .push_bind(at)
            .push(" AND (r.created_at < ")
            .push_bind(at)
            .push(" OR r.id > ")
            .push_bind(id)
            .push(")");
    }
    if let Some((at, id)) = filter.before {
        q.push(" AND r.created_at >= ")
            .push_bind(at)
            .push(" AND (r.created_at > ")
            .push_bind(at)
            .push(" OR r.id < ")
            .push_bind(id)
            .push(")");
    }
    if let Some(from) = filter.created_from {
        q.push(" AND r.created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.created_to {
        q.push(" AND r.created_at < ").push_bind(to);
    }
    q.push(format!(" ORDER BY {order} LIMIT ")).push_bind(limit);
    if filter.visible_to.is_some() {
        q.push(format!(") r ORDER BY {order} LIMIT "))
            .push_bind(limit);
    }
}

/// "Needs attention" is the domain's rule, asked with its own values: the attention
/// outcomes, and each run type's stale cut-offs at a time — bound as three parallel
/// arrays (run type, queued cut-off, running cut-off).
#[derive(Debug, Default)]
struct StaleCutoffs {
    types: Vec<&'static str>,
    queued: Vec<Option<DateTime<Utc>>>,
    running: Vec<Option<DateTime<Utc>>>,
}

impl StaleCutoffs {
    fn at(now: DateTime<Utc>) -> Self {
        let mut c = StaleCutoffs::default();
        for t in RunType::ALL {
            c.types.push(t.key());
            c.queued
                .push(stale::stale_cutoff(t, RunStatus::Queued, now));
            c.running
                .push(stale::stale_cutoff(t, RunStatus::Running, now));
        }
        c
    }

    /// The SQL condition "run `r` is active past its type's stale cut-off", with the
    /// three arrays bound as parameters `$first`, `$first + 1` and `$first + 2`.
    fn condition(first: usize) -> String {
        let (t, q, r) = (first, first + 1, first + 2);
        format!(
            "EXISTS (SELECT 1 FROM UNNEST(${t}::text[], ${q}::timestamptz[], ${r}::timestamptz[]) \
               AS c(run_type, queued_cut, running_cut) \
             WHERE c.run_type = r.run_type \
               AND ((r.status = 'queued' AND r.created_at <= c.queued_cut) \
                 OR (r.status = 'running' AND COALESCE(r.started_at, r.created_at) <= c.running_cut)))"
        )
    }
}

/// A workspace's runs that are active, and that need attention, at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceRunCounts {
    pub workspace_id: Uuid,
    /// Queued or running.
    pub active: i64,
    /// As `list` with `needs_attention_at` would page through: ended badly, or active
    /// past their type's stale threshold.
    pub needs_attention: i64,
}

/// The active runs and the runs needing attention at `now` of each of these workspaces
/// (a workspace without either is left out). Reads only active and badly ended runs:
/// the outcomes are written into the statement (they are the domain's own words, never
/// input) so that the partial indexes on them serve it, not a scan of every run.
pub async fn workspace_counts(
    conn: &mut PgConnection,
    workspace_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<WorkspaceRunCounts>, sqlx::Error> {
    let attention = ATTENTION_OUTCOMES
        .iter()
        .map(|o| format!("'{}'", o.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let stale = StaleCutoffs::condition(2);
    let sql = format!(
        "SELECT workspace_id, \
                count(*) FILTER (WHERE status IN ('queued', 'running')), \
                count(*) FILTER (WHERE outcome IN ({attention}) OR {stale}) \
         FROM operation_runs r \
         WHERE workspace_id = ANY($1) \
           AND (status = 'queued' OR status = 'running' OR outcome IN ({attention})) \
         GROUP BY workspace_id"
    );
    let cutoffs = StaleCutoffs::at(now);
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(&sql)
        .bind(workspace_ids)
        .bind(cutoffs.types)
        .bind(cutoffs.queued)
        .bind(cutoffs.running)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(workspace_id, active, needs_attention)| WorkspaceRunCounts {
                workspace_id,
                active,
                needs_attention,
            },
        )
        .collect())
}

/// One run by id.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<RunRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM operation_runs WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(RunRow::decode).transpose()
}

/// One run by id, and whether the caller `visible_to` sees it without asking the log:
/// for `None` (a caller who sees every run: a platform operator) always — also a run of
/// a workspace the directory does not know; for an actor, when the `workspaces` view
/// shows it as a member of the run's workspace. One statement.
///
/// The view shows a prefix of the log, and sight of a workspace only grows
/// (`WorkspaceEvent::narrows_sight`), so sight it grants holds now. Sight it does not
/// grant may come from events it does not show yet: the workspace's stream decides then.
pub async fn get_with_sight(
    conn: &mut PgConnection,
    id: Uuid,
    visible_to: Option<Uuid>,
) -> Result<Option<(RunRow, bool)>, sqlx::Error> {
    match get_with_sight_guarded(conn, id, visible_to, None).await? {
        Guarded::Fresh(found) => Ok(found),
        // Without a guard, nothing can have moved.
        Guarded::Moved => Ok(None),
    }
}

/// [`get_with_sight`], in the same statement as the check of `guard` (see
/// [`crate::stream_guard`]).
pub async fn get_with_sight_guarded(
    conn: &mut PgConnection,
    id: Uuid,
    visible_to: Option<Uuid>,
    guard: Option<&StreamGuard>,
) -> Result<Guarded<Option<(RunRow, bool)>>, sqlx::Error> {
    let rows = stream_guard::fetch_all(conn, guard, None, "id", |q| {
        q.push(format!("SELECT {COLUMNS}, ("))
            .push_bind(visible_to.map(|a| a.to_string()))
            .push(
                "::text IS NULL OR EXISTS (SELECT 1 FROM workspaces w \
                 WHERE w.id = r.workspace_id AND w.member_ids ? ",
            )
            .push_bind(visible_to.map(|a| a.to_string()))
            .push(")) AS sighted FROM operation_runs r WHERE r.id = ")
            .push_bind(id);
    })
    .await?;
    rows.map(|rows| {
        rows.first()
            .map(|row| Ok((RunRow::decode(row)?, row.try_get("sighted")?)))
            .transpose()
    })
    .transpose()
}

/// The active (queued or running) runs of an identity, newest first.
pub async fn find_active_by_identity(
    conn: &mut PgConnection,
    identity: &IdentityHash,
) -> Result<Vec<RunRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operation_runs \
         WHERE identity_hash = $1 AND status IN ('queued', 'running') \
         ORDER BY created_at DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(identity.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(RunRow::decode).collect()
}

/// Rows of `table` with these ids.
pub(crate) async fn load(
    conn: &mut PgConnection,
    table: &str,
    ids: &[Uuid],
) -> Result<Vec<RunRow>, sqlx::Error> {
    let table = quote_ident(table)?;
    let sql = format!("SELECT {COLUMNS} FROM {table} WHERE id = ANY($1)");
    let rows = sqlx::query(&sql).bind(ids).fetch_all(conn).await?;
    rows.iter().map(RunRow::decode).collect()
}

/// Inserts or updates rows in one statement; a row only moves forward in version.
pub(crate) async fn upsert(
    conn: &mut PgConnection,
    table: &str,
    rows: &[RunRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let table = quote_ident(table)?;
    let n = rows.len();
    let mut id = Vec::with_capacity(n);
    let mut workspace = Vec::with_capacity(n);
    let mut environment: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut run_type = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut outcome = Vec::with_capacity(n);
    let mut initiator = Vec::with_capacity(n);
    let mut identity = Vec::with_capacity(n);
    let mut context = Vec::with_capacity(n);
    let mut summary = Vec::with_capacity(n);
    let mut failures = Vec::with_capacity(n);
    let mut created: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    let mut started: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut completed: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut updated: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    let mut version = Vec::with_capacity(n);
    let mut position = Vec::with_capacity(n);
    for r in rows {
        let s = &r.state;
        id.push(s.id);
        workspace.push(s.workspace_id);
        environment.push(s.environment_id);
        run_type.push(s.run_type.key());
        status.push(s.status.as_str());
        outcome.push(s.outcome.as_str());
        initiator.push(s.initiator.to_string());
        identity.push(s.identity_hash.as_str().to_string());
        context.push(r.context_column().to_string());
        summary.push(serde_json::to_string(&s.summary).map_err(|e| sqlx::Error::Encode(e.into()))?);
        failures
            .push(serde_json::to_string(&s.failures).map_err(|e| sqlx::Error::Encode(e.into()))?);
        created.push(s.created_at);
        started.push(s.started_at);
        completed.push(s.completed_at);
        updated.push(r.updated_at);
        version.push(r.version);
        position.push(r.last_position);
    }
    let sql = format!(
        "INSERT INTO {table} ({COLUMNS}) \
         SELECT id, workspace_id, managed_environment_id, run_type, status, outcome, initiator, \
                identity_hash, context::jsonb, summary_counts::jsonb, failure_summary::jsonb, \
                created_at, started_at, completed_at, updated_at, version, last_position \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                     $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], \
                     $16::int8[], $17::int8[]) \
           AS u(id, workspace_id, managed_environment_id, run_type, status, outcome, initiator, \
                identity_hash, context, summary_counts, failure_summary, created_at, started_at, \
                completed_at, updated_at, version, last_position) \
         ON CONFLICT (id) DO UPDATE SET \
           workspace_id = EXCLUDED.workspace_id, \
           managed_environment_id = EXCLUDED.managed_environment_id, \
           run_type = EXCLUDED.run_type, status = EXCLUDED.status, outcome = EXCLUDED.outcome, \
           initiator = EXCLUDED.initiator, identity_hash = EXCLUDED.identity_hash, \
           context = EXCLUDED.context, summary_counts = EXCLUDED.summary_counts, \
           failure_summary = EXCLUDED.failure_summary, created_at = EXCLUDED.created_at, \
           started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at, \
           updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, \
           last_position = EXCLUDED.last_position \
         WHERE {table}.version < EXCLUDED.version"
    );
    sqlx::query(&sql)
        .bind(id)
        .bind(workspace)
        .bind(environment)
        .bind(run_type)
        .bind(status)
        .bind(outcome)
        .bind(initiator)
        .bind(identity)
        .bind(context)
        .bind(summary)
        .bind(failures)
        .bind(created)
        .bind(started)
        .bind(completed)
        .bind(updated)
        .bind(version)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}
