//! Claim hints: which queued runs a compose worker is on, so that other workers go
//! elsewhere instead of racing it for the same runs.
//!
//! A hint is a PostgreSQL session advisory lock on a run, taken with
//! `pg_try_advisory_lock` on the connection the worker holds for a page of the queue and
//! released when the page is done. A worker that finds a run's hint held by another
//! session leaves the run to it, in every sweep but a round's last (see
//! [`super::worker`]): a hint only steers, it never decides. Exactly-once execution stays
//! the event store's concurrency check on the run's stream, so a hint that is lost,
//! stale or collides with another run's changes only who tries first, never what is
//! written.
//!
//! The locks live in the session: a connection whose session holds hints is marked
//! ([`EventStore::holds_session_locks`]) and closed instead of going back to the pool if
//! it is dropped before they are released (the worker stopped, failed or was cancelled
//! mid-page), so no hint outlives the work that took it.

use uuid::Uuid;

use crate::event_store::EventStore;

/// The advisory-lock class of claim hints (the two-key form's first key: `"rpcw"`), so
/// they never meet another lock of the database.
pub const HINT_CLASS: i32 = 0x7270_6377;

/// The hint's key for `run`: its id folded into the second key. Two runs may share a
/// key; the only effect is that a worker leaves one of them to another worker for a
/// sweep.
pub fn hint_key(run: Uuid) -> i32 {
    let bits = run.as_u128();
    let folded =
        (bits as u32) ^ ((bits >> 32) as u32) ^ ((bits >> 64) as u32) ^ ((bits >> 96) as u32);
    folded as i32
}

/// The hints one held connection's session holds.
pub struct ClaimHints {
    store: EventStore,
    /// The keys taken and not released yet, once per time taken.
    held: Vec<i32>,
    /// A take failed: the session may hold hints not in `held`, so the connection stays
    /// marked (and is closed when dropped).
    unsure: bool,
}

impl ClaimHints {
    /// Hints taken on `store`'s held connection.
    pub fn on(store: EventStore) -> Self {
        ClaimHints {
            store,
            held: Vec::new(),
            unsure: false,
        }
    }

    /// Takes the hints of `runs` that no other session holds, in one statement, and
    /// returns those runs (in their order).
    pub async fn take(&mut self, runs: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<i32> = runs.iter().map(|r| hint_key(*r)).collect();
        // Marked before the statement: a lock it takes is in the session even if the
        // answer never arrives.
        self.store.holds_session_locks(true);
        self.unsure = true;
        let mut conn = self.store.connection().await?;
        let taken: Vec<i32> = sqlx::query_scalar(
            "SELECT k.ord::int4 FROM unnest($2::int4[]) WITH ORDINALITY AS k(key, ord) \
             WHERE pg_try_advisory_lock($1, k.key) ORDER BY k.ord",
        )
        .bind(HINT_CLASS)
        .bind(&keys)
        .fetch_all(&mut *conn)
        .await?;
        let mut runs_taken = Vec::with_capacity(taken.len());
        for i in taken
            .into_iter()
            .filter_map(|ord| usize::try_from(ord).ok()?.checked_sub(1))
        {
            if let (Some(run), Some(key)) = (runs.get(i), keys.get(i)) {
                runs_taken.push(*run);
                self.held.push(*key);
            }
        }
        self.unsure = false;
        Ok(runs_taken)
    }

    /// Releases every hint taken, in one statement. Once they are released the
    /// connection may go back to the pool; on a failure (of this statement or of a take
    /// before it) it stays marked, and is closed when dropped, which releases them.
    pub async fn release(&mut self) -> Result<(), sqlx::Error> {
        if !self.held.is_empty() {
            self.unlock_held().await?;
        }
        if !self.unsure {
            self.store.holds_session_locks(false);
        }
        Ok(())
    }

    async fn unlock_held(&mut self) -> Result<(), sqlx::Error> {
        let mut conn = self.store.connection().await?;
        sqlx::query(
            "SELECT count(*) FROM unnest($2::int4[]) AS k(key) WHERE pg_advisory_unlock($1, k.key)",
        )
        .bind(HINT_CLASS)
        .bind(&self.held)
        .fetch_one(&mut *conn)
        .await?;
        self.held.clear();
        Ok(())
    }
}
