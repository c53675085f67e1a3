//! `signq verify` on a PDF: the signatures inside it, made by a signer of the ward's own CA,
//! each verified with its byte range; one changed byte is reported.

use signq_kit::identity::Role;
use signq_pades::{Place, Signature, prepare};
use signq_signer::cms::CmsSigner;
use signq_signer::pki::{SignerSpec, Validity, WardInfo};
use time::{Duration, OffsetDateTime};

use super::fixture::{Ward, run};

#[test]
fn verify_checks_every_signature_inside_a_pdf() {
    let ward = Ward::start(&[]);
    let pki = ward.pki();
    let now = OffsetDateTime::now_utc();
    let spec = SignerSpec {
        signer_id: "cat-lai/deputy-9".into(),
        display_name: "Lê Thị Hoa".into(),
        role: Role::Deputy,
        ward: WardInfo {
            id: "cat-lai".into(),
            name: "Phường Cát Lái".into(),
        },
    };
    let validity = Validity {
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
    };
    let (cert, key) = pki.issue_signer(&spec, validity).expect("issue");
    let signer = CmsSigner::new(
        &key,
        cert.cert_der.clone(),
        vec![pki.ca_cert_der().to_vec()],
    )
    .expect("signer");
    let sign = |pdf: &[u8]| {
        let prepared = prepare(
            pdf,
            &Signature {
                signing_time: now,
                name: "Lê Thị Hoa".into(),
                reason: None,
                location: None,
                place: Place::default(),
                lines: vec![
                    "KT. CHỦ TỊCH".into(),
                    "PHÓ CHỦ TỊCH".into(),
                    "Lê Thị Hoa".into(),
                ],
            },
        )
        .expect("prepare");
        let cms = signer
            .sign_cades_detached(&prepared.signed_parts(), &[])
            .expect("sign");
        prepared.embed(&cms).expect("embed")
    };
    let twice = sign(&sign(
        &signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF"),
    ));
    let path = ward.path("twice.pdf");
    std::fs::write(&path, &twice).expect("write");

    let out = run(&ward, &["verify", path.to_str().expect("utf8")], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("signq-1: signature OK (ETSI.CAdES.detached)"),
        "{text}"
    );
    assert!(
        text.contains("signq-2: signature OK (ETSI.CAdES.detached)"),
        "{text}"
    );
    assert!(text.contains("signed by:  Lê Thị Hoa (deputy)"), "{text}");
    assert!(text.contains("covers:     the whole file"), "{text}");
    assert!(text.contains("bytes of later updates follow"), "{text}");

    let at = twice
        .windows(18)
        .position(|w| w == b"trich luc khai sin")
        .expect("the page's text");
    let mut tampered = twice.clone();
    tampered[at] = b'X';
    std::fs::write(&path, &tampered).expect("write");
    let out = run(&ward, &["verify", path.to_str().expect("utf8")], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a changed byte passed: {text}");
    assert_eq!(text.matches("signature INVALID").count(), 2, "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 of 2 signature(s) INVALID"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let note = ward.path("note.txt");
    std::fs::write(&note, "không phải PDF").expect("write");
    let out = run(&ward, &["verify", note.to_str().expect("utf8")], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a PDF: give its detached signature with --signature"),
        "{err}"
    );
}
