//! The test's hand on a running provider, over HTTP, for tests that are not Rust (the tablet's
//! end-to-end tests in Node): they see the authorisations waiting for the person and confirm,
//! refuse or expire them as the person's signing app would, and read what was signed and any
//! departure from the specification. It is served on a loopback port of its own, apart from the
//! CSC API, so that the strict provider's routes stay exactly the specification's.
//!
//! - `GET /pending`: the waiting authorisations, oldest first, as a JSON array of
//!   `{handle, credential_id, num_signatures, description}`.
//! - `POST /pending/{handle}/confirm` (or `refuse`, `expire`): 204 once decided, 404 when no
//!   authorisation of that handle is waiting.
//! - `GET /report`: `{signed, calls, violations}`.
//!
//! Only requests addressed to a loopback name are answered (the `Host` header), so a web page
//! in a browser on the same machine cannot reach it under a name of its own.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::Provider;

/// The control routes over `provider`.
pub fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/pending", get(pending))
        .route("/pending/{handle}/{decision}", post(decide))
        .route("/report", get(report))
        .with_state(provider)
}

/// Serves the control routes on `listener` until the task is dropped or aborted.
pub async fn serve(listener: tokio::net::TcpListener, provider: Arc<Provider>) {
    if let Err(error) = axum::serve(listener, router(provider)).await {
        tracing::warn!(%error, "the CSC test provider's control API stopped");
    }
}

/// Whether the request names a loopback host (`127.0.0.1`, `[::1]` or `localhost`, any port).
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "[::1]" | "localhost")
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_loopback() -> Response {
    answer(
        StatusCode::FORBIDDEN,
        &json!({ "error": "the control API answers only requests to a loopback address" }),
    )
}

async fn pending(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    if !loopback(&headers) {
        return not_loopback();
    }
    let waiting: Vec<Value> = provider
        .pending()
        .into_iter()
        .map(|p| {
            json!({
                "handle": p.handle,
                "credential_id": p.credential_id,
                "num_signatures": p.num_signatures,
                "description": p.description,
            })
        })
        .collect();
    answer(StatusCode::OK, &Value::Array(waiting))
}

async fn decide(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    Path((handle, decision)): Path<(String, String)>,
) -> Response {
    if !loopback(&headers) {
        return not_loopback();
    }
    let decided = match decision.as_str() {
        "confirm" => provider.confirm(&handle),
        "refuse" => provider.refuse(&handle),
        "expire" => provider.expire(&handle),
        _ => {
            return answer(
                StatusCode::NOT_FOUND,
                &json!({ "error": "the decision is confirm, refuse or expire" }),
            );
        }
    };
    if decided {
        StatusCode::NO_CONTENT.into_response()
    } else {
        answer(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no authorisation {handle} is waiting") }),
        )
    }
}

async fn report(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    if !loopback(&headers) {
        return not_loopback();
    }
    answer(
        StatusCode::OK,
        &json!({
            "signed": provider.signed(),
            "calls": provider.calls(),
            "violations": provider.violations(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use axum::body::Bytes;
    use axum::http::{HeaderValue, Method, Request};
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    /// `method` on the control API at `addr`; the status and the body.
    async fn call(addr: std::net::SocketAddr, method: Method, path: &str) -> (StatusCode, String) {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(Empty::new())
            .expect("request");
        let response = client.request(request).await.expect("answered");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_control_api_lists_decides_and_reports() {
        let provider = Arc::new(
            Provider::start(Config::new(vec![]))
                .await
                .expect("provider"),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serving = tokio::spawn(serve(listener, Arc::clone(&provider)));
        assert_eq!(
            call(addr, Method::GET, "/pending").await,
            (StatusCode::OK, "[]".to_string())
        );
        let (status, body) = call(addr, Method::POST, "/pending/00000001-x/confirm").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = call(addr, Method::POST, "/pending/00000001-x/approve").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = call(addr, Method::GET, "/report").await;
        assert_eq!(status, StatusCode::OK);
        let report: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(report["signed"], 0);
        assert_eq!(report["violations"], json!([]));
        serving.abort();
    }

    fn host(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_loopback_names_are_answered() {
        for ok in ["127.0.0.1:4000", "localhost:80", "[::1]:9", "localhost"] {
            assert!(loopback(&host(ok)), "{ok}");
        }
        for refused in [
            "example.test:4000",
            "127.0.0.2:1",
            "localhost.example:1",
            "",
        ] {
            assert!(!loopback(&host(refused)), "{refused}");
        }
        assert!(!loopback(&HeaderMap::new()));
    }
}
