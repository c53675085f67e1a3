//! Every way a scheduler call can fail, and the one mapping from those failures to gRPC statuses.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::StoreError;

/// When a caller refused for a full disk should try again: long enough for an operator's alert
/// to be seen, short enough that intake resumes soon after space is freed.
const STORE_FULL_RETRY: Duration = Duration::from_secs(30);
/// How long a caller waits before retrying while the database is out of reach (a PostgreSQL
/// restart takes a few seconds; a replica reconnects on the next write).
const STORE_UNAVAILABLE_RETRY: Duration = Duration::from_secs(1);

/// Why a scheduler call failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    /// A request field is malformed; `field` names it as in the `.proto`.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this (wrong signer, no delegation...).
    #[error("{0}")]
    PermissionDenied(String),
    /// No valid session or credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The record is not in a state that allows this (not leased to the caller, already final).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent operation on the same record is in progress; retry.
    #[error("{0}")]
    Aborted(String),
    /// A rate limit refused the call.
    #[error("{what}")]
    RateLimited { what: String, retry_after: Duration },
    /// An idempotency key or id was reused with different content.
    #[error("{0}")]
    AlreadyExists(String),
    /// A dependency (the signer service) is unreachable; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// The signing service gave no answer (unreachable, hung, or the breaker refuses calls for a
    /// while); nothing was signed or changed. Retry after `retry_after`.
    #[error("the signing service {reason}")]
    SignerUnavailable {
        reason: String,
        retry_after: Duration,
    },
    /// The signer service refused with its own status, passed through.
    #[error("signer service: {}", .0.message())]
    Signer(Status),
    /// The disk under the store is full; nothing was written. Writes succeed again once space
    /// is freed.
    #[error("the scheduler's disk is full; nothing was written ({0})")]
    StoreFull(String),
    /// The database cannot be reached for a moment (a PostgreSQL server restarting). Retry
    /// after a second: submits are idempotent and state changes fenced.
    #[error("the scheduler's database is unavailable; retry ({0})")]
    StoreUnavailable(String),
    /// Stored data failed its check (a hash, SQLite's own); it is not served.
    #[error("{0}")]
    DataLoss(String),
    /// An internal failure; nothing half-written.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SchedError {
    /// A malformed field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SchedError {
        SchedError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl SchedError {
    /// A refusal of the signing service whose BadRequest field paths are the signing service's
    /// request's, renamed by `rename` into the paths of the caller's own request.
    pub fn signer_with_fields(status: Status, rename: impl Fn(&str) -> String) -> SchedError {
        let mut details = status.get_error_details();
        let Some(bad) = details.bad_request() else {
            return SchedError::Signer(status);
        };
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| (rename(&v.field), v.description.clone()))
            .collect();
        let mut message = status.message().to_string();
        if let (Some(first), Some((field, _))) = (bad.field_violations.first(), violations.first())
            && let Some(rest) = message.strip_prefix(&format!("{}: ", first.field))
        {
            message = format!("{field}: {rest}");
        }
        details.set_bad_request(
            violations
                .into_iter()
                .map(|(field, description)| tonic_types::FieldViolation::new(field, description))
                .collect::<Vec<_>>(),
        );
        SchedError::Signer(Status::with_error_details(status.code(), message, details))
    }
}

impl From<StoreError> for SchedError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => SchedError::NotFound(format!("{what} not found")),
            StoreError::Fenced { .. } => SchedError::FailedPrecondition(e.to_string()),
            StoreError::Conflict(m) => SchedError::AlreadyExists(m),
            StoreError::Precondition(m) => SchedError::FailedPrecondition(m),
            StoreError::Overloaded => SchedError::RateLimited {
                what: "the store is saturated".into(),
                retry_after: Duration::from_millis(200),
            },
            StoreError::Full(m) => SchedError::StoreFull(m),
            StoreError::Damaged(m) => SchedError::DataLoss(m),
            StoreError::Unavailable(m) => SchedError::StoreUnavailable(m),
            StoreError::NotOwner(m) => SchedError::Unavailable(m),
            StoreError::Backend(m) => SchedError::Internal(m),
        }
    }
}

