//! Test support: a fresh PostgreSQL database per test, dropped when the test ends.
//!
//! The server comes from `DATABASE_URL` (set by `.cargo/config.toml`, overridable); each
//! test gets `runproof_test_<uuid>` on it, migrated with the embedded migrator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod audit;
pub mod browser;
pub mod cli;
pub mod console;
pub mod feed;
pub mod http;
pub mod nats;

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use runproof::app::App;
use runproof::clock::ManualClock;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_projections::sql::quote_ident;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// A throwaway database.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    admin: PgConnectOptions,
    base_url: String,
}

fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/runproof".into())
}

impl TestDb {
    /// A new, migrated database.
    pub async fn new() -> TestDb {
        let db = TestDb::unmigrated().await;
        runproof::MIGRATOR
            .run(&db.pool)
            .await
            .expect("migrate test database");
        db
    }

    /// A new, empty database (no schema).
    pub async fn unmigrated() -> TestDb {
        let base = base_url();
        let options = PgConnectOptions::from_str(&base).expect("DATABASE_URL parses");
        let admin = options
            .clone()
            .database("postgres")
            .disable_statement_logging();
        let name = format!("runproof_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect to the postgres database");
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&name).unwrap()))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(12)
            .connect_with(options.database(&name).disable_statement_logging())
            .await
            .expect("connect to test database");
        TestDb {
            pool,
            name,
            admin,
            base_url: base,
        }
    }

    /// The connection string of this database (for the binary).
    pub fn url(&self) -> String {
        let (head, _) = self
            .base_url
            .rsplit_once('/')
            .expect("DATABASE_URL has a database");
        format!("{head}/{}", self.name)
    }

    /// The one number `sql` selects (a count, a maximum).
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// A new pool on this database (a "second process").
    pub async fn second_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(12)
            .connect(&self.url())
            .await
            .expect("second pool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs in async tests too; do the blocking cleanup on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                        let Ok(quoted) = quote_ident(&name) else {
                            return;
                        };
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            }
        })
        .join();
    }
}

/// A fixed starting instant for manual clocks.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("valid timestamp") // 2026-01-01
}

/// App wired over the test pool with a manual clock (read-your-writes on).
pub fn app(db: &TestDb) -> (App, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    (App::from_pool(db.pool.clone(), clock.clone()), clock)
}

/// A request context for an operator.
pub fn operator() -> CommandContext {
    CommandContext::new(Initiator::Actor(uuid::Uuid::from_u128(0x0123)))
}

/// A new environment `name` of `workspace` with `findings` captured as its evidence.
pub async fn environment_with_evidence(
    app: &App,
    workspace: uuid::Uuid,
    name: &str,
    findings: serde_json::Value,
) -> uuid::Uuid {
    let ctx = operator();
    let environment = app
        .directory
        .create_environment(workspace, uuid::Uuid::new_v4(), name, &ctx)
        .await
        .unwrap();
    app.directory
        .capture_evidence(environment, findings, &ctx)
        .await
        .unwrap();
    environment
}

/// A compose run's ensure request for `environment` of `workspace`, its identity the
/// evidence fingerprint `fingerprint`.
pub fn compose_request(
    workspace: uuid::Uuid,
    environment: uuid::Uuid,
    fingerprint: &str,
) -> runproof::lifecycle::EnsureRun {
    runproof::lifecycle::EnsureRun {
        workspace_id: workspace,
        environment_id: Some(environment),
        run_type: "environment.review.compose".into(),
        identity_inputs: serde_json::json!({ "fingerprint": fingerprint }),
        context: serde_json::json!({ "fingerprint": fingerprint }),
    }
}

/// The workspace "Contoso" with its member "Ada": (workspace, actor).
pub async fn workspace_with_member(app: &App) -> (uuid::Uuid, uuid::Uuid) {
    let ctx = operator();
    let workspace = app
        .directory
        .create_workspace(uuid::Uuid::new_v4(), "Contoso", &ctx)
        .await
        .unwrap();
    let actor = app
        .directory
        .create_actor(uuid::Uuid::new_v4(), "Ada", &ctx)
        .await
        .unwrap();
    app.directory
        .add_member(workspace, actor, &ctx)
        .await
        .unwrap();
    (workspace, actor)
}

/// A request context for the worker.
pub fn worker() -> CommandContext {
    CommandContext::new(Initiator::system("worker"))
}

/// Waits until every projection has applied every event written so far (other tests'
/// open transactions on the same server can hold the read horizon back for a moment).
pub async fn wait_projected(db: &TestDb, projector: &runproof_projections::Projector) {
    let last: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events \
         ORDER BY transaction_id DESC, position DESC LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await
    .expect("read the last position");
    if let Some((transaction_id, position)) = last {
        projector
            .wait_for(
                runproof_projections::LogPosition {
                    transaction_id,
                    position,
                },
                std::time::Duration::from_secs(30),
            )
            .await
            .expect("projections catch up");
    }
}

/// Appends a review draft straight to the log, bypassing the fingerprint slot — a write
/// the services never make; used to drive the projection's second line of defence.
pub async fn plant_review_draft(
    app: &App,
    workspace_id: uuid::Uuid,
    environment_id: uuid::Uuid,
    fingerprint: runproof_domain::fingerprint::Fingerprint,
) -> uuid::Uuid {
    use runproof_domain::review::{DraftReview, EnvironmentReview, ReviewCommand};
    let review_id = uuid::Uuid::new_v4();
    let now = runproof::clock::Clock::now(app.clock.as_ref());
    let events = EnvironmentReview::default()
        .decide(ReviewCommand::Draft(DraftReview {
            review_id,
            workspace_id,
            environment_id,
            fingerprint,
            snapshot_id: uuid::Uuid::new_v4(),
            run_id: uuid::Uuid::new_v4(),
            drafted_at: now,
        }))
        .expect("a new draft");
    let writes = runproof::event_store::NewEvent::for_stream::<EnvironmentReview>(
        &review_id.to_string(),
        0,
        &events,
        &operator(),
        now,
    )
    .expect("serialise");
    app.store.append_atomically(&writes).await.expect("append");
    review_id
}

/// Catches up until a projection stops (an event it cannot apply is readable), or fails
/// the test after 30 seconds.
pub async fn wait_until_stopped(
    projector: &runproof_projections::Projector,
) -> runproof_projections::ProjectorError {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match projector.catch_up().await {
            Err(e) => return e,
            Ok(_) if std::time::Instant::now() > deadline => panic!("the projection never stopped"),
            Ok(_) => tokio::task::yield_now().await,
        }
    }
}
