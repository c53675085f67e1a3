//! Object identifiers used by the CMS module, with their DER encodings.
//!
//! Why one place: the signer writes these identifiers as precomputed bytes and the
//! verifier compares against them; keeping both sides on the same constants makes a
//! typo impossible to hide in one direction only.

use const_oid::ObjectIdentifier;

/// id-data (RFC 5652 §4): the content type of a detached signature.
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652 §5.1): the ContentInfo type of every signature made here.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType signed attribute (RFC 5652 §11.1).
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest signed attribute (RFC 5652 §11.2).
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime signed attribute (RFC 5652 §11.3).
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 signed attribute (RFC 5035 §3).
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-sha256 (RFC 5754 §2.2).
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// ecdsa-with-SHA256 (RFC 5758 §3.2), written without parameters.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-ecPublicKey (RFC 5480 §2.1.1).
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480 §2.1.1.1).
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// id-kp-emailProtection (RFC 5280 §4.2.1.12): the purpose of signers' certificates.
pub const ID_KP_EMAIL_PROTECTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

/// id-kp-timeStamping (RFC 5280 §4.2.1.12): the purpose of a timestamp authority's
/// certificate (RFC 3161 §2.3).
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-ct-TSTInfo (RFC 3161 §2.4.2): the content type of a timestamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-aa-signatureTimeStampToken (RFC 3161 Appendix A): the unsigned attribute holding a
/// timestamp token over a SignerInfo's signature value.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// The content octets of id-kp-timeStamping, as webpki's `KeyUsage::required` wants them.
pub(crate) const TIME_STAMPING_OID_DER_CONTENT: &[u8] =
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// The content octets (no tag, no length) of id-kp-emailProtection, 1.3.6.1.5.5.7.3.4,
/// as webpki's `KeyUsage::required` wants them: signers' certificates carry this EKU.
pub(crate) const EMAIL_PROTECTION_OID_DER_CONTENT: &[u8] =
    &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];

/// Reads the content octets of a DER OBJECT IDENTIFIER.
///
/// Why not `ObjectIdentifier::from_bytes` alone: const-oid 0.9 refuses encodings
/// shorter than three octets, yet `2.25.1` (UUID-based private arcs, used for custom
/// content types) encodes in two. Those are decoded here arc by arc and rebuilt from
/// their dotted form, which const-oid accepts.
///
/// Only those: an encoding of three octets or more that `from_bytes` refuses holds an
/// arc const-oid cannot read back (e.g. a five-octet arc, "ArcTooBig"). Rebuilding it
/// from its dotted form would succeed, but printing the identifier would then panic.
pub(super) fn from_der_content(content: &[u8]) -> Option<ObjectIdentifier> {
    // DER: no subidentifier may start with 0x80 (const-oid 0.9 lets that through).
    let mut at_start = true;
    for &byte in content {
        if at_start && byte == 0x80 {
            return None;
        }
        at_start = byte & 0x80 == 0;
    }
    if let Ok(oid) = ObjectIdentifier::from_bytes(content) {
        return Some(oid);
    }
    if content.len() >= 3 {
        return None;
    }
    let mut arcs: Vec<u32> = Vec::new();
    let mut value: u32 = 0;
    let mut fresh = true;
    for &byte in content {
        value = value
            .checked_mul(128)?
            .checked_add(u32::from(byte & 0x7f))?;
        fresh = byte & 0x80 == 0;
        if fresh {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - 40 * first);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    if !fresh || arcs.is_empty() {
        return None;
    }
    let dotted: Vec<String> = arcs.iter().map(u32::to_string).collect();
    let oid = ObjectIdentifier::new(&dotted.join(".")).ok()?;
    (oid.as_bytes() == content).then_some(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_oids_decode() {
        for text in [
            "2.25.1",
            "2.25.77",
            "1.2.3",
            "2.39.1",
            "1.2.840.113549.1.7.1",
        ] {
            let oid = ObjectIdentifier::new_unwrap(text);
            assert_eq!(from_der_content(oid.as_bytes()), Some(oid), "{text}");
        }
        assert_eq!(from_der_content(&[]), None);
        assert_eq!(from_der_content(&[0x69, 0x81]), None);
        assert_eq!(from_der_content(&[0x69, 0x80, 0x01]), None);
        assert_eq!(
            from_der_content(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            None
        );
    }

    #[test]
    fn arcs_const_oid_cannot_print_are_refused() {
        // 1.2.840.1861144302.103, from a fuzzed contentType: the five-octet arc encodes,
        // but const-oid's arc reader calls it too big and its Display panicked on it.
        let content = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0xbb, 0x9d, 0x6e, 0x67];
        assert!(ObjectIdentifier::from_bytes(&content).is_err());
        assert_eq!(from_der_content(&content), None);
        let mut cms = vec![0x30, 0x0b, 0x06, 0x09];
        cms.extend_from_slice(&content);
        let err = crate::cms::parse::signed_data(&cms).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "malformed CMS: ContentInfo.contentType: malformed OBJECT IDENTIFIER"
        );
        // Whatever is accepted can be printed.
        for content in [
            &[0x69, 0x01][..],
            &[0x2a, 0x03],
            &[0x2a, 0x86, 0x48, 0x86, 0x00],
        ] {
            if let Some(oid) = from_der_content(content) {
                assert!(!oid.to_string().is_empty());
            }
        }
    }

    #[test]
    fn email_protection_matches_const_oid_db() {
        assert_eq!(
            EMAIL_PROTECTION_OID_DER_CONTENT,
            const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION.as_bytes()
        );
        assert_eq!(
            ID_KP_EMAIL_PROTECTION,
            const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION
        );
    }

    #[test]
    fn oids_match_const_oid_db() {
        use const_oid::db::{rfc5911, rfc5912};
        assert_eq!(ID_DATA, rfc5911::ID_DATA);
        assert_eq!(ID_SIGNED_DATA, rfc5911::ID_SIGNED_DATA);
        assert_eq!(ID_CONTENT_TYPE, rfc5911::ID_CONTENT_TYPE);
        assert_eq!(ID_MESSAGE_DIGEST, rfc5911::ID_MESSAGE_DIGEST);
        assert_eq!(ID_SIGNING_TIME, rfc5911::ID_SIGNING_TIME);
        assert_eq!(
            ID_SIGNING_CERTIFICATE_V2,
            rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2
        );
        assert_eq!(ID_SHA256, rfc5912::ID_SHA_256);
        assert_eq!(ECDSA_WITH_SHA256, rfc5912::ECDSA_WITH_SHA_256);
        assert_eq!(ID_EC_PUBLIC_KEY, rfc5912::ID_EC_PUBLIC_KEY);
        assert_eq!(SECP256R1, rfc5912::SECP_256_R_1);
    }
}
