//! Reading a request as the specification says, and recording what departs from it. Every
//! method is `POST` with a JSON object body (`application/json`) and, except `info`, an
//! `Authorization: Bearer` access token; required parameters must be there with their types;
//! hashes are Base64 of the 32 bytes of a SHA-256. A departure is answered with the
//! specification's error (400 `invalid_request`, 401 `invalid_token`) and recorded.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::state::State;

/// An error answer: `{"error": …, "error_description": …}`.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    /// A refusal that is not the client's fault (the person refused, a SAD expired).
    pub(crate) fn answer(error: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        json(self.status, &body)
    }
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A request's JSON parameters, read for one method.
#[derive(Debug)]
pub struct Params<'a> {
    state: &'a State,
    method: &'static str,
    body: Map<String, Value>,
}

impl<'a> Params<'a> {
    /// The request of `method` (`credentials/authorize`, …), after the configured delay: its
    /// headers checked (an access token when `token`), its body a JSON object holding only
    /// `known` parameters.
    pub(crate) async fn read(
        state: &'a State,
        method: &'static str,
        headers: &HeaderMap,
        body: &[u8],
        token: bool,
        known: &[&str],
    ) -> Result<Params<'a>, Refusal> {
        crate::routes::delayed(state).await;
        state.call(method);
        let refuse = |status, error, what: String| {
            state.violation(format!("{method}: {what}"));
            Refusal {
                status,
                error,
                description: what,
            }
        };
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/json") {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("Content-Type {content_type:?}, not application/json"),
            ));
        }
        if token {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            match bearer {
                None => {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Malformed authorization header".into(),
                    ));
                }
                Some(token) if !state.token_valid(token) => {
                    return Err(refuse(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "The access token is not valid".into(),
                    ));
                }
                Some(_) => {}
            }
        }
        let body: Map<String, Value> = match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the body is not a JSON object".into(),
                ));
            }
        };
        if let Some(unknown) = body.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("unknown parameter {unknown}"),
            ));
        }
        Ok(Params {
            state,
            method,
            body,
        })
    }

    fn invalid(&self, what: String) -> Refusal {
        self.state.violation(format!("{}: {what}", self.method));
        Refusal {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: what,
        }
    }

    /// A required string parameter.
    pub(crate) fn string(&self, name: &str) -> Result<String, Refusal> {
        match self.body.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(self.invalid(format!("Missing (or invalid type) string parameter {name}"))),
        }
    }

    /// An optional string parameter.
    pub(crate) fn optional_string(&self, name: &str) -> Result<Option<String>, Refusal> {
        match self.body.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(format!("Invalid type of string parameter {name}"))),
        }
    }

    /// A required positive integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<u64, Refusal> {
        match self.body.get(name).and_then(Value::as_u64) {
            Some(n) => Ok(n),
            None => Err(self.invalid(format!(
                "Missing (or invalid type) integer parameter {name}"
            ))),
        }
    }

    /// A required array of Base64 SHA-256 hashes, not empty.
    pub(crate) fn hashes(&self, name: &str) -> Result<Vec<Vec<u8>>, Refusal> {
        let Some(Value::Array(items)) = self.body.get(name) else {
            return Err(self.invalid(format!("Missing (or invalid type) array parameter {name}")));
        };
        if items.is_empty() {
            return Err(self.invalid("Empty hash array".into()));
        }
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|s| STANDARD.decode(s).ok())
                    .filter(|h| h.len() == 32)
                    .ok_or_else(|| self.invalid("Invalid Base64 hash string parameter".into()))
            })
            .collect()
    }

    /// Records a departure that is the client's and answers it.
    pub(crate) fn refuse(&self, what: &str) -> Refusal {
        self.invalid(what.to_string())
    }
}
