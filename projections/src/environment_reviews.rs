//! The `environment_reviews` projection. Its partial unique index
//! `environment_reviews_fingerprint_mutable_unique` is the second line of defence for
//! invariant 4: if it ever fires, the projection stops loudly instead of dropping an event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use runproof_domain::fingerprint::Fingerprint;
use runproof_domain::review::{
    EnvironmentReview, ReviewContent, ReviewEvent, ReviewState, ReviewStatus,
};
use runproof_domain::ReasonCode;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::projection::{IndexSpec, Projection, ProjectionError, TableSet, TableSpec};
use crate::stream_table::{
    self, get_columns, load_columns, query_columns, upsert_columns, JsonColumns, Row, StreamTable,
};

/// The projection's name and table.
pub const NAME: &str = "environment_reviews";

/// One projected review.
pub type ReviewRow = Row<ReviewState>;

#[derive(Serialize, Deserialize)]
struct Columns {
    id: Uuid,
    workspace_id: Uuid,
    environment_id: Uuid,
    fingerprint: Fingerprint,
    snapshot_id: Uuid,
    run_id: Uuid,
    previous_run_ids: Vec<Uuid>,
    status: ReviewStatus,
    content: Option<ReviewContent>,
    failure_reason: Option<ReasonCode>,
    drafted_at: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    archived_at: Option<DateTime<Utc>>,
    superseded_by: Option<Uuid>,
    superseded_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    version: i64,
    last_position: i64,
}

impl JsonColumns for Columns {
    type State = ReviewState;
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "workspace_id",
        "environment_id",
        "fingerprint",
        "snapshot_id",
        "run_id",
        "previous_run_ids",
        "status",
        "content",
        "failure_reason",
        "drafted_at",
        "ready_at",
        "published_at",
        "archived_at",
        "superseded_by",
        "superseded_at",
        "updated_at",
        "version",
        "last_position",
    ];

    fn id(&self) -> Uuid {
        self.id
    }

    fn of(r: &ReviewRow) -> Self {
        let s = &r.state;
        Columns {
            id: s.id,
            workspace_id: s.workspace_id,
            environment_id: s.environment_id,
            fingerprint: s.fingerprint.clone(),
            snapshot_id: s.snapshot_id,
            run_id: s.run_id,
            previous_run_ids: s.previous_run_ids.clone(),
            status: s.status,
            content: s.content.clone(),
            failure_reason: s.failure,
            drafted_at: s.drafted_at,
            ready_at: s.ready_at,
            published_at: s.published_at,
            archived_at: s.archived_at,
            superseded_by: s.superseded_by,
            superseded_at: s.superseded_at,
            updated_at: r.updated_at,
            version: r.version,
            last_position: r.last_position,
        }
    }

    fn into_row(self) -> ReviewRow {
        Row {
            state: ReviewState {
                id: self.id,
                workspace_id: self.workspace_id,
                environment_id: self.environment_id,
                fingerprint: self.fingerprint,
                snapshot_id: self.snapshot_id,
                run_id: self.run_id,
                previous_run_ids: self.previous_run_ids,
                status: self.status,
                content: self.content,
                failure: self.failure_reason,
                drafted_at: self.drafted_at,
                ready_at: self.ready_at,
                published_at: self.published_at,
                archived_at: self.archived_at,
                superseded_by: self.superseded_by,
                superseded_at: self.superseded_at,
            },
            updated_at: self.updated_at,
            version: self.version,
            last_position: self.last_position,
        }
    }
}

/// The projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentReviewsProjection;

