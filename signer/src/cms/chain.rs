//! Whether the signer's certificate chains to a trusted ward CA at the signing time.
//!
//! Why at the signing time and with webpki: a record signed while the officer's
//! certificate was valid stays valid after the certificate expires (the archive must
//! keep verifying), but not if it was signed outside the validity period or with a
//! revoked certificate. webpki does path building, key-usage and CRL checks with the
//! same code the services' TLS already trusts.
//!
//! The emailProtection purpose is required of the signer's certificate itself and,
//! through webpki's `required_if_present`, of any CA certificate in the path that
//! restricts its purposes. (webpki applies one EKU policy to every certificate of the
//! path; with `required` a CA without an EKU extension, as ward CAs are, would fail,
//! and an unknown issuer would be reported as a missing EKU.)

use std::time::Duration;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_cert::Certificate;

use super::certificate::has_extended_key_usage;
use super::error::CmsError;
use super::oids::{
    EMAIL_PROTECTION_OID_DER_CONTENT, ID_KP_EMAIL_PROTECTION, TIME_STAMPING_OID_DER_CONTENT,
};

/// What a verifier trusts: the ward CA certificates and the CRLs they publish (both DER).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    /// Trusted CA certificates (trust anchors), DER.
    pub roots: Vec<Vec<u8>>,
    /// CRLs issued by those CAs, DER; the signer's certificate is checked against them.
    pub crls: Vec<Vec<u8>>,
}

/// What a signature's certificate must be good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A person's signature on a document: the emailProtection EKU, as stock OpenSSL expects.
    Document,
    /// A service's own statement (the signing service's audit checkpoints): the clientAuth EKU
    /// every signq service certificate carries.
    Service,
    /// A timestamp token: the timeStamping EKU of a timestamp authority (RFC 3161 §2.3).
    Timestamping,
}

/// Verifies that `signer` (DER, and parsed as `signer_cert`) chains to `trust` at
/// `at`, using `others` (the other certificates of the SignedData) as intermediates,
/// with the extended key usage `purpose` asks for and, when the trust store has CRLs, an
/// end-entity revocation check.
pub(super) fn check(
    trust: &TrustStore,
    signer: &[u8],
    signer_cert: &Certificate,
    others: &[&[u8]],
    at: OffsetDateTime,
    purpose: Purpose,
) -> Result<(), CmsError> {
    if purpose == Purpose::Document && !has_extended_key_usage(signer_cert, ID_KP_EMAIL_PROTECTION)?
    {
        return Err(CmsError::UntrustedChain(
            "the signer's certificate lacks the emailProtection extended key usage".to_owned(),
        ));
    }
    let root_ders: Vec<CertificateDer<'_>> = trust
        .roots
        .iter()
        .map(|r| CertificateDer::from(r.as_slice()))
        .collect();
    let anchors = root_ders
        .iter()
        .enumerate()
        .map(|(i, der)| {
            webpki::anchor_from_trusted_cert(der)
                .map_err(|e| CmsError::TrustStore(format!("root certificate #{i}: {e}")))
        })
        .collect::<Result<Vec<TrustAnchor<'_>>, _>>()?;

    let crls = trust
        .crls
        .iter()
        .enumerate()
        .map(|(i, der)| {
            BorrowedCertRevocationList::from_der(der)
                .map(CertRevocationList::from)
                .map_err(|e| CmsError::TrustStore(format!("CRL #{i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    let revocation = match RevocationOptionsBuilder::new(&crl_refs) {
        Ok(builder) => Some(
            builder
                .with_depth(RevocationCheckDepth::EndEntity)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .build(),
        ),
        // No CRLs in the trust store: no revocation check.
        Err(_) => None,
    };

    let ee_der = CertificateDer::from(signer);
    let ee = EndEntityCert::try_from(&ee_der)
        .map_err(|e| CmsError::UntrustedChain(format!("signer certificate: {e}")))?;
    let intermediates: Vec<CertificateDer<'_>> =
        others.iter().map(|d| CertificateDer::from(*d)).collect();
    let seconds = u64::try_from(at.unix_timestamp())
        .map_err(|_| CmsError::CertificateNotValidAtSigningTime)?;

    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(seconds)),
        match purpose {
            Purpose::Document => KeyUsage::required_if_present(EMAIL_PROTECTION_OID_DER_CONTENT),
            Purpose::Service => KeyUsage::client_auth(),
            Purpose::Timestamping => KeyUsage::required(TIME_STAMPING_OID_DER_CONTENT),
        },
        revocation,
        None,
    )
    .map(|_| ())
    .map_err(|e| match e {
        webpki::Error::CertRevoked => CmsError::CertificateRevoked,
        webpki::Error::CertNotValidYet { .. } | webpki::Error::CertExpired { .. } => {
            CmsError::CertificateNotValidAtSigningTime
        }
        other => CmsError::UntrustedChain(other.to_string()),
    })
}

/// Checks that a signing certificate (DER) chains to `trust`, carries emailProtection and is
/// neither revoked nor outside its validity at `at`: what the signer service asks before it signs
/// with the certificate's key, so that it never makes a signature that would not verify.
pub fn check_signing_certificate(
    trust: &TrustStore,
    cert_der: &[u8],
    at: OffsetDateTime,
) -> Result<(), CmsError> {
    use der::Decode;
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| CmsError::InvalidCertificate(format!("signer certificate: {e}")))?;
    check(trust, cert_der, &cert, &[], at, Purpose::Document)
}
