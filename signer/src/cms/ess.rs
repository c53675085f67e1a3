//! The ESS signing-certificate-v2 attribute (RFC 5035): which certificate signed.
//!
//! Why: without it, anyone holding another certificate for the same key could claim
//! the signature as theirs (a substitution attack); with it, the signature commits to
//! the SHA-256 of the exact signer certificate. OpenSSL 3 checks it on `cms -verify`.
//!
//! ```text
//! SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
//!                                     policies SEQUENCE OF PolicyInformation OPTIONAL }
//! ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {id-sha256},
//!                            certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
//! IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
//! ```

use der::asn1::OctetString;
use der::{Any, Decode, Sequence};
use ring::digest::{SHA256, digest};
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::certificate::IssuerSerialTlvs;
use super::encode::{TAG_OCTET_STRING, TAG_SEQUENCE, tlv};
use super::error::CmsError;
use super::oids::ID_SHA256;

/// Context-specific constructed `[4]`: GeneralName's directoryName (EXPLICIT, as Name
/// is a CHOICE).
const TAG_DIRECTORY_NAME: u8 = 0xa4;

/// `SigningCertificateV2`, for decoding what another signer wrote.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct SigningCertificateV2 {
    /// The signer's certificate first, then optionally others of its chain.
    pub(super) certs: Vec<EssCertIdV2>,
    /// Policies the certificates must satisfy; carried but not interpreted.
    #[asn1(optional = "true")]
    pub(super) policies: Option<Any>,
}

/// `ESSCertIDv2`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct EssCertIdV2 {
    /// The hash algorithm; absent means the DEFAULT, sha-256.
    #[asn1(optional = "true")]
    pub(super) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole DER certificate.
    pub(super) cert_hash: OctetString,
    /// The certificate's issuer and serial number.
    #[asn1(optional = "true")]
    pub(super) issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct IssuerSerial {
    /// The certificate's issuer as a directoryName.
    pub(super) issuer: GeneralNames,
    /// The certificate's serial number.
    pub(super) serial_number: SerialNumber,
}

/// The DER of the attribute value naming `cert_der`: one ESSCertIDv2 with the default
/// hash algorithm (omitted), the certificate's SHA-256 and its issuer and serial.
pub(super) fn attribute_value(cert_der: &[u8], ids: IssuerSerialTlvs<'_>) -> Vec<u8> {
    let hash = digest(&SHA256, cert_der);
    let general_names = tlv(TAG_SEQUENCE, &[&tlv(TAG_DIRECTORY_NAME, &[ids.issuer])]);
    let issuer_serial = tlv(TAG_SEQUENCE, &[&general_names, ids.serial]);
    let cert_id = tlv(
        TAG_SEQUENCE,
        &[&tlv(TAG_OCTET_STRING, &[hash.as_ref()]), &issuer_serial],
    );
    tlv(TAG_SEQUENCE, &[&tlv(TAG_SEQUENCE, &[&cert_id])])
}

/// Checks a received signing-certificate-v2 value: its first certHash must be the
/// SHA-256 of `signer_cert_der`.
pub(super) fn check(value_der: &[u8], signer_cert_der: &[u8]) -> Result<(), CmsError> {
    let value = SigningCertificateV2::from_der(value_der)
        .map_err(|e| CmsError::Malformed(format!("signing-certificate-v2 attribute: {e}")))?;
    let first = value.certs.first().ok_or_else(|| {
        CmsError::Malformed("signing-certificate-v2 attribute lists no certificate".to_owned())
    })?;
    if let Some(alg) = first.hash_algorithm.as_ref().filter(|a| a.oid != ID_SHA256) {
        return Err(CmsError::UnsupportedAlgorithm(format!(
            "signing-certificate-v2 hash algorithm {}; only sha-256 is supported",
            alg.oid
        )));
    }
    if first.cert_hash.as_bytes() == digest(&SHA256, signer_cert_der).as_ref() {
        Ok(())
    } else {
        Err(CmsError::SigningCertificateMismatch)
    }
}
