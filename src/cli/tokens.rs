//! `runproof tokens issue | revoke | list`: API tokens for actors. The token is printed
//! once, by `issue`; nothing prints it, or its digest, again.

use clap::Subcommand;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use runproof_domain::api_token::{PresentedToken, TokenLifetime, TokenStatus, TokenSummary};
use runproof_domain::ReasonCode;
use serde_json::json;
use uuid::Uuid;

use super::directory::context;
use super::error::{catch_up_for, CliError};
use super::lag;
use super::out::Out;
use super::runs::parse_id;
use super::text::UiText;
use super::Opener;
use crate::app::App;
use crate::explain::when;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue an API token to an actor. Prints the token once: runproof keeps only its
    /// SHA-256 and cannot show it again.
    Issue {
        /// The actor the token authenticates as.
        #[arg(long)]
        actor: String,
        /// A name that tells the actor's tokens apart (the machine or job using it).
        #[arg(long)]
        name: Option<String>,
        /// How long the token is valid: a whole number followed by m, h or d (90m, 12h,
        /// 30d), at most 3650d. Without it the token is valid until revoked.
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        expires_in: Option<String>,
    },
    /// Revoke an API token: it is refused from the next request on. Revoking it again
    /// records nothing.
    Revoke {
        /// The token's id, as `tokens issue` or `tokens list` printed it.
        token_id: String,
    },
    /// An actor's API tokens, newest first, with their status (never a secret).
    List {
        #[arg(long)]
        actor: String,
    },
}

/// Runs a `tokens` subcommand. Arguments are checked before the database is opened.
pub async fn run(command: TokensCommand, opener: &Opener, out: &Out) -> Result<(), CliError> {
    match command {
        TokensCommand::Issue {
            actor,
            name,
            expires_in,
        } => {
            let actor = parse_id(&actor)?;
            let lifetime = expires_in.as_deref().map(parse_lifetime).transpose()?;
            let app = opener.open().await?;
            issue(&app, actor, name.as_deref(), lifetime, out).await
        }
        TokensCommand::Revoke { token_id } => {
            let token_id = parse_token_id(&token_id)?;
            let app = opener.open().await?;
            revoke(&app, token_id, out).await
        }
        TokensCommand::List { actor } => {
            let actor = parse_id(&actor)?;
            let app = opener.open().await?;
            list(&app, actor, out).await
        }
    }
}

/// `30d`, `12h`, `90m`, within ten years.
pub fn parse_lifetime(value: &str) -> Result<TokenLifetime, CliError> {
    TokenLifetime::parse(value).map_err(|_| {
        CliError::input(
            ReasonCode::TokenExpiryInvalid,
            vec![("value", value.to_string())],
        )
    })
}

/// A token id (a UUID, or the 32 hex characters a token carries), or a whole token,
/// whose id is taken. The value is never repeated in the error: it may be a token.
pub fn parse_token_id(value: &str) -> Result<Uuid, CliError> {
    let value = value.trim();
    Uuid::try_parse(value)
        .ok()
        .or_else(|| PresentedToken::parse(value).ok().map(|t| t.token_id))
        .ok_or_else(|| CliError::input(ReasonCode::TokenIdInvalid, vec![]))
}

