//! `runproof relay nats`: the log onto a NATS JetStream stream (the relay itself is
//! [`crate::relay`]); and the relay's lag as `project --once` reports it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Subcommand};
use runproof_domain::ReasonCode;
use tokio::sync::watch;
use tracing::{info, warn};

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::database::DatabaseTarget;
use crate::feed::Origin;
use crate::relay::stream::{self, Lag};
use crate::relay::subject::{StreamName, SubjectPrefix};
use crate::relay::{Relay, RelayError, RelaySettings};

/// The NATS server relays use when none is named.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Publish every event, in commit order and exactly once, to a NATS JetStream stream
    /// (created if missing), on subjects `<prefix>.<workspace>.<aggregate>.<event type>`.
    /// Any number of relays may run: one publishes, the others take over when it stops.
    /// Resumes after the stream's last message.
    Nats(NatsArgs),
}

/// Where the relay publishes.
#[derive(Debug, Clone, Args)]
pub struct StreamArgs {
    /// The NATS server.
    #[arg(long, env = "RUNPROOF_NATS_URL", default_value = DEFAULT_NATS_URL)]
    pub url: String,
    /// The JetStream stream (1 to 64 characters of A-Z a-z 0-9 _ -).
    #[arg(long, default_value = "RUNPROOF_EVENTS")]
    pub stream: StreamName,
    /// The first words of every subject (dot-separated words of A-Z a-z 0-9 _ -).
    #[arg(long, default_value = "runproof")]
    pub subject_prefix: SubjectPrefix,
}

/// Options of `runproof relay nats`.
#[derive(Debug, Args)]
pub struct NatsArgs {
    #[command(flatten)]
    pub stream: StreamArgs,
    /// The name of this installation in the `source` of every event (`runproof/<NAME>`).
    #[arg(
        long,
        default_value = "default",
        env = "RUNPROOF_FEED_ORIGIN",
        value_name = "NAME"
    )]
    pub feed_origin: Origin,
    /// Publishes awaiting their acknowledgement at most (1 to 10000).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub window: u32,
    /// Events read from the log at once (1 to 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub batch: i64,
    /// Seconds between looks at the log when no notification arrives.
    #[arg(long, default_value = "1", value_parser = super::parse_positive_seconds, value_name = "SECONDS")]
    pub poll: Duration,
    /// Seconds between a standby relay's attempts to become the leader.
    #[arg(long, default_value = "2", value_parser = super::parse_positive_seconds, value_name = "SECONDS")]
    pub standby_poll: Duration,
    /// Failed attempts in a row (NATS or the database unreachable) before the relay
    /// gives up and exits with code 3.
    #[arg(long, default_value_t = 30)]
    pub max_retries: usize,
    /// The longest pause in seconds between two attempts (the pauses grow exponentially
    /// up to it).
    #[arg(long, default_value = "10", value_parser = super::parse_positive_seconds, value_name = "SECONDS")]
    pub max_backoff: Duration,
    /// Serve Prometheus metrics (`runproof_relay_*`: leader, position, stream sequence,
    /// lag) on this address at /metrics.
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_listen: Option<SocketAddr>,
}

pub async fn run(
    command: RelayCommand,
    target: &DatabaseTarget,
    out: &Out,
) -> Result<(), CliError> {
    let RelayCommand::Nats(args) = command;
    let pool = target
        .connect(4)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    crate::database::check_schema(&pool)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let settings = RelaySettings {
        origin: args.feed_origin.clone(),
        window: args.window as usize,
        batch: args.batch,
        poll: args.poll,
        standby_poll: args.standby_poll,
        max_retries: args.max_retries,
        max_backoff: args.max_backoff,
        ..RelaySettings::new(
            args.stream.url.clone(),
            args.stream.stream.clone(),
            args.stream.subject_prefix.clone(),
        )
    };
    let signal = super::shutdown_signal();
    let (stop_tx, stop_rx) = watch::channel(false);
    if let Some(address) = args.metrics_listen {
        serve_metrics(address, stop_rx.clone()).await?;
    }
    out.say(
        UiText::RelayStarted,
        &[
            ("url", &settings.url),
            ("stream", settings.stream.as_str()),
            ("subjects", &settings.prefix.wildcard()),
        ],
    );
    tokio::spawn(async move {
        signal.await;
        info!("relay: stopping after the batch in flight is acknowledged");
        let _ = stop_tx.send(true);
    });
    let relay = Relay::new(pool, target.options().clone(), settings.clone());
    match relay.run(stop_rx).await {
        Ok(()) => {
            out.say(UiText::RelayStopped, &[]);
            Ok(())
        }
        Err(e) => Err(relay_error(&e, &settings.url, &settings.stream)),
    }
}

