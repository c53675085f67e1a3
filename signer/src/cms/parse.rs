//! Reading a received ContentInfo/SignedData into borrowed views.
//!
//! Why not `cms::signed_data::SignedData`: the `der` crate sorts a SET OF while
//! decoding, so re-encoding the decoded signed attributes would not reproduce the
//! bytes the signer signed if they were not in DER order, and re-encoded certificates
//! could differ from those whose hash the ESS attribute carries. These views keep the
//! original bytes and decode only the small pieces (OIDs, algorithm identifiers,
//! issuerAndSerialNumber) with `der`.

use cms::cert::IssuerAndSerialNumber;
use const_oid::ObjectIdentifier;
use der::{Decode, Tag};
use x509_cert::spki::AlgorithmIdentifierRef;

use super::error::CmsError;
use super::oids::ID_SIGNED_DATA;
use super::reader::{CONTEXT_0, CONTEXT_1, Cursor, single};

/// The parts of a SignedData the verifier uses.
#[derive(Debug)]
pub(super) struct SignedDataView<'a> {
    /// encapContentInfo.eContentType.
    pub(super) econtent_type: ObjectIdentifier,
    /// The octets of eContent, when the signature is attached.
    pub(super) econtent: Option<&'a [u8]>,
    /// Every Certificate in `certificates`, as its original DER.
    pub(super) certificates: Vec<&'a [u8]>,
    /// The one SignerInfo.
    pub(super) signer: SignerInfoView<'a>,
}

/// The parts of a SignerInfo the verifier uses.
#[derive(Debug)]
pub(super) struct SignerInfoView<'a> {
    /// sid, which must be issuerAndSerialNumber.
    pub(super) sid: IssuerAndSerialNumber,
    /// digestAlgorithm.
    pub(super) digest_algorithm: AlgorithmIdentifierRef<'a>,
    /// The content octets of signedAttrs, as received.
    pub(super) signed_attrs: Option<&'a [u8]>,
    /// signatureAlgorithm.
    pub(super) signature_algorithm: AlgorithmIdentifierRef<'a>,
    /// The signature octets.
    pub(super) signature: &'a [u8],
    /// The content octets of unsignedAttrs, when present.
    pub(super) unsigned_attrs: Option<&'a [u8]>,
}

/// Parses `input` as a DER ContentInfo holding a SignedData with one SignerInfo.
pub(super) fn signed_data(input: &[u8]) -> Result<SignedDataView<'_>, CmsError> {
    let mut info = Cursor::new(single(input, Tag::Sequence, "ContentInfo")?, "ContentInfo")?;
    let content_type = info.oid("contentType")?;
    if content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed(format!(
            "ContentInfo.contentType is {content_type}, not id-signedData (1.2.840.113549.1.7.2)"
        )));
    }
    let explicit = info.content(CONTEXT_0, "content")?;
    info.finish()?;

    let mut sd = Cursor::new(single(explicit, Tag::Sequence, "SignedData")?, "SignedData")?;
    let version: u8 = sd.decode("version")?;
    if ![1, 3, 4, 5].contains(&version) {
        return Err(CmsError::Malformed(format!(
            "SignedData.version is {version}; RFC 5652 allows 1, 3, 4 or 5"
        )));
    }
    sd.content(Tag::Set, "digestAlgorithms")?;
    let encap = sd.content(Tag::Sequence, "encapContentInfo")?;
    let certificates = sd.optional_content(CONTEXT_0, "certificates")?;
    sd.optional_content(CONTEXT_1, "crls")?;
    let signer_infos = sd.content(Tag::Set, "signerInfos")?;
    sd.finish()?;

    let (econtent_type, econtent) = encapsulated(encap)?;

    let mut certs = Vec::new();
    if let Some(set) = certificates {
        let mut set = Cursor::new(set, "SignedData.certificates")?;
        while !set.is_finished() {
            let choice = set.element("CertificateChoices")?;
            // Only plain certificates (SEQUENCE); attribute and other certificates
            // ([1]..[3]) cannot sign and are skipped.
            if choice.tag == Tag::Sequence {
                certs.push(choice.whole);
            }
        }
    }

    let mut infos = Cursor::new(signer_infos, "SignedData.signerInfos")?;
    let mut found = Vec::new();
    while !infos.is_finished() {
        found.push(infos.content(Tag::Sequence, "SignerInfo")?);
    }
    let signer = match found.as_slice() {
        [one] => signer_info(one)?,
        _ => {
            return Err(CmsError::Malformed(format!(
                "SignedData.signerInfos holds {} SignerInfos; exactly one is required",
                found.len()
            )));
        }
    };

    Ok(SignedDataView {
        econtent_type,
        econtent,
        certificates: certs,
        signer,
    })
}

/// Reads EncapsulatedContentInfo: the type and the optional `[0] EXPLICIT OCTET STRING`.
fn encapsulated(content: &[u8]) -> Result<(ObjectIdentifier, Option<&[u8]>), CmsError> {
    let mut encap = Cursor::new(content, "EncapsulatedContentInfo")?;
    let econtent_type = encap.oid("eContentType")?;
    let econtent = match encap.optional_content(CONTEXT_0, "eContent")? {
        Some(explicit) => Some(single(
            explicit,
            Tag::OctetString,
            "EncapsulatedContentInfo.eContent",
        )?),
        None => None,
    };
    encap.finish()?;
    Ok((econtent_type, econtent))
}

/// Reads one SignerInfo (its content octets).
fn signer_info(content: &[u8]) -> Result<SignerInfoView<'_>, CmsError> {
    let mut si = Cursor::new(content, "SignerInfo")?;
    let version: u8 = si.decode("version")?;
    let sid = si.element("sid")?;
    if sid.tag != Tag::Sequence {
        return Err(CmsError::Malformed(
            "SignerInfo.sid: only issuerAndSerialNumber is supported, not subjectKeyIdentifier"
                .to_owned(),
        ));
    }
    if version != 1 {
        return Err(CmsError::Malformed(format!(
            "SignerInfo.version is {version}; it must be 1 with issuerAndSerialNumber"
        )));
    }
    let sid = IssuerAndSerialNumber::from_der(sid.whole)
        .map_err(|e| CmsError::Malformed(format!("SignerInfo.sid: {e}")))?;
    let digest_algorithm = si.decode("digestAlgorithm")?;
    let signed_attrs = si.optional_content(CONTEXT_0, "signedAttrs")?;
    let signature_algorithm = si.decode("signatureAlgorithm")?;
    let signature = si.content(Tag::OctetString, "signature")?;
    let unsigned_attrs = si.optional_content(CONTEXT_1, "unsignedAttrs")?;
    si.finish()?;
    Ok(SignerInfoView {
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature,
        unsigned_attrs,
    })
}
