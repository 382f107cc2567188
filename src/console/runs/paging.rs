//! Keyset pages of the runs list: by `(created_at, id)`, newest first, never OFFSET.
//! "Older" reads on from a page's last run, "newer" back from its first; a link is
//! offered only when a run lies that way, so nothing is capped silently.

use chrono::{DateTime, Utc};
use runproof_projections::operation_runs::{self, RunFilter, RunRow};
use sqlx::PgConnection;
use uuid::Uuid;

/// A run's place in the list.
pub type Key = (DateTime<Utc>, Uuid);

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The newest runs.
    Top,
    /// The runs older than this one.
    After(Key),
    /// The runs newer than this one (the closest ones).
    Before(Key),
}

/// One page, newest first, and whether runs lie beyond it each way.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<RunRow>,
    pub has_older: bool,
    pub has_newer: bool,
}

impl Page {
    /// The start of the page older than this one.
    pub fn older(&self) -> Option<Key> {
        self.has_older.then(|| self.rows.last().map(key)).flatten()
    }

    /// The start of the page newer than this one.
    pub fn newer(&self) -> Option<Key> {
        self.has_newer.then(|| self.rows.first().map(key)).flatten()
    }
}

pub fn key(row: &RunRow) -> Key {
    (row.state.created_at, row.state.id)
}

/// Whether any run matches `filter` (one row is enough).
async fn any(conn: &mut PgConnection, filter: RunFilter) -> Result<bool, sqlx::Error> {
    let probe = RunFilter { limit: 1, ..filter };
    Ok(!operation_runs::list(conn, &probe).await?.is_empty())
}

/// The page of at most `limit` runs matching `filter` from `start`: one row more than
/// shown is read in the direction of travel (is there a page beyond?), and one row is
/// probed the other way.
pub async fn read(
    conn: &mut PgConnection,
    filter: &RunFilter,
    start: Start,
    limit: i64,
) -> Result<Page, sqlx::Error> {
    let (after, before) = match start {
        Start::Top => (None, None),
        Start::After(k) => (Some(k), None),
        Start::Before(k) => (None, Some(k)),
    };
    let mut rows = operation_runs::list(
        conn,
        &RunFilter {
            limit: limit + 1,
            after,
            before,
            ..filter.clone()
        },
    )
    .await?;
    let beyond = rows.len() as i64 > limit;
    if beyond {
        match start {
            // Read backwards: the extra row is the newest.
            Start::Before(_) => {
                rows.remove(0);
            }
            _ => rows.truncate(limit as usize),
        }
    }
    let (has_older, has_newer) = match start {
        Start::Top => (beyond, false),
        Start::After(_) => {
            let newer = match rows.first() {
                Some(first) => {
                    any(
                        conn,
                        RunFilter {
                            before: Some(key(first)),
                            ..filter.clone()
                        },
                    )
                    .await?
                }
                None => false,
            };
            (beyond, newer)
        }
        Start::Before(_) => {
            let older = match rows.last() {
                Some(last) => {
                    any(
                        conn,
                        RunFilter {
                            after: Some(key(last)),
                            ..filter.clone()
                        },
                    )
                    .await?
                }
                None => false,
            };
            (older, beyond)
        }
    };
    Ok(Page {
        rows,
        has_older,
        has_newer,
    })
}
