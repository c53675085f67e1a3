//! Keys at a remote signing provider (CSC API v2), end to end against the strict test provider:
//! a director registered by `signq pki signer --remote` approves a batch with their PIN; the
//! whole batch is one confirmation in their signing app (one authorisation of every hash, one
//! `signHash`), with the same short code on the tablet and in the app; the records stay with the
//! director while they wait, also through a SIGKILL of the services, and are signed once the
//! person confirms: the signatures verify (openssl, pyHanko) and name the director's own
//! certificate. A confirmation that expires returns its records to the pool, and the person's
//! confirmation arriving after that signs nothing.

use std::time::Duration;

use signq_csc_testserver::{Config, Credential, Provider};
use signq_kit::identity::Role;
use signq_proto::v1::{ApproveRequest, RecordState};
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};

use signq_proto::v1::stream_inbox_response::Event;

use super::fixture::{
    Ward, enrol, get_record, intake, keystore_certificate, openssl_verifies, run, sign_in,
    submission, submit_request,
};
use super::flow::{holding, leased, next, open};
use super::pdf::{land_records, show, valid_signatures, with_documents};

/// The remote director and the PIN they approve with.
const DIRECTOR_3: (&str, &str) = ("cat-lai/director-3", "135246");
/// Their credential at the provider.
const CREDENTIAL: &str = "cred-director-3";

/// A provider holding the director's credential: a key and the certificate the provider's own
/// CA issued for it.
async fn provider(dir: &std::path::Path) -> Provider {
    let ward = WardInfo {
        id: "provider".into(),
        name: "Remote signing provider".into(),
    };
    let ca = Pki::init(
        &dir.join("provider-ca"),
        &ward,
        b"pass",
        Validity::days_from_now(30),
    )
    .expect("the provider's CA");
    let spec = SignerSpec {
        signer_id: "provider/director-3".into(),
        display_name: "Lê Thị Hoa".into(),
        role: Role::Director,
        ward,
    };
    let (issued, key) = ca
        .issue_signer(&spec, Validity::days_from_now(30))
        .expect("issue");
    let credential = Credential {
        id: CREDENTIAL.into(),
        user_id: "director-3@cat-lai".into(),
        key_pkcs8: key.to_vec(),
        certificates: vec![issued.cert_der, ca.ca_cert_der().to_vec()],
        multisign: 100,
    };
    Provider::start(Config::new(vec![credential]))
        .await
        .expect("provider")
}

/// The provider's file for the signing service, its confirmations waiting `timeout_secs`.
fn provider_file(dir: &std::path::Path, provider: &Provider, timeout_secs: u64) -> String {
    std::fs::write(dir.join("provider.secret"), "secret-of-signq\n").expect("secret");
    let file = dir.join("provider.toml");
    std::fs::write(
        &file,
        format!(
            "base_uri = \"{}\"\ntoken_uri = \"{}\"\nclient_id = \"signq\"\n\
             client_secret_file = \"provider.secret\"\nconfirmation_timeout_secs = {timeout_secs}\n",
            provider.base_uri(),
            provider.token_uri()
        ),
    )
    .expect("provider file");
    format!("csc={}", file.display())
}

/// Starts a ward whose signing service knows the provider, and registers the remote director
/// there and in the scheduler; returns the ward and the director's certificate.
async fn ward_with_remote_director(
    dir: &std::path::Path,
    provider: &Provider,
    timeout_secs: u64,
) -> (Ward, Vec<u8>) {
    let named = provider_file(dir, provider, timeout_secs);
    let ward = Ward::start(&["--remote-provider", &named]);
    let out = run(
        &ward,
        &[
            "pki",
            "signer",
            "--id",
            DIRECTOR_3.0,
            "--name",
            "Lê Thị Hoa",
            "--role",
            "director",
            "--ward-id",
            "cat-lai",
            "--ward-name",
            "Phường Cát Lái",
            "--remote",
            &named,
            "--credential",
            CREDENTIAL,
        ],
        Some(DIRECTOR_3.1),
    );
    assert!(out.status.success(), "{}", show(&out));
    let keys = ward.path("signer/keys");
    assert!(keys.join("cat-lai_director-3.remote.json").exists());
    assert!(!keys.join("cat-lai_director-3.key.json").exists());
    let certificate = keystore_certificate(&ward, DIRECTOR_3.0);
    enrol(&ward, DIRECTOR_3.0, certificate.clone(), None).await;
    (ward, certificate)
}