impl SchedError {
    /// The stable reason code of the refusal (ErrorInfo's `reason`), which clients word their
    /// own message from; a refusal the signing service made keeps the reason it gave.
    fn reason(&self) -> &'static str {
        match self {
            SchedError::InvalidArgument { .. } => "INVALID_FIELD",
            SchedError::NotFound(_) => "NOT_FOUND",
            SchedError::PermissionDenied(_) => "NOT_PERMITTED",
            SchedError::Unauthenticated(_) => "NOT_SIGNED_IN",
            SchedError::FailedPrecondition(_) => "NOT_IN_THIS_STATE",
            SchedError::Aborted(_) => "IN_PROGRESS",
            SchedError::RateLimited { .. } => "RATE_LIMITED",
            SchedError::AlreadyExists(_) => "ALREADY_EXISTS",
            SchedError::Unavailable(_) => "UNAVAILABLE",
            SchedError::SignerUnavailable { .. } => "SIGNING_SERVICE_UNAVAILABLE",
            SchedError::Signer(_) => "SIGNING_SERVICE_REFUSED",
            SchedError::StoreFull(_) => "STORE_FULL",
            SchedError::StoreUnavailable(_) => "STORE_UNAVAILABLE",
            SchedError::DataLoss(_) => "DATA_DAMAGED",
            SchedError::Internal(_) => "INTERNAL",
        }
    }

    /// Facts beside the reason: the field a malformed request named.
    fn reason_metadata(&self) -> HashMap<String, String> {
        match self {
            SchedError::InvalidArgument { field, .. } => {
                HashMap::from([("field".to_owned(), field.clone())])
            }
            _ => HashMap::new(),
        }
    }
}

impl From<SchedError> for Status {
    fn from(error: SchedError) -> Status {
        let (reason, metadata) = (error.reason(), error.reason_metadata());
        signq_kit::reason::with_reason(
            status_of(error),
            signq_kit::reason::SCHEDULER,
            reason,
            metadata,
        )
    }
}

/// The status code, message and details of `error` (its reason is added by the caller).
fn status_of(error: SchedError) -> Status {
    let message = error.to_string();
    match error {
        SchedError::InvalidArgument { field, reason } => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, reason),
        ),
        SchedError::NotFound(_) => Status::not_found(message),
        SchedError::PermissionDenied(_) => Status::permission_denied(message),
        SchedError::Unauthenticated(_) => Status::unauthenticated(message),
        SchedError::FailedPrecondition(_) => Status::failed_precondition(message),
        SchedError::Aborted(_) => Status::aborted(message),
        SchedError::RateLimited { what, retry_after } => {
            signq_kit::limit::exhausted(&what, retry_after)
        }
        SchedError::AlreadyExists(_) => Status::already_exists(message),
        SchedError::Unavailable(_) => Status::unavailable(message),
        SchedError::SignerUnavailable { retry_after, .. } => {
            signq_kit::limit::unavailable(&message, retry_after)
        }
        // The signing service's details (RetryInfo of a lockout, BadRequest of a field) reach
        // the caller intact.
        SchedError::Signer(status) => Status::with_details(
            status.code(),
            format!("signer service: {}", status.message()),
            status.details().to_vec().into(),
        ),
        SchedError::StoreFull(_) => signq_kit::limit::unavailable(&message, STORE_FULL_RETRY),
        SchedError::StoreUnavailable(_) => {
            signq_kit::limit::unavailable(&message, STORE_UNAVAILABLE_RETRY)
        }
        SchedError::DataLoss(_) => Status::data_loss(message),
        SchedError::Internal(_) => Status::internal(message),
    }
}
