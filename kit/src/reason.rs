//! Why a call was refused, for programs: a `google.rpc.ErrorInfo` beside the status's other
//! details, with a stable reason code (`WRONG_PIN`, `KEY_LOCKED`, …), the domain of the service
//! that refused, and facts a client words its own message from (the attempts left, until when
//! a key is locked). Clients such as the tablet app choose their sentence in the person's
//! language from the reason, never from the English message, which is for operators and logs.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::StatusExt;

/// The domain of refusals made by the scheduler.
pub const SCHEDULER: &str = "scheduler.signq";
/// The domain of refusals made by the signing service.
pub const SIGNER: &str = "signer.signq";

/// `status` with an ErrorInfo of `reason` in `domain` and `metadata` added to its details (the
/// details it had, such as RetryInfo or BadRequest, are kept). A status that already says why
/// (one passed through from another service) keeps its own reason.
pub fn with_reason(
    status: Status,
    domain: &str,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let mut details = status.get_error_details();
    if details.error_info().is_some() {
        return status;
    }
    details.set_error_info(reason, domain, metadata);
    Status::with_error_details(status.code(), status.message(), details)
}

/// The reason code a status carries, if any.
pub fn reason_of(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_joins_the_details_already_there_and_a_passed_on_one_is_kept() {
        let limited = crate::limit::exhausted("too many", std::time::Duration::from_secs(2));
        let status = with_reason(limited, SCHEDULER, "RATE_LIMITED", HashMap::new());
        let details = status.get_error_details();
        assert!(details.retry_info().is_some(), "RetryInfo kept");
        assert_eq!(reason_of(&status).as_deref(), Some("RATE_LIMITED"));
        let again = with_reason(status, SIGNER, "OTHER", HashMap::new());
        let info = again.get_error_details();
        let info = info.error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("RATE_LIMITED", SCHEDULER)
        );
    }
}
