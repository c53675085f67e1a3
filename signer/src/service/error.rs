//! Every way a Sign call can fail, and the one mapping from those failures to gRPC statuses.

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::state::StateError;
use crate::delegation::signed::rfc3339;
use crate::delegation::{DelegationError, Refusal};

/// When a caller refused for a full disk should try again.
const STATE_FULL_RETRY: Duration = Duration::from_secs(30);

/// Why a call to the signer service failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A request field is malformed; `field` names it as in the `.proto` (e.g. `documents[3].content`).
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// What was asked for does not exist (`field: …`).
    #[error("{0}")]
    NotFound(String),
    /// The service holds no key for the signer.
    #[error("signer_id: no signing key for signer {0:?}")]
    UnknownSigner(String),
    /// The signer's key is locked after too many wrong PINs.
    #[error("the key of signer {signer} is locked until {} after too many wrong PINs", rfc3339(*.until))]
    Locked {
        signer: String,
        until: OffsetDateTime,
    },
    /// The PIN was wrong.
    #[error(
        "pin: wrong PIN for signer {signer}; {attempts_left} attempt(s) left before the key locks"
    )]
    WrongPin { signer: String, attempts_left: u32 },
    /// The signer's own certificate is revoked, expired or no longer chains to the ward CA.
    #[error("the signing certificate of {signer} cannot sign: {reason}")]
    CertificateUnusable { signer: String, reason: String },
    /// A rate limit refused the call.
    #[error("{what}")]
    RateLimited {
        what: &'static str,
        retry_after: Duration,
    },
    /// The delegation is malformed or does not verify.
    #[error(transparent)]
    Delegation(#[from] DelegationError),
    /// The delegation verifies but does not allow this batch.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// An audit checkpoint contradicts the last one signed for its chain.
    #[error("audit checkpoint refused: {0}")]
    Checkpoint(crate::service::state::CheckpointRefusal),
    /// A repeated lease attempt contradicts the signature kept for it (another signer, other
    /// bytes): nothing was signed.
    #[error("{0}")]
    Contradicts(String),
    /// The disk under the service's state database is full: nothing was signed or recorded.
    /// Calls succeed again once space is freed.
    #[error("the signing service's disk is full; nothing was signed ({0})")]
    StateFull(String),
    /// The service's state database is damaged; nothing was signed.
    #[error("the signing service's state is damaged: {0}")]
    StateDamaged(String),
    /// The timestamp authority gave no usable token (an outside one unreachable, slow or
    /// refusing): nothing was signed. Retry later.
    #[error("no signature timestamp; nothing was signed: {0}")]
    Timestamps(String),
    /// The signer's token is not there or stopped answering (pulled out in the middle of a
    /// batch): nothing of the batch was signed. Retry once it is back.
    #[error("the signing key of {signer} is not available; nothing was signed: {reason}")]
    KeyUnavailable { signer: String, reason: String },
    /// The signer's token has locked its PIN; only its security officer can unlock it.
    #[error(
        "the token of signer {signer} has locked its PIN after too many wrong ones; its security officer must unlock it"
    )]
    TokenLocked { signer: String },
    /// The signer's key is at a remote provider, which signs records of the queue only.
    #[error("{0}")]
    RemoteKey(String),
    /// The confirmation a remote signer's batch waited for ended without it (refused in the
    /// app, expired, or confirmed too late): nothing was signed, and nothing will be under it.
    #[error("confirmation {id} was {how}; nothing was signed")]
    Unconfirmed { id: String, how: &'static str },
    /// The remote signing provider could not be reached or refused the service.
    #[error("the remote signing provider of {signer} could not sign; nothing was signed: {reason}")]
    Provider { signer: String, reason: String },
    /// Something on the service's side failed; the batch was not signed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StateError> for SignError {
    fn from(e: StateError) -> SignError {
        if e.is_disk_full() {
            ::metrics::counter!(super::metrics::DISK_FULL).increment(1);
            SignError::StateFull(e.to_string())
        } else if e.is_damaged() {
            SignError::StateDamaged(e.to_string())
        } else {
            SignError::Internal(e.to_string())
        }
    }
}

