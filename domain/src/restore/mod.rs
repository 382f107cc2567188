//! The restore domain: one restore record per `restore.execute` run, the domain truth
//! the restore adapter proves a stuck run from.

mod aggregate;

pub use aggregate::{
    FinishRestore, RequestRestore, Restore, RestoreCommand, RestoreError, RestoreEvent,
    RestoreFinished, RestoreRequested, RestoreStarted, RestoreState, RestoreStatus,
    RESTORE_EVENT_VERSION,
};
