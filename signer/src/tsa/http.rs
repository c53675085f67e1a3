//! The authority over HTTP, as RFC 3161 (3.4) describes: POST a DER TimeStampReq as
//! `application/timestamp-query`, get a DER TimeStampResp as `application/timestamp-reply`.
//! Requests are bounded in size (a request is under 200 bytes; 16 KiB are accepted) and in rate
//! (one token is one ECDSA signature: a flood must not starve the signing service).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::net::TcpListener;

use super::Authority;

/// The largest request accepted, bytes.
const MAX_REQUEST: usize = 16 * 1024;
/// Tokens a second the endpoint issues at most.
const PER_SECOND: u32 = 200;

struct Endpoint {
    authority: Arc<Authority>,
    limit: DefaultDirectRateLimiter,
}

/// Serves the authority on `listener` until `shutdown` completes.
pub async fn serve(
    authority: Arc<Authority>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let per_second = NonZeroU32::new(PER_SECOND).unwrap_or(NonZeroU32::MIN);
    let endpoint = Arc::new(Endpoint {
        authority,
        limit: RateLimiter::direct(Quota::per_second(per_second)),
    });
    let app = Router::new()
        .route("/", post(stamp))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(endpoint);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn stamp(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if kind != "application/timestamp-query" {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a DER TimeStampReq as application/timestamp-query\n",
        )
            .into_response();
    }
    if endpoint.limit.check().is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "too many timestamp requests; retry in a second\n",
        )
            .into_response();
    }
    let authority = Arc::clone(&endpoint.authority);
    let now = time::OffsetDateTime::now_utc();
    match tokio::task::spawn_blocking(move || authority.respond(&body, now)).await {
        Ok(reply) => (
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            reply,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