async fn issue(
    app: &App,
    actor: Uuid,
    name: Option<&str>,
    lifetime: Option<TokenLifetime>,
    out: &Out,
) -> Result<(), CliError> {
    let issued = app
        .tokens
        .issue(actor, name, lifetime, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    let id = issued.token_id.to_string();
    if out.json {
        out.json(&json!({
            "token_id": issued.token_id,
            "actor_id": issued.actor_id,
            "name": issued.name,
            "token": issued.token,
            "issued_at": issued.issued_at,
            "expires_at": issued.expires_at,
            "note": out.t(UiText::TokenShownOnce),
            "lag": lag::json(app.lag(), out),
        }));
        return Ok(());
    }
    match issued.expires_at {
        Some(at) => out.say(
            UiText::TokenIssued,
            &[
                ("id", &id),
                ("actor", &actor.to_string()),
                ("expires", &when(at)),
            ],
        ),
        None => out.say(
            UiText::TokenIssuedUntilRevoked,
            &[("id", &id), ("actor", &actor.to_string())],
        ),
    }
    out.line(&issued.token);
    out.say(UiText::TokenShownOnce, &[]);
    Ok(())
}

async fn revoke(app: &App, token_id: Uuid, out: &Out) -> Result<(), CliError> {
    let revoked = app
        .tokens
        .revoke(token_id, &context(None))
        .await
        .map_err(|e| CliError::from_service(&e))?;
    if out.json {
        out.json(&json!({
            "token_id": revoked.token_id,
            "actor_id": revoked.actor_id,
            "revoked_at": revoked.revoked_at,
            "changed": revoked.changed,
            "lag": lag::json(app.lag(), out),
        }));
    } else if revoked.changed {
        out.say(
            UiText::TokenRevoked,
            &[
                ("id", &token_id.to_string()),
                ("actor", &revoked.actor_id.to_string()),
            ],
        );
    } else {
        out.say(
            UiText::TokenAlreadyRevoked,
            &[
                ("id", &token_id.to_string()),
                ("at", &when(revoked.revoked_at)),
            ],
        );
    }
    Ok(())
}

fn status_text(t: &TokenSummary, status: TokenStatus, out: &Out) -> String {
    match (status, t.revoked_at, t.expires_at) {
        (TokenStatus::Revoked, Some(at), _) => {
            UiText::TokenRevokedAt.render(out.lang, &[("at", &when(at))])
        }
        (TokenStatus::Expired, _, Some(at)) => {
            UiText::TokenExpiredAt.render(out.lang, &[("at", &when(at))])
        }
        _ => out.t(UiText::TokenActive),
    }
}

async fn list(app: &App, actor: Uuid, out: &Out) -> Result<(), CliError> {
    catch_up_for(app, runproof_projections::api_tokens::NAME, out.lang).await?;
    let tokens = app
        .tokens
        .list(actor)
        .await
        .map_err(|e| CliError::from_service(&e))?;
    let now = app.clock.now();
    if out.json {
        let items: Vec<_> = tokens
            .iter()
            .map(|t| {
                json!({
                    "token_id": t.token_id,
                    "actor_id": t.actor_id,
                    "name": t.name,
                    "issued_at": t.issued_at,
                    "expires_at": t.expires_at,
                    "revoked_at": t.revoked_at,
                    "status": t.status(now),
                })
            })
            .collect();
        out.json(&items);
        return Ok(());
    }
    if tokens.is_empty() {
        out.say(UiText::NoTokens, &[("actor", &actor.to_string())]);
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            out.t(UiText::LabelToken),
            out.t(UiText::LabelName),
            out.t(UiText::LabelIssued),
            out.t(UiText::LabelExpires),
            out.t(UiText::LabelStatus),
        ]);
    for t in &tokens {
        table.add_row(vec![
            t.token_id.to_string(),
            t.name.clone().unwrap_or_default(),
            when(t.issued_at),
            t.expires_at
                .map(when)
                .unwrap_or_else(|| out.t(UiText::TokenNeverExpires)),
            status_text(t, t.status(now), out),
        ]);
    }
    out.line(table);
    out.say(UiText::TokensShown, &[("count", &tokens.len().to_string())]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_id_is_a_uuid_in_either_form_or_read_from_a_whole_token() {
        let id = Uuid::from_u128(0xfeed);
        for given in [
            id.to_string(),
            id.simple().to_string(),
            format!(" {id} "),
            PresentedToken::format(id, "abcdefghijklmnopqrstuvwxyz"),
        ] {
            assert_eq!(parse_token_id(&given).unwrap(), id, "{given}");
        }
    }

    #[test]
    fn a_bad_token_id_is_refused_without_repeating_it() {
        let secretish = "rp_0000_abcdefghijklmnopqrstuvwxyz";
        let e = parse_token_id(secretish).unwrap_err();
        assert_eq!(e.reason, ReasonCode::TokenIdInvalid);
        assert!(e.args.is_empty());
        for lang in runproof_domain::Lang::ALL {
            assert!(!e.message(lang).contains("abcdefghij"));
        }
    }
}
