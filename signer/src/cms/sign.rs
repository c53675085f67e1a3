//! Making SignedData: the [`CmsSigner`] prepared once per batch.
//!
//! Why precomputed: a batch signs thousands of documents with one key and one
//! certificate. Everything that does not depend on the document (the certificate
//! set, the signer identifier, the algorithm identifiers, the ESS attribute, the
//! content-type attribute of detached signatures) is encoded in [`CmsSigner::new`];
//! each document then costs one SHA-256, a few small encodings, one ECDSA signature
//! and a single buffer write.

use std::fmt;

use const_oid::ObjectIdentifier;
use der::Decode;
use ring::digest::{Context, SHA256, digest};
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::attributes::{SignedAttribute, signed_set, validate_extra};
use super::certificate::{issuer_serial, p256_public_key};
use super::encode::{
    TAG_CONTEXT_0, TAG_CONTEXT_1, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, TAG_SET, attribute,
    oid, put_header, tlv, tlv_len,
};
use super::error::CmsError;
use super::oids::{
    ECDSA_WITH_SHA256, ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_CONTENT_TYPE, ID_DATA,
    ID_MESSAGE_DIGEST, ID_SHA256, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME,
};
use super::{ess, signing_time};
use crate::keys::SigningKey;
use crate::keys::file::FileKey;

/// What makes a signature timestamp: given the SHA-256 of a signature value, a timestamp token
/// (RFC 3161, DER) over it.
pub type Stamp<'a> = dyn Fn(&[u8; 32]) -> Result<Vec<u8>, CmsError> + 'a;

/// A signer's key and certificates, prepared once per batch so that each document
/// costs one digest and one ECDSA signature.
pub struct CmsSigner {
    key: Box<dyn SigningKey>,
    /// The signer's certificate, DER.
    cert_der: Vec<u8>,
    /// The certificate's subject and serial, for `Debug` and logs.
    subject: String,
    serial: String,
    chain_len: usize,
    /// `[0] IMPLICIT CertificateSet` with the signer's certificate and the chain.
    certificates: Vec<u8>,
    /// `digestAlgorithms`: `SET { sha-256 }`.
    digest_algorithms: Vec<u8>,
    /// The SignerInfo up to its signed attributes: version 1, issuerAndSerialNumber,
    /// digestAlgorithm sha-256.
    signer_info_head: Vec<u8>,
    /// `signatureAlgorithm`: ecdsa-with-SHA256 without parameters.
    signature_algorithm: Vec<u8>,
    /// The content-type attribute saying id-data.
    content_type_data: Vec<u8>,
    /// The signing-certificate-v2 attribute.
    signing_certificate: Vec<u8>,
    /// OID TLVs used on every document.
    oid_signed_data: Vec<u8>,
    oid_data: Vec<u8>,
    oid_content_type: Vec<u8>,
    oid_message_digest: Vec<u8>,
    oid_signing_time: Vec<u8>,
}

impl fmt::Debug for CmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsSigner")
            .field("subject", &self.subject)
            .field("serial", &self.serial)
            .field("chain_len", &self.chain_len)
            .finish_non_exhaustive()
    }
}

impl CmsSigner {
    /// Prepares a signer.
    ///
    /// `key_pkcs8`: PKCS#8 DER of an ECDSA P-256 key; `cert_der`: the signer's
    /// certificate; `chain`: the issuing CA certificate(s), DER, included in every
    /// SignedData. Fails with [`CmsError::Key`] if AWS-LC rejects the key,
    /// [`CmsError::InvalidCertificate`] if a certificate does not parse, and
    /// [`CmsError::KeyCertificateMismatch`] if the key is not the certificate's.
    pub fn new(key_pkcs8: &[u8], cert_der: Vec<u8>, chain: Vec<Vec<u8>>) -> Result<Self, CmsError> {
        let key = FileKey::from_pkcs8(key_pkcs8).map_err(|e| CmsError::Key(e.to_string()))?;
        Self::with_key(Box::new(key), cert_der, chain)
    }