#[async_trait]
impl Projection for EnvironmentReviewsProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn tables(&self) -> &'static [TableSpec] {
        &[TableSpec {
            name: NAME,
            key: "id",
            columns: "
                id             uuid PRIMARY KEY,
                workspace_id   uuid        NOT NULL,
                environment_id uuid        NOT NULL,
                fingerprint    text        NOT NULL,
                snapshot_id    uuid        NOT NULL,
                run_id         uuid        NOT NULL,
                status         text        NOT NULL CHECK (status IN ('draft', 'ready', 'failed', 'published', 'archived', 'superseded')),
                content        jsonb,
                failure_reason text,
                drafted_at     timestamptz NOT NULL,
                ready_at       timestamptz,
                published_at   timestamptz,
                archived_at    timestamptz,
                superseded_by  uuid,
                superseded_at  timestamptz,
                updated_at     timestamptz NOT NULL,
                version        bigint      NOT NULL,
                last_position  bigint      NOT NULL,
                -- the runs that drafted it before run_id (migration 0005), oldest first
                previous_run_ids jsonb     NOT NULL DEFAULT '[]'",
            indexes: &[
                // Invariant 4's second line of defence: the guarantee is made when events
                // are written (the fingerprint slot stream); if this index ever fires, the
                // projector stops loudly.
                IndexSpec {
                    name: "environment_reviews_fingerprint_mutable_unique",
                    unique: true,
                    definition: "(workspace_id, environment_id, fingerprint) \
                                 WHERE status IN ('draft', 'ready', 'failed')",
                },
                // the adapter's and the service's scoped candidate lookup
                IndexSpec {
                    name: "environment_reviews_scope_idx",
                    unique: false,
                    definition: "(workspace_id, environment_id, fingerprint)",
                },
                IndexSpec {
                    name: "environment_reviews_workspace_idx",
                    unique: false,
                    definition: "(workspace_id, drafted_at DESC, id)",
                },
                IndexSpec {
                    name: "environment_reviews_run_idx",
                    unique: false,
                    definition: "(run_id)",
                },
            ],
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
impl StreamTable for EnvironmentReviewsProjection {
    type Event = ReviewEvent;
    type State = ReviewState;
    fn table(&self) -> &'static str {
        NAME
    }
    fn aggregate_type(&self) -> &'static str {
        EnvironmentReview::TYPE
    }
    fn fold(state: Option<ReviewState>, event: ReviewEvent) -> Option<ReviewState> {
        ReviewState::fold(state, event)
    }
    fn occurred_at(event: &ReviewEvent) -> DateTime<Utc> {
        event.occurred_at()
    }
    async fn load(
        &self,
        conn: &mut PgConnection,
        table: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, ReviewRow)>, sqlx::Error> {
        load_columns::<Columns>(conn, table, ids).await
    }
    async fn upsert(
        &self,
        conn: &mut PgConnection,
        table: &str,
        rows: &[ReviewRow],
    ) -> Result<(), sqlx::Error> {
        upsert_columns::<Columns>(conn, table, rows).await
    }
}

/// Every review of exactly this workspace, environment and fingerprint, oldest first.
/// Nothing outside that scope is ever returned.
pub async fn candidates(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    environment_id: Uuid,
    fingerprint: &Fingerprint,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let query = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM environment_reviews t \
         WHERE workspace_id = $1 AND environment_id = $2 AND fingerprint = $3 ORDER BY drafted_at, id",
    )
    .bind(workspace_id)
    .bind(environment_id)
    .bind(fingerprint.as_str());
    query_columns::<Columns>(query, conn).await
}

/// One review by id.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<ReviewRow>, sqlx::Error> {
    get_columns::<Columns>(conn, NAME, id).await
}

/// Filters for listing reviews; every filter is optional and they combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    pub workspace_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
    pub status: Option<ReviewStatus>,
    /// Only reviews of workspaces this actor belongs to (filtered before the limit).
    pub visible_to: Option<Uuid>,
    /// At most this many rows (newest first), within `1..=`[`crate::LIST_LIMIT_MAX`].
    pub limit: i64,
    /// Keyset paging: only reviews after this one in the list's order (newest draft
    /// first), given as its `(drafted_at, id)`. No OFFSET: a deep page costs what the
    /// first one does.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

/// Reviews matching `filter`, newest draft first (`drafted_at` descending, then id).
pub async fn list(
    conn: &mut PgConnection,
    filter: &ReviewFilter,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let query = sqlx::query_scalar(
        "SELECT to_jsonb(t) FROM environment_reviews t \
         WHERE ($1::uuid IS NULL OR workspace_id = $1) \
           AND ($3::text IS NULL OR workspace_id IN (SELECT id FROM workspaces WHERE member_ids ? $3)) \
           AND ($4::uuid IS NULL OR environment_id = $4) \
           AND ($5::text IS NULL OR status = $5) \
           AND ($6::timestamptz IS NULL OR drafted_at < $6 OR (drafted_at = $6 AND id > $7)) \
         ORDER BY drafted_at DESC, id LIMIT $2",
    )
    .bind(filter.workspace_id)
    .bind(filter.limit.clamp(1, crate::LIST_LIMIT_MAX))
    .bind(filter.visible_to.map(|a| a.to_string()))
    .bind(filter.environment_id)
    .bind(filter.status.map(ReviewStatus::as_str))
    .bind(filter.after.map(|(at, _)| at))
    .bind(filter.after.map(|(_, id)| id));
    query_columns::<Columns>(query, conn).await
}