/// The relay's failure as the operator reads it.
fn relay_error(e: &RelayError, url: &str, stream: &StreamName) -> CliError {
    let last = match e {
        RelayError::GaveUp { last, .. } => last.as_ref(),
        other => other,
    };
    match (e, last) {
        (_, RelayError::ForeignTail { sequence }) => CliError::environment_state(
            ReasonCode::RelayForeignTail,
            vec![
                ("stream", stream.to_string()),
                ("sequence", sequence.to_string()),
            ],
        ),
        (RelayError::GaveUp { attempts, .. }, _) => CliError::environment(
            ReasonCode::RelayGaveUp,
            vec![("attempts", attempts.to_string()), ("url", url.to_string())],
            e,
        ),
        _ => CliError::environment(
            ReasonCode::RelayGaveUp,
            vec![("attempts", "1".to_string()), ("url", url.to_string())],
            e,
        ),
    }
}

/// `/metrics` on `address` until `stop`.
async fn serve_metrics(address: SocketAddr, stop: watch::Receiver<bool>) -> Result<(), CliError> {
    let handle = super::serve::metrics_handle();
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        CliError::environment(
            ReasonCode::HttpListenFailed,
            vec![("address", address.to_string())],
            &e,
        )
    })?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    );
    tokio::spawn(async move {
        let mut stop = stop;
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            warn!(error = %e, "relay: the metrics server stopped");
        }
    });
    Ok(())
}

/// The relay's lag behind the log, read from the stream's last message.
pub async fn lag(
    url: &str,
    stream_name: &StreamName,
    conn: &mut sqlx::PgConnection,
) -> Result<Lag, CliError> {
    stream::lag_of(url, stream_name, conn)
        .await
        .map_err(|e| match e {
            RelayError::ForeignTail { sequence } => CliError::environment_state(
                ReasonCode::RelayForeignTail,
                vec![
                    ("stream", stream_name.to_string()),
                    ("sequence", sequence.to_string()),
                ],
            ),
            RelayError::Database(e) => CliError::internal(&e),
            other => CliError::environment(
                ReasonCode::RelayUnreachable,
                vec![
                    ("stream", stream_name.to_string()),
                    ("url", url.to_string()),
                ],
                &other,
            ),
        })
}

/// The lag as `project --once` prints it.
pub fn say_lag(lag: &Lag, stream_name: &StreamName, out: &Out) {
    let position = lag
        .relayed
        .map(|p| p.position.to_string())
        .unwrap_or_else(|| "0".to_string());
    out.say(
        UiText::RelayStatus,
        &[
            ("stream", stream_name.as_str()),
            ("position", &position),
            ("sequence", &lag.sequence.to_string()),
            ("behind", &lag.events_behind.to_string()),
        ],
    );
}

/// The lag as `project --once --json` reports it.
pub fn lag_json(lag: &Lag, stream_name: &StreamName) -> serde_json::Value {
    serde_json::json!({
        "stream": stream_name.as_str(),
        "stream_sequence": lag.sequence,
        "position": lag.relayed.map(|p| p.position),
        "transaction_id": lag.relayed.map(|p| p.transaction_id),
        "events_behind": lag.events_behind,
    })
}
