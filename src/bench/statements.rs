//! Where a compose drain's server time went, statement by statement
//! (`bench --review-statements N`): PostgreSQL's `pg_stat_statements` is reset when a
//! drain starts and read when it ends, so what it holds then is the drain's statements
//! alone (the queueing before it is not in it).
//!
//! The extension has to be loaded by the server (`shared_preload_libraries`); a server
//! without it is refused up front in one line, before anything is measured.

use sqlx::PgPool;

use super::failed;
use crate::cli::error::CliError;
use runproof_domain::ReasonCode;

/// One statement's share of a drain: `pg_stat_statements`' figures for its text.
#[derive(Debug, Clone)]
pub struct StatementTime {
    pub calls: i64,
    /// Milliseconds spent executing it, over every call.
    pub total_ms: f64,
    pub rows: i64,
    /// The normalised text, on one line.
    pub query: String,
}

/// What the drains' statements took, with `top` of them by time.
#[derive(Debug, Clone, Default)]
pub struct Statements {
    /// Milliseconds executing statements of the scratch database, all of them.
    pub total_ms: f64,
    pub calls: i64,
    pub top: Vec<StatementTime>,
}

fn unavailable() -> CliError {
    CliError::environment_state(ReasonCode::BenchStatementsUnavailable, vec![])
}

/// Refused when the server does not collect statement statistics (the extension is not
/// in `shared_preload_libraries`).
pub async fn require(pool: &PgPool) -> Result<(), CliError> {
    let loaded: bool = sqlx::query_scalar(
        "SELECT 'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))",
    )
    .fetch_one(pool)
    .await
    .map_err(failed)?;
    match loaded {
        true => Ok(()),
        false => Err(unavailable()),
    }
}

/// Makes the statistics readable in the scratch database; the bench has checked with
/// [`require`] before measuring anything.
pub async fn prepare(pool: &PgPool) -> Result<(), CliError> {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(pool)
        .await
        .map_err(|_| unavailable())?;
    Ok(())
}

/// Forgets every statement counted so far (the server's, not only this database's).
pub async fn reset(pool: &PgPool) -> Result<(), CliError> {
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(pool)
        .await
        .map_err(failed)?;
    Ok(())
}

/// The scratch database's statements since [`reset`], the `top` slowest in all first.
pub async fn read(pool: &PgPool, top: usize) -> Result<Statements, CliError> {
    let rows: Vec<(i64, f64, i64, String)> = sqlx::query_as(
        "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         ORDER BY total_exec_time DESC",
    )
    .fetch_all(pool)
    .await
    .map_err(failed)?;
    Ok(Statements {
        total_ms: rows.iter().map(|r| r.1).sum(),
        calls: rows.iter().map(|r| r.0).sum(),
        top: rows
            .into_iter()
            .take(top)
            .map(|(calls, total_ms, rows, query)| StatementTime {
                calls,
                total_ms,
                rows,
                query: one_line(&query),
            })
            .collect(),
    })
}

/// The statement's text with its whitespace runs as one space.
fn one_line(query: &str) -> String {
    query.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_statement_is_put_on_one_line() {
        assert_eq!(
            one_line("SELECT a,\n       b\n  FROM t  WHERE x = $1"),
            "SELECT a, b FROM t WHERE x = $1"
        );
    }
}
