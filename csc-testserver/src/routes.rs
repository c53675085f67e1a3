//! The methods: the OAuth 2.0 token endpoint (client credentials), `info`, `credentials/list`,
//! `credentials/info`, `credentials/authorize` (202 and a handle: the person confirms in their
//! app), `credentials/authorizeCheck` and `signatures/signHash` (synchronous).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::check::{Params, Refusal, json};
use crate::state::{State, TOKEN_LIFETIME};

/// SHA-256.
const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
/// ECDSA with SHA-256, the only signature algorithm its keys have.
const ECDSA_SHA256_OID: &str = "1.2.840.10045.4.3.2";
/// The named curve P-256.
const P256_OID: &str = "1.2.840.10045.3.1.7";
/// The longest `description` the specification allows.
const MAX_DESCRIPTION: usize = 500;

type Answer = Result<Response, Refusal>;

/// The provider's routes over `state`.
pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/csc/v2/info", post(info))
        .route("/csc/v2/credentials/list", post(list))
        .route("/csc/v2/credentials/info", post(credential_info))
        .route("/csc/v2/credentials/authorize", post(authorize))
        .route("/csc/v2/credentials/authorizeCheck", post(authorize_check))
        .route("/csc/v2/signatures/signHash", post(sign_hash))
        .with_state(state)
}

/// Holds an answer back by the configured delay.
pub(crate) async fn delayed(state: &State) {
    if !state.config.delay.is_zero() {
        tokio::time::sleep(state.config.delay).await;
    }
}

/// Decodes `application/x-www-form-urlencoded`.
fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// `POST /oauth2/token`: the client credentials grant (RFC 6749, 4.4), the client
/// authenticated by its id and secret in the body.
async fn token(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    delayed(&state).await;
    state.call("oauth2/token");
    let refuse = |error: &'static str, what: &str| {
        state.violation(format!("oauth2/token: {what}"));
        Refusal::answer(error, what).into_response()
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return refuse(
            "invalid_request",
            "the body is not application/x-www-form-urlencoded",
        );
    }
    let params = form(&body);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("grant_type") != Some("client_credentials") {
        return refuse(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if get("client_id") != Some(state.config.client_id.as_str())
        || get("client_secret") != Some(state.config.client_secret.as_str())
    {
        return refuse("invalid_client", "unknown client or wrong secret");
    }
    if get("scope").is_some_and(|s| s != "service") {
        return refuse(
            "invalid_scope",
            "the client credentials grant gives the service scope",
        );
    }
    let token = state.issue_token();
    json(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME.as_secs(),
        }),
    )
}

async fn info(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Answer {
    Params::read(&state, "info", &headers, &body, false, &["lang"]).await?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "specs": "2.0.0.2",
            "name": "signq CSC test provider",
            "logo": "",
            "region": "VN",
            "lang": "en-US",
            "description": "A strict provider for signq's tests",
            "authType": ["oauth2client"],
            "methods": [
                "credentials/list", "credentials/info", "credentials/authorize",
                "credentials/authorizeCheck", "signatures/signHash"
            ],
            "signAlgorithms": { "algos": [ECDSA_SHA256_OID] },
        }),
    ))
}

async fn list(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Answer {
    let params = Params::read(
        &state,
        "credentials/list",
        &headers,
        &body,
        true,
        &[
            "userID",
            "credentialInfo",
            "certificates",
            "certInfo",
            "authInfo",
            "onlyValid",
            "lang",
            "clientData",
        ],
    )
    .await?;
    // With a service-scoped token (client credentials), the user must be named.
    let user = params.string("userID")?;
    let ids: Vec<&str> = state
        .config
        .credentials
        .iter()
        .filter(|c| c.user_id == user)
        .map(|c| c.id.as_str())
        .collect();
    Ok(json(StatusCode::OK, &json!({ "credentialIDs": ids })))
}

async fn credential_info(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = Params::read(
        &state,
        "credentials/info",
        &headers,
        &body,
        true,
        &[
            "credentialID",
            "certificates",
            "certInfo",
            "authInfo",
            "lang",
            "clientData",
        ],
    )
    .await?;
    let id = params.string("credentialID")?;
    let credential = state
        .credential(&id)
        .ok_or_else(|| params.refuse("Invalid parameter credentialID"))?;
    let certificates = match params.optional_string("certificates")?.as_deref() {
        None | Some("single") => &credential.certificates[..1.min(credential.certificates.len())],
        Some("chain") => &credential.certificates[..],
        Some("none") => &[][..],
        Some(_) => return Err(params.refuse("Invalid parameter certificates")),
    };
    let encoded: Vec<String> = certificates.iter().map(|c| STANDARD.encode(c)).collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "key": {
                "status": "enabled",
                "algo": [ECDSA_SHA256_OID],
                "len": 256,
                "curve": P256_OID,
            },
            "cert": { "status": "valid", "certificates": encoded },
            "auth": { "mode": "explicit" },
            "scal": "2",
            "multisign": credential.multisign,
            "lang": "en-US",
        }),
    ))
}

