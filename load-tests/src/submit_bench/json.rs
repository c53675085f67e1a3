//! Intake.Submit as a one-stop platform written in Java or .NET calls it: JSON over HTTP/1.1
//! (the Connect protocol the scheduler serves beside gRPC), with the same client certificate,
//! over a pool of keep-alive connections that each carry one call at a time.
//!
//! The pool holds at most as many connections as calls in flight, which a semaphore bounds: a
//! call waits for a free connection as it would in such a client, and that wait is part of its
//! latency.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

use super::Target;
use super::climb::REQUEST_TIMEOUT;

/// How a JSON call ended, as the climb counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonReply {
    /// 200 with the reply message.
    Ok,
    /// Refused because the scheduler is overloaded (`resource_exhausted`).
    Shed,
    /// Any other answer or none: the Connect error code, or what went wrong.
    Failed(String),
}

/// The HTTP/1.1 client of one benchmark.
#[derive(Debug, Clone)]
pub struct JsonClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: Arc<str>,
    connections: Arc<Semaphore>,
    document: Arc<str>,
}

impl JsonClient {
    /// A client of `target` over at most `connections` connections, submitting documents of
    /// `document_bytes` bytes.
    pub fn new(target: &Target, connections: usize, document_bytes: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(connections >= 1, "--json-connections: at least 1");
        let hostport = target
            .addr
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(target.tls.http_config())
            .https_only()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections)
            .build(connector);
        let document =
            base64::engine::general_purpose::STANDARD.encode(vec![0x25_u8; document_bytes]);
        Ok(JsonClient {
            http,
            url: format!("https://{hostport}/signq.v1.Intake/Submit").into(),
            connections: Arc::new(Semaphore::new(connections)),
            document: document.into(),
        })
    }

    /// The JSON body of the submit `key`.
    fn body(&self, title: &str, key: &str) -> Bytes {
        serde_json::json!({
            "ward": "cat-lai",
            "procedureCode": "HT-KS",
            "title": title,
            "document": &*self.document,
            "idempotencyKey": key,
        })
        .to_string()
        .into()
    }

    /// Submits one record as JSON; gives up after [`REQUEST_TIMEOUT`], waiting included.
    pub async fn submit(&self, title: &str, key: &str) -> JsonReply {
        let body = self.body(title, key);
        match tokio::time::timeout(REQUEST_TIMEOUT, self.send(body)).await {
            Ok(reply) => reply,
            Err(_) => JsonReply::Failed("DeadlineExceeded".into()),
        }
    }

    async fn send(&self, body: Bytes) -> JsonReply {
        let Ok(_connection) = self.connections.acquire().await else {
            return JsonReply::Failed("closed".into());
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(&*self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body));
        let request = match request {
            Ok(request) => request,
            Err(e) => return JsonReply::Failed(format!("request: {e}")),
        };
        let response = match self.http.request(request).await {
            Ok(response) => response,
            Err(e) => return JsonReply::Failed(format!("transport: {e}")),
        };
        let status = response.status();
        // The whole answer is read, so that the connection goes back to the pool.
        let answer = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return JsonReply::Failed(format!("transport: {e}")),
        };
        if status == StatusCode::OK {
            return JsonReply::Ok;
        }
        let code = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        if code == "resource_exhausted" {
            JsonReply::Shed
        } else {
            JsonReply::Failed(code)
        }
    }
}
