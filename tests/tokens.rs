//! API tokens and roles against PostgreSQL: a token authenticates as its actor with the
//! actor's roles as recorded now; a wrong secret, an unknown id, a malformed, revoked or
//! expired token is refused — a revocation from the very next request, in any process,
//! whatever the projections' lag; nothing of the secret is stored anywhere but its
//! digest, and the digest only in the token's own stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use common::{app, operator, wait_projected, TestDb};
use runproof::app::App;
use runproof::event_store::NewEvent;
use runproof::service_error::ServiceError;
use runproof::tokens::{authorize, AuthError, Caller};
use runproof_domain::actor::{Actor, ActorKind, Role};
use runproof_domain::api_token::{SecretDigest, TokenLifetime, TokenStatus};
use runproof_domain::ReasonCode;
use runproof_projections::rebuild;
use runproof_projections::NoProgress;
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

async fn actor(app: &App, kind: ActorKind, operator_role: bool) -> Uuid {
    app.directory
        .create_actor_as(Uuid::new_v4(), "Ada", kind, operator_role, &operator())
        .await
        .unwrap()
}

fn refused_with(e: ServiceError, reason: ReasonCode) {
    match e {
        ServiceError::Refused { reason: r, .. } => assert_eq!(r, reason),
        other => panic!("expected {reason}, got {other:?}"),
    }
}

/// The secret part of a token (after `rp_<32 hex>_`).
fn secret_of(token: &str) -> &str {
    &token[3 + 32 + 1..]
}

#[tokio::test]
async fn an_issued_token_authenticates_as_its_actor() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ada = actor(&app, ActorKind::Member, false).await;
    let issued = app
        .tokens
        .issue(ada, Some(" laptop "), None, &operator())
        .await
        .unwrap();
    assert!(issued
        .token
        .starts_with(&format!("rp_{}_", issued.token_id.simple())));
    assert_eq!(secret_of(&issued.token).len(), 43, "256 bits, base64url");
    assert_eq!(issued.name.as_deref(), Some("laptop"));
    assert_eq!(issued.expires_at, None);

    let caller = app
        .tokens
        .authenticate(&issued.token, clock.now_for_test())
        .await
        .unwrap();
    assert_eq!(
        caller,
        Caller {
            actor_id: ada,
            token_id: issued.token_id,
            operator: false,
            service: false,
            feed: false,
        }
    );
    // Two tokens of one actor never share a secret.
    let second = app
        .tokens
        .issue(ada, None, None, &operator())
        .await
        .unwrap();
    assert_ne!(secret_of(&second.token), secret_of(&issued.token));
}

/// A manual clock's "now", as the HTTP layer passes it.
trait NowForTest {
    fn now_for_test(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowForTest for Arc<runproof::clock::ManualClock> {
    fn now_for_test(&self) -> chrono::DateTime<chrono::Utc> {
        runproof::clock::Clock::now(self.as_ref())
    }
}

#[tokio::test]
async fn a_wrong_secret_an_unknown_id_and_a_malformed_token_are_refused() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ada = actor(&app, ActorKind::Member, false).await;
    let issued = app
        .tokens
        .issue(ada, None, None, &operator())
        .await
        .unwrap();
    let now = clock.now_for_test();

    // The right id with another secret.
    let mut wrong = issued.token.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    assert!(matches!(
        app.tokens.authenticate(&wrong, now).await,
        Err(AuthError::WrongSecret)
    ));
    // The right secret under an id nobody was given.
    let unknown = format!(
        "rp_{}_{}",
        Uuid::new_v4().simple(),
        secret_of(&issued.token)
    );
    assert!(matches!(
        app.tokens.authenticate(&unknown, now).await,
        Err(AuthError::Unknown)
    ));
    for malformed in [
        String::new(),
        "Bearer".into(),
        format!("Bearer {}", issued.token),
        issued.token.to_uppercase(),
        issued.token[..issued.token.len() - 30].to_string(),
        issued.token.replacen("rp_", "rq_", 1),
    ] {
        assert!(
            matches!(
                app.tokens.authenticate(&malformed, now).await,
                Err(AuthError::Malformed)
            ),
            "{malformed}"
        );
    }
    // And the real one still works.
    assert!(app.tokens.authenticate(&issued.token, now).await.is_ok());
}

#[tokio::test]
async fn a_revoked_token_is_refused_from_the_next_request_in_every_process_whatever_the_lag() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ada = actor(&app, ActorKind::Member, false).await;
    let issued = app
        .tokens
        .issue(ada, None, None, &operator())
        .await
        .unwrap();
    let other_process = App::from_pool(db.second_pool().await, clock.clone());
    let now = clock.now_for_test();
    assert!(other_process
        .tokens
        .authenticate(&issued.token, now)
        .await
        .is_ok());

