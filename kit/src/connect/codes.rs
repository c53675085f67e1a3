//! A gRPC status as the Connect protocol writes an error: the HTTP status its code maps to and
//! a JSON body `{"code", "message", "details"}`.
//!
//! The table is the Connect protocol's own, so that any Connect client (or a plain HTTP client
//! reading the HTTP status) understands the answer; the code names are gRPC's in snake case.
//! Details (the `google.rpc` messages a status carries, such as `RetryInfo` or `BadRequest`) are
//! passed on with their type, their bytes in base64 and, for people reading with curl, their
//! JSON form; a `RetryInfo` also becomes a `Retry-After` header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message as _;
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};
use tonic::Code;
use tonic::codegen::http::{HeaderValue, Response, StatusCode, header};
use tonic_types::StatusExt as _;

use super::message::to_json;

/// The Connect name of a gRPC code.
pub(crate) fn name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The HTTP status the Connect protocol gives a gRPC code.
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `status` as a Connect error: the HTTP status, a JSON body and, when the status carries a
/// retry delay, `Retry-After` in whole seconds (rounded up).
pub(crate) fn error_response<B: From<Vec<u8>>>(
    status: &tonic::Status,
    pool: &DescriptorPool,
) -> Response<B> {
    let mut body = json!({ "code": name(status.code()), "message": status.message() });
    let details = details(status, pool);
    if !details.is_empty() {
        body["details"] = Value::Array(details);
    }
    let mut response = Response::new(B::from(body.to_string().into_bytes()));
    *response.status_mut() = http_status(status.code());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(delay) = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
    {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// The details of `status`, each as `{"type", "value", "debug"}`.
fn details(status: &tonic::Status, pool: &DescriptorPool) -> Vec<Value> {
    let Ok(rich) = tonic_types::pb::Status::decode(status.details()) else {
        return Vec::new();
    };
    rich.details
        .iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or(&any.type_url);
            let mut detail = json!({
                "type": name,
                "value": STANDARD.encode(&any.value),
            });
            if let Some(debug) = pool
                .get_message_by_name(name)
                .and_then(|descriptor| to_json(&descriptor, &any.value).ok())
            {
                detail["debug"] = debug;
            }
            detail
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_connect_status() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
        assert_eq!(name(Code::Cancelled), "canceled");
        assert_eq!(name(Code::FailedPrecondition), "failed_precondition");
    }

    #[test]
    fn a_retry_delay_becomes_retry_after_and_a_readable_detail() {
        let pool = super::super::message::pool(&[]).expect("pool");
        let status = crate::limit::exhausted("busy", std::time::Duration::from_millis(1_200));
        let response: Response<Vec<u8>> = error_response(&status, &pool);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body: Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body["code"], "resource_exhausted");
        assert_eq!(body["details"][0]["type"], "google.rpc.RetryInfo");
        assert_eq!(body["details"][0]["debug"]["retryDelay"], "1.201s");
    }
}
