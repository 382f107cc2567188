//! The restore service: records the restore a `restore.execute` run performs. Its
//! records are the domain truth the restore adapter proves stuck runs from.

use std::sync::Arc;

use runproof_domain::metadata::CommandContext;
use runproof_domain::restore::{
    FinishRestore, RequestRestore, Restore, RestoreCommand, RestoreError,
};
use tracing::{info_span, Instrument};
use uuid::Uuid;

use crate::clock::Clock;
use crate::writer::{WriteError, Writer};

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

impl RestoreService {
    pub fn new(writer: Writer, clock: Arc<dyn Clock>) -> Self {
        RestoreService { writer, clock }
    }

    /// Records a new restore for a run (status `queued`).
    pub async fn request(
        &self,
        scope: RestoreScope,
        ctx: &CommandContext,
    ) -> Result<(), WriteError<RestoreError>> {
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

    /// The restore began (status `running`).
    pub async fn start(
        &self,
        restore_id: Uuid,
        ctx: &CommandContext,
    ) -> Result<(), WriteError<RestoreError>> {
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
    ) -> Result<(), WriteError<RestoreError>> {
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

    async fn execute(
        &self,
        restore_id: Uuid,
        command: RestoreCommand,
        ctx: &CommandContext,
    ) -> Result<(), WriteError<RestoreError>> {
        let now = self.clock.now();
        self.writer
            .execute::<Restore>(&restore_id.to_string(), command, ctx, now)
            .instrument(info_span!("restore.command", restore_id = %restore_id))
            .await
            .map(|_| ())
    }
}
