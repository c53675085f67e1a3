//! Verifying a SignedData: structure, attributes, digest, signature, ESS, chain.
//!
//! Why in this order: cheap and specific checks first, so an operator learns "the
//! document was changed" (digest) before "the signature is bad", and the chain, the
//! most expensive check and the one depending on the trust store, comes last.

use const_oid::ObjectIdentifier;
use der::Decode;
use der::asn1::Null;
use ring::digest::{Context, SHA256, digest};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierRef;

use super::attributes::{self, SignedAttribute};
use super::certificate::p256_public_key;
use super::chain::{self, Purpose, TrustStore};
use super::encode::{TAG_SET, put_header, tlv_len};
use super::error::CmsError;
use super::oids::{ECDSA_WITH_SHA256, ID_SHA256};
use super::timestamp::{self, Timestamp};
use super::{ess, parse};

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// DER of the signer's certificate.
    pub signer_cert: Vec<u8>,
    /// The signed signing-time attribute.
    pub signing_time: OffsetDateTime,
    /// The eContentType (id-data for detached signatures made by [`super::CmsSigner`]).
    pub content_type: ObjectIdentifier,
    /// The eContent of an attached signature; `None` for a detached one.
    pub content: Option<Vec<u8>>,
    /// Signed attributes other than content-type, message-digest, signing-time and
    /// signing-certificate-v2, in the order received; one entry per value.
    pub extra: Vec<SignedAttribute>,
    /// The signature timestamp, checked, if the signature carries one.
    pub timestamp: Option<Timestamp>,
}

/// Verifies one SignedData. `detached_content` is required for a detached signature
/// and must be `None` for an attached one.
///
/// The chain is checked at the signing time the signature claims, not at the current
/// time: a record signed with a then-valid certificate keeps verifying.
pub fn verify(
    cms_der: &[u8],
    detached_content: Option<&[u8]>,
    trust: &TrustStore,
) -> Result<Verified, CmsError> {
    verify_for(cms_der, detached_content, trust, Purpose::Document)
}

/// As [`verify`], for a signature whose certificate must be good for `purpose`.
pub fn verify_for(
    cms_der: &[u8],
    detached_content: Option<&[u8]>,
    trust: &TrustStore,
    purpose: Purpose,
) -> Result<Verified, CmsError> {
    let sd = parse::signed_data(cms_der)?;
    let content = match (sd.econtent, detached_content) {
        (Some(_), Some(_)) => return Err(CmsError::UnexpectedDetachedContent),
        (None, None) => return Err(CmsError::DetachedContentMissing),
        (Some(c), None) | (None, Some(c)) => c,
    };
    check(&sd, digest(&SHA256, content).as_ref(), None, trust, purpose)
}

/// The certificates (DER) a SignedData carries, its signer's first (what a signature made by the
/// signing service names, after a renewal as before), then the CA chain (the ward CA's, or an
/// outside CA's). Nothing is verified.
pub fn signer_chain(cms_der: &[u8]) -> Result<Vec<Vec<u8>>, CmsError> {
    let sd = parse::signed_data(cms_der)?;
    let signer = find_signer(&sd)?.0;
    let mut chain = vec![signer.to_vec()];
    chain.extend(
        sd.certificates
            .iter()
            .filter(|c| **c != signer)
            .map(|c| c.to_vec()),
    );
    Ok(chain)
}

/// Verifies the detached SignedData of a PAdES signature over the PDF's signed byte ranges
/// `parts`. The chain is checked at the signing-time attribute if the signature has one, else at
/// `claimed`, the time the PDF's signature dictionary states (`/M`).
pub fn verify_pades(
    cms_der: &[u8],
    parts: &[&[u8]],
    claimed: OffsetDateTime,
    trust: &TrustStore,
) -> Result<Verified, CmsError> {
    let sd = parse::signed_data(cms_der)?;
    if sd.econtent.is_some() {
        return Err(CmsError::UnexpectedDetachedContent);
    }
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let hash = context.finish();
    check(&sd, hash.as_ref(), Some(claimed), trust, Purpose::Document)
}

