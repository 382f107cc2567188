//! Reviews: the list (filters, keyset pages), one review, and the two steps of its
//! lineage a person takes — publish a ready review, archive a published one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use runproof_domain::access::Caller;
use runproof_domain::review::ReviewState;
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::environment_reviews::{self, ReviewRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::super::auth::{access, Authenticated};
use super::super::openapi::Problem;
use super::super::problem::ApiError;
use super::super::state::ApiState;
use super::{
    bad_request, cursor, internal, invalid_query, members_only, Language, NoBody, NoQuery,
};
use crate::cli::directory::context;
use crate::cli::out::Out;
use crate::cli::reviews::{parse_review_filter, ReviewListArgs, ReviewView};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(publish))
        .routes(routes!(archive))
}

/// `GET /api/v1/reviews` query parameters. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only reviews of this workspace (id).
    pub workspace: Option<String>,
    /// Only reviews of this managed environment (id).
    pub environment: Option<String>,
    /// Only reviews in this status (`draft`, `ready`, `failed`, `published`, `archived`,
    /// `superseded`).
    pub status: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; omitted for the newest page.
    pub cursor: Option<String>,
}

/// The default page size.
const PAGE: i64 = 50;

/// One page of reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    /// Newest draft first (`drafted_at` descending, then id).
    pub reviews: Vec<ReviewView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Reviews the caller may see (of its workspaces; an operator's: all), newest draft
/// first, one keyset page at a time (as `reviews list --json`, with its filters).
#[utoipa::path(
    get, path = "/reviews", tag = "reviews", params(ListQuery),
    responses(
        (status = 200, description = "One page of reviews", body = ReviewPage),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn list(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ReviewPage>, ApiError> {
    let Query(q) = query.map_err(invalid_query)?;
    let mut filter = parse_review_filter(&ReviewListArgs {
        workspace: q.workspace.as_deref(),
        environment: q.environment.as_deref(),
        status: q.status.as_deref(),
        limit: q.limit.unwrap_or(PAGE),
    })
    .map_err(|e| bad_request(&e))?;
    filter.visible_to = caller.visible_to();
    filter.after = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let rows = environment_reviews::list(&mut conn, &filter)
        .await
        .map_err(internal)?;
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| {
            rows.last()
                .map(|r| cursor::encode(r.state.drafted_at, r.state.id))
        })
        .flatten();
    Ok(Json(ReviewPage {
        reviews: rows.iter().map(ReviewView::of).collect(),
        next_cursor,
    }))
}

fn review_not_found() -> ApiError {
    ApiError::not_found(ReasonCode::ReviewNotFound, "review")
}

/// The review's row, if the caller may see its workspace; "not found" otherwise, exactly
/// as for an id that exists nowhere. A review recorded in the log but not yet in the view
/// answers 503 `review.not_yet_visible` (to a caller who may see it).
async fn visible_review(
    s: &ApiState,
    caller: &Caller,
    id: &str,
    lang: Lang,
) -> Result<ReviewRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| review_not_found())?;
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let row = environment_reviews::get(&mut conn, id)
        .await
        .map_err(internal)?;
    drop(conn);
    let Some(row) = row else {
        let recorded = s
            .app
            .reviews
            .load(id)
            .await
            .map_err(|e| ApiError::from_service(&e))?;
        return match recorded {
            Some(state) if access(s, caller, state.workspace_id).await?.see => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ReasonCode::ReviewNotYetVisible,
                vec![
                    ("review", id.to_string()),
                    (
                        "cause",
                        crate::cli::lag::cause_text(None, &Out { json: true, lang }),
                    ),
                ],
            )
            .retry_after(1)),
            _ => Err(review_not_found()),
        };
    };
    if !access(s, caller, row.state.workspace_id).await?.see {
        return Err(review_not_found());
    }
    Ok(row)
}

