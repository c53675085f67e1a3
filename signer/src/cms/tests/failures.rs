//! Every way verification and signer setup must fail, with the precise error, and
//! without panicking on hostile input.

use rcgen::ExtendedKeyUsagePurpose;
use time::Duration;

use super::super::{CmsError, CmsSigner, SignedAttribute, TrustStore, verify};
use super::{Ca, OFFICER_SERIAL, now, record};

#[test]
fn another_wards_ca_is_untrusted() {
    let ca = Ca::new("Phường Bến Nghé");
    let other = Ca::new("Phường Đa Kao");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let sig = signer.sign_detached(&doc, now(), &[]).expect("sign");
    let err = verify(&sig, Some(&doc), &other.trust()).expect_err("untrusted");
    assert!(matches!(err, CmsError::UntrustedChain(_)), "{err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[test]
fn signer_certificate_needs_email_protection() {
    let ca = Ca::new("Phường Bến Nghé");
    let doc = record();
    for eku in [vec![], vec![ExtendedKeyUsagePurpose::ClientAuth]] {
        let officer = ca.issue_with_eku(
            OFFICER_SERIAL,
            now() - Duration::days(1),
            now() + Duration::days(1),
            eku.clone(),
        );
        let sig = officer
            .signer(&ca)
            .sign_detached(&doc, now(), &[])
            .expect("sign");
        let err = verify(&sig, Some(&doc), &ca.trust()).expect_err("no emailProtection");
        assert!(matches!(err, CmsError::UntrustedChain(_)), "{eku:?}: {err}");
    }
}

#[test]
fn revoked_certificate() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let sig = signer.sign_detached(&doc, now(), &[]).expect("sign");

    let unrelated = TrustStore {
        roots: vec![ca.der.clone()],
        crls: vec![ca.crl(&[&[0x01, 0x02]])],
    };
    verify(&sig, Some(&doc), &unrelated).expect("a CRL not listing the signer");

    let revoked = TrustStore {
        roots: vec![ca.der.clone()],
        crls: vec![ca.crl(&[OFFICER_SERIAL])],
    };
    assert!(matches!(
        verify(&sig, Some(&doc), &revoked),
        Err(CmsError::CertificateRevoked)
    ));

    let bad_crl = TrustStore {
        roots: vec![ca.der.clone()],
        crls: vec![b"not a CRL".to_vec()],
    };
    assert!(matches!(
        verify(&sig, Some(&doc), &bad_crl),
        Err(CmsError::TrustStore(_))
    ));
}

#[test]
fn signing_time_outside_validity() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue(
        OFFICER_SERIAL,
        now() - Duration::days(30),
        now() + Duration::days(30),
    );
    let signer = officer.signer(&ca);
    let doc = record();
    for when in [now() - Duration::days(31), now() + Duration::days(31)] {
        let sig = signer.sign_detached(&doc, when, &[]).expect("sign");
        let err = verify(&sig, Some(&doc), &ca.trust()).expect_err("outside validity");
        assert!(
            matches!(err, CmsError::CertificateNotValidAtSigningTime),
            "{when}: {err}"
        );
    }
    // Expired by now, but signed while valid: still verifies.
    let sig = signer
        .sign_detached(&doc, now() - Duration::days(29), &[])
        .expect("sign");
    verify(&sig, Some(&doc), &ca.trust()).expect("signed within validity");
}

#[test]
fn key_must_match_certificate() {
    let ca = Ca::new("Phường Bến Nghé");
    let a = ca.issue_current();
    let b = ca.issue(
        &[0x22],
        now() - Duration::days(1),
        now() + Duration::days(1),
    );
    assert!(matches!(
        CmsSigner::new(&b.key_pkcs8, a.cert_der.clone(), vec![]),
        Err(CmsError::KeyCertificateMismatch)
    ));
    assert!(matches!(
        CmsSigner::new(b"not a key", a.cert_der.clone(), vec![]),
        Err(CmsError::Key(_))
    ));
    assert!(matches!(
        CmsSigner::new(&a.key_pkcs8, b"not a certificate".to_vec(), vec![]),
        Err(CmsError::InvalidCertificate(_))
    ));
    assert!(matches!(
        CmsSigner::new(&a.key_pkcs8, a.cert_der.clone(), vec![vec![0x30, 0x00]]),
        Err(CmsError::InvalidCertificate(_))
    ));
}

