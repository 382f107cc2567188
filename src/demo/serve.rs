//! `runproof serve --demo`: the demo's database, recorded once, and a sign-in token for
//! the demo's operator, so one command gives a newcomer the running engine with a story
//! to look at.

use std::sync::Arc;

use runproof_domain::actor::{Actor, ActorKind, Role};
use runproof_domain::api_token::TokenLifetime;
use runproof_domain::initiator::Initiator;
use runproof_domain::metadata::CommandContext;
use sqlx::PgPool;

use super::{demo_id, DemoText};
use crate::app::App;
use crate::cli::error::CliError;
use crate::cli::out::Out;
use crate::clock::SystemClock;
use crate::database::{self, DatabaseTarget};
use crate::tokens::IssuedToken;

/// How long the printed sign-in token is valid.
const SIGN_IN_LIFETIME: &str = "12h";

/// Creates and migrates the database when needed, records the demo story when the log is
/// empty (a database with history is left as it is), makes the demo's "Ops Lead" a
/// platform operator (recorded once; a second grant records nothing) and issues it a
/// token that expires in 12 hours.
pub async fn prepare(target: &DatabaseTarget, out: &Out) -> Result<IssuedToken, CliError> {
    let classify = |e| CliError::from_database(&e, target);
    let created = target.create_if_missing().await.map_err(classify)?;
    let pool = target.connect(4).await.map_err(classify)?;
    database::migrate(&pool).await.map_err(classify)?;
    if log_is_empty(&pool).await? {
        super::record(target, created, out).await?;
        out.line("");
    } else {
        out.say(
            DemoText::ServeKeepsHistory,
            &[("target", &target.to_string())],
        );
    }
    let app = App::from_pool(pool, Arc::new(SystemClock));
    let ops = demo_id("actor/ops-lead");
    let ctx = CommandContext::new(Initiator::system("serve-demo"));
    let known = app
        .store
        .load::<Actor>(&ops.to_string())
        .await
        .map_err(|e| CliError::internal(&e))?
        .aggregate
        .state()
        .is_some();
    if known {
        app.directory
            .grant_role(ops, Role::Operator, &ctx)
            .await
            .map_err(|e| CliError::from_service(&e))?;
    } else {
        // A database with a history the demo did not record: only the operator is added.
        app.directory
            .create_actor_as(ops, "Ops Lead", ActorKind::Member, true, &ctx)
            .await
            .map_err(|e| CliError::from_service(&e))?;
    }
    let lifetime = TokenLifetime::parse(SIGN_IN_LIFETIME).map_err(|e| CliError::internal(&e))?;
    app.tokens
        .issue(ops, Some("serve --demo"), Some(lifetime), &ctx)
        .await
        .map_err(|e| CliError::from_service(&e))
}

async fn log_is_empty(pool: &PgPool) -> Result<bool, CliError> {
    sqlx::query_scalar::<_, bool>("SELECT NOT EXISTS (SELECT 1 FROM events)")
        .fetch_one(pool)
        .await
        .map_err(|e| CliError::internal(&e))
}
