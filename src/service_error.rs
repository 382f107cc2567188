//! The error every domain service returns: a refusal the caller can read (a reason code
//! and its placeholders), a lost race, or an infrastructure failure.

use runproof_domain::ReasonCode;

use crate::event_store::StoreError;
use crate::writer::WriteError;

/// Why a service call failed. Nothing was recorded unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request was refused (not found, invalid input, invalid transition).
    #[error("refused: {reason}")]
    Refused {
        reason: ReasonCode,
        args: Vec<(&'static str, String)>,
    },
    /// A concurrent writer got there first and retrying did not settle it. The reason
    /// names what was changed (`environment.concurrent_change`, …).
    #[error("a concurrent write got there first")]
    Conflict(ReasonCode),
    /// The store or a read failed; nothing was written.
    #[error("storage failure")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn refused(reason: ReasonCode, args: Vec<(&'static str, String)>) -> Self {
        ServiceError::Refused { reason, args }
    }

    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ServiceError::Store(Box::new(e))
    }

    /// A conflict on something the caller cannot name more precisely.
    pub fn conflict() -> Self {
        ServiceError::Conflict(ReasonCode::RecordConcurrentChange)
    }

    /// Names what a conflict was about (leaves other errors as they are).
    pub fn on(self, reason: ReasonCode) -> Self {
        match self {
            ServiceError::Conflict(_) => ServiceError::Conflict(reason),
            other => other,
        }
    }

    /// Maps a write failure, turning the domain's rejection into a refusal.
    pub fn from_write<E: std::error::Error + 'static>(
        e: WriteError<E>,
        refuse: impl FnOnce(E) -> ServiceError,
    ) -> Self {
        match e {
            WriteError::Rejected(e) => refuse(e),
            WriteError::Conflict => ServiceError::conflict(),
            WriteError::Store(e) => ServiceError::Store(Box::new(e)),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(Box::new(e))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ServiceError::conflict(),
            StoreError::Database(e) => ServiceError::Store(e),
        }
    }
}
