//! The `api_tokens` projection: one row per issued token — whose it is, its name, when it
//! was issued, expires and was revoked — for `runproof tokens list`. Never the secret
//! and never its digest: those stay in the token's stream, and authentication reads the
//! stream (authoritative: a revocation counts from the next request, whatever this
//! table's lag).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::api_token::{ApiToken, ApiTokenEvent, TokenSummary};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{
    self, load_columns, query_columns, upsert_columns, JsonColumns, Row, StreamTable,
};

/// The projection's (and its table's) name.
pub const NAME: &str = "api_tokens";

/// The `api_tokens` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiTokensProjection;

#[derive(Serialize, Deserialize)]
struct TokenColumns {
    id: Uuid,
    actor_id: Uuid,
    name: Option<String>,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
}

impl JsonColumns for TokenColumns {
    type State = TokenSummary;
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "actor_id",
        "name",
        "issued_at",
        "expires_at",
        "revoked_at",
        "updated_at",
        "version",
        "last_position",
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn of(r: &Row<TokenSummary>) -> Self {
        let s = &r.state;
        TokenColumns {
            id: s.token_id,
            actor_id: s.actor_id,
            name: s.name.clone(),
            issued_at: s.issued_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            updated_at: r.updated_at,
            version: r.version,
            last_position: r.last_position,
        }
    }

    fn into_row(self) -> Row<TokenSummary> {
        Row {
            state: TokenSummary {
                token_id: self.id,
                actor_id: self.actor_id,
                name: self.name,
                issued_at: self.issued_at,
                expires_at: self.expires_at,
                revoked_at: self.revoked_at,
            },
            updated_at: self.updated_at,
            version: self.version,
            last_position: self.last_position,
        }
    }
}

#[async_trait]
impl Projection for ApiTokensProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tables(&self) -> &'static [TableSpec] {
        &[TableSpec {
            name: NAME,
            key: "id",
            // the token id is the key; no secret and no digest of it
            columns: "
                id            uuid PRIMARY KEY,
                actor_id      uuid        NOT NULL,
                name          text,
                issued_at     timestamptz NOT NULL,
                expires_at    timestamptz,
                revoked_at    timestamptz,
                updated_at    timestamptz NOT NULL,
                version       bigint      NOT NULL,
                last_position bigint      NOT NULL",
            indexes: &[IndexSpec {
                name: "api_tokens_actor_idx",
                unique: false,
                definition: "(actor_id, issued_at DESC, id)",
            }],
        }]
    }
    async fn apply(
        &self,
        conn: &mut PgConnection,
        set: TableSet,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        stream_table::apply(self, conn, &set.table(NAME), events).await
    }
}

#[async_trait]
impl StreamTable for ApiTokensProjection {
    type Event = ApiTokenEvent;
    type State = TokenSummary;
    fn table(&self) -> &'static str {
        NAME
    }
    fn aggregate_type(&self) -> &'static str {
        ApiToken::TYPE
    }
    fn fold(state: Option<TokenSummary>, event: ApiTokenEvent) -> Option<TokenSummary> {
        TokenSummary::fold(state, event)
    }
    fn occurred_at(event: &ApiTokenEvent) -> DateTime<Utc> {
        event.occurred_at()
    }
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Row<TokenSummary>)>, sqlx::Error> {
        load_columns::<TokenColumns>(conn, table, ids).await
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[Row<TokenSummary>],
    ) -> Result<(), sqlx::Error> {
        upsert_columns::<TokenColumns>(conn, table, rows).await
    }
}

/// An actor's tokens, newest first (revoked and expired ones included).
pub async fn of_actor(
    conn: &mut PgConnection,
    actor_id: Uuid,
) -> Result<Vec<Row<TokenSummary>>, sqlx::Error> {
    query_columns::<TokenColumns>(
        sqlx::query_scalar(
            "SELECT to_jsonb(t) FROM api_tokens t WHERE actor_id = $1 \
             ORDER BY issued_at DESC, id",
        )
        .bind(actor_id),
        conn,
    )
    .await
}
