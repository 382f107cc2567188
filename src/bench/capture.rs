//! Evidence capture as an environment's history grows: the latency of one capture on an
//! environment with few captures and on one with many, interleaved so both see the same
//! machine. Documents live in the content-addressed store, not in the environment's
//! events, so loading the environment must not grow with the documents captured before.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::{failed, BenchArgs};
use crate::app::App;
use crate::cli::error::CliError;
use crate::clock::SystemClock;

/// The figures of the capture benchmark.
pub struct CaptureFigures {
    pub document_kib: usize,
    pub few: (usize, Duration),
    pub many: (usize, Duration),
    pub samples: usize,
}

impl CaptureFigures {
    /// Median latency with many earlier captures over the one with few (target ≤ 1.2).
    pub fn cost_ratio(&self) -> f64 {
        self.many.1.as_secs_f64() / self.few.1.as_secs_f64().max(1e-9)
    }
}

/// A distinct findings document of about `kib` KiB.
fn document(seed: usize, kib: usize) -> Value {
    let per_finding = 100; // bytes of JSON per finding, roughly
    let items: Vec<Value> = (0..(kib * 1024 / per_finding).max(1))
        .map(|i| {
            let severity = ["critical", "high", "medium", "low", "info"][(i + seed) % 5];
            json!({ "severity": severity, "category": "identity", "title": format!("finding {seed}-{i}") })
        })
        .collect();
    json!({ "findings": items, "seed": seed })
}

pub async fn measure(pool: &PgPool, args: &BenchArgs) -> Result<CaptureFigures, CliError> {
    let fail = |e: crate::service_error::ServiceError| CliError::from_service(&e);
    let ctx = CommandContext::new(Initiator::system("bench"));
    // History is written without read-your-writes (fast); measured captures wait for the
    // views like an operator's command does.
    let app = App::from_pool(pool.clone(), Arc::new(SystemClock));
    let seeding = app.clone().without_read_your_writes();
    let workspace = app
        .directory
        .create_workspace(Uuid::new_v4(), "Bench", &ctx)
        .await
        .map_err(fail)?;
    let few = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "few", &ctx)
        .await
        .map_err(fail)?;
    let many = app
        .directory
        .create_environment(workspace, Uuid::new_v4(), "many", &ctx)
        .await
        .map_err(fail)?;
    let kib = args.capture_document_kib;
    let mut seed = 0;
    for (env, count) in [(few, args.captures_few), (many, args.captures_many)] {
        for _ in 0..count {
            seed += 1;
            seeding
                .directory
                .capture_evidence(env, document(seed, kib), &ctx)
                .await
                .map_err(fail)?;
        }
    }
    app.projector.catch_up().await.map_err(failed)?;
    let (mut on_few, mut on_many) = (Vec::new(), Vec::new());
    for _ in 0..args.capture_samples {
        for (env, into) in [(few, &mut on_few), (many, &mut on_many)] {
            seed += 1;
            let doc = document(seed, kib);
            let started = Instant::now();
            app.directory
                .capture_evidence(env, doc, &ctx)
                .await
                .map_err(fail)?;
            into.push(started.elapsed());
        }
    }
    let median = |mut xs: Vec<Duration>| {
        xs.sort();
        xs.get(xs.len() / 2).copied().unwrap_or_default()
    };
    let figures = CaptureFigures {
        document_kib: kib,
        few: (args.captures_few, median(on_few)),
        many: (args.captures_many, median(on_many)),
        samples: args.capture_samples,
    };
    eprintln!(
        "bench: capture of a {kib} KiB document: {:?} after {} captures, {:?} after {} ({:.2}×)",
        figures.few.1,
        figures.few.0,
        figures.many.1,
        figures.many.0,
        figures.cost_ratio()
    );
    Ok(figures)
}
