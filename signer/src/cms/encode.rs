//! A minimal DER writer for assembling signatures from precomputed pieces.
//!
//! Why not the `der` crate's types on the hot path: encoding a parsed `Certificate`
//! or a generic `SignedData` walks every field of every certificate again for each
//! document. The signer instead keeps the certificate set, the signer identifier and
//! the algorithm identifiers as finished DER bytes and only wraps them in headers
//! here; lengths are computed first so every signature is written into one buffer.

use const_oid::ObjectIdentifier;

/// Universal tag of INTEGER.
pub(super) const TAG_INTEGER: u8 = 0x02;
/// Universal tag of OCTET STRING.
pub(super) const TAG_OCTET_STRING: u8 = 0x04;
/// Universal tag of OBJECT IDENTIFIER.
pub(super) const TAG_OID: u8 = 0x06;
/// Universal tag of UTCTime.
pub(super) const TAG_UTC_TIME: u8 = 0x17;
/// Universal tag of GeneralizedTime.
pub(super) const TAG_GENERALIZED_TIME: u8 = 0x18;
/// Constructed SEQUENCE.
pub(super) const TAG_SEQUENCE: u8 = 0x30;
/// Constructed SET (and SET OF).
pub(super) const TAG_SET: u8 = 0x31;
/// Constructed context-specific [0], used IMPLICIT (certificates, signedAttrs) and
/// EXPLICIT (ContentInfo.content, eContent).
pub(super) const TAG_CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed, context-specific (unsigned attributes).
pub(super) const TAG_CONTEXT_1: u8 = 0xa1;

/// Number of bytes of the length octets for a value of `len` bytes (definite form).
pub(super) fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// Total size of a TLV whose value is `len` bytes long (one-byte tag).
pub(super) fn tlv_len(len: usize) -> usize {
    1 + length_len(len) + len
}

/// Appends the tag and the definite length octets for a value of `len` bytes.
pub(super) fn put_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        // Short form: 0..=127 fits in the low seven bits.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = (len.leading_zeros() / 8) as usize;
        let significant = bytes.get(skip..).unwrap_or(&bytes);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// A complete TLV with the given tag whose value is the concatenation of `parts`.
pub(super) fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(tlv_len(len));
    put_header(&mut out, tag, len);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// The DER of an OBJECT IDENTIFIER.
pub(super) fn oid(oid: &ObjectIdentifier) -> Vec<u8> {
    tlv(TAG_OID, &[oid.as_bytes()])
}

/// The DER of an `Attribute` (RFC 5652 §5.3) with a single value:
/// `SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }`.
/// `oid_der` is the complete OID TLV and `value_der` the complete value TLV.
pub(super) fn attribute(oid_der: &[u8], value_der: &[u8]) -> Vec<u8> {
    let set_len = value_der.len();
    let len = oid_der.len() + tlv_len(set_len);
    let mut out = Vec::with_capacity(tlv_len(len));
    put_header(&mut out, TAG_SEQUENCE, len);
    out.extend_from_slice(oid_der);
    put_header(&mut out, TAG_SET, set_len);
    out.extend_from_slice(value_der);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Encode, asn1::OctetString};

    #[test]
    fn headers_match_der_crate() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 24] {
            let value = vec![0x5a; len];
            let ours = tlv(TAG_OCTET_STRING, &[&value]);
            let theirs = OctetString::new(value).and_then(|o| o.to_der());
            assert_eq!(Ok(ours.clone()), theirs, "length {len}");
            assert_eq!(ours.len(), tlv_len(len), "length {len}");
        }
    }

    #[test]
    fn oid_matches_der_crate() {
        let o = super::super::oids::ID_SIGNING_CERTIFICATE_V2;
        assert_eq!(Ok(oid(&o)), o.to_der());
    }
}
