//! Signers whose certificate comes from an outside CA (as government certificates do), end to
//! end: the ward lists the CA with `signq pki trust add`; `signq pki signer --certificate --key`
//! registers who the certificate's holder is in signq (the certificate names none of it) after
//! checking it against that list; Admin enrols it with the same registration; the director signs
//! from the queue, and the signatures name their own certificate and verify against the outside
//! CA with openssl and pyHanko. A certificate of a CA nobody listed is refused, and so is a
//! registration for a ward certificate.

use std::path::Path;
use std::process::Command;

use signq_proto::v1::{ApproveRequest, EnrollSignerRequest, SignerRegistration, SignerRole};
use tonic::Code;

use super::fixture::{
    Ward, intake, openssl_verifies_against, run, scheduler_channel, submission, submit_request,
    trust_outside_ca,
};
use super::flow::holding;
use super::pdf::{judge, pdf_submission, pyhanko, show, with_documents};

/// The director with a government certificate, and their PIN.
const DIRECTOR_4: (&str, &str) = ("cat-lai/director-4", "314159");
const NAME: &str = "Phạm Văn Đức";

/// Runs openssl in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", show(&out));
}

/// An outside CA in `dir` (`<name>-ca.pem`, `<name>-ca.key`) and a person's signing certificate
/// it issued (`<name>-person.pem`, key `<name>-person.key`, PKCS#8): as a government CA issues
/// them, naming the person and their organisation but nothing of signq.
pub(super) fn outside_ca(dir: &Path, name: &str) {
    let ca = format!("{name}-ca");
    let person = format!("{name}-person");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{ca}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-utf8",
            "-key",
            &format!("{ca}.key"),
            "-days",
            "30",
            "-subj",
            &format!("/C=VN/O=Government test PKI/CN={name} signing CA"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &format!("{ca}.pem"),
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{person}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-utf8",
            "-key",
            &format!("{person}.key"),
            "-subj",
            &format!("/C=VN/O=UBND Phường Cát Lái/CN={NAME}/serialNumber=CCCD:079200001234"),
            "-out",
            &format!("{person}.csr"),
        ],
    );
    std::fs::write(
        dir.join("person.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         extendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .expect("extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{person}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "person.ext",
            "-out",
            &format!("{person}.pem"),
        ],
    );
}

pub(super) fn der_of(pem_file: &Path) -> Vec<u8> {
    let pem = std::fs::read(pem_file).expect("read");
    der::pem::decode_vec(&pem).expect("PEM").1
}

/// `signq pki signer` registering the director with the outside certificate of `name`.
fn register(ward: &Ward, name: &str) -> std::process::Output {
    let dir = ward.dir.path();
    let cert = dir.join(format!("{name}-person.pem"));
    let key = dir.join(format!("{name}-person.key"));
    run(
        ward,
        &[
            "pki",
            "signer",
            "--id",
            DIRECTOR_4.0,
            "--name",
            NAME,
            "--role",
            "director",
            "--ward-id",
            "cat-lai",
            "--ward-name",
            "Phường Cát Lái",
            "--certificate",
            cert.to_str().expect("utf8"),
            "--key",
            key.to_str().expect("utf8"),
        ],
        Some(DIRECTOR_4.1),
    )
}

