//! Answers that say when to retry: every over-limit call gets RESOURCE_EXHAUSTED, and every call
//! refused because a dependency is down (the signing service, a full disk) gets UNAVAILABLE, each
//! carrying `google.rpc.RetryInfo` with the delay after which a retry can pass.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The status for a call refused by a rate limit named `what`, retryable after `retry_after`.
pub fn exhausted(what: &str, retry_after: Duration) -> Status {
    retry_later(Code::ResourceExhausted, what, retry_after)
}

/// The status for a call refused because `what` (a dependency) is not available now, retryable
/// after `retry_after`.
pub fn unavailable(what: &str, retry_after: Duration) -> Status {
    retry_later(Code::Unavailable, what, retry_after)
}

fn retry_later(code: Code, what: &str, retry_after: Duration) -> Status {
    // Round up to whole milliseconds so that a client retrying at the hint never arrives early.
    let retry_after = Duration::from_millis(
        retry_after
            .as_millis()
            .saturating_add(1)
            .min(u64::MAX as u128) as u64,
    );
    Status::with_error_details(
        code,
        format!("{what}: retry after {} ms", retry_after.as_millis()),
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

/// The retry delay a status carries, if any.
pub fn retry_after(status: &Status) -> Option<Duration> {
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
}
