//! Publishing and archiving reviews. Publishing a review supersedes the environment's
//! previously published review in the same transaction: the environment's publication
//! record, the new review and the old review are appended together, so two concurrent
//! publications of one environment conflict and the loser retries on the winner.

use runproof_domain::environment::{EnvironmentCommand, ManagedEnvironment};
use runproof_domain::metadata::CommandContext;
use runproof_domain::review::{EnvironmentReview, ReviewCommand, ReviewStatus};
use runproof_domain::ReasonCode;
use uuid::Uuid;

use super::{not_found, refuse_review, ReviewService};
use crate::event_store::{NewEvent, StoreError};
use crate::service_error::ServiceError;

const PUBLISH_ATTEMPTS: usize = 8;

/// What a publication did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    pub review_id: Uuid,
    /// The previously published review it superseded.
    pub superseded: Option<Uuid>,
}

impl ReviewService {
    /// Publishes a ready review and supersedes the environment's previous publication.
    /// With `actor`, a review outside the actor's workspaces answers "not found".
    pub async fn publish(
        &self,
        review_id: Uuid,
        actor: Option<Uuid>,
        ctx: &CommandContext,
    ) -> Result<Published, ServiceError> {
        let store = self.writer.store();
        for _ in 0..PUBLISH_ATTEMPTS {
            let review = store
                .load::<EnvironmentReview>(&review_id.to_string())
                .await?;
            let Some(state) = review.aggregate.state().cloned() else {
                return Err(not_found(ReasonCode::ReviewNotFound, "review", review_id));
            };
            self.check_visible(state.workspace_id, review_id, actor)
                .await?;
            let env = store
                .load::<ManagedEnvironment>(&state.environment_id.to_string())
                .await?;
            let previous = match env
                .aggregate
                .state()
                .and_then(|e| e.published_review)
                .filter(|p| *p != review_id)
            {
                Some(p) => {
                    let loaded = store.load::<EnvironmentReview>(&p.to_string()).await?;
                    let published = loaded
                        .aggregate
                        .state()
                        .is_some_and(|s| s.status == ReviewStatus::Published);
                    published.then_some((p, loaded))
                }
                None => None,
            };
            let now = self.clock.now();
            let review_events = review
                .aggregate
                .decide(ReviewCommand::Publish {
                    supersedes: previous.as_ref().map(|(p, _)| *p),
                    published_at: now,
                })
                .map_err(refuse_review(review_id))?;
            let env_events = env
                .aggregate
                .decide(EnvironmentCommand::RecordPublication {
                    review_id,
                    recorded_at: now,
                })
                .map_err(|_| {
                    not_found(
                        ReasonCode::EnvironmentNotFound,
                        "environment",
                        state.environment_id,
                    )
                })?;
            let mut writes = NewEvent::for_stream::<EnvironmentReview>(
                &review_id.to_string(),
                review.version,
                &review_events,
                ctx,
                now,
            )?;
            writes.extend(NewEvent::for_stream::<ManagedEnvironment>(
                &state.environment_id.to_string(),
                env.version,
                &env_events,
                ctx,
                now,
            )?);
            if let Some((p, loaded)) = &previous {
                let superseded = loaded
                    .aggregate
                    .decide(ReviewCommand::Supersede {
                        by: review_id,
                        superseded_at: now,
                    })
                    .map_err(refuse_review(*p))?;
                writes.extend(NewEvent::for_stream::<EnvironmentReview>(
                    &p.to_string(),
                    loaded.version,
                    &superseded,
                    ctx,
                    now,
                )?);
            }
            match self.writer.append_atomically(&writes).await {
                Ok(_) => {
                    self.wait_visible(review_id, review.version + 1).await;
                    return Ok(Published {
                        review_id,
                        superseded: previous.map(|(p, _)| p),
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict(ReasonCode::ReviewConcurrentChange))
    }

    /// Archives a published review.
    pub async fn archive(
        &self,
        review_id: Uuid,
        actor: Option<Uuid>,
        ctx: &CommandContext,
    ) -> Result<(), ServiceError> {
        let state = self
            .load(review_id)
            .await?
            .ok_or_else(|| not_found(ReasonCode::ReviewNotFound, "review", review_id))?;
        self.check_visible(state.workspace_id, review_id, actor)
            .await?;
        let now = self.clock.now();
        self.review_command(review_id, ReviewCommand::Archive { archived_at: now }, ctx)
            .await
    }

    /// With an actor: the review's workspace must be one of the actor's, else "not found".
    pub async fn check_visible(
        &self,
        workspace_id: Uuid,
        review_id: Uuid,
        actor: Option<Uuid>,
    ) -> Result<(), ServiceError> {
        let Some(actor) = actor else { return Ok(()) };
        let workspace = self
            .writer
            .store()
            .load::<runproof_domain::workspace::Workspace>(&workspace_id.to_string())
            .await?;
        if workspace.aggregate.has_member(actor) {
            Ok(())
        } else {
            Err(not_found(ReasonCode::ReviewNotFound, "review", review_id))
        }
    }
}