#[test]
fn detached_content_rules() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let detached = signer.sign_detached(&doc, now(), &[]).expect("sign");
    assert!(matches!(
        verify(&detached, None, &ca.trust()),
        Err(CmsError::DetachedContentMissing)
    ));
    let attached = signer
        .sign_attached(super::super::oids::ID_DATA, &doc, now(), &[])
        .expect("sign");
    assert!(matches!(
        verify(&attached, Some(&doc), &ca.trust()),
        Err(CmsError::UnexpectedDetachedContent)
    ));
}

#[test]
fn tampered_structures() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();

    // eContentType changed from 2.25.1 to 2.25.2 (the first occurrence is in
    // encapContentInfo, before the signed content-type attribute).
    let custom = const_oid::ObjectIdentifier::new_unwrap("2.25.1");
    let mut sig = signer
        .sign_attached(custom, &doc, now(), &[])
        .expect("sign");
    let at = sig
        .windows(3)
        .position(|w| w == [0x06, 0x02, 0x69])
        .expect("2.25.1 in the signature");
    sig[at + 3] = 0x02;
    assert!(matches!(
        verify(&sig, None, &ca.trust()),
        Err(CmsError::ContentTypeMismatch)
    ));

    // The last byte belongs to the signature value.
    let mut sig = signer.sign_detached(&doc, now(), &[]).expect("sign");
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    assert!(matches!(
        verify(&sig, Some(&doc), &ca.trust()),
        Err(CmsError::BadSignature)
    ));
}

#[test]
fn invalid_extra_attribute_is_refused() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let bad = SignedAttribute {
        oid: const_oid::ObjectIdentifier::new_unwrap("2.25.9"),
        value_der: vec![0x04, 0x05, 0x00],
    };
    assert!(matches!(
        signer.sign_detached(b"x", now(), &[bad]),
        Err(CmsError::InvalidAttribute(_))
    ));
}

#[test]
fn garbage_and_truncation_are_malformed() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let trust = ca.trust();
    for garbage in [
        &b""[..],
        b"\x00",
        b"-----BEGIN PKCS7-----",
        b"\x30\x80\x00\x00",
        b"\x30\x03\x02\x01\x01",
        &[0xffu8; 64],
    ] {
        let err = verify(garbage, Some(&doc), &trust).expect_err("garbage");
        assert!(matches!(err, CmsError::Malformed(_)), "{garbage:?}: {err}");
    }
    let sig = signer.sign_detached(&doc, now(), &[]).expect("sign");
    for len in 0..sig.len() {
        let err = verify(&sig[..len], Some(&doc), &trust).expect_err("truncated");
        assert!(matches!(err, CmsError::Malformed(_)), "length {len}: {err}");
    }
    // Trailing bytes after the ContentInfo.
    let mut long = sig.clone();
    long.push(0);
    assert!(matches!(
        verify(&long, Some(&doc), &trust),
        Err(CmsError::Malformed(_))
    ));
}

#[test]
fn byte_flips_never_panic_and_only_unsigned_parts_may_change() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let trust = ca.trust();
    let find = |hay: &[u8], needle: &[u8]| {
        hay.windows(needle.len())
            .position(|w| w == needle)
            .map(|at| at..at + needle.len())
            .expect("present")
    };
    for attached in [false, true] {
        let sig = if attached {
            signer
                .sign_attached(super::super::oids::ID_DATA, &doc, now(), &[])
                .expect("sign")
        } else {
            signer.sign_detached(&doc, now(), &[]).expect("sign")
        };
        // Parts no signature covers and verification may ignore: the CA certificate (the
        // trust store supplies the anchor) and digestAlgorithms (informational; the
        // SignerInfo's own digestAlgorithm is the one checked).
        let ca_range = find(&sig, &ca.der);
        let header_range = find(&sig, &[0x02, 0x01, 0x01, 0x31, 0x0d]);
        let unsigned = |i: usize| {
            ca_range.contains(&i)
                || (header_range.start + 3..header_range.start + 3 + 15).contains(&i)
        };
        let content = (!attached).then_some(doc.as_slice());
        for i in 0..sig.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = sig.clone();
                bad[i] ^= mask;
                if verify(&bad, content, &trust).is_ok() {
                    assert!(unsigned(i), "flip {mask:#04x} at {i} still verifies");
                }
            }
        }
    }
}
