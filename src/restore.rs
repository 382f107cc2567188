//! The restore service: records the restore a `restore.execute` run performs. Its
//! records are the domain truth the restore adapter proves stuck runs from.
//!
//! A job system reports its restore in three steps — requested, running, finished — and
//! may repeat a report it is unsure arrived: a report the record already holds records
//! nothing ([`Reported::Unchanged`]), one that contradicts it is refused.

use std::sync::Arc;

use runproof_adapters::restore::RESTORE_ID_KEY;
use runproof_domain::metadata::CommandContext;
use runproof_domain::operation_run::RunState;
use runproof_domain::restore::{
    FinishRestore, RequestRestore, Restore, RestoreCommand, RestoreState,
};
use runproof_domain::run_type::RunType;
use runproof_domain::ReasonCode;
use tracing::{info_span, Instrument};
use uuid::Uuid;

use crate::clock::Clock;
use crate::service_error::ServiceError;
use crate::writer::Writer;

/// Records restores.
#[derive(Clone)]
pub struct RestoreService {
    writer: Writer,
    clock: Arc<dyn Clock>,
}

/// The ids a restore record is scoped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreScope {
    pub restore_id: Uuid,
    pub run_id: Uuid,
    pub workspace_id: Uuid,
    pub environment_id: Uuid,
}

/// What a report did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The report was recorded.
    Recorded,
    /// The record already said so; nothing was recorded.
    Unchanged,
}

impl RestoreService {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        RestoreService { writer, clock }
    }

    /// Records a new restore for a run (status `queued`).
    pub async fn request(
        &self,
        scope: RestoreScope,
        ctx: &CommandContext,
    ) -> Result<Reported, ServiceError> {
        let now = self.clock.now();
        self.execute(
            scope.restore_id,
            RestoreCommand::Request(RequestRestore {
                restore_id: scope.restore_id,
                run_id: scope.run_id,
                workspace_id: scope.workspace_id,
                environment_id: scope.environment_id,
                requested_at: now,
            }),
            ctx,
        )
        .await
    }

    /// Records the restore `run` performs, scoped as the restore adapter will look for
    /// it: the run's own workspace and environment, under the id the run's context names
    /// (`restore_id`). Any other record could never prove the run, so a run that is not
    /// a `restore.execute` run in an environment, or whose context names another restore,
    /// is refused (`restore.run_mismatch`).
    pub async fn request_for_run(
        &self,
        restore_id: Uuid,
        run: &RunState,
        ctx: &CommandContext,
    ) -> Result<Reported, ServiceError> {
        let named = run
            .context
            .get(RESTORE_ID_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let environment_id = match (run.run_type, run.environment_id, named) {
            (RunType::RestoreExecute, Some(environment_id), Some(named)) if named == restore_id => {
                environment_id
            }
            _ => {
                return Err(ServiceError::refused(
                    ReasonCode::RestoreRunMismatch,
                    vec![("run", run.id.to_string())],
                ))
            }
        };
        self.request(
            RestoreScope {
                restore_id,
                run_id: run.id,
                workspace_id: run.workspace_id,
                environment_id,
            },
            ctx,
        )
        .await
    }

    /// The restore began (status `running`).
    pub async fn start(
        &self,
        restore_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<Reported, ServiceError> {
        let now = self.clock.now();
        self.execute(restore_id, RestoreCommand::Start { started_at: now }, ctx)
            .await
    }

    /// The restore ended: `failed`, or `completed` / `completed_with_errors` by its counts.
    pub async fn finish(
        &self,
        restore_id: Uuid,
        failed: bool,
        items_total: u64,
        items_failed: u64,
        ctx: &CommandContext,
    ) -> Result<Reported, ServiceError> {
        let now = self.clock.now();
        self.execute(
            restore_id,
            RestoreCommand::Finish(FinishRestore {
                failed,
                items_total,
                items_failed,
                finished_at: now,
            }),
            ctx,
        )
        .await
    }

    /// The restore as recorded in its stream (not a projection); `None` when it has no
    /// history.
    pub async fn load(&self, restore_id: Uuid) -> Result<Option<RestoreState>, ServiceError> {
        let loaded = self
            .writer
            .store()
            .load::<Restore>(&restore_id.to_string())
            .await?;
        Ok(loaded.aggregate.state().cloned())
    }

    async fn execute(
        &self,
        restore_id: Uuid,
        command: RestoreCommand,
        ctx: &CommandContext,
    ) -> Result<Reported, ServiceError> {
        let now = self.clock.now();
        let committed = self
            .writer
            .execute::<Restore>(&restore_id.to_string(), command, ctx, now)
            .instrument(info_span!("restore.command", restore_id = %restore_id))
            .await
            .map_err(|e| {
                ServiceError::from_write(e, |e| {
                    ServiceError::refused(e.reason(), vec![("restore", restore_id.to_string())])
                })
            })?;
        Ok(if committed.events > 0 {
            Reported::Recorded
        } else {
            Reported::Unchanged
        })
    }
}