impl SignError {
    /// The refusal reason used as a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            SignError::InvalidArgument { .. } => "invalid_argument",
            SignError::UnknownSigner(_) => "unknown_signer",
            SignError::NotFound(_) => "not_found",
            SignError::Locked { .. } => "locked",
            SignError::WrongPin { .. } => "wrong_pin",
            SignError::RateLimited { .. } => "rate_limited",
            SignError::CertificateUnusable { .. } => "certificate_unusable",
            SignError::Delegation(DelegationError::Malformed(_) | DelegationError::Invalid(_)) => {
                "delegation_malformed"
            }
            SignError::Delegation(_) => "delegation_unverified",
            SignError::Refused(r) => match r {
                Refusal::NotForThisDeputy { .. } | Refusal::OtherWard { .. } => {
                    "delegation_other_holder"
                }
                Refusal::NotYetValid { .. } | Refusal::Expired { .. } => "delegation_expired",
                Refusal::OutOfScope { .. } => "delegation_out_of_scope",
                Refusal::Revoked { .. } => "delegation_revoked",
                Refusal::DailyCapReached { .. } => "delegation_daily_cap",
                Refusal::Missing { .. } => "delegation_missing",
            },
            SignError::Checkpoint(_) => "checkpoint_refused",
            SignError::Contradicts(_) => "lease_contradicted",
            SignError::StateFull(_) => "disk_full",
            SignError::StateDamaged(_) => "state_damaged",
            SignError::Timestamps(_) => "timestamp_unavailable",
            SignError::KeyUnavailable { .. } => "key_unavailable",
            SignError::TokenLocked { .. } => "token_locked",
            SignError::RemoteKey(_) => "remote_key",
            SignError::Unconfirmed { .. } => "unconfirmed",
            SignError::Provider { .. } => "provider_unavailable",
            SignError::Internal(_) => "internal",
        }
    }

    /// A malformed field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SignError {
        SignError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// When to retry after the signer's token was not there.
const KEY_RETRY: Duration = Duration::from_secs(5);

/// When to retry after the timestamp authority failed.
const TIMESTAMP_RETRY: Duration = Duration::from_secs(5);

impl SignError {
    /// Facts beside the reason that a client words its message from: how many PIN attempts are
    /// left, until when the key is locked (RFC 3339), whose key.
    fn reason_metadata(&self) -> HashMap<String, String> {
        match self {
            SignError::WrongPin {
                signer,
                attempts_left,
            } => HashMap::from([
                ("signer".to_owned(), signer.clone()),
                ("attempts_left".to_owned(), attempts_left.to_string()),
            ]),
            SignError::Locked { signer, until } => HashMap::from([
                ("signer".to_owned(), signer.clone()),
                ("until".to_owned(), rfc3339(*until)),
            ]),
            SignError::UnknownSigner(signer)
            | SignError::CertificateUnusable { signer, .. }
            | SignError::KeyUnavailable { signer, .. }
            | SignError::TokenLocked { signer }
            | SignError::Provider { signer, .. } => {
                HashMap::from([("signer".to_owned(), signer.clone())])
            }
            _ => HashMap::new(),
        }
    }
}

impl From<SignError> for Status {
    fn from(error: SignError) -> Status {
        // The reason is the metric label's, in the upper case ErrorInfo reasons are written in.
        let reason = error.reason().to_ascii_uppercase();
        let metadata = error.reason_metadata();
        signq_kit::reason::with_reason(
            status_of(error),
            signq_kit::reason::SIGNER,
            &reason,
            metadata,
        )
    }
}

/// The status code, message and details of `error` (its reason is added by the caller).
fn status_of(error: SignError) -> Status {
    let message = error.to_string();
    match error {
        SignError::InvalidArgument { field, reason } => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, reason),
        ),
        SignError::Delegation(DelegationError::Malformed(_) | DelegationError::Invalid(_)) => {
            Status::with_error_details(
                Code::InvalidArgument,
                format!("delegation: {message}"),
                ErrorDetails::with_bad_request_violation("delegation", message.clone()),
            )
        }
        SignError::UnknownSigner(_) | SignError::NotFound(_) => Status::not_found(message),
        SignError::WrongPin { .. } => Status::unauthenticated(message),
        SignError::Locked { until, .. } => {
            let wait = (until - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or(Duration::ZERO);
            Status::with_error_details(
                Code::PermissionDenied,
                message,
                ErrorDetails::with_retry_info(Some(wait)),
            )
        }
        SignError::RateLimited { what, retry_after } => {
            signq_kit::limit::exhausted(what, retry_after)
        }
        SignError::Delegation(_)
        | SignError::Refused(_)
        | SignError::CertificateUnusable { .. } => Status::permission_denied(message),
        SignError::Checkpoint(_) | SignError::Contradicts(_) => {
            Status::failed_precondition(message)
        }
        SignError::StateFull(_) => signq_kit::limit::unavailable(&message, STATE_FULL_RETRY),
        SignError::StateDamaged(_) => Status::data_loss(message),
        SignError::Timestamps(_) => signq_kit::limit::unavailable(&message, TIMESTAMP_RETRY),
        SignError::KeyUnavailable { .. } => signq_kit::limit::unavailable(&message, KEY_RETRY),
        SignError::TokenLocked { .. } | SignError::RemoteKey(_) | SignError::Unconfirmed { .. } => {
            Status::failed_precondition(message)
        }
        SignError::Provider { .. } => signq_kit::limit::unavailable(&message, KEY_RETRY),
        SignError::Internal(_) => Status::internal(message),
    }
}
