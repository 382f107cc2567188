//! Realistic events for the benchmarks, built with the real domain types so that their
//! JSON is exactly what the services write.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use runproof_domain::identity::IdentityHash;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::{
    CompletionNote, OperationRun, OperationRunEvent, RunCompleted, RunQueued, RunStarted,
    TerminalOutcome,
};
use runproof_domain::run_slot::{RunSlot, RunSlotClaimed, RunSlotEvent};
use runproof_domain::run_type::RunType;
use runproof_projections::sql::quote_ident;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// One row for an events-shaped table.
#[derive(Debug, Clone)]
pub struct Row {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
}

pub fn row<A: Aggregate>(
    id: &str,
    sequence: i64,
    event: &A::Event,
    at: DateTime<Utc>,
    ctx: &CommandContext,
) -> Row {
    Row {
        aggregate_type: A::TYPE,
        aggregate_id: id.to_string(),
        sequence,
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_string(event).unwrap_or_default(),
        metadata: serde_json::to_string(&ctx.metadata(at, &event.event_version()).to_map())
            .unwrap_or_default(),
    }
}

/// The start of the benchmark's timeline.
pub fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

/// A run's identity inputs in the benchmarks (unique per run number).
pub fn inputs(n: usize) -> serde_json::Value {
    json!({ "report": "bench", "n": n })
}

/// The workspace of run number `n` (16 workspaces).
pub fn workspace(n: usize) -> Uuid {
    Uuid::from_u128(0xbe9c_0000 + (n % 16) as u128)
}

/// The three events of run `n`'s lifecycle: queued, started, completed.
pub fn lifecycle(n: usize, run_id: Uuid) -> [(OperationRunEvent, DateTime<Utc>); 3] {
    let t = epoch() + Duration::milliseconds(n as i64 * 10);
    let ws = workspace(n);
    let queued = OperationRunEvent::RunQueued(RunQueued {
        run_id,
        workspace_id: ws,
        environment_id: None,
        run_type: RunType::ReportExport,
        initiator: Initiator::system("bench"),
        identity_hash: IdentityHash::of(ws, None, RunType::ReportExport, &inputs(n)),
        context: inputs(n).as_object().cloned().unwrap_or_default(),
        queued_at: t,
    });
    let started = OperationRunEvent::RunStarted(RunStarted {
        started_at: t + Duration::seconds(2),
    });
    let completed = OperationRunEvent::RunCompleted(RunCompleted {
        outcome: if n % 10 == 0 {
            TerminalOutcome::Failed
        } else {
            TerminalOutcome::Succeeded
        },
        summary: BTreeMap::from([("items".to_string(), (n % 50) as u64)]),
        failures: vec![],
        completed_at: t + Duration::seconds(30),
        note: CompletionNote::implied(&[]),
    });
    [
        (queued, t),
        (started, t + Duration::seconds(2)),
        (completed, t + Duration::seconds(30)),
    ]
}

/// The four rows one `ensure + start + complete` writes: slot claim and three run events.
pub fn lifecycle_rows(n: usize) -> Vec<Row> {
    let run_id = Uuid::new_v4();
    let ctx = CommandContext::new(Initiator::system("bench"));
    let events = lifecycle(n, run_id);
    let id = run_id.to_string();
    let OperationRunEvent::RunQueued(q) = &events[0].0 else {
        return Vec::new();
    };
    let slot = RunSlotEvent::RunSlotClaimed(RunSlotClaimed {
        identity_hash: q.identity_hash.clone(),
        run_id,
        previous_run_id: None,
        claimed_at: events[0].1,
    });
    let mut rows = vec![row::<RunSlot>(
        q.identity_hash.as_str(),
        1,
        &slot,
        events[0].1,
        &ctx,
    )];
    for (i, (e, at)) in events.iter().enumerate() {
        rows.push(row::<OperationRun>(&id, i as i64 + 1, e, *at, &ctx));
    }
    rows
}

