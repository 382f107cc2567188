//! The audit log's costs: what the sequencer (`log_leaves`) adds to a rebuild, how fast
//! `audit verify DIR` checks an exported bundle, what `audit prove` costs for one run, and
//! how large an inclusion proof is at 1,000,000 leaves.

use std::sync::Arc;
use std::time::Instant;

use runproof_audit::checkpoint::TreeHead;
use runproof_audit::tlog_proof::proof_length;
use runproof_audit::tree::record_hash;
use runproof_audit::{ProofBuilder, ProofFile};
use runproof_projections::log_leaves::{self, LogLeavesProjection};
use runproof_projections::{rebuild, NoProgress, Projection, Projector};
use sqlx::PgPool;

use super::{failed, median, mismatch, per_second, seed, BenchArgs, Comparison};
use crate::audit::{bundle, checkpoints, export, keys, proof_check, prove, redecide};
use crate::cli::error::CliError;

/// Runs queued before the first of them starts, and again before it completes (as the
/// replay benchmark's log).
const LAG: usize = 1_000;

/// The tree size of the proof-size figure.
const MILLION: u64 = 1_000_000;

/// What the audit benchmark measured.
pub struct AuditFigures {
    /// The rebuild with the sequencer against the rebuild without it.
    pub comparison: Comparison,
    /// Its own table, Markdown lines.
    pub lines: Vec<String>,
}

