//! Keys on PKCS#11 tokens, end to end with SoftHSM2 (Debian's `softhsm2`, installed by the test
//! command): a director's key generated on a token by `signq pki signer --token`, never written
//! to the keystore; submit, lease, approve with the token's PIN; the signatures verify (openssl,
//! pyHanko, pdfsig) and name the director's own certificate; a wrong PIN is the token's refusal;
//! a token gone in the middle of the day fails the batch with UNAVAILABLE and leaves the records
//! with the signer.

use std::process::Command;

use signq_proto::v1::ApproveRequest;
use tonic::Code;

use super::fixture::{
    Ward, enrol, get_record, intake, keystore_certificate, openssl_verifies,
    openssl_verifies_against, run, sign_in, submission, submit_request, trust_outside_ca,
};
use super::flow::{holding, leased, open};
use super::pdf::{land_records, show, valid_signatures, with_documents};

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
    let certificate = keystore_certificate(&ward, DIRECTOR_2.0);
    enrol(&ward, DIRECTOR_2.0, certificate.clone(), None).await;

    // Two land records, which only a director signs; the token's director is the one signed in.
    let mut intake = intake(&ward).await;
    let [first, second, text] = land_records(&mut intake, "land").await;
    let (mut director, _stream) = holding(&ward, DIRECTOR_2, 3).await;
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

/// An official's token as the government CA hands it over: the key put on it by the CA (here
/// with softhsm2-util, as a CA's tooling does) and its certificate from that CA. The ward
/// trusts the CA, registers the certificate with the key found on the token, and the director
/// signs; a key file's key imported onto a token never leaves it and gets a ward certificate.
#[tokio::test]
async fn a_government_token_signs_with_the_key_the_ca_put_there_and_an_imported_key_too() {
    let ward = Ward::start(&[]);
    let dir = ward.dir.path().to_path_buf();
    super::outside_ca::outside_ca(&dir, "gov");
    super::outside_ca::outside_ca(&dir, "unknown");
    new_token(&ward, "gov-token", DIRECTOR_2.1);
    // Both tokens before the signing service first opens the module: SoftHSM2 reads its token
    // directory once, when a process initialises it (a USB token's module sees it plugged in).
    new_token(&ward, "imported", DIRECTOR_2.1);
    softhsm(
        &ward,
        &[
            "--import",
            dir.join("gov-person.key").to_str().expect("utf8"),
            "--token",
            "gov-token",
            "--label",
            "issued-by-the-ca",
            "--id",
            "0a0b",
            "--pin",
            DIRECTOR_2.1,
        ],
    );
    let out = trust_outside_ca(&ward, &dir.join("gov-ca.pem"));
    assert!(out.status.success(), "{}", show(&out));
    let register = |token: &str, extra: &[&str]| {
        let mut args = vec![
            "pki",
            "signer",
            "--id",
            DIRECTOR_2.0,
            "--name",
            "Phạm Văn Đức",
            "--role",
            "director",
            "--ward-id",
            "cat-lai",
            "--ward-name",
            "Phường Cát Lái",
            "--token",
            token,
            "--token-module",
            SOFTHSM,
        ];
        args.extend_from_slice(extra);
        run(&ward, &args, Some(DIRECTOR_2.1))
    };
    let certificate = super::outside_ca::der_of(&dir.join("gov-person.pem"));
    let cert_path = dir.join("gov-person.pem");
    let out = register(
        "gov-token",
        &["--certificate", cert_path.to_str().expect("utf8")],
    );
    assert!(out.status.success(), "{}", show(&out));
    let keys = ward.path("signer/keys");
    assert!(keys.join("cat-lai_director-2.token.json").exists());
    assert!(keys.join("cat-lai_director-2.identity.json").exists());
    let registration = signq_proto::v1::SignerRegistration {
        signer_id: DIRECTOR_2.0.into(),
        display_name: "Phạm Văn Đức".into(),
        ward: "cat-lai".into(),
        role: signq_proto::v1::SignerRole::Director as i32,
    };
    enrol(&ward, DIRECTOR_2.0, certificate.clone(), Some(registration)).await;
    let mut intake = intake(&ward).await;
    let id = submit_request(&mut intake, submission("DD-BD", "gov-token"))
        .await
        .id;
    let mut director = sign_in(&ward, DIRECTOR_2).await;
    let (mut stream, held) = open(&mut director).await;
    if held.is_empty() {
        leased(&mut stream).await;
    }
    director
        .approve(ApproveRequest {
            record_ids: vec![id.clone()],
            pin: DIRECTOR_2.1.into(),
        })
        .await
        .expect("signed with the CA's key on the token");
    let signed = with_documents(&mut intake, &id).await;
    assert_eq!(signed.certificate_chain[0], certificate);
    openssl_verifies_against(
        &dir.join("gov-ca.pem"),
        &signed.document,
        &signed.signature,
        None,
    );

    // A key from a file, imported onto another token: a ward certificate for it, and the key
    // file is not kept.
    let key_path = dir.join("unknown-person.key");
    let out = register("imported", &["--key", key_path.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(keys.join("cat-lai_director-2.token.json").exists());
    assert!(!keys.join("cat-lai_director-2.key.json").exists());
    assert!(
        !keys.join("cat-lai_director-2.identity.json").exists(),
        "a ward certificate names the signer itself"
    );
    let reference = std::fs::read_to_string(keys.join("cat-lai_director-2.token.json"))
        .expect("token reference");
    assert!(reference.contains("\"imported\""), "{reference}");
    // The director signs with the imported key, under the ward certificate issued for it (the
    // scheduler enrols the renewed certificate as it meets it).
    let ward_certificate = keystore_certificate(&ward, DIRECTOR_2.0);
    let id = submit_request(&mut intake, submission("DD-BD", "imported"))
        .await
        .id;
    leased(&mut stream).await;
    director
        .approve(ApproveRequest {
            record_ids: vec![id.clone()],
            pin: DIRECTOR_2.1.into(),
        })
        .await
        .expect("signed with the imported key");
    let signed = with_documents(&mut intake, &id).await;
    assert_eq!(signed.certificate_chain[0], ward_certificate);
    openssl_verifies(&ward, &signed.document, &signed.signature, None);
}
