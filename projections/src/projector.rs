//! The projector: applies the log to every projection, exactly once, in commit order.
//!
//! Each step runs in one transaction: lock the projection's checkpoint row, read the
//! next batch after it (below the read horizon), apply it, move the checkpoint, commit.
//! A crash anywhere before the commit leaves rows and checkpoint as they were, so the
//! next step re-applies the same batch; after the commit both moved together. Any number
//! of processes may run projectors: the row lock lets one apply while the others move on.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use sqlx::{PgConnection, PgPool};
use tracing::{debug, info_span, warn, Instrument};

use crate::checkpoint::{self, Checkpoint};
use crate::error::ProjectorError;
use crate::log::{self, Horizon, OldestTransaction};
use crate::position::LogPosition;
use crate::projection::{Projection, TableSet};

/// Default number of events applied per transaction.
pub const DEFAULT_BATCH: i64 = 1_000;

/// Default longest wait of a rebuild's swap for a lock (a reader of the live table).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// Default number of times a rebuild's swap tries to get its locks before giving up.
pub const DEFAULT_SWAP_ATTEMPTS: u32 = 3;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Applied this many events (fewer than a batch: nothing more was readable when the
    /// batch was read); the highest checkpoint is now `to`, the lowest `lowest`.
    Applied {
        events: usize,
        to: LogPosition,
        lowest: LogPosition,
        full: bool,
    },
    /// Nothing readable after the checkpoints; the lowest is `lowest`.
    UpToDate { lowest: LogPosition },
    /// Another process holds the checkpoint (it is applying right now).
    Busy,
}

/// What a catch-up did: events read, and the projections that stopped at an event they
/// cannot apply (they stay where they are; the others went on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    pub applied: usize,
    pub stopped: Vec<&'static str>,
}

/// A stall of the projector: nothing advanced for `stalled_for` while events wait above
/// the read horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub stalled_for: Duration,
    pub events_waiting: i64,
    /// What holds the horizon (the oldest transaction still running on the server).
    pub oldest: Option<OldestTransaction>,
}

/// Decides when the projector's loop reports a stall: once nothing advanced for
/// `stall_after` while events waited above the horizon, and again every `stall_after`
/// while it lasts. Any progress, or nothing waiting, ends a stall.
#[derive(Debug, Clone)]
pub struct StallWatch {
    stall_after: Duration,
    since: Instant,
    reported: Option<Instant>,
}

impl StallWatch {
    pub fn new(stall_after: Duration, now: Instant) -> Self {
        StallWatch {
            stall_after,
            since: now,
            reported: None,
        }
    }

    /// After a round: whether any projection advanced, and whether events wait above the
    /// horizon. Returns how long nothing has advanced when a report is due now.
    pub fn observe(&mut self, now: Instant, advanced: bool, waiting: bool) -> Option<Duration> {
        if advanced || !waiting {
            self.since = now;
            self.reported = None;
            return None;
        }
        let stalled_for = now.saturating_duration_since(self.since);
        let due = stalled_for >= self.stall_after
            && self
                .reported
                .is_none_or(|at| now.saturating_duration_since(at) >= self.stall_after);
        if due {
            self.reported = Some(now);
        }
        due.then_some(stalled_for)
    }
}

/// A projection's progress, for status and lag reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub projection: &'static str,
    pub checkpoint: Checkpoint,
    /// Events after the checkpoint (readable or not yet readable).
    pub events_behind: i64,
}

/// The projector over a fixed set of projections.
#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    batch: i64,
    lock_timeout: Duration,
    swap_attempts: u32,
    /// Held by the one task of this process that catches up for a read-your-writes wait;
    /// the others wait for it instead of all contending for the checkpoint rows at once.
    /// It holds how far every live projection had got when the last catch-up ended:
    /// checkpoints only move forward, so a waiter whose write is below that returns
    /// without asking the database.
    catching_up: Arc<tokio::sync::Mutex<Option<LogPosition>>>,
}

