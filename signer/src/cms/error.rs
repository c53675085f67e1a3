//! The one error type of the CMS module.
//!
//! Why a variant per failure: the signing service reports verification results to ward
//! operators and auditors, who must be able to tell "this document was altered" from
//! "this certificate was revoked" from "this file is not a signature at all" without
//! reading a stack trace. Each variant says when it happens; messages name the part
//! of the structure or the check that failed.

use thiserror::Error;

/// Everything that can go wrong while making or verifying a CMS SignedData.
#[derive(Debug, Error)]
pub enum CmsError {
    /// The input is not DER, is not a ContentInfo holding a SignedData, or has an
    /// unexpected structure; the message names the element that could not be read.
    #[error("malformed CMS: {0}")]
    Malformed(String),

    /// The signing key could not be loaded (not PKCS#8, not ECDSA P-256, inconsistent).
    #[error("signing key rejected: {0}")]
    Key(String),

    /// A certificate given to [`CmsSigner::new`](super::CmsSigner::new) (the signer's or
    /// one of the chain) cannot be parsed, or the signer's certificate cannot be
    /// described in the signature (issuer, serial number).
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),

    /// The signing key is not the key certified by the signer's certificate.
    #[error("the signing key does not match the public key of the signer's certificate")]
    KeyCertificateMismatch,

    /// An extra signed attribute cannot be included: its value is not exactly one DER
    /// element, or its type is one of the standard attributes or appears twice.
    #[error("invalid extra signed attribute: {0}")]
    InvalidAttribute(String),

    /// The signing time cannot be encoded (year before 0 or after 9999).
    #[error("invalid signing time: {0}")]
    InvalidSigningTime(String),

    /// The key could not sign (its device gone, or the operation failed).
    #[error("the signing key could not sign: {0}")]
    Signing(#[from] crate::keys::KeyError),

    /// The SignerInfo carries no signed attributes; signatures made directly over the
    /// content are not accepted because they bind neither a time nor a content type.
    #[error(
        "the signature has no signed attributes (content-type, message-digest, signing-time are required)"
    )]
    NoSignedAttributes,

    /// A required signed attribute is absent; the value names it.
    #[error("required signed attribute {0} is missing")]
    MissingAttribute(&'static str),

    /// The signed content-type attribute differs from the encapsulated content type.
    #[error("the signed content-type attribute differs from the encapsulated content type")]
    ContentTypeMismatch,

    /// The SHA-256 of the content differs from the signed message-digest attribute.
    #[error("the document does not match the signature's message digest")]
    DigestMismatch,

    /// The ECDSA signature over the signed attributes does not verify with the
    /// signer certificate's public key.
    #[error("the signature value does not verify with the signer certificate's public key")]
    BadSignature,

    /// The ESS signing-certificate-v2 attribute names a certificate whose SHA-256
    /// differs from the certificate that verified the signature.
    #[error("the signing-certificate-v2 attribute does not match the signer's certificate")]
    SigningCertificateMismatch,

    /// No certificate in the SignedData matches the SignerInfo's issuer and serial number.
    #[error("the signer's certificate is not included in the signature")]
    SignerCertificateNotFound,

    /// The signer's certificate does not chain to a trusted ward CA (unknown issuer,
    /// wrong key usage, bad certificate signature...); the message is webpki's.
    #[error("the signer's certificate is not trusted: {0}")]
    UntrustedChain(String),

    /// A CRL in the trust store revokes the signer's certificate.
    #[error("the signer's certificate is revoked")]
    CertificateRevoked,

    /// The signer's certificate (or a CA above it) was not yet valid or already expired
    /// at the signing time the signature claims.
    #[error("the signer's certificate chain was not valid at the signing time")]
    CertificateNotValidAtSigningTime,

    /// The signature is detached (no eContent) and no content was supplied.
    #[error("the signature is detached but no document was supplied to verify it against")]
    DetachedContentMissing,

    /// The signature carries its content (attached) but detached content was supplied too.
    #[error("the signature carries its own content; no detached document may be supplied")]
    UnexpectedDetachedContent,

    /// A digest, signature or public-key algorithm other than SHA-256 / ECDSA P-256.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// A trust-store entry (root certificate or CRL) cannot be used; the message says which.
    #[error("unusable trust store: {0}")]
    TrustStore(String),
    /// A signature timestamp cannot be made, or does not check.
    #[error("signature timestamp: {0}")]
    Timestamp(String),
}
