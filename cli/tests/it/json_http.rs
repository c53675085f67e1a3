//! JSON over HTTP for intake systems (the Connect protocol): the curl examples of
//! `docs/json-http.md` run against a demo ward and answer as documented; a JSON call meets the
//! same mutual TLS, roles, validation and errors as the gRPC call it stands for; and `buf curl`,
//! Connect's own client, calls the same API.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use signq_proto::v1::SubmitRequest;

use super::fixture::{Ward, intake, run, submission};

/// The certificate the documentation issues for the HTTP client.
const CLIENT: &str = "one-stop-json";

/// An intake certificate for `ward` with a PKCS#12 copy, as the documentation issues it: the
/// file and its password.
fn issue_p12(ward: &Ward, name: &str, for_ward: &str) -> (PathBuf, String) {
    let out = run(
        ward,
        &[
            "pki", "client", "--name", name, "--role", "intake", "--ward", for_ward, "--p12",
        ],
        None,
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pki client: {printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("for an HTTP client:"), "{printed}");
    let p12 = ward.secrets().join(format!("clients/{name}.p12"));
    let password = std::fs::read_to_string(p12.with_extension("p12.password")).expect("password");
    (p12, password)
}

/// The documentation's examples: each `sh` block with the `json` block after it.
fn examples(doc: &str) -> Vec<(String, Value)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let kind = line.trim_start_matches("```");
        if line.starts_with("```") && (kind == "sh" || kind == "json") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            blocks.push((kind.to_string(), body.join("\n")));
        }
    }
    blocks
        .windows(2)
        .filter(|pair| pair[0].0 == "sh" && pair[1].0 == "json")
        .map(|pair| {
            let expected = serde_json::from_str(&pair[1].1)
                .unwrap_or_else(|e| panic!("the answer after {} is not JSON: {e}", pair[0].1));
            (pair[0].1.clone(), expected)
        })
        .collect()
}

/// Whether `actual` has every field of `expected` with its value; `"…"` matches anything and an
/// expected array matches the first elements of the actual one.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == "…" => true,
        (Value::Object(want), Value::Object(have)) => want
            .iter()
            .all(|(k, v)| have.get(k).is_some_and(|h| matches(v, h))),
        (Value::Array(want), Value::Array(have)) => {
            want.len() <= have.len() && want.iter().zip(have).all(|(w, h)| matches(w, h))
        }
        _ => expected == actual,
    }
}

/// The environment the documentation's examples assume.
struct Env {
    signq: String,
    ca: PathBuf,
    p12: PathBuf,
    password: String,
}

impl Env {
    fn of(ward: &Ward, p12: PathBuf, password: String) -> Env {
        Env {
            signq: format!("https://{}", ward.scheduler),
            ca: ward.path("pki/ca.crt.pem"),
            p12,
            password,
        }
    }

