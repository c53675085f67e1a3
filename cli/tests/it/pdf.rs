//! `signq verify` on a PDF: the signatures inside it, made by a signer of the ward's own CA,
//! each verified with its byte range; one changed byte is reported.

use lopdf::{Document, Object, Stream, dictionary};
use signq_kit::identity::Role;
use signq_pades::{Place, Signature, prepare};
use signq_signer::cms::CmsSigner;
use signq_signer::pki::{SignerSpec, Validity, WardInfo};
use time::{Duration, OffsetDateTime};

use super::fixture::{Ward, run};

fn one_page_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 12 Tf 72 770 Td (Trich luc khai sinh) Tj ET".to_vec(),
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => content,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("fixture PDF");
    bytes
}

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
    let twice = sign(&sign(&one_page_pdf()));
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
        .position(|w| w == b"Trich luc khai sin")
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
