//! An example downstream projection: a small report of finished runs per workspace, run
//! type, outcome and day, built from runproof's feed — over HTTP (`GET /api/v1/events`)
//! or from the JetStream stream the relay fills — in a schema of its own.
//!
//! It is the model for a consumer (docs/feed.md walks through it):
//! - its checkpoint (the feed's cursor, or the stream sequence) is written **in the same
//!   transaction** as the rows a batch changes, so a consumer killed at any moment
//!   resumes exactly after the last batch it committed: nothing is counted twice, and
//!   nothing is missed;
//! - it keeps what it needs from earlier events (a run's workspace and type, from its
//!   `RunQueued`) in its own table, because a later event does not repeat them;
//! - it never reads runproof's tables, only the feed.
//!
//! ```text
//! cargo run --example downstream_report -- --database-url postgres://…/reports \
//!     http --feed-url http://127.0.0.1:8080 --token "$FEED_TOKEN"
//! cargo run --example downstream_report -- --database-url postgres://…/reports \
//!     nats --url nats://127.0.0.1:4222 --stream RUNPROOF_EVENTS
//! ```
//! `--once` stops when the feed has nothing more; without it the consumer follows the
//! feed until Ctrl-C.

use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use async_nats::jetstream;
use clap::{Parser, Subcommand};
use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sqlx::{Connection, PgConnection, Postgres, Transaction};

#[derive(Debug, Parser)]
struct Args {
    /// The report's database (it may be runproof's own: the report keeps to its schema).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The report's schema.
    #[arg(long, default_value = "downstream_report")]
    schema: String,
    /// Events handled per transaction.
    #[arg(long, default_value_t = 200)]
    batch: usize,
    /// Stop once the feed has nothing more to give.
    #[arg(long)]
    once: bool,
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, Subcommand)]
enum Source {
    /// Page through `GET /api/v1/events` with a token of an actor that may read the feed.
    Http {
        #[arg(long)]
        feed_url: String,
        #[arg(long, env = "RUNPROOF_FEED_TOKEN")]
        token: String,
    },
    /// Read the relay's JetStream stream with an ordered consumer.
    Nats {
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        url: String,
        #[arg(long, default_value = "RUNPROOF_EVENTS")]
        stream: String,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !args
        .schema
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        bail!("--schema is lowercase letters and _");
    }
    let mut db = PgConnection::connect(&args.database_url)
        .await
        .context("connect to the report's database")?;
    create_tables(&mut db, &args.schema).await?;
    match &args.source {
        Source::Http { feed_url, token } => follow_http(&args, &mut db, feed_url, token).await,
        Source::Nats { url, stream } => follow_nats(&args, &mut db, url, stream).await,
    }
}

async fn create_tables(db: &mut PgConnection, schema: &str) -> Result<()> {
    for statement in [
        format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
        // What the report must remember of a run to count it when it ends.
        format!(
            "CREATE TABLE IF NOT EXISTS {schema}.runs (run_id uuid PRIMARY KEY, \
             workspace_id uuid NOT NULL, run_type text NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {schema}.finished_runs (workspace_id uuid NOT NULL, \
             run_type text NOT NULL, outcome text NOT NULL, day date NOT NULL, \
             runs bigint NOT NULL, PRIMARY KEY (workspace_id, run_type, outcome, day))"
        ),
        // One row per source: the cursor (HTTP) or the stream sequence (JetStream) of
        // the last event applied.
        format!(
            "CREATE TABLE IF NOT EXISTS {schema}.checkpoint (source text PRIMARY KEY, \
             position text NOT NULL)"
        ),
    ] {
        sqlx::query(&statement).execute(&mut *db).await?;
    }
    Ok(())
}

async fn checkpoint(db: &mut PgConnection, schema: &str, source: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT position FROM {schema}.checkpoint WHERE source = $1"
    ))
    .bind(source)
    .fetch_optional(db)
    .await?)
}

