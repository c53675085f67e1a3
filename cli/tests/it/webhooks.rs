//! Webhooks against a real HTTPS receiver in the test process (a certificate from a test CA the
//! scheduler is told to trust): a receiver that refuses for a while, as the scheduler is killed
//! and restarted, then answers too late, then recovers, gets every event of every record once
//! after de-duplication by event id, in order per record, each request signed; an event that
//! exhausts its attempts is a dead letter, holds its record's later events, and is delivered
//! again on request.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use signq_proto::v1::admin_client::AdminClient;
use signq_proto::v1::{
    ApproveRequest, CancelRecordRequest, ListDeadLettersRequest, PullNextRequest,
    RegisterWebhookRequest, WatchRecordsRequest,
};
use tonic::Code;

use super::fixture::{DEPUTY_2, Ward, intake, run, scheduler_channel, sign_in, submit};

/// How the receiver answers.
#[derive(Debug, Clone)]
enum Mode {
    /// HTTP 500 to everything.
    Fail,
    /// Takes the next `n` requests in, then answers them after `by` (later than the scheduler
    /// waits), then accepts.
    Late { n: usize, by: Duration },
    /// 200 to everything.
    Accept,
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    event_id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    /// Whether it was taken in (answered 200, or taken in and answered late).
    taken: bool,
}

impl Got {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Debug)]
struct State {
    mode: Mode,
    /// Requests of records whose title contains this fail, whatever the mode.
    fail_titles: Option<String>,
    got: Vec<Got>,
}

/// An HTTPS receiver on loopback with a certificate from its own CA.
struct Receiver {
    url: String,
    ca_file: PathBuf,
    state: Arc<Mutex<State>>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A test CA and a certificate for 127.0.0.1 it issued: (CA PEM, leaf DER, leaf key PKCS#8).
fn test_pki() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "signq webhook test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, &ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf params");
    leaf.distinguished_name
        .push(DnType::CommonName, "webhook receiver");
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    (
        ca_cert.pem(),
        leaf_cert.der().to_vec(),
        leaf_key.serialize_der(),
    )
}

