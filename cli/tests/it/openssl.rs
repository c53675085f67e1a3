//! A signature from `signq sign` verifies with the openssl CLI and with `signq verify`; a one-byte
//! change to the document makes both fail.

use std::process::Command;

use super::fixture::{DEPUTY_1, DIRECTOR, Ward, run};

fn openssl_verify(ward: &Ward, doc: &std::path::Path) -> bool {
    let p7s = format!("{}.p7s", doc.display());
    Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-in", &p7s, "-content",
        ])
        .arg(doc)
        .arg("-CAfile")
        .arg(ward.path("pki/ca.crt.pem"))
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl CLI (the test command installs it)")
        .status
        .success()
}

#[test]
fn signatures_verify_with_openssl_and_signq_and_tampering_fails_both() {
    let ward = Ward::start(&[]);
    let dir = ward.path("docs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let doc = dir.join("ban-sao-khai-sinh.txt");
    std::fs::write(&doc, b"Ban sao trich luc khai sinh - Nguyen Van An").expect("write");
    let delegation = ward.path("dev/cat-lai_deputy-1.delegation.p7s");
    let signed = run(
        &ward,
        &[
            "sign",
            "--addr",
            &ward.addr,
            "--signer",
            DEPUTY_1.0,
            "--procedure",
            "CT-BS",
            "--delegation",
            delegation.to_str().expect("utf8"),
            doc.to_str().expect("utf8"),
        ],
        Some(DEPUTY_1.1),
    );
    assert!(
        signed.status.success(),
        "sign failed: {}",
        String::from_utf8_lossy(&signed.stderr)
    );

    assert!(
        openssl_verify(&ward, &doc),
        "openssl cms -verify rejects a good signature"
    );
    let p7s = format!("{}.p7s", doc.display());
    let verified = run(
        &ward,
        &[
            "verify",
            "--signature",
            &p7s,
            "--delegation",
            delegation.to_str().expect("utf8"),
            doc.to_str().expect("utf8"),
        ],
        None,
    );
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "signq verify failed: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(text.contains("Lê Văn Phúc (deputy)"), "{text}");
    assert!(
        text.contains("delegation: cat-lai/deputy-1/dev, granted by cat-lai/director"),
        "{text}"
    );
    assert!(text.contains("procedure CT-BS"), "{text}");

    let mut bytes = std::fs::read(&doc).expect("read");
    bytes[10] ^= 0x01;
    std::fs::write(&doc, &bytes).expect("write");
    assert!(
        !openssl_verify(&ward, &doc),
        "openssl accepts a changed document"
    );
    let tampered = run(
        &ward,
        &["verify", "--signature", &p7s, doc.to_str().expect("utf8")],
        None,
    );
    assert!(!tampered.status.success());
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("message digest"));
}

#[test]
fn a_director_batch_verifies_document_by_document() {
    let ward = Ward::start(&[]);
    let dir = ward.path("docs");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let docs: Vec<String> = (0..3)
        .map(|i| {
            let p = dir.join(format!("dat-dai-{i}.txt"));
            std::fs::write(&p, format!("dang ky bien dong dat dai {i}")).expect("write");
            p.display().to_string()
        })
        .collect();
    let mut args = vec![
        "sign",
        "--addr",
        &ward.addr,
        "--signer",
        DIRECTOR.0,
        "--procedure",
        "DD-BD",
    ];
    args.extend(docs.iter().map(String::as_str));
    let signed = run(&ward, &args, Some(DIRECTOR.1));
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    for doc in &docs {
        assert!(openssl_verify(&ward, std::path::Path::new(doc)));
        let out = run(
            &ward,
            &["verify", "--signature", &format!("{doc}.p7s"), doc],
            None,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("(director)") && text.contains("delegation: none"),
            "{text}"
        );
    }
}