    // A long-open transaction holds every projection below the revocation.
    let mut holder = PgConnection::connect(&db.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut holder)
        .await
        .unwrap();
    let revocation = app
        .clone()
        .without_read_your_writes()
        .tokens
        .revoke(issued.token_id, &operator())
        .await
        .unwrap();
    assert!(revocation.changed);
    assert_eq!(revocation.actor_id, ada);

    // The next request, here and in the other process: refused.
    for process in [&app, &other_process] {
        assert!(matches!(
            process.tokens.authenticate(&issued.token, now).await,
            Err(AuthError::Revoked)
        ));
    }
    // The views have not seen the revocation: authentication did not ask them.
    app.projector.catch_up().await.unwrap();
    let listed = app.tokens.list(ada).await.unwrap();
    assert_eq!(listed[0].revoked_at, None, "the projection lags behind");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();

    wait_projected(&db, &app.projector).await;
    let listed = app.tokens.list(ada).await.unwrap();
    assert_eq!(listed[0].revoked_at, Some(revocation.revoked_at));
    assert_eq!(listed[0].status(now), TokenStatus::Revoked);
}

#[tokio::test]
async fn revoking_twice_records_one_revocation_and_an_unknown_token_is_not_found() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ada = actor(&app, ActorKind::Member, false).await;
    let issued = app
        .tokens
        .issue(ada, None, None, &operator())
        .await
        .unwrap();
    let first = app
        .tokens
        .revoke(issued.token_id, &operator())
        .await
        .unwrap();
    clock.advance(Duration::minutes(5));
    let second = app
        .tokens
        .revoke(issued.token_id, &operator())
        .await
        .unwrap();
    assert!(first.changed && !second.changed);
    assert_eq!(
        second.revoked_at, first.revoked_at,
        "the first revocation counts"
    );
    let revocations: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'api_token' AND event_type = 'ApiTokenRevoked'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(revocations, 1);

    refused_with(
        app.tokens
            .revoke(Uuid::new_v4(), &operator())
            .await
            .unwrap_err(),
        ReasonCode::TokenNotFound,
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_from_the_moment_it_expires() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let ada = actor(&app, ActorKind::Member, false).await;
    let issued = app
        .tokens
        .issue(
            ada,
            None,
            Some(TokenLifetime::parse("90m").unwrap()),
            &operator(),
        )
        .await
        .unwrap();
    let issued_at = clock.now_for_test();
    assert_eq!(issued.expires_at, Some(issued_at + Duration::minutes(90)));

    clock.advance(Duration::minutes(90) - Duration::microseconds(1));
    assert!(app
        .tokens
        .authenticate(&issued.token, clock.now_for_test())
        .await
        .is_ok());
    clock.advance(Duration::microseconds(1));
    assert!(matches!(
        app.tokens
            .authenticate(&issued.token, clock.now_for_test())
            .await,
        Err(AuthError::Expired)
    ));
    let listed = app.tokens.list(ada).await.unwrap();
    assert_eq!(listed[0].status(clock.now_for_test()), TokenStatus::Expired);
}

