//! The provider holds every request to the specification: a request a lenient provider would
//! take is answered with the specification's error and recorded as a violation.

use std::time::Duration;

use axum::http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use signq_csc_testserver::{Config, Provider};

/// POSTs `body` with `content_type` (and a bearer `token`); the status and the body.
async fn post(
    uri: &str,
    content_type: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        client.request(
            request
                .body(Full::new(body.to_string().into()))
                .expect("request"),
        ),
    )
    .await
    .expect("in time")
    .expect("answered");
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
async fn departures_from_the_specification_are_refused_and_recorded() {
    let provider = Provider::start(Config::new(Vec::new()))
        .await
        .expect("provider");
    let form = "application/x-www-form-urlencoded";
    let (status, body) = post(
        &provider.token_uri(),
        form,
        None,
        "grant_type=client_credentials&client_id=signq&client_secret=secret-of-signq",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let token = token["access_token"].as_str().expect("a token").to_string();
    let method = |m: &str| format!("{}/{m}", provider.base_uri());
    let json = "application/json";

    let cases = [
        (
            method("credentials/list"),
            json,
            None,
            r#"{"userID":"u"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            method("credentials/list"),
            json,
            Some("forged"),
            r#"{"userID":"u"}"#,
            StatusCode::UNAUTHORIZED,
        ),
        (
            method("credentials/list"),
            "text/plain",
            Some(token.as_str()),
            r#"{"userID":"u"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            method("credentials/list"),
            json,
            Some(token.as_str()),
            r#"{}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            method("credentials/authorize"),
            json,
            Some(token.as_str()),
            r#"{"credentialID":"c","numSignatures":"2"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            method("signatures/signHash"),
            json,
            Some(token.as_str()),
            r#"{"credentialID":"c","SAD":"s","hashes":["not base64!"],"signAlgo":"1.2.840.10045.4.3.2"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            method("signatures/signHash"),
            json,
            Some(token.as_str()),
            r#"{"credentialID":"c","SAD":"s","hashes":[],"signAlgo":"1.2.840.10045.4.3.2","bogus":1}"#,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (uri, content_type, token, body, want) in &cases {
        let (status, answer) = post(uri, content_type, *token, body).await;
        assert_eq!(status, *want, "{uri} {body}: {answer}");
        assert!(answer.contains("\"error\""), "{answer}");
    }
    let violations = provider.violations();
    assert_eq!(violations.len(), cases.len(), "{violations:?}");
    assert!(
        violations[0].contains("Malformed authorization header"),
        "{violations:?}"
    );
    assert!(
        violations[3].contains("string parameter userID"),
        "{violations:?}"
    );
    assert!(
        violations[4].contains("integer parameter numSignatures"),
        "{violations:?}"
    );
    assert!(
        violations[5].contains("Invalid Base64 hash"),
        "{violations:?}"
    );
    assert!(
        violations[6].contains("unknown parameter bogus"),
        "{violations:?}"
    );
    // A token asked for another way is refused too.
    let (status, _) = post(&provider.token_uri(), form, None, "grant_type=password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