    /// Runs a shell command with the variables set: its output as JSON.
    fn sh(&self, script: &str, id: &str) -> Value {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("SIGNQ", &self.signq)
            .env("CA", &self.ca)
            .env("P12", &self.p12)
            .env("P12_PASSWORD", &self.password)
            .env("ID", id)
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "{script}\nexited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{script}\nanswered no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// A JSON call with curl: the HTTP status, the `Retry-After` header and the body as JSON.
    fn call(&self, method: &str, body: &str, cert: Option<(&Path, &str)>) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["--silent", "--show-error", "--cacert"])
            .arg(&self.ca)
            .args(["-H", "Content-Type: application/json", "--data", body])
            .args(["--write-out", "\n%{http_code}"]);
        if let Some((p12, password)) = cert {
            cmd.args(["--cert-type", "P12", "--cert"])
                .arg(format!("{}:{password}", p12.display()));
        }
        let out = cmd
            .arg(format!("{}/signq.v1.Intake/{method}", self.signq))
            .output()
            .expect("curl (the test command installs it)");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "curl: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (json, status) = text.rsplit_once('\n').expect("status line");
        let body = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        (status.parse().expect("status"), body)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_curl_examples_answer_as_documented() {
    let ward = Ward::start(&[]);
    let (p12, password) = issue_p12(&ward, CLIENT, "cat-lai");
    let env = Env::of(&ward, p12, password);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/json-http.md"))
        .expect("docs/json-http.md");
    let examples = examples(&doc);
    assert!(
        examples.len() >= 5,
        "only {} examples found",
        examples.len()
    );
    let mut id = String::new();
    for (script, expected) in &examples {
        let answer = env.sh(script, &id);
        assert!(
            matches(expected, &answer),
            "{script}\nanswered {answer:#}\nnot as documented: {expected:#}"
        );
        if let Some(first) = answer["record"]["id"].as_str().filter(|_| id.is_empty()) {
            id = first.to_string();
        }
    }
    assert!(!id.is_empty(), "no example submitted a record");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_calls_meet_the_same_checks_and_errors_as_grpc() {
    let ward = Ward::start(&[]);
    let (p12, password) = issue_p12(&ward, CLIENT, "cat-lai");
    let (other_p12, other_password) = issue_p12(&ward, "other-desk", "thu-duc");
    let env = Env::of(&ward, p12.clone(), password.clone());
    let cert = Some((p12.as_path(), password.as_str()));
    let mut grpc = intake(&ward).await;

    // The same record over both: one JSON submit, then the gRPC submit with its key finds it.
    let (status, answer) = env.call(
        "Submit",
        r#"{"ward": "cat-lai", "procedure_code": "HT-KS", "title": "Hồ sơ json-1",
            "document": "SOG7kyBzxqEgSFQtS1MganNvbi0x", "idempotency_key": "json-1"}"#,
        cert,
    );
    assert_eq!(status, 200, "{answer}");
    let by_grpc = grpc
        .submit(submission("HT-KS", "json-1"))
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(answer["record"]["id"], by_grpc.id.as_str());
    assert_eq!(answer["record"]["title"], "Hồ sơ json-1");

    // Validation: the JSON caller gets the gRPC caller's code and message, word for word.
    let invalid = SubmitRequest {
        title: String::new(),
        ..submission("HT-KS", "json-2")
    };
    let refused = grpc.submit(invalid).await.expect_err("empty title");
    let (status, answer) = env.call(
        "Submit",
        r#"{"ward": "cat-lai", "procedureCode": "HT-KS", "title": "",
            "document": "SOG7kyBzxqEgSFQtS1MganNvbi0y", "idempotencyKey": "json-2"}"#,
        cert,
    );
    assert_eq!(
        (status, &answer["code"]),
        (400, &Value::from("invalid_argument"))
    );
    assert_eq!(answer["message"], refused.message());

    // Authorisation: no certificate, and a certificate for another ward.
    let anonymous = grpc_refusal_of_anonymous(&ward).await;
    let (status, answer) = env.call("ListRecords", r#"{"ward": "cat-lai"}"#, None);
    assert_eq!(
        (status, &answer["code"]),
        (401, &Value::from("unauthenticated"))
    );
    assert_eq!(answer["message"], anonymous.message());
    let (status, answer) = env.call(
        "ListRecords",
        r#"{"ward": "cat-lai"}"#,
        Some((other_p12.as_path(), other_password.as_str())),
    );
    assert_eq!(
        (status, &answer["code"]),
        (403, &Value::from("permission_denied")),
        "{answer}"
    );

    // Not found, bad JSON, a streaming method, a wrong content type: each says what was wrong.
    let (status, answer) = env.call("GetRecord", r#"{"id": "no-such-record"}"#, cert);
    assert_eq!(
        (status, &answer["code"]),
        (404, &Value::from("not_found")),
        "{answer}"
    );
    let (status, answer) = env.call("Submit", r#"{"ward": 5}"#, cert);
    assert_eq!(
        (status, &answer["code"]),
        (400, &Value::from("invalid_argument"))
    );
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("signq.v1.SubmitRequest") && m.contains("line 1 column")),
        "{answer}"
    );
    let (status, answer) = env.call("WatchRecords", r#"{"ward": "cat-lai"}"#, cert);
    assert_eq!(
        (status, &answer["code"]),
        (501, &Value::from("unimplemented"))
    );
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("webhook")),
        "{answer}"
    );
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--cacert"])
        .arg(&env.ca)
        .args(["--cert-type", "P12", "--cert"])
        .arg(format!("{}:{password}", p12.display()))
        .args(["-H", "Content-Type: text/plain", "--data", "ward=cat-lai"])
        .arg(format!("{}/signq.v1.Intake/ListRecords", env.signq))
        .output()
        .expect("curl");
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(answer["code"], "unimplemented");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("application/json"))
    );

    // A deadline in Connect's header is the call's deadline.
    let out = Command::new("curl")
        .args(["--silent", "--cacert"])
        .arg(&env.ca)
        .args(["--cert-type", "P12", "--cert"])
        .arg(format!("{}:{password}", p12.display()))
        .args([
            "-H",
            "Content-Type: application/json",
            "-H",
            "Connect-Timeout-Ms: soon",
        ])
        .args(["--data", r#"{"ward": "cat-lai"}"#])
        .arg(format!("{}/signq.v1.Intake/ListRecords", env.signq))
        .output()
        .expect("curl");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["code"], "invalid_argument");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("Connect-Timeout-Ms"))
    );
}