/// One review with its composed content (as `reviews show --json`).
#[utoipa::path(
    get, path = "/reviews/{id}", tag = "reviews",
    params(("id" = Uuid, Path, description = "The review's id")),
    responses(
        (status = 200, description = "The review", body = ReviewView),
        (status = 401, response = Problem),
        (status = 404, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn show(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Language(lang): Language,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, ApiError> {
    let row = visible_review(&s, &caller, &id, lang).await?;
    Ok(Json(ReviewView::of(&row)))
}

/// The review as recorded in its own stream, if the caller may act on its workspace (the
/// same rule the service applies): one it may not see answers exactly like an id that
/// exists nowhere; one it may only see answers `access.members_only`.
async fn review_to_act_on(
    s: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<ReviewState, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| review_not_found())?;
    let Some(review) = s
        .app
        .reviews
        .load(id)
        .await
        .map_err(|e| ApiError::from_service(&e))?
    else {
        return Err(review_not_found());
    };
    let access = access(s, caller, review.workspace_id).await?;
    if !access.see {
        return Err(review_not_found());
    }
    if !access.act {
        return Err(members_only());
    }
    Ok(review)
}

/// The review after a step, as the views show it (absent while they lag).
async fn review_after(s: &ApiState, id: Uuid) -> Result<Option<ReviewView>, ApiError> {
    let mut conn = s.app.pool.acquire().await.map_err(internal)?;
    let row = environment_reviews::get(&mut conn, id)
        .await
        .map_err(internal)?;
    Ok(row.as_ref().map(ReviewView::of))
}

/// What a publication did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishAnswer {
    pub review_id: Uuid,
    /// The environment's previously published review, now `superseded`.
    pub superseded: Option<Uuid>,
    /// The review as it is now, when the views show it.
    pub review: Option<ReviewView>,
}

/// Publishes a ready review (as `reviews publish`); the environment's previously
/// published review is superseded in the same step.
///
/// Takes no body (an empty one, or `{}`). 409 `review.invalid_transition`: the review is
/// not `ready`. 403 `access.members_only`: the caller sees the workspace but is not a
/// member.
#[utoipa::path(
    post, path = "/reviews/{id}/publish", tag = "reviews",
    params(("id" = Uuid, Path, description = "The review's id")),
    responses(
        (status = 200, description = "Published", body = PublishAnswer),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 404, response = Problem),
        (status = 409, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn publish(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Json<PublishAnswer>, ApiError> {
    let review = review_to_act_on(&s, &caller, &id).await?;
    let published = s
        .app
        .reviews
        .publish(
            review.id,
            Some(caller.actor_id),
            &context(Some(caller.actor_id)),
        )
        .await
        .map_err(|e| ApiError::from_service(&e))?;
    Ok(Json(PublishAnswer {
        review_id: published.review_id,
        superseded: published.superseded,
        review: review_after(&s, review.id).await?,
    }))
}

/// What an archival did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchiveAnswer {
    pub review_id: Uuid,
    /// Always `archived`.
    pub status: String,
    /// The review as it is now, when the views show it.
    pub review: Option<ReviewView>,
}

/// Archives a published review (as `reviews archive`).
///
/// Takes no body (an empty one, or `{}`). 409 `review.invalid_transition`: the review is
/// not `published`. 403 `access.members_only`: the caller sees the workspace but is not
/// a member.
#[utoipa::path(
    post, path = "/reviews/{id}/archive", tag = "reviews",
    params(("id" = Uuid, Path, description = "The review's id")),
    responses(
        (status = 200, description = "Archived", body = ArchiveAnswer),
        (status = 400, response = Problem),
        (status = 401, response = Problem),
        (status = 403, response = Problem),
        (status = 404, response = Problem),
        (status = 409, response = Problem),
        (status = 503, response = Problem),
    )
)]
async fn archive(
    State(s): State<ApiState>,
    Authenticated(caller): Authenticated,
    _: NoQuery,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Json<ArchiveAnswer>, ApiError> {
    let review = review_to_act_on(&s, &caller, &id).await?;
    s.app
        .reviews
        .archive(
            review.id,
            Some(caller.actor_id),
            &context(Some(caller.actor_id)),
        )
        .await
        .map_err(|e| ApiError::from_service(&e))?;
    Ok(Json(ArchiveAnswer {
        review_id: review.id,
        status: "archived".to_string(),
        review: review_after(&s, review.id).await?,
    }))
}
