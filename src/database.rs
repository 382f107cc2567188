//! Connecting to PostgreSQL, creating the database, migrating it, and refusing to work
//! on a schema this build does not know.

use std::str::FromStr;
use std::time::Duration;

use runproof_domain::ReasonCode;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};
use tracing::debug;

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The connection string used when neither `--database-url` nor `DATABASE_URL` is set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/runproof";

/// `idle_in_transaction_session_timeout` of runproof's own sessions. A session left idle
/// inside a transaction holds the read horizon back for every reader on the server (see
/// [`runproof_projections::log`]); the server ends such a session of runproof's after
/// this long. runproof's transactions are short and never wait on a person, so a
/// minute is far beyond any of them.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// Where the database is, parsed once; printable without credentials.
#[derive(Debug, Clone)]
pub struct DatabaseTarget {
    options: PgConnectOptions,
    database: String,
    display: String,
}

/// Why the database cannot be used. Each maps to a reason code with operator text.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("the connection string is not valid")]
    InvalidUrl,
    #[error("cannot reach the database server")]
    Unreachable(#[source] sqlx::Error),
    #[error("the database does not exist")]
    Missing,
    #[error("the database schema is not migrated")]
    NotMigrated,
    #[error("the database schema is newer than this build (version {0})")]
    Newer(i64),
    #[error("a migration failed earlier (version {0})")]
    Dirty(i64),
    #[error("database error")]
    Internal(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DatabaseError {
    /// The reason code and its placeholder values, for the operator.
    pub fn reason(&self, target: &DatabaseTarget) -> (ReasonCode, Vec<(&'static str, String)>) {
        match self {
            DatabaseError::InvalidUrl | DatabaseError::Unreachable(_) => (
                ReasonCode::DbUnreachable,
                vec![("target", target.to_string())],
            ),
            DatabaseError::Missing => (ReasonCode::DbMissing, vec![("target", target.to_string())]),
            DatabaseError::NotMigrated => (ReasonCode::DbNotMigrated, vec![]),
            DatabaseError::Newer(v) => {
                (ReasonCode::DbSchemaNewer, vec![("version", v.to_string())])
            }
            DatabaseError::Dirty(v) => {
                (ReasonCode::DbSchemaDirty, vec![("version", v.to_string())])
            }
            DatabaseError::Internal(_) | DatabaseError::Migrate(_) => {
                (ReasonCode::DbInternal, vec![])
            }
        }
    }
}

impl DatabaseTarget {
    /// Parses a `postgres://` connection string.
    pub fn parse(url: &str) -> Result<Self, DatabaseError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| DatabaseError::InvalidUrl)?;
        let database = options
            .get_database()
            .map(str::to_string)
            .unwrap_or_else(|| options.get_username().to_string());
        let display = format!("{}:{}/{}", options.get_host(), options.get_port(), database);
        let mut options = options
            .application_name("runproof")
            .disable_statement_logging();
        // A connection string that sets its own value keeps it.
        if !options
            .get_options()
            .is_some_and(|o| o.contains("idle_in_transaction_session_timeout"))
        {
            options = options.options([(
                "idle_in_transaction_session_timeout",
                IDLE_IN_TRANSACTION_TIMEOUT,
            )]);
        }
        Ok(DatabaseTarget {
            options,
            database,
            display,
        })
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> Self {
        DatabaseTarget {
            options: self.options.clone().database(database),
            database: database.to_string(),
            display: format!(
                "{}:{}/{}",
                self.options.get_host(),
                self.options.get_port(),
                database
            ),
        }
    }

    /// The options for connecting.
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// Opens a pool of at most `max_connections`. An unreachable server is reported at
    /// once (the pool itself would keep retrying until its acquire timeout).
    pub async fn connect(&self, max_connections: u32) -> Result<PgPool, DatabaseError> {
        let probe = PgConnection::connect_with(&self.options)
            .await
            .map_err(classify)?;
        probe.close().await.ok();
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.options.clone())
            .await
            .map_err(classify)
    }

    /// Creates the database if it does not exist. Returns whether it created it.
    pub async fn create_if_missing(&self) -> Result<bool, DatabaseError> {
        let admin = self.with_database("postgres");
        let mut conn = PgConnection::connect_with(&admin.options)
            .await
            .map_err(classify)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.database)
                .fetch_one(&mut conn)
                .await?;
        if exists {
            return Ok(false);
        }
        let quoted = format!("\"{}\"", self.database.replace('"', "\"\""));
        match sqlx::query(&format!("CREATE DATABASE {quoted}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => Ok(true),
            // Someone else created it at the same moment.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl std::fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

fn classify(e: sqlx::Error) -> DatabaseError {
    debug!(error = %e, "database connection failed");
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            DatabaseError::Missing
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            DatabaseError::Unreachable(e)
        }
        sqlx::Error::Database(db)
            if db
                .code()
                .as_deref()
                .is_some_and(|c| c.starts_with("28") || c.starts_with("08")) =>
        {
            DatabaseError::Unreachable(e)
        }
        _ => DatabaseError::Internal(e),
    }
}

/// Applies every pending migration. Idempotent. Returns the versions it applied.
pub async fn migrate(pool: &PgPool) -> Result<Vec<i64>, DatabaseError> {
    let before = applied_versions(pool).await?;
    check_not_newer(&before)?;
    MIGRATOR.run(pool).await?;
    let after = applied_versions(pool).await?;
    Ok(after
        .into_iter()
        .filter(|(v, _)| !before.iter().any(|(b, _)| b == v))
        .map(|(v, _)| v)
        .collect())
}

/// Refuses a database that is not migrated to exactly this build's schema.
pub async fn check_schema(pool: &PgPool) -> Result<(), DatabaseError> {
    let applied = applied_versions(pool).await?;
    check_not_newer(&applied)?;
    if let Some((v, _)) = applied.iter().find(|(_, ok)| !ok) {
        return Err(DatabaseError::Dirty(*v));
    }
    let all_known_applied = MIGRATOR
        .iter()
        .all(|m| applied.iter().any(|(v, ok)| *v == m.version && *ok));
    if all_known_applied {
        Ok(())
    } else {
        Err(DatabaseError::NotMigrated)
    }
}

fn check_not_newer(applied: &[(i64, bool)]) -> Result<(), DatabaseError> {
    match applied
        .iter()
        .map(|(v, _)| *v)
        .find(|v| !MIGRATOR.iter().any(|m| m.version == *v))
    {
        Some(unknown) => Err(DatabaseError::Newer(unknown)),
        None => Ok(()),
    }
}

/// `(version, success)` of every applied migration; empty when never migrated.
async fn applied_versions(pool: &PgPool) -> Result<Vec<(i64, bool)>, DatabaseError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(classify)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("version")?, r.try_get("success")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(DatabaseError::from)
}