    /// As [`CmsSigner::new`], with a key from any back end (a token's, a file's).
    pub fn with_key(
        key: Box<dyn SigningKey>,
        cert_der: Vec<u8>,
        chain: Vec<Vec<u8>>,
    ) -> Result<Self, CmsError> {
        let cert = Certificate::from_der(&cert_der)
            .map_err(|e| CmsError::InvalidCertificate(format!("signer certificate: {e}")))?;
        match p256_public_key(&cert) {
            Ok(point) if point == key.public_point() => {}
            _ => return Err(CmsError::KeyCertificateMismatch),
        }
        for (i, der) in chain.iter().enumerate() {
            Certificate::from_der(der).map_err(|e| {
                CmsError::InvalidCertificate(format!("chain certificate #{i}: {e}"))
            })?;
        }
        let ids = issuer_serial(&cert_der)
            .map_err(|e| CmsError::InvalidCertificate(format!("signer certificate: {e}")))?;

        // CertificateSet is a DER SET OF: sorted, and without repeats (a chain that
        // repeats the signer's certificate must not produce a duplicate element).
        let mut all: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        all.push(&cert_der);
        all.sort_unstable();
        all.dedup();

        let sha256 = tlv(TAG_SEQUENCE, &[&oid(&ID_SHA256)]);
        let issuer_and_serial = tlv(TAG_SEQUENCE, &[ids.issuer, ids.serial]);
        let oid_content_type = oid(&ID_CONTENT_TYPE);
        let oid_data = oid(&ID_DATA);

        Ok(Self {
            certificates: tlv(TAG_CONTEXT_0, &all),
            digest_algorithms: tlv(TAG_SET, &[&sha256]),
            signer_info_head: [&[TAG_INTEGER, 1, 1][..], &issuer_and_serial, &sha256].concat(),
            signature_algorithm: tlv(TAG_SEQUENCE, &[&oid(&ECDSA_WITH_SHA256)]),
            content_type_data: attribute(&oid_content_type, &oid_data),
            signing_certificate: attribute(
                &oid(&ID_SIGNING_CERTIFICATE_V2),
                &ess::attribute_value(&cert_der, ids),
            ),
            oid_signed_data: oid(&ID_SIGNED_DATA),
            oid_data,
            oid_content_type,
            oid_message_digest: oid(&ID_MESSAGE_DIGEST),
            oid_signing_time: oid(&ID_SIGNING_TIME),
            subject: cert.tbs_certificate.subject.to_string(),
            serial: cert.tbs_certificate.serial_number.to_string(),
            chain_len: chain.len(),
            cert_der,
            key,
        })
    }

