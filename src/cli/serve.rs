//! `runproof serve`: the engine as one process — the HTTP server, the projector, the
//! compose worker and the reconciler, each a task that can be switched off so a larger
//! installation runs them as separate processes (any number of each). SIGTERM or Ctrl-C
//! stops accepting connections, lets in-flight requests and the current run or pass
//! finish, and exits 0.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Args;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use runproof_adapters::PassReport;
use runproof_domain::ReasonCode;
use tokio::sync::watch;
use tracing::{info, warn};

use super::error::CliError;
use super::out::Out;
use super::text::UiText;
use crate::app::App;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;
use crate::feed::{FeedSettings, Origin};
use crate::http::state::Shared;
use crate::http::{self, ApiState, Limits};
use crate::reconciliation;

/// Options of `runproof serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Do not run the compose worker in this process.
    #[arg(long)]
    pub no_worker: bool,
    /// Do not run the reconciler in this process.
    #[arg(long)]
    pub no_reconciler: bool,
    /// Do not run the projector in this process.
    #[arg(long)]
    pub no_projector: bool,
    /// Seconds a request may take, database calls included (503 after that).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub request_timeout: u64,
    /// Requests served at once; more are refused with 503 and Retry-After.
    #[arg(long, default_value_t = 64)]
    pub max_concurrent_requests: usize,
    /// Seconds between polls of the projector.
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    pub project_interval: u64,
    /// Seconds between polls of the compose worker.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub worker_interval: u64,
    /// Seconds between reconciler passes.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub reconcile_interval: u64,
    /// The name of this installation in the `source` of every feed event
    /// (`runproof/<NAME>`): 1 to 64 characters of A-Z a-z 0-9 . _ -.
    #[arg(
        long,
        default_value = "default",
        env = "RUNPROOF_FEED_ORIGIN",
        value_name = "NAME"
    )]
    pub feed_origin: Origin,
    /// Mark the console's cookies `Secure` on every response (when a proxy in front
    /// terminates TLS without sending `X-Forwarded-Proto: https`).
    #[arg(long)]
    pub secure_cookies: bool,
    /// First create and migrate the database and record the demo story when its log is
    /// empty, then print a sign-in token for the demo's platform operator.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub signing: super::audit::PeriodicSigningArgs,
}

/// The process's metrics recorder, installed once (a second server in the same process,
/// as in tests, shares it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (then ours only renders).
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The state of the HTTP server over `target`: its own pool, whose sessions bound every
/// statement, with read-your-writes like the CLI.
///
/// A request is abandoned at its timeout; the server-side bound is a second later, so the
/// client always gets the request's timeout answer (`http.timeout`), and a statement the
/// abandoned request left running is still cancelled by the server soon after.
pub async fn api_state(target: &DatabaseTarget, limits: Limits) -> Result<ApiState, CliError> {
    let bounded =
        target.with_statement_timeout(limits.request_timeout + std::time::Duration::from_secs(1));
    let app = App::open(&bounded, Arc::new(SystemClock))
        .await
        .map_err(|e| CliError::from_database(&e, target))?
        .with_read_your_writes(Some(limits.request_timeout / 2));
    Ok(ApiState::new(Shared {
        app,
        target: target.clone(),
        limits,
        metrics: metrics_handle(),
        console: crate::console::Settings::default(),
    }))
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

pub async fn serve(target: &DatabaseTarget, args: ServeArgs, out: &Out) -> Result<(), CliError> {
    let limits = Limits {
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_concurrent_requests: args.max_concurrent_requests.max(1),
        ..Limits::default()
    };
    let sign_in = match args.demo {
        true => Some(crate::demo::serve::prepare(target, out).await?),
        false => None,
    };
    let state = api_state(target, limits)
        .await?
        .with_console(crate::console::Settings {
            secure_cookies: args.secure_cookies,
            ..Default::default()
        })
        .with_feed(FeedSettings {
            origin: args.feed_origin.clone(),
            ..FeedSettings::default()
        });
    let feed = state.app.feed.clone();
    let background = App::open(target, Arc::new(SystemClock))
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let checkpointer = super::audit::checkpointer(&args.signing, &background)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            CliError::environment(
                ReasonCode::HttpListenFailed,
                vec![("address", args.listen.to_string())],
                &e,
            )
        })?;
    // Signal handlers first: a SIGTERM that arrives right after the line below is honoured.
    let signal = super::shutdown_signal();
    let address = listener.local_addr().unwrap_or(args.listen);
    let url = format!("http://{address}");
    out.say(UiText::Serving, &[("url", &url)]);
    if let Some(issued) = &sign_in {
        let expires = issued
            .expires_at
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        out.say(
            crate::demo::DemoText::ServeSignIn,
            &[
                ("token", &issued.token),
                ("url", &url),
                ("expires", &expires),
            ],
        );
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        info!("stopping: no new connections; finishing in-flight requests and the current run and pass");
        // Open feed streams end (their clients resume from their last event elsewhere
        // or later); the server would otherwise wait for them forever.
        feed.close();
        let _ = stop_tx.send(true);
    });

    let mut tasks = tokio::task::JoinSet::new();
    if !args.no_projector {
        let projector = background.projector.clone();
        let stop = stopped(stop_rx.clone());
        let interval = Duration::from_secs(args.project_interval.max(1));
        tasks.spawn(async move {
            projector
                .run(interval, Duration::from_secs(30), |stall| {
                    warn!(stalled_for = ?stall.stalled_for, events_waiting = stall.events_waiting, "the projections are held back");
                }, stop)
                .await;
        });
    }
    if !args.no_worker {
        let worker = background.worker();
        let stop = stopped(stop_rx.clone());
        let interval = Duration::from_secs(args.worker_interval.max(1));
        tasks.spawn(async move {
            worker
                .watch(interval, stop, |run, executed| {
                    info!(run_id = %run, result = ?executed, "compose run executed");
                })
                .await;
        });
    }
    if !args.no_reconciler {
        let reconciler =
            reconciliation::reconciler(&background).map_err(|e| CliError::internal(&e))?;
        let stop = stopped(stop_rx.clone());
        let interval = Duration::from_secs(args.reconcile_interval.max(1));
        let clock = background.clock.clone();
        tasks.spawn(async move {
            reconciler
                .watch(
                    interval,
                    move || clock.now(),
                    stop,
                    |result| match result {
                        Ok(report) => record_pass(&report),
                        Err(e) => warn!(error = %e, "reconciler pass failed; retrying next pass"),
                    },
                )
                .await;
        });
    }
    if let Some(checkpointer) = checkpointer {
        let stop = stopped(stop_rx.clone());
        let poll = super::audit::poll_for(checkpointer.every());
        let clock = background.clock.clone();
        tasks.spawn(async move { checkpointer.run(clock, poll, stop).await });
    }
    let router = http::router(state);
    let server = axum::serve(listener, router).with_graceful_shutdown(stopped(stop_rx.clone()));
    let served = server.await;
    while tasks.join_next().await.is_some() {}
    served.map_err(|e| CliError::internal(&e))?;
    out.say(UiText::ServeStopped, &[]);
    Ok(())
}

/// The reconciler's decisions, counted by adapter, decision and reason.
fn record_pass(report: &PassReport) {
    for e in report.decided() {
        let adapter = e
            .adapter
            .as_ref()
            .map_or_else(|| "stale".to_string(), |a| a.name.clone());
        metrics::counter!(
            "runproof_reconciler_decisions_total",
            "adapter" => adapter,
            "decision" => e.decision.as_str(),
            "reason" => e.decision.reason().code()
        )
        .increment(1);
    }
}
