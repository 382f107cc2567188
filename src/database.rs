//! Connecting to PostgreSQL, creating the database, migrating it, and refusing to work
//! on a schema this build does not know.

use std::str::FromStr;
use std::time::Duration;

use runproof_domain::ReasonCode;
use runproof_projections::sql::{quote_ident, InvalidIdentifier};
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
    connect_timeout: Duration,
}

/// Why the database cannot be used. Each maps to a reason code with operator text.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("the connection string is not valid")]
    InvalidUrl,
    #[error("cannot reach the database server")]
    Unreachable(#[source] sqlx::Error),
    /// Something answered at the address, but not in PostgreSQL's protocol.
    #[error("the server does not speak the PostgreSQL protocol")]
    NotPostgres(#[source] sqlx::Error),
    /// The server refused the role: it does not exist, or may not connect from here.
    #[error("the server refused the role")]
    RoleRefused(#[source] sqlx::Error),
    /// The role exists but the password (or other credential) was wrong.
    #[error("authentication failed")]
    AuthenticationFailed(#[source] sqlx::Error),
    #[error("the database does not exist")]
    Missing,
    /// A name that PostgreSQL would not keep as given (empty, a NUL, over 63 bytes).
    #[error("the database name cannot be used")]
    InvalidName(#[from] InvalidIdentifier),
    #[error("the database schema is not migrated")]
    NotMigrated,
    #[error("the database schema is newer than this build (version {0})")]
    Newer(i64),
    #[error("a migration failed earlier (version {0})")]
    Dirty(i64),
    /// An applied migration differs from the one this build carries under its version.
    #[error("applied migration {0} differs from this build's")]
    Changed(i64),
    #[error("database error")]
    Internal(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::migrate::MigrateError> for DatabaseError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        match e {
            MigrateError::Dirty(v) => DatabaseError::Dirty(v),
            MigrateError::VersionMismatch(v) => DatabaseError::Changed(v),
            MigrateError::VersionMissing(v) => DatabaseError::Newer(v),
            other => DatabaseError::Migrate(other),
        }
    }
}

impl DatabaseError {
    /// The reason code and its placeholder values, for the operator.
    pub fn reason(&self, target: &DatabaseTarget) -> (ReasonCode, Vec<(&'static str, String)>) {
        let at = || ("target", target.to_string());
        let role = || ("role", target.user().to_string());
        match self {
            DatabaseError::InvalidUrl | DatabaseError::Unreachable(_) => {
                (ReasonCode::DbUnreachable, vec![at()])
            }
            DatabaseError::NotPostgres(_) => (ReasonCode::DbNotPostgres, vec![at()]),
            DatabaseError::RoleRefused(_) => (ReasonCode::DbRoleRefused, vec![role(), at()]),
            DatabaseError::AuthenticationFailed(_) => {
                (ReasonCode::DbAuthenticationFailed, vec![role(), at()])
            }
            DatabaseError::Missing => (ReasonCode::DbMissing, vec![at()]),
            DatabaseError::InvalidName(_) => (ReasonCode::DbInvalidName, vec![]),
            DatabaseError::NotMigrated => (ReasonCode::DbNotMigrated, vec![]),
            DatabaseError::Newer(v) => {
                (ReasonCode::DbSchemaNewer, vec![("version", v.to_string())])
            }
            DatabaseError::Dirty(v) => {
                (ReasonCode::DbSchemaDirty, vec![("version", v.to_string())])
            }
            DatabaseError::Changed(v) => (
                ReasonCode::DbMigrationChanged,
                vec![("version", v.to_string())],
            ),
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
            connect_timeout: CONNECT_TIMEOUT,
        })
    }

    /// The role runproof connects as.
    pub fn user(&self) -> &str {
        self.options.get_username()
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
            connect_timeout: self.connect_timeout,
        }
    }

    /// How long establishing one connection may take (default [`CONNECT_TIMEOUT`]).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The options for connecting.
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// Opens a pool of at most `max_connections`. An unreachable server, a server that
    /// is not PostgreSQL and a refused role are reported at once (the pool itself would
    /// keep retrying until its acquire timeout).
    /// The same target whose sessions cancel any statement running longer than
    /// `timeout` (for request paths: a database call made for an HTTP request is bounded).
    pub fn with_statement_timeout(&self, timeout: Duration) -> Self {
        let mut target = self.clone();
        target.options = target
            .options
            .options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        target
    }

    pub async fn connect(&self, max_connections: u32) -> Result<PgPool, DatabaseError> {
        let probe = self.connect_one().await?;
        probe.close().await.ok();
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection when it is returned; pinging it again when it is
            // handed out costs a round trip per checkout (a request makes two). Only a
            // connection that sat idle is pinged — that is when a restarted server or a
            // cut network leaves a dead one behind — and replaced if the ping fails.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_IF_IDLE_FOR {
                        return Ok(true);
                    }
                    Ok(conn.ping().await.is_ok())
                })
            })
            .connect_with(self.options.clone())
            .await
            .map_err(classify)
    }

    /// One connection, given up after the connect timeout. When that passes, a server
    /// that accepts TCP connections but did not answer the handshake is not PostgreSQL
    /// (PostgreSQL answers at once, if only with an error); anything else is unreachable.
    async fn connect_one(&self) -> Result<PgConnection, DatabaseError> {
        let connecting = PgConnection::connect_with(&self.options);
        match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(connected) => connected.map_err(classify),
            Err(_) => {
                let cause = sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no answer to the handshake in time",
                ));
                debug!(error = %cause, "database connection failed");
                if self.accepts_tcp().await {
                    Err(DatabaseError::NotPostgres(cause))
                } else {
                    Err(DatabaseError::Unreachable(cause))
                }
            }
        }
    }

    /// Whether a plain TCP connection to the host and port succeeds (never for a Unix
    /// socket).
    async fn accepts_tcp(&self) -> bool {
        let host = self.options.get_host();
        if self.options.get_socket().is_some() || host.starts_with('/') {
            return false;
        }
        let connecting = tokio::net::TcpStream::connect((host, self.options.get_port()));
        matches!(
            tokio::time::timeout(self.connect_timeout, connecting).await,
            Ok(Ok(_))
        )
    }

    /// Creates the database if it does not exist. Returns whether it created it.
    pub async fn create_if_missing(&self) -> Result<bool, DatabaseError> {
        let quoted = quote_ident(&self.database)?;
        let admin = self.with_database("postgres");
        let mut conn = admin.connect_one().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.database)
                .fetch_one(&mut conn)
                .await?;
        if exists {
            return Ok(false);
        }
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

