//! The authority judged by `openssl ts`: tokens for openssl's own requests verify against the
//! ward CA; refused requests say why; a PAdES signature's timestamp is checked on verification,
//! and one over another signature or by a certificate that is not an authority's is refused.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use signq_kit::identity::Role;
use time::OffsetDateTime;

use super::*;
use crate::cms::{TrustStore, verify_pades};
use crate::pki::{Pki, SignerSpec, Validity, WardInfo};

struct Ward {
    dir: tempfile::TempDir,
    authority: Authority,
    officer: CmsSigner,
    /// The officer's key posing as an authority.
    impostor: Authority,
    trust: TrustStore,
}

fn ward() -> Ward {
    let dir = tempfile::tempdir().unwrap();
    let info = WardInfo {
        id: "cat-lai".into(),
        name: "Phường Cát Lái".into(),
    };
    let pki = Pki::init(
        &dir.path().join("ca"),
        &info,
        b"passphrase",
        Validity::days_from_now(30),
    )
    .unwrap();
    let chain = vec![pki.ca_cert_der().to_vec()];
    let (tsa, tsa_key) = pki
        .issue_timestamping("timestamping", Validity::days_from_now(30))
        .unwrap();
    let spec = SignerSpec {
        signer_id: "cat-lai/deputy-1".into(),
        display_name: "Nguyễn Thị Lan".into(),
        role: Role::Deputy,
        ward: info,
    };
    let (officer, officer_key) = pki
        .issue_signer(&spec, Validity::days_from_now(30))
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), pki.ca_cert_pem()).unwrap();
    std::fs::write(dir.path().join("tsa.pem"), &tsa.cert_pem).unwrap();
    Ward {
        authority: Authority::new(
            CmsSigner::new(&tsa_key, tsa.cert_der, chain.clone()).unwrap(),
            DEFAULT_POLICY,
        ),
        impostor: Authority::new(
            CmsSigner::new(&officer_key, officer.cert_der.clone(), chain.clone()).unwrap(),
            DEFAULT_POLICY,
        ),
        officer: CmsSigner::new(&officer_key, officer.cert_der, chain.clone()).unwrap(),
        trust: TrustStore {
            roots: chain,
            crls: Vec::new(),
        },
        dir,
    }
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_the_tokens_it_asked_for() {
    let w = ward();
    let dir = w.dir.path();
    std::fs::write(dir.join("record.txt"), "Giấy khai sinh số 0123/2025").unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-query",
            "-data",
            "record.txt",
            "-sha256",
            "-cert",
            "-out",
            "q.tsq",
        ],
    );
    assert!(ok, "{text}");
    let request = std::fs::read(dir.join("q.tsq")).unwrap();
    std::fs::write(
        dir.join("r.tsr"),
        w.authority.respond(&request, OffsetDateTime::now_utc()),
    )
    .unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");
    let (ok, text) = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains("Policy OID: tsa_policy1"), "{text}");
    assert!(text.contains("Nonce: 0x"), "the nonce is echoed: {text}");

    // Another document's data does not match the token.
    std::fs::write(dir.join("other.txt"), "Giấy khai tử").unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-data",
            "other.txt",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(!ok, "a token over another document verified: {text}");
}

#[test]
fn requests_the_authority_does_not_answer_are_refused_saying_why() {
    let w = ward();
    let dir = w.dir.path();
    std::fs::write(dir.join("record.txt"), "Giấy khai sinh").unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-query",
            "-data",
            "record.txt",
            "-sha1",
            "-out",
            "sha1.tsq",
        ],
    );
    assert!(ok, "{text}");
    let now = OffsetDateTime::now_utc();
    for (request, failure, why) in [
        (
            std::fs::read(dir.join("sha1.tsq")).unwrap(),
            "unrecognized or unsupported algorithm identifier",
            "only SHA-256 is stamped",
        ),
        (
            b"not a request".to_vec(),
            "the data submitted has the wrong format",
            "not a TimeStampReq",
        ),
    ] {
        std::fs::write(dir.join("r.tsr"), w.authority.respond(&request, now)).unwrap();
        let (ok, text) = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-text"]);
        assert!(ok, "{text}");
        assert!(text.contains("Status: Rejected"), "{text}");
        assert!(text.contains(failure), "{failure:?} missing from {text}");
        assert!(text.contains(why), "{why:?} missing from {text}");
    }
}

#[test]
fn a_pades_signature_timestamp_is_checked_on_verification() {
    let w = ward();
    let parts: [&[u8]; 2] = [b"%PDF-1.7 the bytes before", b"and after the signature"];
    let now = OffsetDateTime::now_utc();
    let stamped = std::cell::Cell::new([0u8; 32]);
    let stamp = |hash: &[u8; 32]| {
        stamped.set(*hash);
        w.authority
            .token(hash, None, now)
            .map_err(|e| CmsError::Timestamp(e.to_string()))
    };
    let cms = w
        .officer
        .sign_cades_detached_stamped(&parts, &[], Some(&stamp))
        .unwrap();
    let verified = verify_pades(&cms, &parts, now, &w.trust).unwrap();
    let timestamp = verified.timestamp.expect("a timestamp");
    assert_eq!(timestamp.authority, w.authority.certificate());
    assert!((timestamp.time - now).abs() < time::Duration::seconds(2));

    // The token inside verifies with openssl too, over the SHA-256 of the signature value.
    let dir = w.dir.path();
    std::fs::write(dir.join("token.der"), &timestamp.token).unwrap();
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-token_in",
            "-in",
            "token.der",
            "-token_out",
            "-text",
        ],
    );
    assert!(ok && text.contains("Policy OID: tsa_policy1"), "{text}");
    let digest = hex::encode(stamped.get());
    let (ok, text) = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-digest",
            &digest,
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && text.contains("Verification: OK"), "{text}");

    // A token over another signature, or made by a signer who is not an authority, is refused.
    let elsewhere = |_: &[u8; 32]| {
        w.authority
            .token(&[7; 32], None, now)
            .map_err(|e| CmsError::Timestamp(e.to_string()))
    };
    let cms = w
        .officer
        .sign_cades_detached_stamped(&parts, &[], Some(&elsewhere))
        .unwrap();
    let error = verify_pades(&cms, &parts, now, &w.trust).unwrap_err();
    assert!(
        error.to_string().contains("stamps another signature"),
        "{error}"
    );
    let forged = |hash: &[u8; 32]| {
        w.impostor
            .token(hash, None, now)
            .map_err(|e| CmsError::Timestamp(e.to_string()))
    };
    let cms = w
        .officer
        .sign_cades_detached_stamped(&parts, &[], Some(&forged))
        .unwrap();
    let error = verify_pades(&cms, &parts, now, &w.trust).unwrap_err();
    assert!(
        error.to_string().contains("the token does not verify"),
        "{error}"
    );
}