impl Receiver {
    async fn start(mode: Mode) -> Receiver {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_pem, leaf, key) = test_pki();
        let ca_file = dir.path().join("webhook-ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write the CA");
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls_pki_types::CertificateDer::from(leaf)],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .expect("server TLS");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "https://{}/hooks/signq",
            listener.local_addr().expect("addr")
        );
        let state = Arc::new(Mutex::new(State {
            mode,
            fail_titles: None,
            got: Vec::new(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, state) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        hyper::service::service_fn(move |request| answer(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Receiver {
            url,
            ca_file,
            state,
            _dir: dir,
            task,
        }
    }

    fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = mode;
    }

    fn fail_titles(&self, containing: Option<&str>) {
        lock(&self.state).fail_titles = containing.map(str::to_string);
    }

    fn got(&self) -> Vec<Got> {
        lock(&self.state).got.clone()
    }

    /// The requests taken in, the first of each event id only, in arrival order.
    fn deduplicated(&self) -> Vec<Got> {
        let mut seen = HashSet::new();
        self.got()
            .into_iter()
            .filter(|g| g.taken && seen.insert(g.event_id.clone()))
            .collect()
    }

    /// Whether every event of `wanted` (ids) has been taken in.
    fn took_all(&self, wanted: &HashSet<String>) -> bool {
        let got: HashSet<String> = self
            .deduplicated()
            .into_iter()
            .map(|g| g.event_id)
            .collect();
        wanted.is_subset(&got)
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (event_id, timestamp, signature) = (
        header("signq-event-id"),
        header("signq-timestamp"),
        header("signq-signature"),
    );
    let body = request.into_body().collect().await?.to_bytes().to_vec();
    let title = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["record"]["title"].as_str().map(str::to_string))
        .unwrap_or_default();
    let (status, delay) = {
        let mut state = lock(&state);
        let refused = state
            .fail_titles
            .as_ref()
            .is_some_and(|t| title.contains(t.as_str()));
        let (status, delay) = match (&mut state.mode, refused) {
            (_, true) | (Mode::Fail, _) => (StatusCode::INTERNAL_SERVER_ERROR, None),
            (Mode::Accept, _) => (StatusCode::OK, None),
            (Mode::Late { n, by }, _) => {
                let by = *by;
                *n -= 1;
                if *n == 0 {
                    state.mode = Mode::Accept;
                }
                (StatusCode::OK, Some(by))
            }
        };
        state.got.push(Got {
            event_id,
            timestamp,
            signature,
            body,
            taken: status == StatusCode::OK,
        });
        (status, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

/// `signq dev` options: trust the receiver's CA, retry fast, give each attempt one second.
fn options(receiver: &Receiver, attempts: &str) -> Vec<String> {
    [
        "--webhook-ca-file",
        &receiver.ca_file.display().to_string(),
        "--webhook-attempts",
        attempts,
        "--webhook-backoff-secs",
        "0.05",
        "--webhook-backoff-max-secs",
        "0.3",
        "--webhook-timeout-secs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn start(receiver: &Receiver, attempts: &str) -> Ward {
    let options = options(receiver, attempts);
    Ward::start(&options.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Waits, polling, until `done` holds; fails with `what` after `limit`.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `signq webhooks …` against the ward's scheduler as its operator; its output.
fn webhooks_cli(ward: &Ward, args: &[&str]) -> String {
    let mut all = vec!["webhooks", args[0], "--addr", &ward.scheduler];
    all.extend(&args[1..]);
    let out = run(ward, &all, None);
    assert!(out.status.success(), "signq {all:?}: {}", said(&out));
    said(&out)
}

/// Whether `got` is signed with `secret` as `docs/operations.md` says to check it.
fn verifies(got: &Got, secret: &str) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut message = format!("{}.", got.timestamp).into_bytes();
    message.extend(&got.body);
    let Some(hex) = got.signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(tag) = hex::decode(hex) else {
        return false;
    };
    ring::hmac::verify(&key, &message, &tag).is_ok()
}

/// Every event of the demo ward after `cursor`, as Watch gives them: (event id, record, state).
async fn watched(ward: &Ward, cursor: u64) -> Vec<(String, String, i32)> {
    let mut stream = intake(ward)
        .await
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: cursor,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut events = Vec::new();
    while let Ok(Ok(Some(event))) =
        tokio::time::timeout(Duration::from_millis(700), stream.message()).await
    {
        let record = event.record.expect("record");
        events.push((format!("evt-{}", event.cursor), record.id, record.state));
    }
    events
}

/// The value of the lag gauge of `webhook` on the metrics page, if exported.
fn lag(ward: &Ward, webhook: &str) -> Option<f64> {
    let page = super::fixture::http_get(&ward.metrics);
    page.lines()
        .find(|l| {
            l.starts_with("signq_scheduler_webhook_delivery_lag_seconds{")
                && l.contains(&format!("webhook=\"{webhook}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_every_event_once_in_order_after_deduplication() {
    let receiver = Receiver::start(Mode::Fail).await;
    let mut ward = start(&receiver, "1000");

    // Registered by the operator's command; the secret is shown once.
    let out = webhooks_cli(&ward, &["add", "--url", &receiver.url]);
    let mut lines = out.lines();
    let first: Vec<&str> = lines.next().expect("the webhook").split('\t').collect();
    let (id, registered_at) = (
        first[0].to_string(),
        first[3]
            .strip_prefix("cursor ")
            .expect("cursor")
            .parse::<u64>()
            .expect("a number"),
    );
    let secret = lines
        .find_map(|l| l.strip_prefix("secret "))
        .expect("the secret")
        .to_string();
    assert!(webhooks_cli(&ward, &["list"]).contains(&id));

    // The receiver refuses while records are submitted and signed: attempts pile up.
    let mut desk = intake(&ward).await;
    let mut ids = Vec::new();
    for key in ["wh-down-1", "wh-down-2", "wh-down-3"] {
        ids.push(submit(&mut desk, "HT-KT", key).await.id);
    }
    let mut deputy = sign_in(&ward, DEPUTY_2).await;
    deputy
        .pull_next(PullNextRequest { max: 0 })
        .await
        .expect("pull");
    deputy
        .approve(ApproveRequest {
            record_ids: ids.clone(),
            pin: DEPUTY_2.1.into(),
        })
        .await
        .expect("approve");
    until("refused attempts", Duration::from_secs(30), || {
        receiver.got().len() >= 5
    })
    .await;
    until("a lag while down", Duration::from_secs(10), || {
        lag(&ward, &id).is_some_and(|l| l > 0.0)
    })
    .await;
    assert!(receiver.deduplicated().is_empty(), "nothing taken in yet");

    // Killed with events pending, started again on the same data: more records meanwhile.
    ward.kill_and_restart();
    let mut desk = intake(&ward).await;
    let kept = submit(&mut desk, "HT-KT", "wh-after-1").await.id;
    let cancelled = submit(&mut desk, "HT-KT", "wh-after-2").await.id;
    desk.cancel_record(CancelRecordRequest {
        id: cancelled.clone(),
        reason: "withdrawn by the citizen".into(),
    })
    .await
    .expect("cancel");
    let mut deputy = sign_in(&ward, DEPUTY_2).await;
    deputy
        .pull_next(PullNextRequest { max: 0 })
        .await
        .expect("pull");
    deputy
        .approve(ApproveRequest {
            record_ids: vec![kept.clone()],
            pin: DEPUTY_2.1.into(),
        })
        .await
        .expect("approve");
    ids.extend([kept, cancelled]);

    // It answers too late twice (taking the events in: the retries are duplicates), then
    // recovers.
    receiver.set_mode(Mode::Late {
        n: 2,
        by: Duration::from_millis(1500),
    });
    let expected = watched(&ward, registered_at).await;
    for record in &ids {
        assert!(expected.iter().any(|e| &e.1 == record), "{record} on Watch");
    }
    let wanted: HashSet<String> = expected.iter().map(|e| e.0.clone()).collect();
    until("every event taken in", Duration::from_secs(90), || {
        receiver.took_all(&wanted)
    })
    .await;

    // Each exactly once after de-duplication, nothing else, in order per record, as Watch said.
    let taken = receiver.deduplicated();
    assert_eq!(taken.len(), expected.len(), "no event of another time");
    let mut last: HashMap<String, u64> = HashMap::new();
    for got in &taken {
        let body = got.json();
        let cursor = body["cursor"].as_u64().expect("cursor");
        assert_eq!(body["id"], got.event_id.as_str());
        assert_eq!(body["webhook_id"], id.as_str());
        assert_eq!(body["ward"], "cat-lai");
        let record = body["record"]["id"]
            .as_str()
            .expect("record id")
            .to_string();
        assert!(ids.contains(&record), "{record} is one of the test's");
        if let Some(before) = last.insert(record.clone(), cursor) {
            assert!(
                before < cursor,
                "{record}: event {cursor} came after {before}"
            );
        }
        let watch = expected
            .iter()
            .find(|e| e.0 == got.event_id)
            .expect("an event Watch gave");
        assert_eq!(watch.1, record);
    }
    for record in &ids {
        assert!(last.contains_key(record), "{record}'s events arrived");
    }
    let states: Vec<String> = taken
        .iter()
        .map(Got::json)
        .filter(|b| b["record"]["id"] == ids[4].as_str() && b["kind"] == "changed")
        .map(|b| {
            b["record"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(states, ["queued", "cancelled"]);

    // At least once: the answers that came too late were sent again.
    let all = receiver.got();
    assert!(
        all.iter().filter(|g| g.taken).count() > taken.len(),
        "the late answers' events were delivered again"
    );
    // Every request, refused or not, carries the webhook's signature.
    assert!(
        all.iter().all(|g| verifies(g, &secret)),
        "every HMAC verifies"
    );
    assert!(!verifies(&all[0], "another secret"));

    until("no lag once delivered", Duration::from_secs(10), || {
        lag(&ward, &id) == Some(0.0)
    })
    .await;
    let out = webhooks_cli(&ward, &["remove", &id]);
    assert!(out.contains(&id), "{out}");
    assert!(!webhooks_cli(&ward, &["list"]).contains(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_exhausts_its_attempts_is_a_dead_letter_and_is_redelivered_in_order() {
    let receiver = Receiver::start(Mode::Accept).await;
    let ward = start(&receiver, "2");
    let mut admin = AdminClient::new(scheduler_channel(&ward, Some("operator")).await);

    // Precise refusals.
    let refused = admin
        .register_webhook(RegisterWebhookRequest {
            ward: "cat-lai".into(),
            url: receiver.url.replace("https://", "http://"),
            secret: String::new(),
        })
        .await
        .expect_err("plain HTTP");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().starts_with("url: "), "{refused:?}");
    let refused = admin
        .register_webhook(RegisterWebhookRequest {
            ward: "cat-lai".into(),
            url: receiver.url.clone(),
            secret: "short".into(),
        })
        .await
        .expect_err("a short secret");
    assert!(refused.message().starts_with("secret: "), "{refused:?}");
    let refused = admin
        .register_webhook(RegisterWebhookRequest {
            ward: "nowhere".into(),
            url: receiver.url.clone(),
            secret: String::new(),
        })
        .await
        .expect_err("no such ward");
    assert_eq!(refused.code(), Code::NotFound);

    // Given its secret by the operator.
    let secret = "a-secret-the-intake-system-chose-0123456789".to_string();
    let reply = admin
        .register_webhook(RegisterWebhookRequest {
            ward: "cat-lai".into(),
            url: receiver.url.clone(),
            secret: secret.clone(),
        })
        .await
        .expect("register")
        .into_inner();
    assert_eq!(reply.secret, secret);
    let id = reply.webhook.expect("webhook").id;

    // Record "dead" is refused every time: its submit exhausts two attempts, and its
    // cancellation is held behind it; record "fine" goes through meanwhile.
    receiver.fail_titles(Some("dead"));
    let mut desk = intake(&ward).await;
    let dead = submit(&mut desk, "HT-KT", "wh-dead").await.id;
    let fine = submit(&mut desk, "HT-KT", "wh-fine").await.id;
    desk.cancel_record(CancelRecordRequest {
        id: dead.clone(),
        reason: "withdrawn".into(),
    })
    .await
    .expect("cancel");
    let letters = || {
        let mut admin = admin.clone();
        let id = id.clone();
        async move {
            admin
                .list_dead_letters(ListDeadLettersRequest {
                    webhook_id: id,
                    page_size: 0,
                })
                .await
                .expect("dead letters")
                .into_inner()
                .dead_letters
        }
    };
    let start = Instant::now();
    let mut dead_letters = letters().await;
    while dead_letters.len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{dead_letters:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        dead_letters = letters().await;
    }
    assert_eq!(dead_letters.len(), 2, "{dead_letters:?}");
    for letter in &dead_letters {
        assert_eq!(letter.record.as_ref().expect("record").id, dead);
    }
    assert_eq!(dead_letters[0].attempts, 2);
    assert!(dead_letters[0].error.contains("500"), "{dead_letters:?}");
    assert_eq!(dead_letters[1].attempts, 0, "held, never attempted");
    assert!(dead_letters[0].cursor < dead_letters[1].cursor);
    until(
        "the other record delivered",
        Duration::from_secs(30),
        || {
            receiver
                .deduplicated()
                .iter()
                .any(|g| g.json()["record"]["id"] == fine.as_str())
        },
    )
    .await;
    let listed = webhooks_cli(&ward, &["dead-letters", &id]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("attempts 2"), "{listed}");

    // The receiver is fixed; redelivered on request, in order, and the list empties.
    receiver.fail_titles(None);
    let out = webhooks_cli(&ward, &["redeliver", &id]);
    assert!(out.contains("2 dead letters"), "{out}");
    until(
        "the dead letters delivered",
        Duration::from_secs(30),
        || {
            receiver
                .deduplicated()
                .iter()
                .filter(|g| g.json()["record"]["id"] == dead.as_str())
                .count()
                == 2
        },
    )
    .await;
    let redelivered: Vec<u64> = receiver
        .deduplicated()
        .iter()
        .filter(|g| g.json()["record"]["id"] == dead.as_str())
        .map(|g| g.json()["cursor"].as_u64().expect("cursor"))
        .collect();
    assert_eq!(
        redelivered,
        [dead_letters[0].cursor, dead_letters[1].cursor]
    );
    let start = Instant::now();
    while !letters().await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dead letters stay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receiver.got().iter().all(|g| verifies(g, &secret)));
}

/// The sum of the samples of `name` whose labels contain `label` on the metrics page at `url`.
fn sample(url: &str, name: &str, label: &str) -> f64 {
    super::fixture::http_get(url)
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_deliver_each_event_once_and_another_takes_over_from_a_dead_owner() {
    use super::replicas::{fresh_database, owned_by_one_of};
    use super::services::{Services, Started};

    let receiver = Receiver::start(Mode::Accept).await;
    let url = fresh_database().await;
    let mut services = Services::provision(Some(std::path::Path::new(&url)), &[], &[]);
    assert!(matches!(services.start_signer().await, Started::Ready));
    let mut args = options(&receiver, "1000");
    args.extend(["--ownership-ttl-secs".to_string(), "1.5".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for n in 0..3 {
        let started = services.start_replica(n, &args).await;
        assert!(
            matches!(started, Started::Ready),
            "replica {n}: {started:?}"
        );
    }
    let owner = owned_by_one_of(&url, "cat-lai", &[0, 1, 2]).await;
    let other = (owner + 1) % 3;

    // Registered, and records submitted, through a replica that does not run the ward.
    services.ward.scheduler = services.replica_addr(other);
    let mut admin = AdminClient::new(scheduler_channel(&services.ward, Some("operator")).await);
    let reply = admin
        .register_webhook(RegisterWebhookRequest {
            ward: "cat-lai".into(),
            url: receiver.url.clone(),
            secret: String::new(),
        })
        .await
        .expect("register")
        .into_inner();
    let id = reply.webhook.expect("webhook").id;
    let mut desk = intake(&services.ward).await;
    let mut ids = Vec::new();
    for key in ["wh-rep-1", "wh-rep-2", "wh-rep-3", "wh-rep-4"] {
        ids.push(submit(&mut desk, "HT-KT", key).await.id);
    }
    until("the four submits", Duration::from_secs(30), || {
        receiver.deduplicated().len() >= 4
    })
    .await;
    // The owner alone delivered them, each once.
    let delivered = |n: usize| {
        sample(
            &services.replica_metrics(n),
            "signq_scheduler_webhook_deliveries_total",
            "outcome=\"delivered\"",
        )
    };
    let got = receiver.got();
    assert_eq!(got.len(), 4, "one request per event: {got:?}");
    assert_eq!(delivered(owner), 4.0);
    for n in (0..3).filter(|n| *n != owner) {
        assert_eq!(delivered(n), 0.0, "replica {n} does not run the ward");
    }

    // The owner dies; the ward's next owner delivers what comes next.
    services.kill_replica(owner);
    for key in ["wh-rep-5", "wh-rep-6"] {
        ids.push(submit(&mut desk, "HT-KT", key).await.id);
    }
    let expected = watched(&services.ward, reply_cursor(&got)).await;
    let wanted: HashSet<String> = expected.iter().map(|e| e.0.clone()).collect();
    until(
        "every event after the takeover",
        Duration::from_secs(60),
        || receiver.took_all(&wanted),
    )
    .await;
    let taken = receiver.deduplicated();
    assert_eq!(taken.len(), 6, "{taken:?}");
    let cursors: Vec<u64> = taken
        .iter()
        .map(|g| g.json()["cursor"].as_u64().expect("cursor"))
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert!(taken.iter().all(|g| g.json()["webhook_id"] == id.as_str()));
}

/// The cursor just before the first event `got` holds (what Watch resumes after).
fn reply_cursor(got: &[Got]) -> u64 {
    got.iter()
        .filter_map(|g| g.json()["cursor"].as_u64())
        .min()
        .map_or(0, |c| c - 1)
}