/// What the scheduler answers a gRPC Intake call without a client certificate.
async fn grpc_refusal_of_anonymous(ward: &Ward) -> tonic::Status {
    let channel = super::fixture::scheduler_channel(ward, None).await;
    signq_proto::v1::intake_client::IntakeClient::new(channel)
        .list_records(signq_proto::v1::ListRecordsRequest {
            ward: "cat-lai".into(),
            ..Default::default()
        })
        .await
        .expect_err("no certificate")
}

/// `buf`, as the test command installs it with the tablet's tools.
fn buf() -> PathBuf {
    let buf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tablet/node_modules/.bin/buf");
    assert!(
        buf.exists(),
        "{} is missing (the test command installs it: npm ci in tablet/)",
        buf.display()
    );
    buf
}

#[tokio::test(flavor = "multi_thread")]
async fn buf_curl_speaks_connect_to_intake() {
    let ward = Ward::start(&[]);
    let (p12, password) = issue_p12(&ward, CLIENT, "cat-lai");
    // buf reads a PEM certificate and key: openssl takes them out of the PKCS#12 file.
    let pem = ward.dir.path().join("one-stop-json.pem");
    let out = Command::new("openssl")
        .args(["pkcs12", "-nodes", "-in"])
        .arg(&p12)
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/proto");
    let out = Command::new(buf())
        .arg("curl")
        .arg("--schema")
        .arg(&schema)
        .args(["--protocol", "connect", "--cacert"])
        .arg(ward.path("pki/ca.crt.pem"))
        .arg("--cert")
        .arg(&pem)
        .arg("--key")
        .arg(&pem)
        .args([
            "--data",
            r#"{"ward": "cat-lai", "procedureCode": "HT-KS", "title": "Hồ sơ buf",
                "document": "aGVsbG8=", "idempotencyKey": "buf-1"}"#,
        ])
        .arg(format!("https://{}/signq.v1.Intake/Submit", ward.scheduler))
        .output()
        .expect("buf curl");
    assert!(
        out.status.success(),
        "buf curl: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["record"]["state"], "RECORD_STATE_QUEUED");
    let id = answer["record"]["id"].as_str().expect("id");
    let record = super::fixture::get_record(&ward, id).await;
    assert_eq!(record.title, "Hồ sơ buf");
}

/// The load generator's JSON client (`signq load submit --json`) makes records as an intake
/// system's HTTP/1.1 client would, and its refusals carry Connect's codes.
#[tokio::test(flavor = "multi_thread")]
async fn the_benchmarks_json_client_submits_over_http1() {
    use signq_load_tests::submit_bench::json::JsonReply;
    use signq_load_tests::submit_bench::{JsonClient, Target};
    let ward = Ward::start(&[]);
    let target = Target {
        addr: ward.scheduler.clone(),
        tls: signq_kit::tls::ClientTls::new(&ward.tls_files("mot-cua")).expect("client tls"),
    };
    let json = JsonClient::new(&target, 2, 512).expect("json client");
    assert_eq!(
        json.submit("Khai sinh json", "bench-json-1").await,
        JsonReply::Ok
    );
    let listed = intake(&ward)
        .await
        .list_records(signq_proto::v1::ListRecordsRequest {
            ward: "cat-lai".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed.records.iter().any(|r| r.title == "Khai sinh json"),
        "{listed:?}"
    );
    // The same key for another document is refused, by its Connect code.
    let other = JsonClient::new(&target, 1, 256).expect("json client");
    assert_eq!(
        other.submit("Khai sinh khác", "bench-json-1").await,
        JsonReply::Failed("already_exists".into())
    );
}