#[tokio::test]
async fn a_token_is_issued_only_to_an_actor_that_exists_and_with_a_valid_name() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    refused_with(
        app.tokens
            .issue(Uuid::new_v4(), None, None, &operator())
            .await
            .unwrap_err(),
        ReasonCode::ActorNotFound,
    );
    let ada = actor(&app, ActorKind::Member, false).await;
    refused_with(
        app.tokens
            .issue(ada, Some("ci\u{202e}"), None, &operator())
            .await
            .unwrap_err(),
        ReasonCode::NameInvalid,
    );
    refused_with(
        app.tokens.list(Uuid::new_v4()).await.unwrap_err(),
        ReasonCode::ActorNotFound,
    );
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'api_token'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(events, 0, "nothing recorded");
}

/// Every table of the database with the number of its rows whose text holds `needle`.
async fn rows_holding(db: &TestDb, needle: &str) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} t WHERE strpos(to_jsonb(t)::text, $1) > 0"
        ))
        .bind(needle)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if n > 0 {
            out.push((table, n));
        }
    }
    out
}

#[tokio::test]
async fn nothing_of_the_secret_is_stored_and_its_digest_only_in_the_tokens_stream() {
    let db = TestDb::new().await;
    let (app, _) = app(&db);
    let ada = actor(&app, ActorKind::Service, false).await;
    let kept = app
        .tokens
        .issue(
            ada,
            Some("ci"),
            Some(TokenLifetime::parse("30d").unwrap()),
            &operator(),
        )
        .await
        .unwrap();
    let revoked = app
        .tokens
        .issue(ada, None, None, &operator())
        .await
        .unwrap();
    app.tokens
        .revoke(revoked.token_id, &operator())
        .await
        .unwrap();
    wait_projected(&db, &app.projector).await;
    assert_eq!(app.tokens.list(ada).await.unwrap().len(), 2);

    for issued in [&kept, &revoked] {
        let secret = secret_of(&issued.token);
        assert_eq!(rows_holding(&db, secret).await, vec![], "the secret");
        let digest = SecretDigest::of(secret).to_hex();
        assert_eq!(
            rows_holding(&db, &digest).await,
            vec![("events".to_string(), 1)],
            "the digest"
        );
        let (event_type, aggregate_id, in_metadata): (String, String, bool) = sqlx::query_as(
            "SELECT event_type, aggregate_id, strpos(metadata::text, $1) > 0 FROM events \
             WHERE strpos(payload::text, $1) > 0",
        )
        .bind(&digest)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(event_type, "ApiTokenIssued");
        assert_eq!(aggregate_id, issued.token_id.to_string());
        assert!(!in_metadata);
    }
}

