//! Memory: the peak resident set of `runproof worker --once` draining compose runs and of
//! `runproof replay` rebuilding from the log, each at a small and a large size. Neither
//! may hold the whole queue or the whole log in memory, so the peak must stay flat as
//! they grow. Each is run as a child process of this binary on the scratch database; its
//! peak (`VmHWM` in `/proc/<pid>/status`) is read until it exits.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{failed, fresh_database, seed, BenchArgs};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;
use crate::database::DatabaseTarget;
use crate::service_error::ServiceError;

/// One peak measured.
pub struct Peak {
    /// What ran (`worker --once` or `replay`).
    pub command: &'static str,
    /// How much it processed: compose runs drained, or events replayed.
    pub items: usize,
    pub unit: &'static str,
    pub peak_kib: u64,
}

pub async fn measure(
    bench: &DatabaseTarget,
    bench_url: &str,
    args: &BenchArgs,
) -> Result<Vec<Peak>, CliError> {
    let mut peaks = Vec::new();
    for runs in [args.memory_composes / 10, args.memory_composes] {
        let pool = fresh_database(bench).await?;
        queue_composes(&pool, runs).await?;
        pool.close().await;
        let peak_kib = peak_of(bench_url, &["worker", "--once"]).await?;
        eprintln!("bench: worker --once over {runs} compose runs: peak {peak_kib} KiB");
        peaks.push(Peak {
            command: "worker --once",
            items: runs,
            unit: "compose runs",
            peak_kib,
        });
    }
    for events in [args.memory_events / 10, args.memory_events] {
        let pool = fresh_database(bench).await?;
        let rows = seed::interleaved_log(events, 1_000);
        for chunk in rows.chunks(100_000) {
            seed::insert(&pool, "events", chunk).await.map_err(failed)?;
        }
        pool.close().await;
        let peak_kib = peak_of(bench_url, &["replay"]).await?;
        eprintln!("bench: replay over {events} events: peak {peak_kib} KiB");
        peaks.push(Peak {
            command: "replay",
            items: events,
            unit: "events",
            peak_kib,
        });
    }
    Ok(peaks)
}

/// `runs` queued compose runs, each on an environment of its own with one capture.
async fn queue_composes(pool: &PgPool, runs: usize) -> Result<(), CliError> {
    eprintln!("bench: queueing {runs} compose runs");
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock)).without_read_your_writes();
    let ctx = CommandContext::new(Initiator::system("bench"));
    let service = |e: ServiceError| CliError::from_service(&e);
    let workspace = app
        .directory
        .create_workspace(Uuid::new_v4(), "Bench", &ctx)
        .await
        .map_err(service)?;
    let actor = app
        .directory
        .create_actor(Uuid::new_v4(), "Bench", &ctx)
        .await
        .map_err(service)?;
    app.directory
        .add_member(workspace, actor, &ctx)
        .await
        .map_err(service)?;
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (app, ctx) = (app.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            for k in (c..runs).step_by(8) {
                let env = app
                    .directory
                    .create_environment(workspace, Uuid::new_v4(), &format!("env {k}"), &ctx)
                    .await?;
                let document = json!({ "findings": [
                    { "severity": "high", "category": "identity", "title": format!("finding {k}") }
                ] });
                app.directory.capture_evidence(env, document, &ctx).await?;
                app.reviews
                    .create_or_refresh(actor, workspace, env, &ctx)
                    .await?;
            }
            Ok::<_, ServiceError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(failed)?.map_err(service)?;
    }
    // The worker reads its queue from the runs view: bring it up to date first.
    app.projector.catch_up().await.map_err(failed)?;
    Ok(())
}

/// Runs this binary with `command` on the scratch database and returns its peak
/// resident set in KiB.
async fn peak_of(bench_url: &str, command: &[&str]) -> Result<u64, CliError> {
    let exe = std::env::current_exe().map_err(failed)?;
    let mut child = tokio::process::Command::new(exe)
        .args(command)
        .env("DATABASE_URL", bench_url)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(failed)?;
    let pid = child.id().unwrap_or_default();
    let mut peak = 0;
    loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        tokio::select! {
            status = child.wait() => {
                let status = status.map_err(failed)?;
                if !status.success() {
                    return Err(failed(std::io::Error::other(format!(
                        "`runproof {}` failed: {status}",
                        command.join(" ")
                    ))));
                }
                return Ok(peak);
            }
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The connection string of the scratch database: `url` with its database name replaced.
pub fn url_of_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rsplit_once('/') {
        Some((host, _)) if host.contains("//") && !host.ends_with('/') => host,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::url_of_database;

    #[test]
    fn the_scratch_url_names_the_scratch_database_and_keeps_the_rest() {
        assert_eq!(
            url_of_database(
                "postgres://postgres@127.0.0.1:5432/runproof",
                "runproof_bench"
            ),
            "postgres://postgres@127.0.0.1:5432/runproof_bench"
        );
        assert_eq!(
            url_of_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(url_of_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