/// Applies one event (CloudEvents JSON) to the report, inside the batch's transaction.
async fn apply(tx: &mut Transaction<'_, Postgres>, schema: &str, event: &Value) -> Result<()> {
    let Some(kind) = event["type"].as_str() else {
        bail!("an event without a type");
    };
    let data = &event["data"];
    let run_id = event["subject"].as_str().unwrap_or_default();
    // `runproof.<aggregate>.<event type>.v<version>`
    match kind.split('.').nth(2) {
        Some("RunQueued") => {
            sqlx::query(&format!(
                "INSERT INTO {schema}.runs (run_id, workspace_id, run_type) \
                 VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT (run_id) DO NOTHING"
            ))
            .bind(run_id)
            .bind(data["workspace_id"].as_str())
            .bind(data["run_type"].as_str())
            .execute(&mut **tx)
            .await?;
        }
        Some("RunCompleted" | "RunReconciled") => {
            let counted = sqlx::query(&format!(
                "INSERT INTO {schema}.finished_runs AS f (workspace_id, run_type, outcome, day, runs) \
                 SELECT r.workspace_id, r.run_type, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date, 1 \
                 FROM {schema}.runs r WHERE r.run_id = $1::uuid \
                 ON CONFLICT (workspace_id, run_type, outcome, day) \
                 DO UPDATE SET runs = f.runs + 1"
            ))
            .bind(run_id)
            .bind(data["outcome"].as_str())
            .bind(data["completed_at"].as_str())
            .execute(&mut **tx)
            .await?;
            if counted.rows_affected() == 0 {
                bail!("run {run_id} ended but the report never saw it queued");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies `events` and moves the checkpoint to `position`, all or nothing.
async fn commit_batch(
    db: &mut PgConnection,
    schema: &str,
    source: &str,
    events: &[Value],
    position: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    for event in events {
        apply(&mut tx, schema, event).await?;
    }
    sqlx::query(&format!(
        "INSERT INTO {schema}.checkpoint (source, position) VALUES ($1, $2) \
         ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position"
    ))
    .bind(source)
    .bind(position)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn follow_http(args: &Args, db: &mut PgConnection, feed: &str, token: &str) -> Result<()> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let source = "http";
    let mut cursor = checkpoint(db, &args.schema, source).await?;
    loop {
        let mut uri = format!(
            "{}/api/v1/events?limit={}",
            feed.trim_end_matches('/'),
            args.batch
        );
        if let Some(c) = &cursor {
            uri.push_str(&format!("&after={c}"));
        }
        let request = hyper::Request::get(uri)
            .header("Authorization", format!("Bearer {token}"))
            .body(Empty::new())?;
        let response = client.request(request).await.context("read the feed")?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "the feed answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let page: Value = serde_json::from_slice(&body)?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        let Some(next) = page["next_cursor"].as_str() else {
            bail!("the feed's page has no next_cursor");
        };
        if cursor.as_deref() != Some(next) {
            commit_batch(db, &args.schema, source, &events, next).await?;
            cursor = Some(next.to_string());
        }
        if page["caught_up"].as_bool() == Some(true) {
            if args.once {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn follow_nats(args: &Args, db: &mut PgConnection, url: &str, name: &str) -> Result<()> {
    let js = jetstream::new(async_nats::connect(url).await.context("connect to NATS")?);
    let stream = js.get_stream(name).await.context("open the stream")?;
    let source = format!("nats:{name}");
    let done: u64 = match checkpoint(db, &args.schema, &source).await? {
        Some(seq) => seq.parse().context("the checkpoint is a stream sequence")?,
        None => 0,
    };
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: done + 1,
            },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut batch = Vec::with_capacity(args.batch);
    let mut last = done;
    loop {
        // A batch ends when it is full or the stream pauses for a moment.
        let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
        match next {
            Ok(Some(message)) => {
                let message = message?;
                let sequence = message.info().map_err(anyhow::Error::msg)?.stream_sequence;
                batch.push(serde_json::from_slice::<Value>(&message.payload)?);
                last = sequence;
                if batch.len() < args.batch {
                    continue;
                }
            }
            Ok(None) => bail!("the stream's consumer ended"),
            Err(_) => {}
        }
        if !batch.is_empty() {
            commit_batch(db, &args.schema, &source, &batch, &last.to_string()).await?;
            batch.clear();
        } else if args.once {
            let end = stream.get_info().await?.state.last_sequence;
            if last >= end {
                return Ok(());
            }
        }
    }
}
