//! The HTTPS client webhooks are posted with: rustls with the receivers' CA bundle (the system's
//! by default), HTTPS only, one attempt bounded in time; a 2xx answer is a delivery, anything
//! else a failure to retry.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::codegen::http::{Method, Request, Uri, header};

/// Where the system's CA bundle is on the distributions signq is packaged for.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Why the client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA bundle could not be read or holds a certificate rustls refuses.
    #[error("webhook CA bundle {path}: {reason}")]
    Roots { path: String, reason: String },
}

/// Why one attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// No answer within the attempt's time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// No connection, TLS refused, or the request failed on the way.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The receiver answered something other than 2xx.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// The stored URL does not parse (it was checked at registration).
    #[error("bad URL: {0}")]
    Url(String),
}

/// A client for every webhook of the scheduler.
pub struct Client {
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The CA certificates of `ca_file`, or of the system's bundle (none if there is none: every
/// delivery then fails, and says why).
fn roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    let path = match ca_file {
        Some(path) => Some(path.to_path_buf()),
        None => SYSTEM_BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .map(Path::to_path_buf),
    };
    let Some(path) = path else {
        tracing::warn!(
            "no system CA bundle found: webhooks are delivered only with --webhook-ca-file"
        );
        return Ok(roots);
    };
    let fail = |reason: String| ClientError::Roots {
        path: path.display().to_string(),
        reason,
    };
    let certs = signq_kit::tls::material::read_certs(&path).map_err(|e| fail(e.to_string()))?;
    if ca_file.is_some() {
        for cert in certs {
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
    } else {
        // A system bundle may hold a certificate rustls cannot parse: skip it, keep the rest.
        roots.add_parsable_certificates(certs);
    }
    if roots.is_empty() {
        return Err(fail("holds no CA certificate".into()));
    }
    Ok(roots)
}

impl Client {
    /// A client trusting `ca_file` (or the system's bundle), each attempt bounded by `timeout`.
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<Client, ClientError> {
        let tls = rustls::ClientConfig::builder_with_provider(signq_kit::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Roots {
                path: String::new(),
                reason: e.to_string(),
            })?
            .with_root_certificates(roots(ca_file)?)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Ok(Client {
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    /// Posts `body` (JSON) with `headers` to `url`: Ok once the receiver answered 2xx.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<(), DeliveryError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| DeliveryError::Url(format!("{url}: {e}")))?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "signq-webhook/1");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DeliveryError::Url(e.to_string()))?;
        let response = tokio::time::timeout(self.timeout, self.http.request(request))
            .await
            .map_err(|_| DeliveryError::Timeout(self.timeout))?
            .map_err(|e| DeliveryError::Unreachable(error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status(status.as_u16()))
        }
    }
}

/// An error with its sources (hyper's own message alone says only "client error (Connect)").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
