//! The remote back end's client: a provider speaking the Cloud Signature Consortium API v2
//! (e.g. Viettel MySign), whose keys never leave it and whose every authorisation the person
//! confirms in their signing app.
//!
//! The service authenticates with OAuth 2.0 (the client credentials grant, `service` scope); the
//! token is kept until shortly before it expires and asked again once if the provider refuses
//! it. A batch is one authorisation: `credentials/authorize` with `numSignatures` and the
//! hashes of every signature of the batch (SCAL 2), answered at once with a SAD or, usually,
//! with 202 and a handle while the person confirms; `credentials/authorizeCheck` asks where it
//! stands; `signatures/signHash` then signs every hash under the SAD in one call. Calls are
//! bounded in time and in the size of what is read back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{Method, Request, StatusCode, Uri, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest answer read, bytes.
const MAX_ANSWER: usize = 4 * 1024 * 1024;
/// A token is asked again this long before the provider said it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// SHA-256.
const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
/// ECDSA with SHA-256: the signature algorithm of the ward's certificates.
const ECDSA_SHA256_OID: &str = "1.2.840.10045.4.3.2";

/// Why the provider could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CscError {
    /// The provider could not be reached or did not answer in time.
    #[error("the signing provider is not reachable: {0}")]
    Unreachable(String),
    /// The person refused the authorisation in their app.
    #[error("the person refused the signature in their signing app")]
    Refused,
    /// The authorisation was not confirmed in time.
    #[error("the confirmation in the signing app expired")]
    Expired,
    /// The provider refused the request (`error`: `error_description`).
    #[error("the signing provider refused: {error}: {description}")]
    Provider { error: String, description: String },
    /// The provider answered something the specification does not allow.
    #[error("the signing provider answered unreadably: {0}")]
    Answer(String),
}

/// Where a provider is and how signq authenticates to it.
#[derive(Debug, Clone)]
pub struct CscSettings {
    /// The base URI of its CSC API, ending in `/csc/v2`.
    pub base_uri: String,
    /// Its OAuth 2.0 token endpoint.
    pub token_uri: String,
    /// signq's client id there.
    pub client_id: String,
    /// signq's client secret there.
    pub client_secret: String,
    /// The CA certificates (a PEM file) its TLS certificate must chain to, for an `https`
    /// provider.
    pub tls_roots: Option<std::path::PathBuf>,
}

/// Where an authorisation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// The person has not answered yet; ask again with this handle.
    Waiting { handle: String },
    /// Confirmed: sign under this SAD before it expires.
    Granted { sad: String, expires_in: Duration },
}

/// What `credentials/info` says of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    /// Its certificate first, then the chain, DER.
    pub certificates: Vec<Vec<u8>>,
    /// How many signatures one authorisation may cover.
    pub multisign: u32,
}

type Https = Client<HttpsConnector<HttpConnector>, Full<axum::body::Bytes>>;

/// A CSC provider.
pub struct CscClient {
    settings: CscSettings,
    base: String,
    token_uri: Uri,
    http: Https,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for CscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn answer(what: impl std::fmt::Display) -> CscError {
    CscError::Answer(what.to_string())
}

impl CscClient {
    /// A client of the provider `settings` describe.
    pub fn new(settings: CscSettings) -> Result<CscClient, CscError> {
        let bad = |what: String| CscError::Unreachable(what);
        let token_uri: Uri = settings
            .token_uri
            .parse()
            .map_err(|e| bad(format!("token URI {}: {e}", settings.token_uri)))?;
        let base = settings.base_uri.trim_end_matches('/').to_string();
        base.parse::<Uri>()
            .map_err(|e| bad(format!("base URI {base}: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = &settings.tls_roots {
            for cert in
                signq_kit::tls::material::read_certs(path).map_err(|e| bad(e.to_string()))?
            {
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("TLS roots {}: {e}", path.display())))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(signq_kit::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(CscClient {
            settings,
            base,
            token_uri,
            http: Client::builder(TokioExecutor::new()).build(connector),
            token: Mutex::new(None),
        })
    }

    /// Sends `request` and reads the answer's status and JSON body.
    async fn send(
        &self,
        request: Request<Full<axum::body::Bytes>>,
    ) -> Result<(StatusCode, Value), CscError> {
        let unreachable = |e: &dyn std::fmt::Display| CscError::Unreachable(e.to_string());
        let response = tokio::time::timeout(TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| {
                CscError::Unreachable(format!("no answer within {} s", TIMEOUT.as_secs()))
            })?
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| answer(format!("not JSON: {e}")))?
        };
        Ok((status, value))
    }

    /// An access token, asked for (client credentials) when there is none or it is about to
    /// expire.
    async fn access_token(&self, fresh: bool) -> Result<String, CscError> {
        if !fresh
            && let Some((token, until)) =
                self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
            && Instant::now() + TOKEN_MARGIN < until
        {
            return Ok(token);
        }
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=service",
            urlencode(&self.settings.client_id),
            urlencode(&self.settings.client_secret)
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.token_uri.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(form.into()))
            .map_err(answer)?;
        let (status, body) = self.send(request).await?;
        if status != StatusCode::OK {
            return Err(provider_error(&body));
        }
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| answer("the token answer has no access_token"))?
            .to_string();
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Calls `method` with `params`; a refused token is renewed once.
    async fn call(&self, method: &str, params: &Value) -> Result<(StatusCode, Value), CscError> {
        let uri: Uri = format!("{}/{method}", self.base).parse().map_err(answer)?;
        for fresh in [false, true] {
            let token = self.access_token(fresh).await?;
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(params.to_string().into()))
                .map_err(answer)?;
            let (status, body) = self.send(request).await?;
            if status == StatusCode::UNAUTHORIZED && !fresh {
                continue;
            }
            return Ok((status, body));
        }
        Err(answer("the provider refused a fresh access token"))
    }

