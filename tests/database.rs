//! Connecting: the settings of runproof's own sessions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestDb;
use runproof::database::DatabaseTarget;

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
    let pool = DatabaseTarget::parse(&url).unwrap().connect(1).await.unwrap();
    let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
}