#[tokio::test]
async fn roles_come_from_creation_and_from_grants_and_revocations_at_once() {
    let db = TestDb::new().await;
    let (app, clock) = app(&db);
    let now = clock.now_for_test();
    let mut callers = Vec::new();
    for (kind, operator_role) in [
        (ActorKind::Member, false),
        (ActorKind::Member, true),
        (ActorKind::Service, false),
    ] {
        let id = actor(&app, kind, operator_role).await;
        let token = app.tokens.issue(id, None, None, &operator()).await.unwrap();
        let caller = app.tokens.authenticate(&token.token, now).await.unwrap();
        callers.push((id, token.token, caller));
    }
    let roles: Vec<(bool, bool)> = callers
        .iter()
        .map(|(_, _, c)| (c.operator, c.service))
        .collect();
    assert_eq!(roles, [(false, false), (true, false), (false, true)]);

    // What they may do in a workspace that has the service as its only member.
    let workspace = BTreeSet::from([callers[2].0]);
    let see: Vec<(bool, bool)> = callers
        .iter()
        .map(|(_, _, c)| {
            let a = authorize(c, &workspace);
            (a.see, a.drive_runs)
        })
        .collect();
    assert_eq!(see, [(false, false), (true, false), (true, true)]);

    // A grant counts from the next authentication (no projection involved) …
    let (member, token, _) = &callers[0];
    let direct = app.clone().without_read_your_writes();
    assert!(direct
        .directory
        .grant_role(*member, Role::Operator, &operator())
        .await
        .unwrap());
    assert!(!direct
        .directory
        .grant_role(*member, Role::Operator, &operator())
        .await
        .unwrap());
    assert!(app.tokens.authenticate(token, now).await.unwrap().operator);
    // … and so does a revocation.
    assert!(direct
        .directory
        .revoke_role(*member, Role::Operator, &operator())
        .await
        .unwrap());
    assert!(!direct
        .directory
        .revoke_role(*member, Role::Operator, &operator())
        .await
        .unwrap());
    assert!(!app.tokens.authenticate(token, now).await.unwrap().operator);
    refused_with(
        app.directory
            .grant_role(Uuid::new_v4(), Role::Operator, &operator())
            .await
            .unwrap_err(),
        ReasonCode::ActorNotFound,
    );

    // The actors view carries kind and role; a rebuild gives the same rows.
    wait_projected(&db, &app.projector).await;
    let projected: Vec<(String, bool)> = sqlx::query_as(
        "SELECT kind, operator FROM actors WHERE id = ANY($1) ORDER BY array_position($1, id)",
    )
    .bind(callers.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        projected,
        [
            ("member".to_string(), false),
            ("member".to_string(), true),
            ("service".to_string(), false)
        ]
    );
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_type, event_version FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(member.to_string())
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        grants,
        [
            ("ActorCreated".to_string(), "2.0".to_string()),
            ("ActorRoleGranted".to_string(), "1.0".to_string()),
            ("ActorRoleRevoked".to_string(), "1.0".to_string())
        ]
    );
    assert!(rebuild::verify(&app.projector, &NoProgress)
        .await
        .unwrap()
        .is_clean());
}

#[tokio::test]
async fn an_actor_stored_in_its_1_0_shape_is_a_plain_member_after_the_upgrade() {
    // A database as the build before ActorCreated 2.0 left it: migrated up to 0008, an
    // actor created in the 1.0 shape and projected into the 0008 `actors` table.
    let db = TestDb::unmigrated().await;
    let before: Vec<_> = runproof::MIGRATOR
        .iter()
        .filter(|m| m.version < 9)
        .cloned()
        .collect();
    Migrator {
        migrations: Cow::Owned(before),
        ..Migrator::DEFAULT
    }
    .run(&db.pool)
    .await
    .unwrap();
    let actor_id = Uuid::new_v4();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let (app, clock) = app(&db);
    let legacy = NewEvent {
        aggregate_type: "actor",
        aggregate_id: actor_id.to_string(),
        sequence: 1,
        event_type: "ActorCreated".into(),
        event_version: "1.0".into(),
        payload: json!({ "ActorCreated": {
            "actor_id": actor_id,
            "display_name": "Grace",
            "created_at": at,
        }})
        .to_string(),
        metadata: serde_json::to_string(&operator().metadata(at, "1.0").to_map()).unwrap(),
    };
    app.store.append_atomically(&[legacy]).await.unwrap();
    let position: i64 = sqlx::query_scalar("SELECT position FROM events WHERE aggregate_id = $1")
        .bind(actor_id.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO actors (id, display_name, created_at, updated_at, version, last_position) \
         VALUES ($1, 'Grace', $2, $2, 1, $3)",
    )
    .bind(actor_id)
    .bind(at)
    .bind(position)
    .execute(&db.pool)
    .await
    .unwrap();

    // The upgrade.
    runproof::MIGRATOR.run(&db.pool).await.unwrap();
    let row: (String, bool) = sqlx::query_as("SELECT kind, operator FROM actors WHERE id = $1")
        .bind(actor_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(row, ("member".to_string(), false));
    // The rows the migration left are the rows a rebuild gives.
    wait_projected(&db, &app.projector).await;
    let report = rebuild::verify(&app.projector, &NoProgress).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.differences);

    // The aggregate reads the 1.0 event as a plain member …
    let loaded = app
        .store
        .load::<Actor>(&actor_id.to_string())
        .await
        .unwrap();
    let state = loaded.aggregate.state().unwrap();
    assert_eq!((state.kind, state.operator), (ActorKind::Member, false));
    // … which gets tokens, authenticates without roles, and can be made an operator.
    let token = app
        .tokens
        .issue(actor_id, None, None, &operator())
        .await
        .unwrap();
    let caller = app
        .tokens
        .authenticate(&token.token, clock.now_for_test())
        .await
        .unwrap();
    assert_eq!((caller.operator, caller.service), (false, false));
    app.directory
        .grant_role(actor_id, Role::Operator, &operator())
        .await
        .unwrap();
    assert!(
        app.tokens
            .authenticate(&token.token, clock.now_for_test())
            .await
            .unwrap()
            .operator
    );
}