    /// The credentials of `user`.
    pub async fn credentials(&self, user: &str) -> Result<Vec<String>, CscError> {
        let (status, body) = self
            .call("credentials/list", &json!({ "userID": user }))
            .await?;
        if status != StatusCode::OK {
            return Err(provider_error(&body));
        }
        body["credentialIDs"]
            .as_array()
            .ok_or_else(|| answer("credentials/list has no credentialIDs"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| answer("a credentialID is not a string"))
            })
            .collect()
    }

    /// A credential's certificate chain and how many signatures an authorisation may cover.
    pub async fn credential_info(&self, credential: &str) -> Result<CredentialInfo, CscError> {
        let (status, body) = self
            .call(
                "credentials/info",
                &json!({ "credentialID": credential, "certificates": "chain" }),
            )
            .await?;
        if status != StatusCode::OK {
            return Err(provider_error(&body));
        }
        let certificates = body["cert"]["certificates"]
            .as_array()
            .ok_or_else(|| answer("credentials/info has no cert/certificates"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| STANDARD.decode(s).ok())
                    .ok_or_else(|| answer("a certificate is not Base64"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if certificates.is_empty() {
            return Err(answer("credentials/info gives no certificate"));
        }
        let algorithms = body["key"]["algo"].as_array().cloned().unwrap_or_default();
        if !algorithms
            .iter()
            .any(|a| a.as_str() == Some(ECDSA_SHA256_OID))
        {
            return Err(answer(
                "the credential's key does not sign ECDSA with SHA-256",
            ));
        }
        let multisign = body["multisign"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        Ok(CredentialInfo {
            certificates,
            multisign,
        })
    }

    /// Asks the person to authorise the signatures over `hashes` (one per signature) with the
    /// credential; `description` is what their app shows (the batch's short code).
    pub async fn authorize(
        &self,
        credential: &str,
        hashes: &[[u8; 32]],
        description: &str,
    ) -> Result<Authorization, CscError> {
        let params = json!({
            "credentialID": credential,
            "numSignatures": hashes.len(),
            "hashes": hashes.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
            "hashAlgorithmOID": SHA256_OID,
            "description": description,
        });
        let (status, body) = self.call("credentials/authorize", &params).await?;
        authorization(status, &body)
    }

    /// Where the authorisation `handle` stands.
    pub async fn check(&self, handle: &str) -> Result<Authorization, CscError> {
        let (status, body) = self
            .call("credentials/authorizeCheck", &json!({ "handle": handle }))
            .await?;
        authorization(status, &body)
    }

    /// Signs `hashes` with the credential under `sad`; the signatures (DER ECDSA), in order.
    pub async fn sign_hashes(
        &self,
        credential: &str,
        sad: &str,
        hashes: &[[u8; 32]],
    ) -> Result<Vec<Vec<u8>>, CscError> {
        let params = json!({
            "credentialID": credential,
            "SAD": sad,
            "hashes": hashes.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
            "signAlgo": ECDSA_SHA256_OID,
        });
        let (status, body) = self.call("signatures/signHash", &params).await?;
        if status != StatusCode::OK {
            return Err(provider_error(&body));
        }
        let signatures = body["signatures"]
            .as_array()
            .ok_or_else(|| answer("signatures/signHash has no signatures"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| STANDARD.decode(s).ok())
                    .ok_or_else(|| answer("a signature is not Base64"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() != hashes.len() {
            return Err(answer(format!(
                "{} signatures for {} hashes",
                signatures.len(),
                hashes.len()
            )));
        }
        Ok(signatures)
    }
}

/// An authorisation from `credentials/authorize` or `credentials/authorizeCheck`.
fn authorization(status: StatusCode, body: &Value) -> Result<Authorization, CscError> {
    match status {
        StatusCode::ACCEPTED => Ok(Authorization::Waiting {
            handle: body["handle"]
                .as_str()
                .ok_or_else(|| answer("202 without a handle"))?
                .to_string(),
        }),
        StatusCode::OK => Ok(Authorization::Granted {
            sad: body["SAD"]
                .as_str()
                .ok_or_else(|| answer("an authorisation without a SAD"))?
                .to_string(),
            expires_in: Duration::from_secs(body["expiresIn"].as_u64().unwrap_or(3600)),
        }),
        _ => {
            let error = provider_error(body);
            Err(match &error {
                CscError::Provider { error, .. } if error == "access_denied" => CscError::Refused,
                CscError::Provider { error, description }
                    if error == "expired_token" || description.contains("expire") =>
                {
                    CscError::Expired
                }
                _ => error,
            })
        }
    }
}

/// The provider's `{"error": …, "error_description": …}`.
fn provider_error(body: &Value) -> CscError {
    CscError::Provider {
        error: body["error"].as_str().unwrap_or("unknown").to_string(),
        description: body["error_description"].as_str().unwrap_or("").to_string(),
    }
}

/// Percent-encodes a form value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