impl DatabaseTarget {
    /// Drops the database if it exists, disconnecting its sessions (`WITH (FORCE)`).
    /// Only for scratch databases runproof made itself (the bench's).
    pub async fn drop_if_exists(&self) -> Result<(), DatabaseError> {
        let quoted = quote_ident(&self.database)?;
        let admin = self.with_database("postgres");
        let mut conn = PgConnection::connect_with(&admin.options)
            .await
            .map_err(classify)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        conn.close().await.ok();
        Ok(())
    }
}

impl std::fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

/// How long establishing one connection may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection idle for at least this long is pinged before it is handed out;
/// one used more recently was pinged when it was returned, moments ago.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// What a failed connection attempt means for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing answers at the address, or the server is starting or stopping.
    Unreachable,
    /// Something answers, but not in PostgreSQL's protocol.
    NotPostgres,
    /// The role does not exist, or may not connect (`pg_hba.conf`, `CONNECT` privilege).
    RoleRefused,
    /// The password (or another credential) was wrong.
    AuthenticationFailed,
    /// The database does not exist.
    DatabaseMissing,
}

impl ConnectFailure {
    /// From the SQLSTATE a PostgreSQL server sent while refusing a connection; `None`
    /// when the code says nothing about connecting.
    pub fn from_sqlstate(code: &str) -> Option<ConnectFailure> {
        match code {
            "3D000" => Some(ConnectFailure::DatabaseMissing),
            // invalid_password: also what servers with password authentication answer
            // for a role that does not exist (they do not reveal which roles exist).
            "28P01" => Some(ConnectFailure::AuthenticationFailed),
            // invalid_authorization_specification: no such role (with trust or peer
            // authentication), or no pg_hba.conf entry; insufficient_privilege: no
            // CONNECT privilege on the database.
            "28000" | "42501" => Some(ConnectFailure::RoleRefused),
            // Connection exceptions; cannot_connect_now (starting up, shutting down),
            // admin or crash shutdown while connecting.
            c if c.starts_with("08") => Some(ConnectFailure::Unreachable),
            "57P01" | "57P02" | "57P03" => Some(ConnectFailure::Unreachable),
            _ => None,
        }
    }

    /// From an I/O failure while connecting: a refused or unroutable connection is
    /// unreachable; a connection that something accepted and then closed or filled with
    /// bytes PostgreSQL never sends is not PostgreSQL.
    pub fn from_io(kind: std::io::ErrorKind) -> ConnectFailure {
        use std::io::ErrorKind;
        match kind {
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::InvalidData => ConnectFailure::NotPostgres,
            _ => ConnectFailure::Unreachable,
        }
    }
}

fn classify(e: sqlx::Error) -> DatabaseError {
    debug!(error = %e, "database connection failed");
    let failure = match &e {
        sqlx::Error::Database(db) => db.code().as_deref().and_then(ConnectFailure::from_sqlstate),
        sqlx::Error::Io(io) => Some(ConnectFailure::from_io(io.kind())),
        sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => Some(ConnectFailure::Unreachable),
        sqlx::Error::Protocol(_) => Some(ConnectFailure::NotPostgres),
        _ => None,
    };
    match failure {
        Some(ConnectFailure::Unreachable) => DatabaseError::Unreachable(e),
        Some(ConnectFailure::NotPostgres) => DatabaseError::NotPostgres(e),
        Some(ConnectFailure::RoleRefused) => DatabaseError::RoleRefused(e),
        Some(ConnectFailure::AuthenticationFailed) => DatabaseError::AuthenticationFailed(e),
        Some(ConnectFailure::DatabaseMissing) => DatabaseError::Missing,
        None => DatabaseError::Internal(e),
    }
}