#[tokio::test]
async fn a_director_signs_with_a_certificate_of_a_trusted_outside_ca() {
    let ward = Ward::start(&[]);
    let dir = ward.dir.path().to_path_buf();
    outside_ca(&dir, "gov");
    outside_ca(&dir, "unknown");

    // Before the ward trusts the CA, the certificate is refused, and nothing is written.
    let out = register(&ward, "gov");
    assert!(!out.status.success());
    assert!(show(&out).contains("signq pki trust add"), "{}", show(&out));
    let keys = ward.path("signer/keys");
    assert!(!keys.join("cat-lai_director-4.crt.pem").exists());
    // A person's certificate is no CA to trust.
    let out = trust_outside_ca(&ward, &dir.join("gov-person.pem"));
    assert!(!out.status.success());
    assert!(
        show(&out).contains("not a CA certificate"),
        "{}",
        show(&out)
    );
    let out = trust_outside_ca(&ward, &dir.join("gov-ca.pem"));
    assert!(out.status.success(), "{}", show(&out));
    let out = run(&ward, &["pki", "trust", "list"], None);
    assert!(show(&out).contains("gov signing CA"), "{}", show(&out));
    // Another CA's certificate is still refused.
    let out = register(&ward, "unknown");
    assert!(!out.status.success(), "{}", show(&out));

    let out = register(&ward, "gov");
    assert!(out.status.success(), "{}", show(&out));
    assert!(keys.join("cat-lai_director-4.identity.json").exists());
    let certificate = der_of(&dir.join("gov-person.pem"));
    let out = run(&ward, &["pki", "device", "--signer", DIRECTOR_4.0], None);
    assert!(out.status.success(), "{}", show(&out));

    let mut admin = signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(&ward, Some("operator")).await,
    );
    let status = admin
        .enroll_signer(EnrollSignerRequest {
            certificate: certificate.clone(),
            registration: None,
        })
        .await
        .expect_err("who it is, the certificate does not say");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("registration"), "{status:?}");
    let registration = SignerRegistration {
        signer_id: DIRECTOR_4.0.into(),
        display_name: NAME.into(),
        ward: "cat-lai".into(),
        role: SignerRole::Director as i32,
    };
    let status = admin
        .enroll_signer(EnrollSignerRequest {
            certificate: der_of(&dir.join("unknown-person.pem")),
            registration: Some(registration.clone()),
        })
        .await
        .expect_err("an untrusted CA");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let enrolled = admin
        .enroll_signer(EnrollSignerRequest {
            certificate: certificate.clone(),
            registration: Some(registration),
        })
        .await
        .expect("enrolled")
        .into_inner()
        .signer
        .expect("signer");
    assert_eq!(
        (enrolled.signer_id.as_str(), enrolled.display_name.as_str()),
        (DIRECTOR_4.0, NAME)
    );

    let mut intake = intake(&ward).await;
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let pdf = submit_request(&mut intake, pdf_submission("DD-BD", "gov-1", page))
        .await
        .id;
    let text = submit_request(&mut intake, submission("DD-BD", "gov-2"))
        .await
        .id;
    let (mut director, _stream) = holding(&ward, DIRECTOR_4, 2).await;
    director
        .approve(ApproveRequest {
            record_ids: vec![pdf.clone(), text.clone()],
            pin: DIRECTOR_4.1.into(),
        })
        .await
        .expect("signed");

    // Signed with the government certificate, carrying the government CA.
    let ca = der_of(&dir.join("gov-ca.pem"));
    let signed_text = with_documents(&mut intake, &text).await;
    assert_eq!(signed_text.signer_id, DIRECTOR_4.0);
    assert_eq!(
        signed_text.certificate_chain[0], certificate,
        "their own certificate"
    );
    assert!(
        signed_text.certificate_chain.contains(&ca),
        "the outside CA in the chain"
    );
    openssl_verifies_against(
        &dir.join("gov-ca.pem"),
        &signed_text.document,
        &signed_text.signature,
        None,
    );
    let signed_pdf = with_documents(&mut intake, &pdf).await;
    assert_eq!(signed_pdf.certificate_chain[0], certificate);
    std::fs::write(dir.join("gov-signed.pdf"), &signed_pdf.signed_document).expect("write");
    // pyHanko trusts the outside CA for the person and the ward CA for the timestamp.
    let ward_ca = ward.path("pki/ca.crt.pem");
    let out = judge(
        &pyhanko(),
        &[
            "sign",
            "validate",
            "--trust",
            "gov-ca.pem",
            "--trust",
            ward_ca.to_str().expect("utf8"),
            "--trust-replace",
            "--pretty-print",
            "gov-signed.pdf",
        ],
        &dir,
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pyHanko: {}", show(&out));
    assert!(
        report.contains("The signature is judged VALID."),
        "{report}"
    );
    assert!(
        report.contains(NAME),
        "the signer named as the certificate names them: {report}"
    );
    // And signq's own verification, which reads the same trust list.
    let out = run(&ward, &["audit", "verify"], None);
    assert!(out.status.success(), "{}", show(&out));
}
