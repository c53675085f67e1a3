//! Signature timestamps (RFC 3161, as CAdES-T and PAdES B-T carry them): a timestamp token in
//! the SignerInfo's unsigned attribute id-aa-signatureTimeStampToken, over the SHA-256 of the
//! signature value. It proves the signature existed at the token's time, so the signer's
//! certificate is judged at that time rather than at the time the signer claims.
//!
//! A token is itself a SignedData (eContentType id-ct-TSTInfo) by a timestamp authority whose
//! certificate carries the timeStamping extended key usage and chains to the trust store.

use der::{Decode, Tag};
use time::OffsetDateTime;
use x509_tsp::TstInfo;

use super::chain::{Purpose, TrustStore};
use super::error::CmsError;
use super::oids::{ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_CT_TST_INFO, ID_SHA256};
use super::reader::Cursor;

/// A checked signature timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// When the authority saw the signature (TSTInfo.genTime).
    pub time: OffsetDateTime,
    /// The authority's certificate, DER.
    pub authority: Vec<u8>,
    /// The token's serial number, lowercase hex.
    pub serial: String,
    /// The nonce it echoes, if the request had one.
    pub nonce: Option<Vec<u8>>,
    /// The token (a DER ContentInfo).
    pub token: Vec<u8>,
}

fn bad(reason: impl std::fmt::Display) -> CmsError {
    CmsError::Timestamp(reason.to_string())
}

/// The signature timestamp token among a SignerInfo's unsigned attributes (their content
/// octets), if there is one; more than one is refused.
pub(super) fn find(unsigned_attrs: &[u8]) -> Result<Option<&[u8]>, CmsError> {
    let mut found = None;
    let mut set = Cursor::new(unsigned_attrs, "unsignedAttrs")?;
    while !set.is_finished() {
        let attr = set.content(Tag::Sequence, "Attribute")?;
        let mut attr = Cursor::new(attr, "unsignedAttrs.Attribute")?;
        let oid = attr.oid("attrType")?;
        let values = attr.content(Tag::Set, "attrValues")?;
        attr.finish()?;
        if oid != ID_AA_SIGNATURE_TIME_STAMP_TOKEN {
            continue;
        }
        let mut values = Cursor::new(values, "signatureTimeStampToken.attrValues")?;
        let token = values.element("TimeStampToken")?.whole;
        values.finish()?;
        if found.replace(token).is_some() {
            return Err(bad("the signature carries more than one timestamp"));
        }
    }
    Ok(found)
}

/// Checks `token` as a timestamp over `imprint` (a SHA-256) by an authority `trust` accepts.
pub fn check_token(
    token: &[u8],
    imprint: &[u8],
    trust: &TrustStore,
) -> Result<Timestamp, CmsError> {
    let verified = super::verify_for(token, None, trust, Purpose::Timestamping)
        .map_err(|e| bad(format!("the token does not verify: {e}")))?;
    if verified.content_type != ID_CT_TST_INFO {
        return Err(bad(format!(
            "the token's content is {}, not a TSTInfo",
            verified.content_type
        )));
    }
    let content = verified.content.unwrap_or_default();
    let info = TstInfo::from_der(&content).map_err(|e| bad(format!("its TSTInfo: {e}")))?;
    let mi = &info.message_imprint;
    if mi.hash_algorithm.oid != ID_SHA256 {
        return Err(bad(format!(
            "it stamps a {} hash; only SHA-256 is accepted",
            mi.hash_algorithm.oid
        )));
    }
    if mi.hashed_message.as_bytes() != imprint {
        return Err(bad("it stamps another signature"));
    }
    let time = OffsetDateTime::from_unix_timestamp(
        i64::try_from(info.gen_time.to_unix_duration().as_secs())
            .map_err(|_| bad("its time is out of range"))?,
    )
    .map_err(|_| bad("its time is out of range"))?;
    Ok(Timestamp {
        time,
        authority: verified.signer_cert,
        serial: hex::encode(info.serial_number.as_bytes()),
        nonce: info.nonce.map(|n| n.as_bytes().to_vec()),
        token: token.to_vec(),
    })
}
