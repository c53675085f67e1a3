//! Rate limiting answers: every over-limit call gets RESOURCE_EXHAUSTED carrying
//! `google.rpc.RetryInfo` with the delay after which a retry can pass.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The status for a call refused by a rate limit named `what`, retryable after `retry_after`.
pub fn exhausted(what: &str, retry_after: Duration) -> Status {
    // Round up to whole milliseconds so that a client retrying at the hint never arrives early.
    let retry_after = Duration::from_millis(
        retry_after
            .as_millis()
            .saturating_add(1)
            .min(u64::MAX as u128) as u64,
    );
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("{what}: retry after {} ms", retry_after.as_millis()),
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

/// The retry delay carried by a RESOURCE_EXHAUSTED status, if any.
pub fn retry_after(status: &Status) -> Option<Duration> {
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
}
