//! Errors as an operator sees them: one line, a reason code, an exit code. The cause
//! chain is logged, never printed.

use std::process::ExitCode;

use runproof_domain::operation_run::OperationRunError;
use runproof_domain::{Lang, ReasonCode};
use tracing::debug;

use crate::database::{DatabaseError, DatabaseTarget};
use crate::lifecycle::LifecycleError;
use crate::service_error::ServiceError;
use runproof_projections::ProjectorError;

/// Exit code: the verification found differences.
pub const EXIT_DIFFERENCES: u8 = 1;
/// Exit code: the input was invalid or named something that does not exist.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: the database or the environment failed.
pub const EXIT_ENVIRONMENT: u8 = 3;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    pub reason: ReasonCode,
    pub args: Vec<(&'static str, String)>,
    pub exit: u8,
}

impl CliError {
    /// Bad input or an unknown id.
    pub fn input(reason: ReasonCode, args: Vec<(&'static str, String)>) -> Self {
        CliError {
            reason,
            args,
            exit: EXIT_INPUT,
        }
    }

    /// The database or environment failed; `cause` goes to the log.
    pub fn environment(
        reason: ReasonCode,
        args: Vec<(&'static str, String)>,
        cause: &(dyn std::error::Error + 'static),
    ) -> Self {
        debug!(reason = %reason, cause = %chain(cause), "command failed");
        CliError {
            reason,
            args,
            exit: EXIT_ENVIRONMENT,
        }
    }

    /// The database or environment is in a state the operator has to act on; nothing
    /// failed in this command that the log should add to (the text says it all).
    pub fn environment_state(reason: ReasonCode, args: Vec<(&'static str, String)>) -> Self {
        CliError {
            reason,
            args,
            exit: EXIT_ENVIRONMENT,
        }
    }

    /// An internal database error; details go to the log.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        CliError::environment(ReasonCode::DbInternal, vec![], cause)
    }

    pub fn from_database(e: &DatabaseError, target: &DatabaseTarget) -> Self {
        let (reason, args) = e.reason(target);
        match e {
            // The name came from the operator's connection string: bad input.
            DatabaseError::InvalidName(_) => {
                debug!(cause = %chain(e), "database name refused");
                CliError::input(reason, args)
            }
            _ => CliError::environment(reason, args, e),
        }
    }

    pub fn from_projector(e: &ProjectorError) -> Self {
        match e {
            ProjectorError::Stopped { projection, .. } => CliError::environment(
                ReasonCode::ProjectionStopped,
                vec![("projection", projection.to_string())],
                e,
            ),
            ProjectorError::Schema { table, .. } => CliError::environment(
                ReasonCode::ProjectionStopped,
                vec![("projection", table.clone())],
                e,
            ),
            ProjectorError::Lagging { .. } => {
                CliError::environment(ReasonCode::ProjectionLagging, vec![], e)
            }
            ProjectorError::RebuildBusy => CliError::environment(ReasonCode::ReplayBusy, vec![], e),
            ProjectorError::LockTimeout {
                projection,
                timeout,
                attempts,
            } => CliError::environment(
                ReasonCode::ReplayLockTimeout,
                vec![
                    ("projection", projection.to_string()),
                    ("timeout", format!("{} s", timeout.as_secs_f64())),
                    ("attempts", attempts.to_string()),
                ],
                e,
            ),
            _ => CliError::internal(e),
        }
    }

    pub fn from_service(e: &ServiceError) -> Self {
        match e {
            ServiceError::Refused { reason, args } => {
                debug!(cause = %chain(e), "request refused");
                CliError::input(*reason, args.clone())
            }
            ServiceError::Conflict(reason) => CliError::input(*reason, vec![]),
            ServiceError::Store(_) => CliError::internal(e),
        }
    }

    pub fn from_lifecycle(e: &LifecycleError) -> Self {
        match e {
            LifecycleError::Rejected { run_id, source } => {
                debug!(cause = %chain(e), "command rejected");
                let args = match source {
                    OperationRunError::InvalidInput(detail) => vec![detail.arg()],
                    OperationRunError::UnknownRunType(t) => vec![("type", t.clone())],
                    _ => vec![("run", run_id.map(|id| id.to_string()).unwrap_or_default())],
                };
                CliError::input(e.reason(), args)
            }
            LifecycleError::Conflict(_) => CliError::input(e.reason(), vec![]),
            LifecycleError::Store(_) => CliError::environment(e.reason(), vec![], e),
        }
    }

    /// The one line an operator reads, all of it in `lang` (a detail too).
    pub fn message(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!(
            "error: {} [{}]",
            self.reason.render_with_details(lang, &args),
            self.reason
        )
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit)
    }
}

/// An error and its sources, for the log.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Catches the projections up before a read of `reading`. A stop of another projection
/// does not block the read: it is reported as a one-line warning and the read goes on.
pub async fn catch_up_for(
    app: &crate::app::App,
    reading: &str,
    lang: Lang,
) -> Result<(), CliError> {
    match app.projector.catch_up().await {
        Ok(_) => Ok(()),
        Err(ProjectorError::Stopped { projection, .. }) if projection != reading => {
            let text = ReasonCode::ProjectionStopped.render(lang, &[("projection", projection)]);
            eprintln!("warning: {text} [{}]", ReasonCode::ProjectionStopped);
            Ok(())
        }
        Err(e) => Err(CliError::from_projector(&e)),
    }
}