    /// The signer's certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.cert_der
    }

    /// A detached SignedData (no eContent) over `content`, DER ContentInfo.
    ///
    /// The content type is id-data; `signing_time` is written to the second;
    /// `extra` attributes are signed after the standard ones.
    pub fn sign_detached(
        &self,
        content: &[u8],
        signing_time: OffsetDateTime,
        extra: &[SignedAttribute],
    ) -> Result<Vec<u8>, CmsError> {
        self.sign(
            &self.oid_data,
            &self.content_type_data,
            None,
            digest(&SHA256, content).as_ref(),
            Some(signing_time),
            extra,
        )
    }

    /// A detached SignedData for a PAdES signature (CAdES baseline), DER ContentInfo: over the
    /// concatenation of `parts` (the PDF's signed byte ranges), without a signing-time attribute,
    /// since the PDF's signature dictionary carries the claimed signing time.
    pub fn sign_cades_detached(
        &self,
        parts: &[&[u8]],
        extra: &[SignedAttribute],
    ) -> Result<Vec<u8>, CmsError> {
        self.sign_cades_detached_stamped(parts, extra, None)
    }

    /// As [`CmsSigner::sign_cades_detached`], with a signature timestamp when `stamp` is given
    /// (CAdES-T, PAdES B-T): `stamp` gets the SHA-256 of the signature value and returns a
    /// timestamp token (RFC 3161) over it, carried as the unsigned attribute
    /// id-aa-signatureTimeStampToken.
    pub fn sign_cades_detached_stamped(
        &self,
        parts: &[&[u8]],
        extra: &[SignedAttribute],
        stamp: Option<&Stamp<'_>>,
    ) -> Result<Vec<u8>, CmsError> {
        let mut context = Context::new(&SHA256);
        for part in parts {
            context.update(part);
        }
        let (signed_attrs, signature) = self.signed_attributes(
            &self.content_type_data,
            context.finish().as_ref(),
            None,
            extra,
        )?;
        let unsigned = match stamp {
            Some(stamp) => {
                let imprint: [u8; 32] = digest(&SHA256, &signature)
                    .as_ref()
                    .try_into()
                    .map_err(|_| CmsError::Timestamp("a SHA-256 that is not 32 bytes".into()))?;
                let token = stamp(&imprint)?;
                let attr = attribute(&oid(&ID_AA_SIGNATURE_TIME_STAMP_TOKEN), &token);
                tlv(TAG_CONTEXT_1, &[&attr])
            }
            None => Vec::new(),
        };
        Ok(self.assemble(
            1,
            &self.oid_data,
            None,
            &signed_attrs,
            &signature,
            &unsigned,
        ))
    }

    /// An attached SignedData whose eContent is `content` with eContentType
    /// `content_type`.
    pub fn sign_attached(
        &self,
        content_type: ObjectIdentifier,
        content: &[u8],
        signing_time: OffsetDateTime,
        extra: &[SignedAttribute],
    ) -> Result<Vec<u8>, CmsError> {
        let type_der = oid(&content_type);
        let type_attr = attribute(&self.oid_content_type, &type_der);
        self.sign(
            &type_der,
            &type_attr,
            Some(content),
            digest(&SHA256, content).as_ref(),
            Some(signing_time),
            extra,
        )
    }

    /// Signs the content whose SHA-256 is `hash` and writes the ContentInfo; `econtent` is
    /// `Some(content)` for an attached signature; `when`, if any, is the signing-time attribute.
    fn sign(
        &self,
        econtent_type: &[u8],
        content_type_attr: &[u8],
        econtent: Option<&[u8]>,
        hash: &[u8],
        when: Option<OffsetDateTime>,
        extra: &[SignedAttribute],
    ) -> Result<Vec<u8>, CmsError> {
        let (signed_attrs, signature) =
            self.signed_attributes(content_type_attr, hash, when, extra)?;
        // RFC 5652 §5.1: version 3 when the content type is not id-data.
        let version = if econtent_type == self.oid_data { 1 } else { 3 };
        Ok(self.assemble(
            version,
            econtent_type,
            econtent,
            &signed_attrs,
            &signature,
            &[],
        ))
    }

    /// The signed attributes (the DER SET OF) for content whose SHA-256 is `hash`, and the
    /// signature over them.
    fn signed_attributes(
        &self,
        content_type_attr: &[u8],
        hash: &[u8],
        when: Option<OffsetDateTime>,
        extra: &[SignedAttribute],
    ) -> Result<(Vec<u8>, Vec<u8>), CmsError> {
        validate_extra(extra)?;
        let message_digest = attribute(&self.oid_message_digest, &tlv(TAG_OCTET_STRING, &[hash]));
        let signing_time = when
            .map(|when| signing_time::encode(when).map(|t| attribute(&self.oid_signing_time, &t)))
            .transpose()?;
        let extra: Vec<Vec<u8>> = extra
            .iter()
            .map(|a| attribute(&oid(&a.oid), &a.value_der))
            .collect();

        let mut attrs: Vec<&[u8]> = Vec::with_capacity(4 + extra.len());
        attrs.push(content_type_attr);
        attrs.extend(signing_time.as_deref());
        attrs.extend([&message_digest[..], &self.signing_certificate]);
        attrs.extend(extra.iter().map(Vec::as_slice));
        let signed_attrs = signed_set(&mut attrs);

        let signature = self.key.sign(&signed_attrs)?;
        Ok((signed_attrs, signature))
    }

    /// Writes ContentInfo { id-signedData, [0] SignedData { ... } } in one buffer; `unsigned` is
    /// the SignerInfo's `[1] IMPLICIT` unsigned attributes, whole, or empty for none.
    fn assemble(
        &self,
        version: u8,
        econtent_type: &[u8],
        econtent: Option<&[u8]>,
        signed_attrs: &[u8],
        signature: &[u8],
        unsigned: &[u8],
    ) -> Vec<u8> {
        // Lengths, innermost first.
        let signer_info = self.signer_info_head.len()
            + signed_attrs.len()
            + self.signature_algorithm.len()
            + tlv_len(signature.len())
            + unsigned.len();
        let signer_infos = tlv_len(signer_info);
        let econtent_explicit = econtent.map(|c| tlv_len(c.len()));
        let encap = econtent_type.len() + econtent_explicit.map_or(0, tlv_len);
        let signed_data = 3
            + self.digest_algorithms.len()
            + tlv_len(encap)
            + self.certificates.len()
            + tlv_len(signer_infos);
        let explicit = tlv_len(signed_data);
        let content_info = self.oid_signed_data.len() + tlv_len(explicit);

        let mut out = Vec::with_capacity(tlv_len(content_info));
        put_header(&mut out, TAG_SEQUENCE, content_info);
        out.extend_from_slice(&self.oid_signed_data);
        put_header(&mut out, TAG_CONTEXT_0, explicit);
        put_header(&mut out, TAG_SEQUENCE, signed_data);
        out.extend_from_slice(&[TAG_INTEGER, 1, version]);
        out.extend_from_slice(&self.digest_algorithms);
        put_header(&mut out, TAG_SEQUENCE, encap);
        out.extend_from_slice(econtent_type);
        if let (Some(content), Some(explicit)) = (econtent, econtent_explicit) {
            put_header(&mut out, TAG_CONTEXT_0, explicit);
            put_header(&mut out, TAG_OCTET_STRING, content.len());
            out.extend_from_slice(content);
        }
        out.extend_from_slice(&self.certificates);
        put_header(&mut out, TAG_SET, signer_infos);
        put_header(&mut out, TAG_SEQUENCE, signer_info);
        out.extend_from_slice(&self.signer_info_head);
        // signedAttrs [0] IMPLICIT: the signed SET OF with its tag replaced.
        out.push(TAG_CONTEXT_0);
        out.extend_from_slice(signed_attrs.get(1..).unwrap_or_default());
        out.extend_from_slice(&self.signature_algorithm);
        put_header(&mut out, TAG_OCTET_STRING, signature.len());
        out.extend_from_slice(signature);
        out.extend_from_slice(unsigned);
        out
    }
}
