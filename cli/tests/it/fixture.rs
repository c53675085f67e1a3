//! A demo ward served by a real `signq dev` process, and clients to talk to it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use signq_kit::secrets::Kek;
use signq_kit::tls::{ClientTls, TlsFiles, Trust};
use signq_proto::v1::signer_client::SignerClient;
use signq_proto::v1::{Document, SignRequest};
use signq_signer::pki::{IssuedCert, Pki, Published};
use tonic::transport::Channel;

/// The demo signers (see `signq dev`).
pub const DIRECTOR: (&str, &str) = ("cat-lai/director", "246810");
pub const DEPUTY_1: (&str, &str) = ("cat-lai/deputy-1", "135790");
pub const DEPUTY_2: (&str, &str) = ("cat-lai/deputy-2", "975310");

/// The `signq` binary under test.
pub fn signq() -> Command {
    signq_at(None)
}

/// libfaketime for multi-threaded programs, as Debian's `faketime` package installs it (the test
/// command does).
fn libfaketime() -> PathBuf {
    let candidates = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|dir| dir.path().join("faketime/libfaketimeMT.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")]);
    candidates
        .into_iter()
        .find(|p| p.exists())
        .expect("libfaketime is not installed (the test command installs Debian's faketime)")
}

/// The `signq` binary under test, its wall clock starting at `at` (UTC, `2026-11-27 09:00:00`)
/// when given, by libfaketime preloaded into the process itself (so that killing it leaves no
/// child behind). The monotonic clock stays real.
pub fn signq_at(at: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signq"));
    if let Some(at) = at {
        cmd.env("LD_PRELOAD", libfaketime())
            .env("FAKETIME", format!("@{at}"))
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("TZ", "UTC");
    }
    cmd.env_remove("SIGNQ_PIN")
        .env_remove("SIGNQ_CA_PASSPHRASE")
        .env_remove("SIGNQ_KEK")
        .env_remove("SIGNQ_CA_DIR")
        .env_remove("SIGNQ_SECRETS_DIR")
        .env_remove("SIGNQ_DATA_DIR")
        .env_remove("SIGNQ_CONFIG")
        .env_remove("SIGNQ_STORE")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("RUST_LOG", "error")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// A running demo ward; the process is killed when this is dropped. Its temporary directory holds
/// the data directory (`data/`) and, beside it as `signq dev` makes them, the CA directory
/// (`signq-ca/`) and the secrets (`signq-secrets/`).
pub struct Ward {
    pub dir: tempfile::TempDir,
    /// The signer service's address.
    pub addr: String,
    /// The scheduler's address.
    pub scheduler: String,
    pub metrics: String,
    /// The timestamp authority's HTTP address (`http://…/`), when started with `--tsa-listen`.
    pub tsa: String,
    extra: Vec<String>,
    /// Where its wall clock starts (see [`signq_at`]); the real clock when `None`.
    clock: Option<String>,
    child: Option<Child>,
}

impl Ward {
    /// Provisions a demo ward in a fresh directory and starts it with `extra` signer options.
    pub fn start(extra: &[&str]) -> Ward {
        Ward::start_at(extra, None)
    }

    /// As [`Ward::start`], its wall clock starting at `at` (see [`signq_at`]).
    pub fn start_at(extra: &[&str], at: Option<&str>) -> Ward {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ward = Ward {
            dir,
            addr: String::new(),
            scheduler: String::new(),
            metrics: String::new(),
            tsa: String::new(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            clock: at.map(str::to_string),
            child: None,
        };
        ward.spawn();
        ward
    }

    /// Where the wall clock starts at the next (re)start.
    pub fn set_clock(&mut self, at: Option<&str>) {
        self.clock = at.map(str::to_string);
    }

    fn spawn(&mut self) {
        let mut child = signq_at(self.clock.as_deref())
            .env("SOFTHSM2_CONF", self.softhsm_conf())
            .arg("--data-dir")
            .arg(self.data())
            .args([
                "dev",
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--scheduler-listen",
                "127.0.0.1:0",
            ])
            // Persons' signatures alone unless a test asks for the ward's seal.
            .args(if self.extra.iter().any(|a| a == "--seal") {
                &[][..]
            } else {
                &["--seal", "off"][..]
            })
            .args(&self.extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn signq dev");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // `ready` comes once the scheduler is configured (ward, catalogue, signers, delegations).
        loop {
            let line = lines
                .next()
                .expect("signq dev exited early")
                .expect("read stdout");
            if let Some(a) = line.strip_prefix("signer listening on ") {
                self.addr = a.to_string();
            } else if let Some(a) = line.strip_prefix("scheduler listening on ") {
                self.scheduler = a.to_string();
            } else if let Some(m) = line.strip_prefix("metrics on ") {
                self.metrics = m.to_string();
            } else if let Some(t) = line.strip_prefix("timestamp authority listening on ") {
                self.tsa = t.to_string();
            } else if line == "ready" {
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    /// Kills the process with SIGKILL and starts it again on the same data directory.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.addr.clear();
        self.scheduler.clear();
        self.metrics.clear();
        self.spawn();
    }

    /// Kills the process with SIGKILL and leaves it stopped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// Sends SIGTERM (what a service manager sends) and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        // Liveness, not speed: a drain that never ends would hang here, so give up after a minute.
        for _ in 0..600 {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        panic!("signq did not exit after SIGTERM");
    }

    /// The ward's own SoftHSM2 configuration (its tokens under `tokens/`), made on first use:
    /// every `signq` the fixture runs sees those tokens and no other.
    pub fn softhsm_conf(&self) -> PathBuf {
        let conf = self.dir.path().join("softhsm2.conf");
        if !conf.exists() {
            let tokens = self.dir.path().join("tokens");
            std::fs::create_dir_all(&tokens).expect("token directory");
            let text = format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            );
            std::fs::write(&conf, text).expect("softhsm2.conf");
        }
        conf
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A path in the data directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.data().join(rel)
    }

    /// The CA directory.
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.path().join("signq-ca")
    }

    /// The secrets directory.
    pub fn secrets(&self) -> PathBuf {
        self.dir.path().join("signq-secrets")
    }

    /// The CA opened with its passphrase (as `signq pki` does).
    pub fn pki(&self) -> Pki {
        let pass =
            std::fs::read_to_string(self.secrets().join("ca-passphrase")).expect("passphrase");
        Pki::open(&self.ca_dir(), pass.trim().as_bytes()).expect("open the CA")
    }

    /// The key-encryption key of the holder `name`, made if it has none (as `signq pki` does).
    pub fn kek(&self, name: &str) -> Kek {
        Kek::load_or_create(
            &self
                .secrets()
                .join(format!("{}.kek", name.replace('/', "_"))),
        )
        .expect("kek")
    }

    /// Publishes a certificate just issued with its key, as `signq pki` does.
    pub fn publish(&self, issued: &IssuedCert, key: &[u8]) {
        Published::new(self.path("pki"))
            .identity(issued, key, &self.kek(&issued.name))
            .expect("publish");
    }

    pub fn delegation(&self, deputy: &str) -> Vec<u8> {
        std::fs::read(self.path(&format!("dev/{}.delegation.p7s", deputy.replace('/', "_"))))
            .expect("delegation")
    }

    /// TLS files of a certificate published into this ward's data directory.
    pub fn tls_files(&self, name: &str) -> TlsFiles {
        let published = Published::new(self.path("pki"));
        TlsFiles {
            ca: published.ca_cert(),
            crl: Some(published.crl()),
            cert: published.cert(name),
            key: published.key(name),
            key_password: self.kek(name).tls_key_password(name),
        }
    }

    /// A client presenting the certificate `name` of this ward's PKI.
    pub async fn client_as(&self, name: &str) -> SignerClient<Channel> {
        let tls = ClientTls::new(&self.tls_files(name)).expect("client tls");
        connect(&self.addr, &tls).await
    }

    /// A client with the scheduler's certificate.
    pub async fn scheduler(&self) -> SignerClient<Channel> {
        self.client_as("scheduler").await
    }

    /// A client that trusts this ward's CA and presents `identity` (or nothing).
    pub async fn client_with(
        &self,
        identity: Option<(
            Vec<rustls_pki_types::CertificateDer<'static>>,
            rustls_pki_types::PrivateKeyDer<'static>,
        )>,
    ) -> SignerClient<Channel> {
        let trust = Trust::load(self.path("pki/ca.crt.pem"), None).expect("trust");
        let tls = ClientTls::with_identity(&trust, identity).expect("client tls");
        connect(&self.addr, &tls).await
    }
}

impl Drop for Ward {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn connect(addr: &str, tls: &ClientTls) -> SignerClient<Channel> {
    let channel = signq_kit::tls::connect(addr, tls).await.expect("connect");
    SignerClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

/// A batch of `n` small documents of `procedure`.
pub fn batch(signer: (&str, &str), procedure: &str, n: usize, delegation: Vec<u8>) -> SignRequest {
    SignRequest {
        signer_id: signer.0.into(),
        pin: signer.1.into(),
        delegation,
        documents: (0..n)
            .map(|i| Document {
                record_id: format!("R-{i}"),
                procedure_code: procedure.into(),
                content: format!("record {i}").into_bytes(),
                attempt: 0,
                place: None,
            })
            .collect(),
        titles: None,
        signature_image: Vec::new(),
        confirmation_id: String::new(),
    }
}

/// Runs the `signq` binary to completion with the ward's data directory.
pub fn run(ward: &Ward, args: &[&str], pin: Option<&str>) -> std::process::Output {
    let mut cmd = signq();
    cmd.env("SOFTHSM2_CONF", ward.softhsm_conf())
        .arg("--data-dir")
        .arg(ward.data())
        .args(args);
    if let Some(pin) = pin {
        cmd.env("SIGNQ_PIN", pin);
    }
    cmd.output().expect("run signq")
}

/// A channel to the scheduler presenting the PKI certificate `name`, or none (signers).
pub async fn scheduler_channel(ward: &Ward, name: Option<&str>) -> Channel {
    let tls = match name {
        Some(name) => ClientTls::new(&ward.tls_files(name)).expect("client tls"),
        None => {
            let trust = Trust::load(ward.path("pki/ca.crt.pem"), None).expect("trust");
            ClientTls::with_identity(&trust, None).expect("client tls")
        }
    };
    signq_kit::tls::connect(&ward.scheduler, &tls)
        .await
        .expect("connect to the scheduler")
}

/// The intake client of the demo ward's one-stop desk.
pub async fn intake(ward: &Ward) -> signq_proto::v1::intake_client::IntakeClient<Channel> {
    signq_proto::v1::intake_client::IntakeClient::new(
        scheduler_channel(ward, Some("mot-cua")).await,
    )
}

/// A signer's inbox client with an open session.
pub type Inbox = signq_proto::v1::inbox_client::InboxClient<
    tonic::service::interceptor::InterceptedService<Channel, BearerToken>,
>;

/// Adds a session's bearer token to every call.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| tonic::Status::internal("token"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// The demo device enrolled for `signer` (as `signq dev` enrols one per signer).
pub fn device(signer: &str) -> String {
    format!("{signer}/tablet")
}

/// A channel to the scheduler from the demo device of `signer`.
pub async fn device_channel(ward: &Ward, signer: &str) -> Channel {
    scheduler_channel(ward, Some(&device(signer))).await
}

/// Signs in as `signer` on their device and returns the session's bearer token.
pub async fn session_token(ward: &Ward, signer: (&str, &str)) -> String {
    let channel = device_channel(ward, signer.0).await;
    signq_proto::v1::inbox_client::InboxClient::new(channel)
        .open_session(signq_proto::v1::OpenSessionRequest {
            signer_id: signer.0.into(),
            pin: signer.1.into(),
        })
        .await
        .expect("open session")
        .into_inner()
        .session
        .expect("session")
        .token
}

/// Signs in as `signer` on their device and returns the inbox client.
pub async fn sign_in(ward: &Ward, signer: (&str, &str)) -> Inbox {
    let channel = device_channel(ward, signer.0).await;
    let session = signq_proto::v1::inbox_client::InboxClient::new(channel.clone())
        .open_session(signq_proto::v1::OpenSessionRequest {
            signer_id: signer.0.into(),
            pin: signer.1.into(),
        })
        .await
        .expect("open session")
        .into_inner()
        .session
        .expect("session");
    signq_proto::v1::inbox_client::InboxClient::with_interceptor(
        channel,
        BearerToken(session.token),
    )
}

/// Submits a demo record through Intake and returns it as stored.
pub async fn submit(
    intake: &mut signq_proto::v1::intake_client::IntakeClient<Channel>,
    procedure: &str,
    key: &str,
) -> signq_proto::v1::Record {
    submit_request(intake, submission(procedure, key)).await
}

/// Submits `request`; the record as stored.
pub async fn submit_request(
    intake: &mut signq_proto::v1::intake_client::IntakeClient<Channel>,
    request: signq_proto::v1::SubmitRequest,
) -> signq_proto::v1::Record {
    intake
        .submit(request)
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record")
}

/// A submit request for the demo ward.
pub fn submission(procedure: &str, key: &str) -> signq_proto::v1::SubmitRequest {
    signq_proto::v1::SubmitRequest {
        ward: "cat-lai".into(),
        procedure_code: procedure.into(),
        title: format!("Hồ sơ {key}"),
        document: format!("Hồ sơ {procedure} {key}").into_bytes(),
        deadline: None,
        priority: signq_proto::v1::Priority::Normal as i32,
        idempotency_key: key.into(),
        signature_place: None,
    }
}

/// A record of the demo ward as Intake.GetRecord gives it, without its document.
pub async fn get_record(ward: &Ward, id: &str) -> signq_proto::v1::Record {
    intake(ward)
        .await
        .get_record(signq_proto::v1::GetRecordRequest {
            id: id.into(),
            include_document: false,
        })
        .await
        .expect("get")
        .into_inner()
        .record
        .expect("record")
}

/// Submits a death registration of the demo ward with an explicit deadline `hours` clock hours
/// from now; the record as stored.
pub async fn submit_due_in(ward: &Ward, key: &str, hours: i64) -> signq_proto::v1::Record {
    let due = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
    let mut request = submission("HT-KT", key);
    request.deadline = Some(prost_types::Timestamp {
        seconds: due.unix_timestamp(),
        nanos: 0,
    });
    intake(ward)
        .await
        .submit(request)
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record")
}

/// The body of `GET url` (plain HTTP on loopback: the metrics page).
pub fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The status and body of `POST url` with `body` as `content_type` (plain HTTP on loopback).
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("write");
    stream.write_all(body).expect("write");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read");
    let end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    let status = String::from_utf8_lossy(&reply[..end])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, reply[end + 4..].to_vec())
}

/// Asserts that `openssl cms -verify` accepts the detached `signature` over `content` against the
/// ward's CA (`purpose`: `None` for the document signer's default, `Some("any")` for a service's).
pub fn openssl_verifies(ward: &Ward, content: &[u8], signature: &[u8], purpose: Option<&str>) {
    openssl_verifies_against(&ward.path("pki/ca.crt.pem"), content, signature, purpose);
}

/// As [`openssl_verifies`], trusting the CA certificates in `ca` (PEM) instead of the ward's.
pub fn openssl_verifies_against(
    ca: &std::path::Path,
    content: &[u8],
    signature: &[u8],
    purpose: Option<&str>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (doc, sig) = (dir.path().join("content"), dir.path().join("content.p7s"));
    std::fs::write(&doc, content).expect("write");
    std::fs::write(&sig, signature).expect("write");
    let mut openssl = Command::new("openssl");
    openssl.args(["cms", "-verify", "-binary", "-inform", "DER"]);
    if let Some(purpose) = purpose {
        openssl.args(["-purpose", purpose]);
    }
    let out = openssl
        .arg("-in")
        .arg(&sig)
        .arg("-content")
        .arg(&doc)
        .arg("-CAfile")
        .arg(ca)
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Adds the ward `id` (as the operator) and issues an intake certificate `desk` acting for
/// `wards` (as `signq pki client` does).
pub async fn another_ward_and_desk(ward: &Ward, id: &str, name: &str, desk: &str, wards: &[&str]) {
    signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(ward, Some("operator")).await,
    )
    .create_ward(signq_proto::v1::CreateWardRequest {
        ward: Some(signq_proto::v1::Ward {
            id: id.into(),
            name: name.into(),
            office_hours: String::new(),
            signature_titles: None,
            seal: 0,
        }),
    })
    .await
    .expect("ward");
    let mut args = vec!["pki", "client", "--name", desk, "--role", "intake"];
    for w in wards {
        args.extend(["--ward", w]);
    }
    let issued = run(ward, &args, None);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
}

/// Enrols `signer` as an operator does: a tablet for them (`signq pki device`), then their
/// certificate in the scheduler (with `registration` for an outside CA's certificate).
pub async fn enrol(
    ward: &Ward,
    signer: &str,
    certificate: Vec<u8>,
    registration: Option<signq_proto::v1::SignerRegistration>,
) -> signq_proto::v1::SignerInfo {
    let out = run(ward, &["pki", "device", "--signer", signer], None);
    assert!(
        out.status.success(),
        "signq pki device: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    signq_proto::v1::admin_client::AdminClient::new(scheduler_channel(ward, Some("operator")).await)
        .enroll_signer(signq_proto::v1::EnrollSignerRequest {
            certificate,
            registration,
        })
        .await
        .expect("enrolled")
        .into_inner()
        .signer
        .expect("the signer")
}

/// The certificate (DER) the signing service's keystore holds for `signer`.
pub fn keystore_certificate(ward: &Ward, signer: &str) -> Vec<u8> {
    let file = ward
        .path("signer/keys")
        .join(format!("{}.crt.pem", signer.replace('/', "_")));
    let pem = std::fs::read(&file).expect("the signer's certificate");
    der::pem::decode_vec(&pem).expect("PEM").1
}

/// `signq pki trust add FILE`: its output, success or not.
pub fn trust_outside_ca(ward: &Ward, file: &std::path::Path) -> std::process::Output {
    run(
        ward,
        &["pki", "trust", "add", file.to_str().expect("utf8")],
        None,
    )
}
