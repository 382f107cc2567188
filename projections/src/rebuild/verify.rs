//! Verify: rebuild every projection into `<table>__verify` copies and compare them with
//! the live tables at one common log position.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::{Acquire, PgConnection, Row};

use super::{copies, RebuildLock};
use crate::checkpoint;
use crate::error::ProjectorError;
use crate::position::LogPosition;
use crate::progress::Progress;
use crate::projection::{TableSet, TableSpec};
use crate::projector::{apply_batch, custom_plans, Projector};
use crate::sql::quote_ident;

/// How a rebuilt row differs from the live one.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The rebuild has the row; the live table does not.
    MissingInLive,
    /// The live table has a row the log does not produce.
    MissingInRebuild,
    /// Both have the row; these columns differ as (column, live, rebuilt).
    Columns(Vec<(String, Value, Value)>),
}

/// One differing row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDifference {
    pub table: &'static str,
    pub key: String,
    pub difference: Difference,
}

/// One verified table.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedTable {
    pub table: &'static str,
    /// Rows compared (in either copy).
    pub rows: i64,
    /// The common log position both copies were compared at.
    pub compared_at: LogPosition,
}

/// What a verify found.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub tables: Vec<VerifiedTable>,
    pub differences: Vec<RowDifference>,
    /// Live tables that do not exist (`runproof replay` creates them). A projection
    /// with a missing table is not compared.
    pub missing_tables: Vec<&'static str>,
    /// Copies and checkpoint rows an interrupted rebuild or verify had left behind,
    /// removed before this one started.
    pub removed_leftovers: Vec<String>,
}

impl VerifyReport {
    /// No differing row and no missing table.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty() && self.missing_tables.is_empty()
    }
}

/// Rebuilds every projection into verify copies and reports each row that differs
/// from the live tables at one common log position. The live tables are not changed
/// except that they may be caught up to that position, as any projector would.
pub async fn verify(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<VerifyReport, ProjectorError> {
    let lock = RebuildLock::take(projector.pool()).await?;
    let result = verify_locked(projector, progress).await;
    copies::discard(projector, TableSet::Verify).await;
    lock.release().await;
    result
}

async fn verify_locked(
    projector: &Projector,
    progress: &dyn Progress,
) -> Result<VerifyReport, ProjectorError> {
    let set = TableSet::Verify;
    let removed_leftovers = copies::remove_leftovers(projector).await?;
    let missing_tables = copies::missing_live_tables(projector).await?;
    copies::prepare(projector, set).await?;
    copies::project_all(projector, set, progress).await?;

    let mut conn = projector.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    custom_plans(&mut tx).await?;
    let mut report = VerifyReport {
        tables: Vec::new(),
        differences: Vec::new(),
        missing_tables,
        removed_leftovers,
    };
    for p in projector.projections() {
        if p.tables()
            .iter()
            .any(|spec| report.missing_tables.contains(&spec.name))
        {
            // Its live side cannot be caught up or compared; the report names the table.
            continue;
        }
        checkpoint::ensure(&mut tx, p.name()).await?;
        let mut live = checkpoint::lock(&mut tx, p.name())
            .await?
            .unwrap_or_default();
        let mut copy = checkpoint::lock(&mut tx, &set.checkpoint(p.name()))
            .await?
            .unwrap_or_default();
        // Bring both sides to the later of the two positions, and no further.
        let target = live.at.max(copy.at);
        while let Some((next, _)) = apply_batch(
            &mut tx,
            p.as_ref(),
            TableSet::Live,
            live,
            Some(target),
            projector.batch(),
        )
        .await?
        {
            live = next;
        }
        while let Some((next, _)) = apply_batch(
            &mut tx,
            p.as_ref(),
            set,
            copy,
            Some(target),
            projector.batch(),
        )
        .await?
        {
            copy = next;
        }
        for spec in p.tables() {
            let (rows, diffs) = compare(&mut tx, spec, set).await?;
            report.tables.push(VerifiedTable {
                table: spec.name,
                rows,
                compared_at: target,
            });
            report.differences.extend(diffs);
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Compares a live table with its copy row by row.
async fn compare(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(i64, Vec<RowDifference>), ProjectorError> {
    let live = quote_ident(spec.name)?;
    let copy = quote_ident(&set.table(spec.name))?;
    let key = quote_ident(spec.key)?;
    let rows: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {live} l FULL OUTER JOIN {copy} c ON l.{key} = c.{key}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let found = sqlx::query(&format!(
        "SELECT COALESCE(l.{key}, c.{key})::text AS key, \
                CASE WHEN l.{key} IS NULL THEN NULL ELSE to_jsonb(l) END AS live, \
                CASE WHEN c.{key} IS NULL THEN NULL ELSE to_jsonb(c) END AS rebuilt \
         FROM {live} l FULL OUTER JOIN {copy} c ON l.{key} = c.{key} \
         WHERE l.{key} IS NULL OR c.{key} IS NULL OR to_jsonb(l) <> to_jsonb(c) \
         ORDER BY 1"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(found.len());
    for row in found {
        let key: String = row.try_get("key")?;
        let live_row: Option<Value> = row.try_get("live")?;
        let rebuilt: Option<Value> = row.try_get("rebuilt")?;
        let difference = match (live_row, rebuilt) {
            (None, _) => Difference::MissingInLive,
            (_, None) => Difference::MissingInRebuild,
            (Some(l), Some(r)) => Difference::Columns(column_differences(&l, &r)),
        };
        out.push(RowDifference {
            table: spec.name,
            key,
            difference,
        });
    }
    Ok((rows, out))
}

fn column_differences(live: &Value, rebuilt: &Value) -> Vec<(String, Value, Value)> {
    let (Value::Object(l), Value::Object(r)) = (live, rebuilt) else {
        return vec![("row".into(), live.clone(), rebuilt.clone())];
    };
    let columns: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    columns
        .into_iter()
        .filter_map(|c| {
            let lv = l.get(c).cloned().unwrap_or(Value::Null);
            let rv = r.get(c).cloned().unwrap_or(Value::Null);
            (lv != rv).then(|| (c.clone(), lv, rv))
        })
        .collect()
}