/// The checks of a SignedData whose content hashes to `hash`: algorithms, content type,
/// message digest, the signature, ESS and the chain at the signing time (the attribute's, else
/// `claimed`, else refused).
fn check(
    sd: &parse::SignedDataView<'_>,
    hash: &[u8],
    claimed: Option<OffsetDateTime>,
    trust: &TrustStore,
    purpose: Purpose,
) -> Result<Verified, CmsError> {
    let si = &sd.signer;
    check_digest_algorithm(&si.digest_algorithm)?;
    check_signature_algorithm(&si.signature_algorithm)?;

    let signed_attrs = si.signed_attrs.ok_or(CmsError::NoSignedAttributes)?;
    let attrs = attributes::parse(signed_attrs)?;
    if attrs.content_type != sd.econtent_type {
        return Err(CmsError::ContentTypeMismatch);
    }
    if hash != attrs.message_digest {
        return Err(CmsError::DigestMismatch);
    }
    // A signature timestamp proves when the signature existed: the chain is judged then.
    let timestamp = match si
        .unsigned_attrs
        .map(timestamp::find)
        .transpose()?
        .flatten()
    {
        Some(token) => Some(timestamp::check_token(
            token,
            digest(&SHA256, si.signature).as_ref(),
            trust,
        )?),
        None => None,
    };
    let signing_time = attrs
        .signing_time
        .or(claimed)
        .ok_or(CmsError::MissingAttribute("signing-time"))?;
    let judged_at = timestamp.as_ref().map_or(signing_time, |t| t.time);

    let (signer_der, signer_cert) = find_signer(sd)?;
    let public_key = p256_public_key(&signer_cert)?;
    // The signature covers the DER SET OF: the received octets under tag 0x31.
    let mut message = Vec::with_capacity(tlv_len(signed_attrs.len()));
    put_header(&mut message, TAG_SET, signed_attrs.len());
    message.extend_from_slice(signed_attrs);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(&message, si.signature)
        .map_err(|_| CmsError::BadSignature)?;

    if let Some(value) = attrs.signing_certificate_v2 {
        ess::check(value, signer_der)?;
    }

    let others: Vec<&[u8]> = sd
        .certificates
        .iter()
        .copied()
        .filter(|c| *c != signer_der)
        .collect();
    chain::check(trust, signer_der, &signer_cert, &others, judged_at, purpose)?;

    Ok(Verified {
        signer_cert: signer_der.to_vec(),
        signing_time,
        content_type: sd.econtent_type,
        content: sd.econtent.map(<[u8]>::to_vec),
        extra: attrs.extra,
        timestamp,
    })
}

/// The certificate named by the SignerInfo's issuerAndSerialNumber.
fn find_signer<'a>(sd: &parse::SignedDataView<'a>) -> Result<(&'a [u8], Certificate), CmsError> {
    for (i, der) in sd.certificates.iter().enumerate() {
        let cert = Certificate::from_der(der)
            .map_err(|e| CmsError::Malformed(format!("SignedData.certificates[{i}]: {e}")))?;
        let tbs = &cert.tbs_certificate;
        if tbs.issuer == sd.signer.sid.issuer && tbs.serial_number == sd.signer.sid.serial_number {
            return Ok((der, cert));
        }
    }
    Err(CmsError::SignerCertificateNotFound)
}

/// sha-256, with parameters absent or NULL (both occur in the wild).
fn check_digest_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<(), CmsError> {
    let params_ok = alg.parameters.is_none_or(|p| p.decode_as::<Null>().is_ok());
    if alg.oid == ID_SHA256 && params_ok {
        Ok(())
    } else {
        Err(CmsError::UnsupportedAlgorithm(format!(
            "digest algorithm {}; only sha-256 ({ID_SHA256}) is supported",
            alg.oid
        )))
    }
}

/// ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
fn check_signature_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<(), CmsError> {
    if alg.oid == ECDSA_WITH_SHA256 && alg.parameters.is_none() {
        Ok(())
    } else {
        Err(CmsError::UnsupportedAlgorithm(format!(
            "signature algorithm {}; only ecdsa-with-SHA256 ({ECDSA_WITH_SHA256}) without parameters is supported",
            alg.oid
        )))
    }
}