async fn authorize(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Answer {
    let params = Params::read(
        &state,
        "credentials/authorize",
        &headers,
        &body,
        true,
        &[
            "credentialID",
            "numSignatures",
            "hashes",
            "hashAlgorithmOID",
            "authData",
            "description",
            "clientData",
        ],
    )
    .await?;
    // The form of every parameter first, then what it names.
    let id = params.string("credentialID")?;
    let count = params.integer("numSignatures")?;
    let hashes = params.hashes("hashes")?;
    let algorithm = params.string("hashAlgorithmOID")?;
    let description = params.optional_string("description")?;
    let credential = state
        .credential(&id)
        .ok_or_else(|| params.refuse("Invalid parameter credentialID"))?;
    if count < 1 {
        return Err(params.refuse("Invalid value for parameter numSignatures"));
    }
    if count > u64::from(credential.multisign) {
        return Err(params.refuse("Numbers of signatures is too high"));
    }
    // SCAL 2: the hashes of every signature are bound to the authorisation.
    if hashes.len() as u64 != count {
        return Err(params.refuse("the number of hashes differs from numSignatures"));
    }
    if algorithm != SHA256_OID {
        return Err(params.refuse("Invalid parameter hashAlgorithmOID"));
    }
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(params.refuse("description is longer than 500 characters"));
    }
    let handle = state.authorize(&id, count as u32, hashes, description);
    Ok(json(StatusCode::ACCEPTED, &json!({ "handle": handle })))
}

async fn authorize_check(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = Params::read(
        &state,
        "credentials/authorizeCheck",
        &headers,
        &body,
        true,
        &["handle"],
    )
    .await?;
    let handle = params.string("handle")?;
    match state.check(&handle) {
        Ok(None) => Ok(json(StatusCode::ACCEPTED, &json!({ "handle": handle }))),
        Ok(Some((sad, expires_in))) => Ok(json(
            StatusCode::OK,
            &json!({ "SAD": sad, "expiresIn": expires_in }),
        )),
        Err("Invalid parameter handle") => Err(params.refuse("Invalid parameter handle")),
        Err(why @ "The authorization expired") => Err(Refusal::answer("expired_token", why)),
        Err(why) => Err(Refusal::answer("access_denied", why)),
    }
}

async fn sign_hash(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Answer {
    let params = Params::read(
        &state,
        "signatures/signHash",
        &headers,
        &body,
        true,
        &[
            "credentialID",
            "SAD",
            "hashes",
            "hashAlgorithmOID",
            "signAlgo",
            "signAlgoParams",
            "operationMode",
            "validity_period",
            "response_uri",
            "clientData",
        ],
    )
    .await?;
    let id = params.string("credentialID")?;
    let sad = params.string("SAD")?;
    let hashes = params.hashes("hashes")?;
    if params.string("signAlgo")? != ECDSA_SHA256_OID {
        return Err(params.refuse("Invalid parameter signAlgo"));
    }
    // Implied by ecdsa-with-SHA256; if given, it must say the same.
    if params
        .optional_string("hashAlgorithmOID")?
        .is_some_and(|oid| oid != SHA256_OID)
    {
        return Err(params.refuse("Invalid parameter hashAlgorithmOID"));
    }
    if params
        .optional_string("operationMode")?
        .is_some_and(|mode| mode != "S")
    {
        return Err(params.refuse("Invalid parameter operationMode"));
    }
    match state.sign(&id, &sad, &hashes) {
        Ok(signatures) => {
            let encoded: Vec<String> = signatures.iter().map(|s| STANDARD.encode(s)).collect();
            Ok(json(StatusCode::OK, &json!({ "signatures": encoded })))
        }
        // An expired or spent SAD is the flow's outcome, not a malformed request.
        Err(why @ "Invalid parameter SAD") => Err(Refusal::answer("invalid_request", why)),
        Err(why) => Err(params.refuse(why)),
    }
}
