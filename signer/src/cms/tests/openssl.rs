//! Interoperability with the real OpenSSL CLI (`/usr/bin/openssl`, 3.x): what we sign
//! `openssl cms -verify` accepts, and what OpenSSL signs our verifier accepts.
//!
//! Why: a ward record must stay verifiable by anyone with standard tools, not only by
//! signq; these tests run the exact commands an auditor would.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use const_oid::ObjectIdentifier;
use der::Encode;
use der::asn1::Utf8StringRef;

use super::super::{CmsError, SignedAttribute, verify};
use super::{Ca, now, record, show};

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl")
}

#[test]
fn openssl_verifies_detached_and_detects_tampering() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let mut doc = record();
    let sig = signer.sign_detached(&doc, now(), &[]).expect("sign");

    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("F"), &doc).expect("write doc");
    fs::write(dir.path().join("F.p7s"), &sig).expect("write sig");
    fs::write(dir.path().join("ca.pem"), &ca.pem).expect("write ca");
    let args = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "F.p7s",
        "-content",
        "F",
        "-CAfile",
        "ca.pem",
        "-out",
        "/dev/null",
    ];
    let out = openssl(dir.path(), &args);
    assert!(out.status.success(), "{}", show(&out));

    doc[10] ^= 0x01;
    fs::write(dir.path().join("F"), &doc).expect("write doc");
    let out = openssl(dir.path(), &args);
    assert!(
        !out.status.success(),
        "openssl accepted a tampered document"
    );
    assert!(matches!(
        verify(&sig, Some(&doc), &ca.trust()),
        Err(CmsError::DigestMismatch)
    ));
}

#[test]
fn openssl_prints_attached_content() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let sig = signer
        .sign_attached(ObjectIdentifier::new_unwrap("2.25.1"), &doc, now(), &[])
        .expect("sign");
    assert_eq!(
        verify(&sig, None, &ca.trust()).expect("verify").content,
        Some(doc.clone())
    );

    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("F.p7s"), &sig).expect("write sig");
    fs::write(dir.path().join("ca.pem"), &ca.pem).expect("write ca");
    let out = openssl(
        dir.path(),
        &[
            "cms", "-verify", "-inform", "DER", "-in", "F.p7s", "-CAfile", "ca.pem",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(out.stdout, doc, "{}", show(&out));
}

#[test]
fn openssl_verifies_extra_attributes() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let extra = [SignedAttribute {
        oid: ObjectIdentifier::new_unwrap("2.25.77"),
        value_der: Utf8StringRef::new("Hồ sơ hộ tịch")
            .and_then(|s| s.to_der())
            .expect("UTF8String"),
    }];
    let sig = signer.sign_detached(&doc, now(), &extra).expect("sign");
    assert_eq!(
        verify(&sig, Some(&doc), &ca.trust()).expect("verify").extra,
        extra
    );

    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("F"), &doc).expect("write doc");
    fs::write(dir.path().join("F.p7s"), &sig).expect("write sig");
    fs::write(dir.path().join("ca.pem"), &ca.pem).expect("write ca");
    let out = openssl(
        dir.path(),
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "F.p7s",
            "-content",
            "F",
            "-CAfile",
            "ca.pem",
            "-out",
            "/dev/null",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn we_verify_what_openssl_signs() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let doc = record();
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("F"), &doc).expect("write doc");
    fs::write(dir.path().join("cert.pem"), &officer.cert_pem).expect("write cert");
    fs::write(dir.path().join("key.pem"), &officer.key_pem).expect("write key");

    let sign = |out_name: &str, nocerts: bool| {
        let mut args = vec![
            "cms", "-sign", "-binary", "-md", "sha256", "-in", "F", "-signer", "cert.pem",
            "-inkey", "key.pem", "-outform", "DER", "-out", out_name,
        ];
        if nocerts {
            args.push("-nocerts");
        }
        let out = openssl(dir.path(), &args);
        assert!(out.status.success(), "{}", show(&out));
        fs::read(dir.path().join(out_name)).expect("read signature")
    };

    let sig = sign("with.p7s", false);
    let v = verify(&sig, Some(&doc), &ca.trust()).expect("verify openssl's signature");
    assert_eq!(v.signer_cert, officer.cert_der);

    let sig = sign("nocerts.p7s", true);
    assert!(matches!(
        verify(&sig, Some(&doc), &ca.trust()),
        Err(CmsError::SignerCertificateNotFound)
    ));
}
