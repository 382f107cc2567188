//! One publishing relay per stream: a PostgreSQL session advisory lock, held on a
//! connection of its own for as long as the relay publishes.
//!
//! The lock lives and dies with its session: when the connection breaks (the database
//! restarted, the network dropped, the process was killed) the lock is gone, another
//! relay may take it, and this one stops publishing as soon as it notices — it checks the
//! connection before every batch. The check cannot make the hand-over instantaneous, so
//! the stream itself has the last word: every publish names the sequence it expects to
//! follow (`Nats-Expected-Last-Sequence`), and a second writer's message fails it.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::subject::StreamName;

/// The lock's name: one per stream, so relays of different streams run side by side.
fn lock_name(stream: &StreamName) -> String {
    format!("runproof.relay.nats/{stream}")
}

/// The held leadership.
pub struct Leadership {
    conn: PgConnection,
}

impl Leadership {
    /// Takes the lock of `stream` if no other session holds it (`None` then).
    pub async fn try_take(
        options: &PgConnectOptions,
        stream: &StreamName,
    ) -> Result<Option<Leadership>, sqlx::Error> {
        let mut conn = options
            .clone()
            .disable_statement_logging()
            .connect()
            .await?;
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(lock_name(stream))
            .fetch_one(&mut conn)
            .await?;
        if won {
            Ok(Some(Leadership { conn }))
        } else {
            conn.close().await.ok();
            Ok(None)
        }
    }

    /// Whether the lock is still held: its session answers.
    pub async fn held(&mut self) -> bool {
        self.conn.ping().await.is_ok()
    }

    /// Lets go of the lock (closing the session releases it).
    pub async fn release(self) {
        self.conn.close().await.ok();
    }
}
