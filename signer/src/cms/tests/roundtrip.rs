//! Sign-then-verify round trips with our own verifier, and DER well-formedness of
//! what the signer writes (the `cms` crate must decode it and re-encode it unchanged).

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::asn1::Utf8StringRef;
use der::{Decode, Encode};

use super::super::oids::{ID_DATA, ID_SIGNED_DATA};
use super::super::{SignedAttribute, verify};
use super::{Ca, OFFICER, now, record};

/// Decodes with the RustCrypto `cms` crate, checks DER canonicity, returns the SignedData.
fn decode_with_cms_crate(sig: &[u8]) -> SignedData {
    let info = ContentInfo::from_der(sig).expect("ContentInfo");
    assert_eq!(info.content_type, ID_SIGNED_DATA);
    assert_eq!(info.to_der().expect("re-encode"), sig, "not canonical DER");
    info.content.decode_as().expect("SignedData")
}

#[test]
fn detached_round_trip() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let signer = officer.signer(&ca);
    let doc = record();
    let t = now();

    let sig = signer.sign_detached(&doc, t, &[]).expect("sign");
    let v = verify(&sig, Some(&doc), &ca.trust()).expect("verify");
    assert_eq!(v.signer_cert, officer.cert_der);
    assert_eq!(v.signing_time, t);
    assert_eq!(v.content_type, ID_DATA);
    assert_eq!(v.content, None);
    assert!(v.extra.is_empty());

    let sd = decode_with_cms_crate(&sig);
    assert_eq!(sd.version, CmsVersion::V1);
    assert!(sd.encap_content_info.econtent.is_none());
    assert_eq!(sd.certificates.expect("certificates").0.len(), 2);
    assert!(sd.crls.is_none());
    let si = sd.signer_infos.0.get(0).expect("one SignerInfo").clone();
    assert_eq!(si.version, CmsVersion::V1);
    assert_eq!(si.signed_attrs.expect("signed attributes").len(), 4);
}

#[test]
fn attached_round_trip_with_custom_type() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let custom = ObjectIdentifier::new_unwrap("2.25.1");

    let sig = signer
        .sign_attached(custom, &doc, now(), &[])
        .expect("sign");
    let v = verify(&sig, None, &ca.trust()).expect("verify");
    assert_eq!(v.content.as_deref(), Some(doc.as_slice()));
    assert_eq!(v.content_type, custom);

    // RFC 5652 §5.1: version 3 when eContentType is not id-data. (The `cms` crate,
    // through const-oid 0.9, cannot decode the two-octet OID 2.25.1; use a longer one.)
    let longer = ObjectIdentifier::new_unwrap("2.25.1.1");
    let sig = signer
        .sign_attached(longer, &doc, now(), &[])
        .expect("sign");
    assert_eq!(decode_with_cms_crate(&sig).version, CmsVersion::V3);
    assert_eq!(
        verify(&sig, None, &ca.trust())
            .expect("verify")
            .content_type,
        longer
    );

    let data = signer
        .sign_attached(ID_DATA, &doc, now(), &[])
        .expect("sign");
    assert_eq!(decode_with_cms_crate(&data).version, CmsVersion::V1);
    assert_eq!(
        verify(&data, None, &ca.trust())
            .expect("verify")
            .content_type,
        ID_DATA
    );
}

#[test]
fn extra_attributes_round_trip() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = record();
    let extra = vec![
        SignedAttribute {
            oid: ObjectIdentifier::new_unwrap("2.25.32980073.5698586"),
            value_der: Utf8StringRef::new("Phường Bến Nghé, Quận 1")
                .and_then(|s| s.to_der())
                .expect("UTF8String"),
        },
        SignedAttribute {
            oid: ObjectIdentifier::new_unwrap("2.25.2.1"),
            value_der: 7u32.to_der().expect("INTEGER"),
        },
    ];
    let sig = signer.sign_detached(&doc, now(), &extra).expect("sign");
    let v = verify(&sig, Some(&doc), &ca.trust()).expect("verify");
    assert_eq!(v.extra.len(), 2);
    for attr in &extra {
        assert!(
            v.extra.contains(attr),
            "{attr:?} missing from {:?}",
            v.extra
        );
    }
    decode_with_cms_crate(&sig);
}

#[test]
fn chain_listing_the_signer_twice_is_deduplicated() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let signer = super::super::CmsSigner::new(
        &officer.key_pkcs8,
        officer.cert_der.clone(),
        vec![ca.der.clone(), officer.cert_der.clone()],
    )
    .expect("signer");
    let sig = signer.sign_detached(b"x", now(), &[]).expect("sign");
    let sd = decode_with_cms_crate(&sig);
    assert_eq!(sd.certificates.expect("certificates").0.len(), 2);
}

#[test]
fn debug_shows_the_certificate_not_the_key() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let signer = officer.signer(&ca);
    let text = format!("{signer:?}");
    assert!(text.contains(OFFICER), "{text}");
    assert!(!text.to_lowercase().contains("key"), "{text}");
    assert_eq!(signer.certificate(), officer.cert_der.as_slice());
}

#[test]
fn ess_attribute_decodes_and_checks() {
    use super::super::ess::{SigningCertificateV2, attribute_value, check};
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let ids = super::super::certificate::issuer_serial(&officer.cert_der).expect("ids");
    let value = attribute_value(&officer.cert_der, ids);
    let decoded = SigningCertificateV2::from_der(&value).expect("decode");
    assert_eq!(decoded.to_der().expect("re-encode"), value);
    let id = decoded.certs.first().expect("one id");
    assert!(
        id.hash_algorithm.is_none(),
        "sha-256 is the DEFAULT and must be omitted"
    );
    let cert = x509_cert::Certificate::from_der(&officer.cert_der).expect("cert");
    let issuer_serial = id.issuer_serial.as_ref().expect("issuerSerial");
    assert_eq!(
        issuer_serial.serial_number,
        cert.tbs_certificate.serial_number
    );
    assert_eq!(
        issuer_serial.issuer,
        vec![x509_cert::ext::pkix::name::GeneralName::DirectoryName(
            cert.tbs_certificate.issuer.clone()
        )]
    );
    check(&value, &officer.cert_der).expect("matches its certificate");
    assert!(matches!(
        check(&value, &ca.der),
        Err(super::super::CmsError::SigningCertificateMismatch)
    ));
}

#[test]
fn intermediate_ca_without_eku_is_accepted() {
    let root = Ca::new("Thành phố Hồ Chí Minh");
    let ward = root.issue_intermediate("Phường Bến Nghé");
    let officer = ward.issue_current();
    let signer = super::super::CmsSigner::new(
        &officer.key_pkcs8,
        officer.cert_der.clone(),
        vec![ward.der.clone()],
    )
    .expect("signer");
    let doc = record();
    let sig = signer.sign_detached(&doc, now(), &[]).expect("sign");
    let v = verify(&sig, Some(&doc), &root.trust()).expect("verify via the intermediate");
    assert_eq!(v.signer_cert, officer.cert_der);
    // Trusting the intermediate directly works too.
    verify(&sig, Some(&doc), &ward.trust()).expect("verify with the ward CA as anchor");
}
