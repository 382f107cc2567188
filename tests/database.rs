//! Connecting: the settings of runproof's own sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use runproof::database::{DatabaseError, DatabaseTarget};

#[tokio::test]
async fn runproof_sessions_end_themselves_when_left_idle_in_a_transaction() {
    let db = TestDb::new().await;
    let pool = DatabaseTarget::parse(&db.url())
        .unwrap()
        .connect(1)
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "1min");
}

#[tokio::test]
async fn a_connection_string_that_sets_its_own_idle_timeout_keeps_it() {
    let db = TestDb::new().await;
    let url = format!(
        "{}?options=-c%20idle_in_transaction_session_timeout%3D5s",
        db.url()
    );
    let pool = DatabaseTarget::parse(&url)
        .unwrap()
        .connect(1)
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
}

#[tokio::test]
async fn a_server_that_accepts_but_never_answers_is_not_postgres_and_one_that_refuses_is_unreachable(
) {
    // Accepts connections and reads forever, as a Redis or HTTP server does while it
    // waits for a command it understands.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let silent = DatabaseTarget::parse(&format!("postgres://postgres@{addr}/runproof"))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300));
    let err = silent.connect(1).await.unwrap_err();
    assert!(matches!(err, DatabaseError::NotPostgres(_)), "{err:?}");

    // A port nobody listens on (the listener is bound, then dropped).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = closed.local_addr().unwrap();
    drop(closed);
    let nobody = DatabaseTarget::parse(&format!("postgres://postgres@{free}/runproof"))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300));
    let err = nobody.connect(1).await.unwrap_err();
    assert!(matches!(err, DatabaseError::Unreachable(_)), "{err:?}");
}