/// Waits until `ok` holds of the record, or fails after two minutes.
async fn record_until(
    ward: &Ward,
    id: &str,
    what: &str,
    ok: impl Fn(&signq_proto::v1::Record) -> bool,
) -> signq_proto::v1::Record {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let record = get_record(ward, id).await;
        if ok(&record) {
            return record;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {record:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The authorisation the person's app shows (other than `seen`), once it is there.
async fn pending(provider: &Provider, seen: Option<&str>) -> signq_csc_testserver::Pending {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(p) = provider
            .pending()
            .into_iter()
            .find(|p| Some(p.handle.as_str()) != seen)
        {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no authorisation asked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn approve(ids: &[&String], pin: &str) -> ApproveRequest {
    ApproveRequest {
        record_ids: ids.iter().map(|id| id.to_string()).collect(),
        pin: pin.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_confirmation_in_the_app_and_survives_a_crash_while_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = provider(dir.path()).await;
    let (mut ward, certificate) = ward_with_remote_director(dir.path(), &provider, 300).await;

    let mut intake = intake(&ward).await;
    let [first, second, text] = land_records(&mut intake, "land").await;
    let (mut director, _stream) = holding(&ward, DIRECTOR_3, 3).await;
    let status = director
        .approve(approve(&[&first], "999999"))
        .await
        .expect_err("a wrong PIN asks nothing of the person");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(provider.pending().is_empty());

    let answer = director
        .approve(approve(&[&first, &second, &text], DIRECTOR_3.1))
        .await
        .expect("sent for confirmation")
        .into_inner();
    assert_eq!(
        answer.confirmations.len(),
        1,
        "one confirmation for the batch"
    );
    let confirmation = &answer.confirmations[0];
    assert_eq!(confirmation.signatures, 3);
    assert!(
        answer
            .records
            .iter()
            .all(|r| r.state == RecordState::Leased as i32
                && r.confirmation.as_ref().map(|c| &c.code) == Some(&confirmation.code)),
        "the records wait with the director, showing the code: {:?}",
        answer.records
    );
    // The app shows the same code, for every signature of the batch at once.
    let asked = pending(&provider, None).await;
    assert_eq!(asked.num_signatures, 3);
    assert!(
        asked
            .description
            .as_deref()
            .is_some_and(|d| d.contains(&confirmation.code)),
        "{asked:?} shows {}",
        confirmation.code
    );
    // Approving again while it waits asks the person nothing more.
    let again = director
        .approve(approve(&[&first, &second, &text], DIRECTOR_3.1))
        .await
        .expect_err("already waiting");
    assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
    assert!(again.message().contains(&confirmation.code), "{again:?}");

    // Both services die while the person reads the app; the wait resumes after the restart.
    ward.kill_and_restart();
    assert!(provider.confirm(&asked.handle), "confirmed in the app");
    let mut intake = super::fixture::intake(&ward).await;
    for id in [&first, &second, &text] {
        let record = record_until(&ward, id, "signed after the confirmation", |r| {
            r.state == RecordState::Signed as i32
        })
        .await;
        assert_eq!(record.signer_id, DIRECTOR_3.0);
    }
    let signed_text = with_documents(&mut intake, &text).await;
    assert_eq!(
        signed_text.certificate_chain[0], certificate,
        "the director's own certificate"
    );
    openssl_verifies(&ward, &signed_text.document, &signed_text.signature, None);
    for (i, id) in [&first, &second].into_iter().enumerate() {
        let got = with_documents(&mut intake, id).await;
        assert_eq!(got.certificate_chain[0], certificate);
        let file = ward.path(&format!("signed-remotely-{i}.pdf"));
        std::fs::write(&file, &got.signed_document).expect("write");
        valid_signatures(&ward, &file, 1);
    }
    assert_eq!(provider.signed(), 3, "three hashes signed, each once");
    let calls = provider.calls();
    let count = |m: &str| calls.iter().filter(|c| c.as_str() == m).count();
    assert_eq!(count("credentials/authorize"), 1, "{calls:?}");
    assert_eq!(count("signatures/signHash"), 1, "{calls:?}");
    assert_eq!(provider.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_confirmation_returns_the_records_and_a_late_one_signs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = provider(dir.path()).await;
    // The signing service waits 5 seconds for the person (the provider would wait longer).
    let (ward, _) = ward_with_remote_director(dir.path(), &provider, 5).await;
    let mut intake = intake(&ward).await;
    let id = submit_request(&mut intake, submission("DD-BD", "land-late"))
        .await
        .id;
    let mut director = sign_in(&ward, DIRECTOR_3).await;
    let (mut stream, _) = open(&mut director).await;
    let first = leased(&mut stream).await;
    assert_eq!(first.id, id);
    let answer = director
        .approve(approve(&[&id], DIRECTOR_3.1))
        .await
        .expect("sent for confirmation")
        .into_inner();
    assert_eq!(answer.confirmations.len(), 1);
    let late = pending(&provider, None).await;

    // Unconfirmed in time: the record returns to the pool, unsigned, and (the director being
    // the one signed in) comes back to them under a new lease attempt.
    let back = returned(&mut stream, &id).await;
    assert!(back.confirmation.is_none(), "{back:?}");
    assert_eq!(
        get_record(&ward, &id).await.state,
        RecordState::Leased as i32
    );
    // The person confirms the old batch now: too late for it.
    assert!(provider.confirm(&late.handle), "the app still takes it");
    // Approved again, confirmed in time, the record is signed: the late confirmation's hash
    // never was (one hash signed in all).
    let answer = director
        .approve(approve(&[&id], DIRECTOR_3.1))
        .await
        .expect("sent for confirmation again")
        .into_inner();
    assert_eq!(answer.confirmations.len(), 1);
    let asked = pending(&provider, Some(&late.handle)).await;
    assert!(provider.confirm(&asked.handle));
    record_until(&ward, &id, "signed", |r| {
        r.state == RecordState::Signed as i32
    })
    .await;
    assert_eq!(
        provider.signed(),
        1,
        "only the batch confirmed in time was signed"
    );

    // Refused in the app: the record returns at once, unsigned.
    let id = submit_request(&mut intake, submission("DD-BD", "land-refused"))
        .await
        .id;
    // Its lease (news of the earlier record may come first).
    while leased(&mut stream).await.id != id {}
    director
        .approve(approve(&[&id], DIRECTOR_3.1))
        .await
        .expect("sent for confirmation");
    let refused = pending(&provider, Some(&late.handle)).await;
    assert!(provider.refuse(&refused.handle));
    returned(&mut stream, &id).await;
    assert_eq!(provider.signed(), 1, "nothing more was signed");
    let calls = provider.calls();
    let count = |m: &str| calls.iter().filter(|c| c.as_str() == m).count();
    assert_eq!(count("credentials/authorize"), 3, "{calls:?}");
    assert_eq!(count("signatures/signHash"), 1, "{calls:?}");
    assert_eq!(provider.violations(), Vec::<String>::new());
}

/// Waits for record `id` to leave the inbox unconfirmed (while it waits, it is shown with its
/// confirmation), then to come back, leased anew: the record as it comes back. News of other
/// records is passed over.
async fn returned(
    stream: &mut tonic::Streaming<signq_proto::v1::StreamInboxResponse>,
    id: &str,
) -> signq_proto::v1::Record {
    loop {
        match next(stream).await {
            Event::Leased(r) if r.id == id => assert!(r.confirmation.is_some(), "waiting: {r:?}"),
            // Earlier records' news.
            Event::Leased(_) | Event::Snapshot(_) => {}
            Event::Ended(e) if e.record_id != id => {}
            Event::Ended(e) => {
                assert_eq!(
                    (e.record_id.as_str(), e.reason.as_str()),
                    (id, "unconfirmed")
                );
                break;
            }
        }
    }
    let back = leased(stream).await;
    assert_eq!(back.id, id);
    back
}