impl Projector {
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        Projector {
            pool,
            projections,
            batch: DEFAULT_BATCH,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            swap_attempts: DEFAULT_SWAP_ATTEMPTS,
            catching_up: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// Sets how long a rebuild's swap waits for a lock before it lets go and tries again
    /// (`lock_timeout`). While the swap waits for a table, new readers of that table queue
    /// behind it, so this bounds how long a long reader can hold up a projection.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Sets how many times a rebuild's swap tries to get its locks before giving up with
    /// [`ProjectorError::LockTimeout`].
    pub fn with_swap_attempts(mut self, attempts: u32) -> Self {
        self.swap_attempts = attempts.max(1);
        self
    }

    pub(crate) fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    pub(crate) fn swap_attempts(&self) -> u32 {
        self.swap_attempts
    }

    /// Sets the number of events applied per transaction.
    pub fn with_batch(mut self, batch: i64) -> Self {
        self.batch = batch.max(1);
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.projections
    }

    pub(crate) fn batch(&self) -> i64 {
        self.batch
    }

    /// Brings every live projection up to the read horizon. Each batch is read once and
    /// applied to every projection in one transaction. A projection that stops (an event
    /// it cannot apply) is set aside so the others still catch up; the first stop is
    /// returned at the end (see [`Projector::catch_up_report`] for every one of them).
    /// Returns the number of events read by this call.
    pub async fn catch_up(&self) -> Result<usize, ProjectorError> {
        let (applied, mut stopped, _) = self.catch_up_all().await?;
        match stopped.is_empty() {
            true => Ok(applied),
            false => Err(stopped.swap_remove(0)),
        }
    }

    /// Like [`catch_up`](Self::catch_up), but reports every projection that stopped
    /// instead of failing on the first: for status reports that show all of them.
    pub async fn catch_up_report(&self) -> Result<CatchUp, ProjectorError> {
        let (applied, stopped, _) = self.catch_up_all().await?;
        Ok(CatchUp {
            applied,
            stopped: stopped
                .iter()
                .filter_map(|e| match e {
                    ProjectorError::Stopped { projection, .. } => Some(*projection),
                    _ => None,
                })
                .collect(),
        })
    }

    /// Events read, the stop of every projection that stopped (in the order they
    /// stopped), and the lowest checkpoint of the others when this call saw it (`None`
    /// when another process held the checkpoints).
    async fn catch_up_all(
        &self,
    ) -> Result<(usize, Vec<ProjectorError>, Option<LogPosition>), ProjectorError> {
        let mut active: Vec<Arc<dyn Projection>> = self.projections.clone();
        let mut stopped = Vec::new();
        let mut applied = 0;
        let mut reached = None;
        let span = info_span!("projector.catch_up");
        async {
            while !active.is_empty() {
                match self.step_all(&active).await {
                    Ok(Step::Applied {
                        events,
                        to,
                        lowest,
                        full,
                    }) => {
                        debug!(events, %to, "applied");
                        applied += events;
                        reached = Some(lowest);
                        // A short batch read everything readable: another step would
                        // only find nothing (or what committed since, which this call
                        // was not asked to wait for).
                        if !full {
                            break;
                        }
                    }
                    Ok(Step::UpToDate { lowest }) => {
                        reached = Some(lowest);
                        break;
                    }
                    Ok(Step::Busy) => {
                        reached = None;
                        break;
                    }
                    Err(ProjectorError::Stopped { projection, source }) => {
                        warn!(projection, "projection stopped at an event it cannot apply");
                        debug!(projection, cause = ?source, "projection stop");
                        active.retain(|p| p.name() != projection);
                        stopped.push(ProjectorError::Stopped { projection, source });
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        .instrument(span)
        .await?;
        Ok((applied, stopped, reached))
    }

    /// One batch for several live projections, read once; retried on transient failures.
    async fn step_all(&self, projections: &[Arc<dyn Projection>]) -> Result<Step, ProjectorError> {
        let attempt = || self.step_all_once(projections);
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(20))
                    .with_max_delay(Duration::from_secs(2))
                    .with_max_times(5),
            )
            .when(ProjectorError::is_transient)
            .notify(|e, after| {
                warn!(error = %e, retry_in = ?after, "projector step failed; retrying");
                debug!(cause = ?e, "projector step failure");
            })
            .await
    }

    async fn step_all_once(
        &self,
        projections: &[Arc<dyn Projection>],
    ) -> Result<Step, ProjectorError> {
        let names: Vec<String> = projections
            .iter()
            .map(|p| TableSet::Live.checkpoint(p.name()))
            .collect();
        // Never wait for a checkpoint row while holding others (a rebuild's swap locks them
        // too): lock what is free, and if any row is held or missing, let go of all of
        // them first. Missing rows are created in their own short transaction.
        let mut created = false;
        let (mut tx, mut checkpoints) = loop {
            let mut tx = self.pool.begin().await?;
            custom_plans(&mut tx).await?;
            if let Some(cps) = checkpoint::try_lock_many(&mut tx, &names).await? {
                break (tx, cps);
            }
            tx.rollback().await?;
            if created || checkpoint::all_exist(self.pool(), &names).await? {
                return Ok(Step::Busy);
            }
            checkpoint::ensure_many(&mut *self.pool.acquire().await?, &names).await?;
            created = true;
        };
        let read = apply_batch_all(
            &mut tx,
            projections,
            TableSet::Live,
            &mut checkpoints,
            self.batch,
        )
        .await?;
        tx.commit().await?;
        let lowest = checkpoints.iter().map(|c| c.at).min().unwrap_or_default();
        match read {
            Some(events) => Ok(Step::Applied {
                events,
                to: checkpoints.iter().map(|c| c.at).max().unwrap_or_default(),
                lowest,
                full: events as i64 >= self.batch,
            }),
            None => Ok(Step::UpToDate { lowest }),
        }
    }

    /// Where a stream's event is in the log, and whether every live projection already
    /// shows it — in one statement (a read-your-writes wait that need not wait costs one
    /// round trip). `None` when the stream has no such event.
    pub async fn shows(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        sequence: i64,
    ) -> Result<Option<(LogPosition, bool)>, ProjectorError> {
        let names: Vec<String> = self
            .projections
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        let mut conn = self.pool.acquire().await?;
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT e.transaction_id::text::bigint, e.position, \
                    (SELECT count(*) FROM projection_checkpoints c \
                      WHERE c.projection = ANY($4) \
                        AND (c.transaction_id, c.position) >= (e.transaction_id, e.position)) \
             FROM events e \
             WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 AND e.sequence = $3",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(sequence)
        .bind(&names)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(|(transaction_id, position, past)| {
            (
                LogPosition {
                    transaction_id,
                    position,
                },
                past == names.len() as i64,
            )
        }))
    }

    /// The lowest live checkpoint over all projections.
    pub async fn low_water_mark(&self) -> Result<LogPosition, ProjectorError> {
        let mut conn = self.pool.acquire().await?;
        let names: Vec<String> = self
            .projections
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        Ok(checkpoint::lowest(&mut conn, &names).await?)
    }

    /// Read-your-writes: returns once every live projection has applied the event at
    /// `target`, catching up in this process meanwhile. A transaction that stays open
    /// (anywhere in the cluster) holds the read horizon back; after `timeout` this
    /// reports [`ProjectorError::Lagging`] instead of waiting forever.
    pub async fn wait_for(
        &self,
        target: LogPosition,
        timeout: Duration,
    ) -> Result<(), ProjectorError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            // One task of this process catches up at a time. A task that had to wait for
            // another first looks whether that one's catch-up already showed its write.
            let mut guard = match self.catching_up.try_lock() {
                Ok(guard) => guard,
                Err(_) => {
                    let left = timeout.saturating_sub(started.elapsed());
                    match tokio::time::timeout(left, self.catching_up.lock()).await {
                        Ok(guard) if guard.is_some_and(|reached| reached >= target) => {
                            return Ok(())
                        }
                        Ok(guard) => guard,
                        Err(_) => {
                            return Err(ProjectorError::Lagging {
                                target,
                                reached: self.low_water_mark().await?,
                            })
                        }
                    }
                }
            };
            // A stopped projection cannot show any write until it is repaired; waiting for
            // it would only turn every write into a timeout. The others are waited for.
            let (_, stopped, seen) = self.catch_up_all().await?;
            *guard = seen.max(*guard);
            drop(guard);
            let stopped: Vec<&str> = stopped
                .iter()
                .filter_map(|e| match e {
                    ProjectorError::Stopped { projection, .. } => Some(*projection),
                    _ => None,
                })
                .collect();
            let reached = match seen {
                Some(lowest) => lowest,
                None => self.low_water_mark_except(&stopped).await?,
            };
            if reached >= target {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(ProjectorError::Lagging { target, reached });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// The lowest live checkpoint over every projection but those in `except`.
    async fn low_water_mark_except(&self, except: &[&str]) -> Result<LogPosition, ProjectorError> {
        let mut conn = self.pool.acquire().await?;
        let names: Vec<String> = self
            .projections
            .iter()
            .map(|p| p.name())
            .filter(|n| !except.contains(n))
            .map(str::to_string)
            .collect();
        Ok(checkpoint::lowest(&mut conn, &names).await?)
    }

    /// Each projection's live checkpoint position, by name.
    pub async fn checkpoints(&self) -> Result<Vec<(&'static str, LogPosition)>, ProjectorError> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(self.projections.len());
        for p in &self.projections {
            let at = checkpoint::read(&mut conn, p.name())
                .await?
                .map(|c| c.at)
                .unwrap_or(LogPosition::START);
            out.push((p.name(), at));
        }
        Ok(out)
    }

    /// Runs until `shutdown` resolves: catch up, then poll every `interval`. Failures
    /// are logged and retried on the next round; a stopped projection is reported on
    /// every round until it is fixed, and never skipped. Shutdown is honoured between
    /// batches, also while events keep arriving. When nothing advanced for
    /// `stall_after` while events wait above the read horizon, `on_stall` hears of it
    /// (see [`StallWatch`]).
    pub async fn run(
        &self,
        interval: Duration,
        stall_after: Duration,
        mut on_stall: impl FnMut(&Stall),
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut watch = StallWatch::new(stall_after, Instant::now());
        loop {
            let busy = match self.catch_up().await {
                Ok(n) => n > 0,
                Err(e) => {
                    warn!(error = %e, "projector round failed; retrying next round");
                    debug!(cause = ?e, "projector round failure");
                    false
                }
            };
            if !busy {
                self.check_stall(&mut watch, &mut on_stall).await;
            } else {
                watch.observe(Instant::now(), true, false);
            }
            let pause = if busy { Duration::ZERO } else { interval };
            tokio::select! {
                biased;
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// After a round that applied nothing: reads the horizon and reports a due stall.
    async fn check_stall(&self, watch: &mut StallWatch, on_stall: &mut impl FnMut(&Stall)) {
        let horizon = match self.pool.acquire().await {
            Ok(mut conn) => log::horizon(&mut conn).await,
            Err(e) => Err(e),
        };
        match horizon {
            Ok(h) => {
                let waiting = h.events_above_horizon > 0;
                if let Some(stalled_for) = watch.observe(Instant::now(), false, waiting) {
                    on_stall(&Stall {
                        stalled_for,
                        events_waiting: h.events_above_horizon,
                        oldest: h.oldest_transaction,
                    });
                }
            }
            Err(e) => debug!(error = %e, "cannot read the horizon"),
        }
    }

    /// Each live projection's checkpoint and how many events it is behind.
    pub async fn status(&self) -> Result<(Vec<ProjectionStatus>, Horizon), ProjectorError> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for p in &self.projections {
            let cp = checkpoint::read(&mut conn, p.name())
                .await?
                .unwrap_or_default();
            let behind: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events WHERE (transaction_id, position) > ($1::text::xid8, $2)",
            )
            .bind(cp.at.transaction_id.to_string())
            .bind(cp.at.position)
            .fetch_one(&mut *conn)
            .await?;
            out.push(ProjectionStatus {
                projection: p.name(),
                checkpoint: cp,
                events_behind: behind,
            });
        }
        let horizon = log::horizon(&mut conn).await?;
        Ok((out, horizon))
    }
}

/// Makes the rest of the transaction plan every statement for its parameters.
///
/// Projection tables grow from empty. A connection that cached a generic plan while a
/// table was tiny (a sequential scan for `id = ANY($1)`) would keep using it when the
/// table is large — a rebuild measured 4× slower from its second run on. Custom plans
/// cost a little planning per batch and never go stale.
pub(crate) async fn custom_plans(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(conn)
        .await?;
    Ok(())
}

/// Inside an open transaction whose caller holds the checkpoint lock: reads and applies
/// the next batch and saves the checkpoint. `None` when there was nothing to read.
pub(crate) async fn apply_batch(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    set: TableSet,
    cp: Checkpoint,
    upto: Option<LogPosition>,
    batch: i64,
) -> Result<Option<(Checkpoint, usize)>, ProjectorError> {
    let events = log::read_after(conn, cp.at, upto, batch).await?;
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let next = Checkpoint {
        at: last.at,
        events_applied: cp.events_applied + events.len() as i64,
    };
    projection
        .apply(conn, set, &events)
        .await
        .map_err(|source| ProjectorError::Stopped {
            projection: projection.name(),
            source,
        })?;
    checkpoint::save(conn, &set.checkpoint(projection.name()), next).await?;
    Ok(Some((next, events.len())))
}

/// Inside an open transaction whose caller holds every projection's checkpoint lock:
/// reads the next batch once (from the lowest checkpoint) and applies to each projection
/// the events after its own checkpoint. Used by rebuilds, where reading the log once for
/// all projections halves the work. `None` when there was nothing to read.
pub(crate) async fn apply_batch_all(
    conn: &mut PgConnection,
    projections: &[Arc<dyn Projection>],
    set: TableSet,
    checkpoints: &mut [Checkpoint],
    batch: i64,
) -> Result<Option<usize>, ProjectorError> {
    let Some(from) = checkpoints.iter().map(|c| c.at).min() else {
        return Ok(None);
    };
    let events = log::read_after(conn, from, None, batch).await?;
    if events.is_empty() {
        return Ok(None);
    }
    let mut moved = Vec::with_capacity(projections.len());
    for (p, cp) in projections.iter().zip(checkpoints.iter_mut()) {
        let first_new = events.partition_point(|e| e.at <= cp.at);
        let slice = &events[first_new..];
        let Some(last) = slice.last() else { continue };
        p.apply(conn, set, slice)
            .await
            .map_err(|source| ProjectorError::Stopped {
                projection: p.name(),
                source,
            })?;
        *cp = Checkpoint {
            at: last.at,
            events_applied: cp.events_applied + slice.len() as i64,
        };
        moved.push((set.checkpoint(p.name()), *cp));
    }
    checkpoint::save_many(conn, &moved).await?;
    Ok(Some(events.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn a_stall_is_reported_once_nothing_advanced_for_the_threshold_while_events_wait() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Duration::from_secs(30), t0);
        assert_eq!(watch.observe(at(t0, 10), false, true), None);
        assert_eq!(watch.observe(at(t0, 29), false, true), None);
        assert_eq!(
            watch.observe(at(t0, 30), false, true),
            Some(Duration::from_secs(30))
        );
        // Not again on the next round, but again after another threshold.
        assert_eq!(watch.observe(at(t0, 31), false, true), None);
        assert_eq!(
            watch.observe(at(t0, 60), false, true),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn progress_or_nothing_waiting_is_no_stall() {
        let t0 = Instant::now();
        let mut watch = StallWatch::new(Duration::from_secs(30), t0);
        // Idle: nothing waits above the horizon, however long.
        assert_eq!(watch.observe(at(t0, 100), false, false), None);
        // Waiting starts counting from the last round without a stall.
        assert_eq!(watch.observe(at(t0, 120), false, true), None);
        assert_eq!(
            watch.observe(at(t0, 130), false, true),
            Some(Duration::from_secs(30))
        );
        // Progress ends the stall and starts over.
        assert_eq!(watch.observe(at(t0, 131), true, true), None);
        assert_eq!(watch.observe(at(t0, 160), false, true), None);
        assert_eq!(
            watch.observe(at(t0, 161), false, true),
            Some(Duration::from_secs(30))
        );
    }
}