/// Run events for `events` events in a realistic interleaving: run n is queued, run
/// n−`lag` starts and run n−2·`lag` completes, so a run's events are spread over the log.
pub fn interleaved_log(events: usize, lag: usize) -> Vec<Row> {
    let runs = events.div_ceil(3);
    let ctx = CommandContext::new(Initiator::system("bench"));
    let ids: Vec<Uuid> = (0..runs).map(|_| Uuid::new_v4()).collect();
    let mut out = Vec::with_capacity(runs * 3);
    for step in 0..runs + 2 * lag {
        for (phase, n) in [
            (0, step),
            (1, step.wrapping_sub(lag)),
            (2, step.wrapping_sub(2 * lag)),
        ] {
            if n < runs && step >= phase * lag {
                let (event, at) = lifecycle(n, ids[n])[phase].clone();
                out.push(row::<OperationRun>(
                    &ids[n].to_string(),
                    phase as i64 + 1,
                    &event,
                    at,
                    &ctx,
                ));
            }
        }
    }
    out
}

/// Inserts rows into an events-shaped table in batches (one transaction per batch).
pub async fn insert(pool: &PgPool, table: &str, rows: &[Row]) -> Result<(), sqlx::Error> {
    let table = quote_ident(table)?;
    for chunk in rows.chunks(10_000) {
        let mut types = Vec::with_capacity(chunk.len());
        let mut ids = Vec::with_capacity(chunk.len());
        let mut seqs = Vec::with_capacity(chunk.len());
        let mut event_types = Vec::with_capacity(chunk.len());
        let mut versions = Vec::with_capacity(chunk.len());
        let mut payloads = Vec::with_capacity(chunk.len());
        let mut metas = Vec::with_capacity(chunk.len());
        for r in chunk {
            types.push(r.aggregate_type);
            ids.push(r.aggregate_id.as_str());
            seqs.push(r.sequence);
            event_types.push(r.event_type.as_str());
            versions.push(r.event_version.as_str());
            payloads.push(r.payload.as_str());
            metas.push(r.metadata.as_str());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT t, i, s, e, v, p::json, m::json \
             FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[]) \
               WITH ORDINALITY AS u(t, i, s, e, v, p, m, o) ORDER BY o"
        ))
        .bind(types)
        .bind(ids)
        .bind(seqs)
        .bind(event_types)
        .bind(versions)
        .bind(payloads)
        .bind(metas)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// `count` workspace ids for runs written straight into the projection.
pub fn workspaces(count: usize) -> Vec<Uuid> {
    (0..count)
        .map(|k| Uuid::from_u128(0xbe9c_f111_0000 + k as u128))
        .collect()
}

/// `n` completed runs written straight into `operation_runs`, one second apart (the newest
/// last), spread round-robin over `workspaces`: rows as the projection writes them, in one
/// statement. They are never reconciliation candidates; they make the table large.
pub async fn fill_completed_runs(
    pool: &PgPool,
    n: i64,
    workspaces: &[Uuid],
) -> Result<(), sqlx::Error> {
    if n <= 0 || workspaces.is_empty() {
        return Ok(());
    }
    eprintln!("bench: filling operation_runs with {n} completed runs");
    sqlx::query(
        "INSERT INTO operation_runs \
         SELECT gen_random_uuid(), ($2::uuid[])[1 + g % cardinality($2::uuid[])], NULL, \
                (ARRAY['report.export','inventory.sync','restore.execute','environment.review.compose'])[1 + g % 4], \
                'completed', 'succeeded', 'system:bench', 'sha256:' || md5(g::text) || md5((g + 1)::text), \
                jsonb_build_object('n', g), '{}'::jsonb, '[]'::jsonb, \
                timestamptz '2025-06-01' + g * interval '1 second', \
                timestamptz '2025-06-01' + g * interval '1 second', \
                timestamptz '2025-06-01' + g * interval '1 second' + interval '1 minute', \
                timestamptz '2025-06-01' + g * interval '1 second' + interval '1 minute', 3, 0 \
         FROM generate_series(1, $1) AS g",
    )
    .bind(n)
    .bind(workspaces)
    .execute(pool)
    .await?;
    Ok(())
}