/// Applies every pending migration. Idempotent. Returns the versions it applied. A
/// database left dirty by a failed migration, or whose applied migration differs from
/// this build's, is refused with its own reason before anything is applied.
pub async fn migrate(pool: &PgPool) -> Result<Vec<i64>, DatabaseError> {
    let before = applied_migrations(pool).await?;
    check_not_newer(&before)?;
    check_applied_intact(&before)?;
    MIGRATOR.run(pool).await?;
    let after = applied_migrations(pool).await?;
    Ok(after
        .into_iter()
        .filter(|a| !before.iter().any(|b| b.version == a.version))
        .map(|a| a.version)
        .collect())
}

/// Refuses a database that is not migrated to exactly this build's schema.
pub async fn check_schema(pool: &PgPool) -> Result<(), DatabaseError> {
    let applied = applied_migrations(pool).await?;
    check_not_newer(&applied)?;
    check_applied_intact(&applied)?;
    let all_known_applied = MIGRATOR
        .iter()
        .all(|m| applied.iter().any(|a| a.version == m.version));
    if all_known_applied {
        Ok(())
    } else {
        Err(DatabaseError::NotMigrated)
    }
}

/// One row of the migrator's bookkeeping.
struct Applied {
    version: i64,
    success: bool,
    checksum: Vec<u8>,
}

fn check_not_newer(applied: &[Applied]) -> Result<(), DatabaseError> {
    match applied
        .iter()
        .map(|a| a.version)
        .find(|v| !MIGRATOR.iter().any(|m| m.version == *v))
    {
        Some(unknown) => Err(DatabaseError::Newer(unknown)),
        None => Ok(()),
    }
}

/// Refuses a migration left dirty, and an applied migration whose checksum differs from
/// the one this build carries under the same version (the database was migrated by
/// another build, or the bookkeeping was edited).
fn check_applied_intact(applied: &[Applied]) -> Result<(), DatabaseError> {
    if let Some(a) = applied.iter().find(|a| !a.success) {
        return Err(DatabaseError::Dirty(a.version));
    }
    for a in applied {
        if let Some(m) = MIGRATOR.iter().find(|m| m.version == a.version) {
            if *m.checksum != *a.checksum {
                return Err(DatabaseError::Changed(a.version));
            }
        }
    }
    Ok(())
}

/// Every applied migration, by version; empty when never migrated.
async fn applied_migrations(pool: &PgPool) -> Result<Vec<Applied>, DatabaseError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(classify)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows =
        sqlx::query("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Applied {
                version: r.try_get("version")?,
                success: r.try_get("success")?,
                checksum: r.try_get("checksum")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(DatabaseError::from)
}

#[cfg(test)]
mod tests {
    use super::ConnectFailure;
    use std::io::ErrorKind;

    #[test]
    fn a_refused_login_is_told_apart_by_its_sqlstate() {
        assert_eq!(
            ConnectFailure::from_sqlstate("28P01"),
            Some(ConnectFailure::AuthenticationFailed)
        );
        assert_eq!(
            ConnectFailure::from_sqlstate("28000"),
            Some(ConnectFailure::RoleRefused)
        );
        assert_eq!(
            ConnectFailure::from_sqlstate("42501"),
            Some(ConnectFailure::RoleRefused)
        );
        assert_eq!(
            ConnectFailure::from_sqlstate("3D000"),
            Some(ConnectFailure::DatabaseMissing)
        );
        assert_eq!(
            ConnectFailure::from_sqlstate("57P03"),
            Some(ConnectFailure::Unreachable)
        );
        assert_eq!(
            ConnectFailure::from_sqlstate("08006"),
            Some(ConnectFailure::Unreachable)
        );
        assert_eq!(ConnectFailure::from_sqlstate("23505"), None);
    }

    #[test]
    fn a_closed_or_garbled_connection_is_not_postgres_but_a_refused_one_is_unreachable() {
        assert_eq!(
            ConnectFailure::from_io(ErrorKind::UnexpectedEof),
            ConnectFailure::NotPostgres
        );
        assert_eq!(
            ConnectFailure::from_io(ErrorKind::ConnectionReset),
            ConnectFailure::NotPostgres
        );
        assert_eq!(
            ConnectFailure::from_io(ErrorKind::ConnectionRefused),
            ConnectFailure::Unreachable
        );
        assert_eq!(
            ConnectFailure::from_io(ErrorKind::TimedOut),
            ConnectFailure::Unreachable
        );
    }
}