// --- the command line ---

mod cli_commands {
    use super::*;
    use crate::common::cli::{one_line_error, runproof, runproof_json};
    use runproof::clock::SystemClock;
    use serde_json::Value;

    async fn events(db: &TestDb) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    }

    fn id(v: &Value, key: &str) -> String {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {v}"))
            .to_string()
    }

    #[tokio::test]
    async fn tokens_are_issued_once_listed_without_secrets_and_revoked_from_the_command_line() {
        let db = TestDb::new().await;
        let url = db.url();
        let actor = id(
            &runproof_json(&url, &["actors", "create", "--name", "CI", "--service"]),
            "actor_id",
        );

        // Text: the id, the token on its own line, and the note that it is shown once.
        let issued = runproof(
            &url,
            &[
                "tokens",
                "issue",
                "--actor",
                &actor,
                "--name",
                "nightly",
                "--expires-in",
                "30d",
            ],
        );
        assert_eq!(issued.code, 0, "{}", issued.stderr);
        let lines: Vec<&str> = issued.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{}", issued.stdout);
        assert!(lines[0].starts_with("Issued API token "), "{}", lines[0]);
        assert!(lines[0].contains(&format!("to actor {actor}; it expires at ")));
        let token = lines[1].to_string();
        assert!(
            token.starts_with("rp_") && token.len() == 3 + 32 + 1 + 43,
            "{token}"
        );
        assert!(lines[2].contains("shown only this once"), "{}", lines[2]);
        let token_id = lines[0]
            .trim_start_matches("Issued API token ")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();

        // JSON: the same, machine-readable; valid until revoked without --expires-in.
        let second = runproof_json(&url, &["tokens", "issue", "--actor", &actor]);
        assert_eq!(second["expires_at"], Value::Null);
        assert!(second["token"].as_str().unwrap().starts_with("rp_"));
        assert!(second["note"]
            .as_str()
            .unwrap()
            .contains("cannot show it again"));

        // The token authenticates as the service actor.
        let app = App::from_pool(db.pool.clone(), Arc::new(SystemClock));
        let now = chrono::Utc::now();
        let caller = app.tokens.authenticate(&token, now).await.unwrap();
        assert_eq!(caller.actor_id.to_string(), actor);
        assert!(caller.service && !caller.operator);

        // Listed (newest first) with no secret and no digest, as a table and as JSON.
        let secret = secret_of(&token);
        let digest = SecretDigest::of(secret).to_hex();
        let table = runproof(&url, &["tokens", "list", "--actor", &actor]);
        assert_eq!(table.code, 0, "{}", table.stderr);
        assert!(table.stdout.contains(&token_id) && table.stdout.contains("nightly"));
        assert!(table.stdout.contains("active"), "{}", table.stdout);
        assert!(table.stdout.contains("2 token(s), newest first."));
        let listed = runproof_json(&url, &["tokens", "list", "--actor", &actor]);
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1]["token_id"], token_id.as_str());
        assert_eq!(listed[1]["status"], "active");
        for shown in [&table.stdout, &listed[1].to_string()] {
            assert!(
                !shown.contains(secret) && !shown.contains(&digest),
                "{shown}"
            );
        }

        // Revoked: refused from the next request; a second revocation records nothing.
        let revoked = runproof(&url, &["tokens", "revoke", &token_id]);
        assert_eq!(revoked.code, 0, "{}", revoked.stderr);
        assert!(
            revoked
                .stdout
                .starts_with(&format!("Revoked API token {token_id} of actor {actor}")),
            "{}",
            revoked.stdout
        );
        assert!(matches!(
            app.tokens.authenticate(&token, now).await,
            Err(AuthError::Revoked)
        ));
        let before = events(&db).await;
        let again = runproof_json(&url, &["tokens", "revoke", &token_id]);
        assert_eq!(again["changed"], false);
        assert_eq!(events(&db).await, before);
        let again = runproof(&url, &["tokens", "revoke", &token]);
        assert!(
            again.stdout.contains("was already revoked at"),
            "the whole token names its id too: {}",
            again.stdout
        );
        assert!(!again.stdout.contains(secret));
        let table = runproof(&url, &["tokens", "list", "--actor", &actor]);
        assert!(table.stdout.contains("revoked at"), "{}", table.stdout);
    }

    #[tokio::test]
    async fn the_token_and_role_commands_refuse_bad_input_in_one_line_and_record_nothing() {
        let db = TestDb::new().await;
        let url = db.url();
        let actor = id(
            &runproof_json(&url, &["actors", "create", "--name", "Ada"]),
            "actor_id",
        );
        let before = events(&db).await;
        for lifetime in [
            "0d",
            "3651d",
            "1y",
            "1.5h",
            "abc",
            "-5m",
            "99999999999999999999d",
        ] {
            let o = runproof(
                &url,
                &[
                    "tokens",
                    "issue",
                    "--actor",
                    &actor,
                    "--expires-in",
                    lifetime,
                ],
            );
            one_line_error(&o, 2, "token.expiry_invalid");
            assert!(o.stderr.contains(lifetime), "{}", o.stderr);
        }
        let stranger = Uuid::new_v4().to_string();
        one_line_error(
            &runproof(&url, &["tokens", "issue", "--actor", &stranger]),
            2,
            "actor.not_found",
        );
        one_line_error(
            &runproof(&url, &["tokens", "issue", "--actor", &actor, "--name", " "]),
            2,
            "name.invalid",
        );
        one_line_error(
            &runproof(&url, &["tokens", "list", "--actor", &stranger]),
            2,
            "actor.not_found",
        );
        one_line_error(
            &runproof(&url, &["tokens", "list", "--actor", "ada"]),
            2,
            "cli.invalid_uuid",
        );
        one_line_error(
            &runproof(&url, &["tokens", "revoke", &stranger]),
            2,
            "token.not_found",
        );
        // A mistyped token is refused without being repeated.
        let mistyped = "rp_1234_Zx9-secret-that-must-not-be-printed";
        let o = runproof(&url, &["tokens", "revoke", mistyped]);
        one_line_error(&o, 2, "token.id_invalid");
        assert!(!o.stderr.contains("secret-that"), "{}", o.stderr);
        one_line_error(
            &runproof(
                &url,
                &["actors", "grant", "--actor", &actor, "--role", "admin"],
            ),
            2,
            "actor.role_unknown",
        );
        one_line_error(
            &runproof(
                &url,
                &[
                    "actors", "grant", "--actor", &stranger, "--role", "operator",
                ],
            ),
            2,
            "actor.not_found",
        );
        one_line_error(
            &runproof(
                &url,
                &[
                    "actors",
                    "revoke-role",
                    "--actor",
                    &stranger,
                    "--role",
                    "operator",
                ],
            ),
            2,
            "actor.not_found",
        );
        // An actor is an operator or a service, not both at creation.
        let both = runproof(
            &url,
            &["actors", "create", "--name", "X", "--operator", "--service"],
        );
        assert_eq!(both.code, 2);
        assert_eq!(both.stderr.trim_end().lines().count(), 1, "{}", both.stderr);
        assert_eq!(events(&db).await, before, "nothing recorded");
        // The database unreachable: exit 3, one line.
        one_line_error(
            &runproof(
                "postgres://postgres@127.0.0.1:1/runproof",
                &["tokens", "list", "--actor", &actor],
            ),
            3,
            "db.unreachable",
        );
    }

    #[tokio::test]
    async fn roles_are_granted_and_revoked_from_the_command_line_and_read_in_german() {
        let db = TestDb::new().await;
        let url = db.url();
        let created = runproof(&url, &["actors", "create", "--name", "Root", "--operator"]);
        assert!(
            created.stdout.contains("it sees every workspace"),
            "{}",
            created.stdout
        );
        let operator_json =
            runproof_json(&url, &["actors", "create", "--name", "Ops", "--operator"]);
        assert_eq!(operator_json["operator"], true);
        assert_eq!(operator_json["kind"], "member");
        let service = runproof(
            &url,
            &[
                "--lang",
                "de",
                "actors",
                "create",
                "--name",
                "Jobs",
                "--service",
            ],
        );
        assert!(
            service.stdout.starts_with("Dienstakteur "),
            "{}",
            service.stdout
        );
        let ada = id(
            &runproof_json(&url, &["actors", "create", "--name", "Ada"]),
            "actor_id",
        );

        let grant = ["actors", "grant", "--actor", &ada, "--role", "operator"];
        let revoke = [
            "actors",
            "revoke-role",
            "--actor",
            &ada,
            "--role",
            "operator",
        ];
        let o = runproof(&url, &grant);
        assert_eq!(
            o.stdout.trim(),
            format!("Actor {ada} is now an operator: it sees every workspace.")
        );
        let o = runproof(&url, &[&["--lang", "de"][..], &grant[..]].concat());
        assert_eq!(
            o.stdout.trim(),
            format!("Akteur {ada} hat die Rolle operator bereits; nichts wurde aufgezeichnet.")
        );
        let json = runproof_json(&url, &revoke);
        assert_eq!(
            (json["changed"].clone(), json["holds_role"].clone()),
            (Value::Bool(true), Value::Bool(false))
        );
        let o = runproof(&url, &revoke);
        assert_eq!(
            o.stdout.trim(),
            format!("Actor {ada} does not hold the role operator; nothing was recorded.")
        );
        let roles: Vec<String> = sqlx::query_scalar(
            "SELECT event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence",
        )
        .bind(&ada)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(
            roles,
            ["ActorCreated", "ActorRoleGranted", "ActorRoleRevoked"]
        );

        // Tokens in German, errors too.
        let issued = runproof(
            &url,
            &[
                "--lang",
                "de",
                "tokens",
                "issue",
                "--actor",
                &ada,
                "--expires-in",
                "12h",
            ],
        );
        assert!(issued.stdout.starts_with("API-Token "), "{}", issued.stdout);
        assert!(
            issued.stdout.contains("nur dieses eine Mal"),
            "{}",
            issued.stdout
        );
        let listed = runproof(&url, &["--lang", "de", "tokens", "list", "--actor", &ada]);
        assert!(
            listed.stdout.contains("Läuft ab am") && listed.stdout.contains("gültig"),
            "{}",
            listed.stdout
        );
        let o = runproof(
            &url,
            &[
                "--lang",
                "de",
                "tokens",
                "issue",
                "--actor",
                &ada,
                "--expires-in",
                "0m",
            ],
        );
        one_line_error(&o, 2, "token.expiry_invalid");
        assert!(
            o.stderr.contains("Die Gültigkeitsdauer 0m ist ungültig"),
            "{}",
            o.stderr
        );
        let none = runproof(
            &url,
            &[
                "--lang",
                "de",
                "tokens",
                "list",
                "--actor",
                &id(&operator_json, "actor_id"),
            ],
        );
        assert!(
            none.stdout.contains("hat keine API-Token"),
            "{}",
            none.stdout
        );
    }
}
