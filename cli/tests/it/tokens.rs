//! Keys on PKCS#11 tokens, end to end with SoftHSM2 (Debian's `softhsm2`, installed by the test
//! command): a director's key generated on a token by `signq pki signer --token`, never written
//! to the keystore; submit, lease, approve with the token's PIN; the signatures verify (openssl,
//! pyHanko, pdfsig) and name the director's own certificate; a wrong PIN is the token's refusal;
//! a token gone in the middle of the day fails the batch with UNAVAILABLE and leaves the records
//! with the signer.

use std::process::Command;

use signq_proto::v1::{ApproveRequest, EnrollSignerRequest};
use tonic::Code;

use super::fixture::{
    Ward, get_record, intake, openssl_verifies, run, scheduler_channel, sign_in, submission,
    submit_request,
};
use super::flow::{leased, open};
use super::pdf::{pdf_submission, show, valid_signatures, with_documents};

/// Debian's SoftHSM2 module.
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The token's director and the token's user PIN.
const DIRECTOR_2: (&str, &str) = ("cat-lai/director-2", "112233");

/// Runs `softhsm2-util` on the ward's own tokens.
fn softhsm(ward: &Ward, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", ward.softhsm_conf())
        .args(args)
        .output()
        .expect("softhsm2-util (the test command installs softhsm2)");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}",
        show(&out)
    );
}

/// A token labelled `label` with the user PIN `pin`, as a ward's IT staff initialise one.
fn new_token(ward: &Ward, label: &str, pin: &str) {
    softhsm(
        ward,
        &[
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            "87654321",
            "--pin",
            pin,
        ],
    );
}

#[tokio::test]
async fn a_director_signs_from_the_queue_with_a_key_that_never_leaves_the_token() {
    let ward = Ward::start(&[]);
    new_token(&ward, "director-2", DIRECTOR_2.1);
    let out = run(
        &ward,
        &[
            "pki",
            "signer",
            "--id",
            DIRECTOR_2.0,
            "--name",
            "Nguyễn Văn Bình",
            "--role",
            "director",
            "--ward-id",
            "cat-lai",
            "--ward-name",
            "Phường Cát Lái",
            "--token",
            "director-2",
            "--token-module",
            SOFTHSM,
        ],
        Some(DIRECTOR_2.1),
    );
    assert!(out.status.success(), "{}", show(&out));
    // The keystore holds where the key is, never the key.
    let keys = ward.path("signer/keys");
    assert!(keys.join("cat-lai_director-2.token.json").exists());
    assert!(!keys.join("cat-lai_director-2.key.json").exists());
    let pem = std::fs::read(keys.join("cat-lai_director-2.crt.pem")).expect("certificate");
    let (_, certificate) = der::pem::decode_vec(&pem).expect("PEM");
    let out = run(&ward, &["pki", "device", "--signer", DIRECTOR_2.0], None);
    assert!(out.status.success(), "{}", show(&out));
    signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(&ward, Some("operator")).await,
    )
    .enroll_signer(EnrollSignerRequest {
        certificate: certificate.clone(),
        registration: None,
    })
    .await
    .expect("enrolled");

    // Two land records, which only a director signs; the token's director is the one signed in.
    let mut intake = intake(&ward).await;
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let first = submit_request(&mut intake, pdf_submission("DD-BD", "land-1", page.clone()))
        .await
        .id;
    let second = submit_request(&mut intake, pdf_submission("DD-BD", "land-2", page))
        .await
        .id;
    let text = submit_request(&mut intake, submission("DD-BD", "land-3"))
        .await
        .id;
    let mut director = sign_in(&ward, DIRECTOR_2).await;
    let (mut stream, mut held) = open(&mut director).await;
    while held.len() < 3 {
        held.push(leased(&mut stream).await);
    }
    let approve = |ids: &[&String], pin: &str| ApproveRequest {
        record_ids: ids.iter().map(|id| id.to_string()).collect(),
        pin: pin.into(),
    };
    let status = director
        .approve(approve(&[&first], "999999"))
        .await
        .expect_err("the token refuses a wrong PIN");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("wrong PIN"), "{status:?}");
    director
        .approve(approve(&[&first, &text], DIRECTOR_2.1))
        .await
        .expect("signed on the token");
    let signed_text = with_documents(&mut intake, &text).await;
    assert_eq!(signed_text.certificate_chain[0], certificate);
    openssl_verifies(&ward, &signed_text.document, &signed_text.signature, None);
    let got = with_documents(&mut intake, &first).await;
    assert_eq!(got.signer_id, DIRECTOR_2.0);
    assert_eq!(
        got.certificate_chain[0], certificate,
        "the director's own certificate"
    );
    let file = ward.path("signed-on-token.pdf");
    std::fs::write(&file, &got.signed_document).expect("write");
    valid_signatures(&ward, &file, 1);

    // The token is gone: the batch fails as unavailable, nothing is signed, and the record stays
    // with the director for when the token is back.
    softhsm(&ward, &["--delete-token", "--token", "director-2"]);
    let status = director
        .approve(approve(&[&second], DIRECTOR_2.1))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("not available"), "{status:?}");
    let record = get_record(&ward, &second).await;
    assert_eq!(record.signer_id, DIRECTOR_2.0);
    assert_eq!(
        record.state,
        signq_proto::v1::RecordState::Leased as i32,
        "{record:?}"
    );
}
