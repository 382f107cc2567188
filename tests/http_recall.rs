//! A token the server checked before is recalled without reading its streams, and the
//! read it serves carries the token's and the actor's stream versions: these tests change
//! those streams from another process (the test's own services, beside the router's) after
//! the server remembered the token, and see the very next read answer as a fresh check
//! would — a revocation refused, a role change in effect — on the two routes that read
//! this way (`GET /api/v1/runs`, `GET /api/v1/runs/{id}`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::http::{api, call, get_as};
use runproof_domain::actor::Role;
use runproof_domain::api_token::{PresentedToken, TokenLifetime};
use serde_json::Value;
use uuid::Uuid;

/// Runs listed to `token` (ids), or the status when it is not 200.
async fn listed(router: &axum::Router, token: &str) -> Result<Vec<String>, StatusCode> {
    let (status, _, body) = call(router, get_as("/api/v1/runs", token)).await;
    if status != StatusCode::OK {
        return Err(status);
    }
    Ok(body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect())
}

async fn opened(router: &axum::Router, token: &str, run: Uuid) -> (StatusCode, Value) {
    let (status, _, body) = call(router, get_as(&format!("/api/v1/runs/{run}"), token)).await;
    (status, body)
}

fn token_id(token: &str) -> Uuid {
    PresentedToken::parse(token).unwrap().token_id
}

#[tokio::test]
async fn a_token_revoked_in_another_process_is_refused_by_the_next_read_though_the_server_remembered_it(
) {
    let a = api().await;
    let ours = a.our_run.to_string();
    // Checked once (the server remembers it), then recalled: both answer.
    assert_eq!(listed(&a.router, &a.member).await, Ok(vec![ours.clone()]));
    assert_eq!(listed(&a.router, &a.member).await, Ok(vec![ours.clone()]));
    assert_eq!(
        opened(&a.router, &a.member, a.our_run).await.0,
        StatusCode::OK
    );

    a.app
        .tokens
        .revoke(token_id(&a.member), &common::operator())
        .await
        .unwrap();

    assert_eq!(
        listed(&a.router, &a.member).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let (status, body) = opened(&a.router, &a.member, a.our_run).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token.unauthorized");
    // Another token of the same actor still answers.
    let other = common::http::token(&a.app, a.member_id).await;
    assert_eq!(listed(&a.router, &other).await, Ok(vec![ours]));
}

#[tokio::test]
async fn a_role_granted_or_revoked_in_another_process_counts_from_the_next_read() {
    let a = api().await;
    let (ours, theirs) = (a.our_run.to_string(), a.their_run.to_string());
    assert_eq!(listed(&a.router, &a.member).await, Ok(vec![ours.clone()]));
    assert_eq!(
        opened(&a.router, &a.member, a.their_run).await.0,
        StatusCode::NOT_FOUND
    );

    a.app
        .directory
        .grant_role(a.member_id, Role::Operator, &common::operator())
        .await
        .unwrap();
    let mut all = listed(&a.router, &a.member).await.unwrap();
    all.sort();
    let mut both = vec![ours.clone(), theirs];
    both.sort();
    assert_eq!(all, both, "an operator sees every workspace's runs");
    assert_eq!(
        opened(&a.router, &a.member, a.their_run).await.0,
        StatusCode::OK
    );

    a.app
        .directory
        .revoke_role(a.member_id, Role::Operator, &common::operator())
        .await
        .unwrap();
    assert_eq!(listed(&a.router, &a.member).await, Ok(vec![ours]));
    assert_eq!(
        opened(&a.router, &a.member, a.their_run).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_remembered_token_accepts_neither_another_secret_nor_a_moment_past_its_expiry() {
    let a = api().await;
    // The router over the world's own services: the test's manual clock is its clock.
    let router = common::console::console(&a);
    let issued = a
        .app
        .tokens
        .issue(
            a.member_id,
            None,
            Some(TokenLifetime::parse("1m").unwrap()),
            &common::operator(),
        )
        .await
        .unwrap();
    assert!(listed(&router, &issued.token).await.is_ok());
    assert!(listed(&router, &issued.token).await.is_ok());

    // The same token id with another secret of the same shape.
    let (prefix, secret) = issued.token.rsplit_once('_').unwrap();
    let flipped: String = secret
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let forged = format!("{prefix}_{flipped}");
    assert_eq!(
        listed(&router, &forged).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        opened(&router, &forged, a.our_run).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(listed(&router, &issued.token).await.is_ok());

    a.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(
        listed(&router, &issued.token).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        opened(&router, &issued.token, a.our_run).await.0,
        StatusCode::UNAUTHORIZED
    );
}