pub async fn measure(pool: &PgPool, args: &BenchArgs) -> Result<AuditFigures, CliError> {
    let rows = seed::interleaved_log(args.events, LAG);
    let total = rows.len();
    eprintln!("bench: seeding {total} run events");
    seed::insert(pool, "events", &rows).await.map_err(failed)?;
    sqlx::query("VACUUM ANALYZE events")
        .execute(pool)
        .await
        .map_err(failed)?;

    let every = runproof_projections::all();
    let without: Vec<Arc<dyn Projection>> = every
        .iter()
        .filter(|p| p.name() != log_leaves::NAME)
        .cloned()
        .collect();
    let with = Projector::new(pool.clone(), every);
    let without = Projector::new(pool.clone(), without);
    let alone = Projector::new(pool.clone(), vec![Arc::new(LogLeavesProjection)]);
    let (mut with_rates, mut without_rates, mut alone_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds.max(1) {
        for (projector, rates) in [
            (&without, &mut without_rates),
            (&with, &mut with_rates),
            (&alone, &mut alone_rates),
        ] {
            let started = Instant::now();
            rebuild::rebuild(projector, &NoProgress)
                .await
                .map_err(failed)?;
            rates.push(per_second(total, started.elapsed()));
        }
        eprintln!(
            "bench: audit round {}: rebuild with the sequencer {:.0} events/s, without {:.0} events/s, sequencer alone {:.0} leaves/s",
            round + 1,
            with_rates[round],
            without_rates[round],
            alone_rates[round]
        );
    }

    // Sign the whole log, export it, and verify the bundle as `audit verify DIR` does.
    let key = keys::generate("runproof/bench").map_err(failed)?;
    checkpoints::sign_current(pool, &key, key.name(), chrono::Utc::now())
        .await
        .map_err(|e| crate::cli::audit::from_audit(&e))?;
    let exported = export::export(pool, None, None)
        .await
        .map_err(|e| crate::cli::audit::from_audit(&e))?;
    let dir = std::env::temp_dir().join(format!("runproof-bench-{}", uuid::Uuid::new_v4()));
    export::write(&dir, &exported).map_err(failed)?;
    let bundle_bytes: usize = exported.files.iter().map(|(_, b)| b.len()).sum();
    let verifier = runproof_audit::VerifierKey::parse(key.verifier_key()).map_err(failed)?;
    let registry = crate::reconciliation::decision_registry().map_err(failed)?;
    let mut verify_rates = Vec::new();
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let report = bundle::verify_dir(&dir, &verifier).map_err(failed)?;
        let decisions = redecide::redecide(
            &registry,
            redecide::RedecideFilter::default(),
            &bundle::decision_entries(&report.events),
        );
        let elapsed = started.elapsed();
        if !report.is_clean() || !decisions.all_agree() || report.events.len() != total {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(mismatch());
        }
        verify_rates.push(per_second(total, elapsed));
    }
    let _ = std::fs::remove_dir_all(&dir);

    // `audit prove` of a run from the middle of the log; every proof must hold.
    let run: String = sqlx::query_scalar(
        "SELECT aggregate_id FROM events WHERE aggregate_type = 'operation_run' \
         ORDER BY position OFFSET $1 LIMIT 1",
    )
    .bind(i64::try_from(total / 2).unwrap_or(0))
    .fetch_one(pool)
    .await
    .map_err(failed)?;
    let run = uuid::Uuid::parse_str(&run).map_err(failed)?;
    let mut prove_ms = Vec::new();
    let mut proofs = None;
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let p = prove::prove_run(pool, run)
            .await
            .map_err(|e| crate::cli::audit::from_audit(&e))?;
        prove_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        proofs = Some(p);
    }
    let proofs = proofs.ok_or_else(mismatch)?;
    for p in &proofs.proven {
        if proof_check::check(p.text.as_bytes(), &verifier).is_err() {
            return Err(mismatch());
        }
    }
    let event_line = proofs
        .proven
        .iter()
        .map(|p| p.event.render())
        .max_by_key(String::len)
        .unwrap_or_default();

    // A proof at 1,000,000 leaves: its size depends only on the tree size and the leaf
    // index (plus the event and the checkpoint it carries), so the tree is built from
    // synthetic leaf hashes in memory, in the same one pass `audit prove` makes.
    let started = Instant::now();
    let indexes = [0, MILLION - 1];
    let mut builder = ProofBuilder::new(MILLION, &indexes).map_err(failed)?;
    for i in 0..MILLION {
        builder
            .push(record_hash(&i.to_be_bytes()))
            .map_err(failed)?;
    }
    let built = builder.finish().map_err(failed)?;
    let million_ms = started.elapsed().as_secs_f64() * 1000.0;
    let note = TreeHead {
        origin: key.name().to_string(),
        size: MILLION,
        root: built.root,
    }
    .sign(&key)
    .map_err(failed)?;
    let longest = proof_length(0, MILLION);
    let file = ProofFile {
        extra: Some(event_line.clone().into_bytes()),
        index: 0,
        proof: built
            .proofs
            .first()
            .map(|(_, p)| p.clone())
            .unwrap_or_default(),
        checkpoint: note,
    }
    .render();

    let lines = vec![
        "| audit log | figure |".to_string(),
        "|---|---:|".to_string(),
        format!(
            "| sequencer alone (`log_leaves` rebuilt on its own), {total} events | {:.0} leaves/s |",
            median(alone_rates)
        ),
        format!(
            "| `audit verify DIR` of the exported {total}-event bundle ({:.1} MiB; signatures, every leaf recomputed, completeness, re-decide) | {:.0} events/s |",
            bundle_bytes as f64 / (1024.0 * 1024.0),
            median(verify_rates)
        ),
        format!(
            "| `audit prove` of one run ({} events) at {total} leaves (one pass over the leaf hashes) | {:.0} ms |",
            proofs.proven.len(),
            median(prove_ms)
        ),
        format!(
            "| inclusion proof at {MILLION} leaves: hashes (leaf 0 / last leaf) | {longest} / {} ({} / {} bytes) |",
            proof_length(MILLION - 1, MILLION),
            longest * 32,
            proof_length(MILLION - 1, MILLION) * 32
        ),
        format!(
            "| `.tlog-proof` file at {MILLION} leaves, leaf 0 (event line {} bytes, proof, signed checkpoint) | {} bytes |",
            event_line.len(),
            file.len()
        ),
        format!(
            "| all proofs of a {MILLION}-leaf tree's one pass, in memory (synthetic leaf hashes) | {million_ms:.0} ms |"
        ),
    ];
    Ok(AuditFigures {
        comparison: Comparison {
            name: format!("rebuild of {total} events with the sequencer (`log_leaves`) vs without"),
            unit: "events/s",
            ours: median(with_rates),
            baseline: median(without_rates),
            target: 0.8,
        },
        lines,
    })
}
