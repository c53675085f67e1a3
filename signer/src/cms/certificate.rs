//! The few X.509 facts CMS needs from a certificate: its issuer and serial number
//! exactly as encoded, and its P-256 public key.
//!
//! Why raw bytes: the SignerInfo's issuerAndSerialNumber and the ESS IssuerSerial
//! must name the certificate byte for byte as its issuer wrote it; re-encoding a
//! parsed `Name` could reorder or re-type its attributes and then no verifier would
//! find the certificate.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE;
use der::{Decode, Tag};
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::error::CmsError;
use super::oids::{ID_EC_PUBLIC_KEY, SECP256R1};
use super::reader::{CONTEXT_0, Cursor, single};

/// The issuer Name and the serialNumber INTEGER of a certificate, each a whole TLV.
#[derive(Clone, Copy, Debug)]
pub(super) struct IssuerSerialTlvs<'a> {
    /// The `issuer` Name, tag and length included.
    pub(super) issuer: &'a [u8],
    /// The `serialNumber` INTEGER, tag and length included.
    pub(super) serial: &'a [u8],
}

/// Finds the issuer and serial number inside a DER certificate without re-encoding.
pub(super) fn issuer_serial(cert_der: &[u8]) -> Result<IssuerSerialTlvs<'_>, CmsError> {
    let cert = single(cert_der, Tag::Sequence, "Certificate")?;
    let mut cert = Cursor::new(cert, "Certificate")?;
    let tbs = cert.content(Tag::Sequence, "tbsCertificate")?;
    let mut tbs = Cursor::new(tbs, "TBSCertificate")?;
    tbs.optional_content(CONTEXT_0, "version")?;
    let serial = tbs.element("serialNumber")?;
    if serial.tag != Tag::Integer {
        return Err(CmsError::Malformed(format!(
            "TBSCertificate.serialNumber: expected INTEGER, found {}",
            serial.tag
        )));
    }
    tbs.element("signature")?;
    let issuer = tbs.element("issuer")?;
    if issuer.tag != Tag::Sequence {
        return Err(CmsError::Malformed(format!(
            "TBSCertificate.issuer: expected SEQUENCE, found {}",
            issuer.tag
        )));
    }
    Ok(IssuerSerialTlvs {
        issuer: issuer.whole,
        serial: serial.whole,
    })
}

/// Those of `candidates` (CA certificates, DER) that issued `cert_der`, by name.
pub fn issuers_of(cert_der: &[u8], candidates: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let Ok(cert) = Certificate::from_der(cert_der) else {
        return Vec::new();
    };
    candidates
        .iter()
        .filter(|c| {
            Certificate::from_der(c)
                .is_ok_and(|ca| ca.tbs_certificate.subject == cert.tbs_certificate.issuer)
        })
        .cloned()
        .collect()
}

/// The uncompressed P-256 point of the public key of the certificate `cert_der`.
pub fn public_point(cert_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| CmsError::InvalidCertificate(format!("signer certificate: {e}")))?;
    p256_public_key(&cert).map(<[u8]>::to_vec)
}

/// The uncompressed P-256 point of the certificate's subject public key, or
/// `UnsupportedAlgorithm` if the key is anything else.
pub(super) fn p256_public_key(cert: &Certificate) -> Result<&[u8], CmsError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(SECP256R1) {
        return Err(CmsError::UnsupportedAlgorithm(format!(
            "certificate public key {} (curve {}); only ECDSA P-256 is supported",
            spki.algorithm.oid,
            curve.map_or_else(|| "none".to_owned(), |c| c.to_string())
        )));
    }
    spki.subject_public_key.as_bytes().ok_or_else(|| {
        CmsError::Malformed("certificate subjectPublicKey has unused bits".to_owned())
    })
}

/// Whether the certificate's extendedKeyUsage extension lists `purpose`; false when
/// the extension is absent.
pub(super) fn has_extended_key_usage(
    cert: &Certificate,
    purpose: ObjectIdentifier,
) -> Result<bool, CmsError> {
    let Some(extensions) = cert.tbs_certificate.extensions.as_ref() else {
        return Ok(false);
    };
    let Some(eku) = extensions.iter().find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE) else {
        return Ok(false);
    };
    let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|e| CmsError::Malformed(format!("certificate extendedKeyUsage extension: {e}")))?;
    Ok(eku.0.contains(&purpose))
}
