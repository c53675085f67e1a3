//! An outside timestamp authority, used instead of the service's own (`--tsa-url`): RFC 3161
//! over HTTP (3.4), one request per signature with a fresh nonce and `certReq`, and the reply
//! checked before it is used: granted, its token over this hash with this nonce, made by an
//! authority the trust store accepts. Requests are bounded in time, so a hung authority fails
//! the batch (nothing is signed) instead of holding it.

use std::time::Duration;

use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::RngCore;
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::TsaError;
use crate::cms::TrustStore;
use crate::cms::oids::ID_SHA256;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest reply read, bytes.
const MAX_REPLY: usize = 64 * 1024;

/// An authority at a URL, and what its tokens must chain to.
#[derive(Debug)]
pub struct Remote {
    uri: axum::http::Uri,
    client: Client<HttpConnector, Full<axum::body::Bytes>>,
    trust: TrustStore,
}

fn failed(reason: impl std::fmt::Display) -> TsaError {
    TsaError::Remote(reason.to_string())
}

impl Remote {
    /// The authority at `url` (`http://host:port/path`), whose tokens must verify against
    /// `trust`.
    pub fn new(url: &str, trust: TrustStore) -> Result<Remote, TsaError> {
        let uri: axum::http::Uri = url
            .parse()
            .map_err(|e| failed(format!("{url}: not a URL: {e}")))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(failed(format!(
                "{url}: give an http:// URL (a token is signed: it needs no TLS)"
            )));
        }
        Ok(Remote {
            uri,
            client: Client::builder(TokioExecutor::new()).build_http(),
            trust,
        })
    }

    /// The roots its tokens must chain to.
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.trust.roots
    }

    /// A token over the SHA-256 `hash`, checked.
    pub async fn token(&self, hash: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        let mut nonce = [0u8; 8];
        rand::rng().fill_bytes(&mut nonce);
        nonce[0] &= 0x7f;
        let nonce = Int::new(&nonce).map_err(failed)?;
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifier {
                    oid: ID_SHA256,
                    parameters: None,
                },
                hashed_message: OctetString::new(hash.as_slice()).map_err(failed)?,
            },
            req_policy: None,
            nonce: Some(nonce.clone()),
            cert_req: true,
            extensions: None,
        }
        .to_der()
        .map_err(failed)?;
        let reply = tokio::time::timeout(TIMEOUT, self.post(request))
            .await
            .map_err(|_| failed(format!("{}: no answer within {TIMEOUT:?}", self.uri)))??;
        let reply = TimeStampResp::from_der(&reply)
            .map_err(|e| failed(format!("{}: not a TimeStampResp: {e}", self.uri)))?;
        let token = reply
            .time_stamp_token
            .ok_or_else(|| failed(format!("{}: refused ({:?})", self.uri, reply.status.status)))?
            .to_der()
            .map_err(failed)?;
        let stamped = crate::cms::check_token(&token, hash, &self.trust)
            .map_err(|e| failed(format!("{}: {e}", self.uri)))?;
        if stamped.nonce.as_deref() != Some(nonce.as_bytes()) {
            return Err(failed(format!(
                "{}: the reply does not echo the nonce",
                self.uri
            )));
        }
        Ok(token)
    }

    async fn post(&self, body: Vec<u8>) -> Result<Vec<u8>, TsaError> {
        let request = axum::http::Request::post(self.uri.clone())
            .header("content-type", "application/timestamp-query")
            .body(Full::new(axum::body::Bytes::from(body)))
            .map_err(failed)?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| failed(format!("{}: {e}", self.uri)))?;
        if !response.status().is_success() {
            return Err(failed(format!("{}: HTTP {}", self.uri, response.status())));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| failed(format!("{}: {e}", self.uri)))?;
        Ok(body.to_bytes().to_vec())
    }
}
