//! Signed attributes: the extra ones callers add, the DER SET OF the signer signs,
//! and the reading of a received set.
//!
//! Why here and not in the signer or the verifier: both sides must agree on which
//! attributes are "standard" (written by the signer itself and never duplicated by
//! callers) and which are returned to the caller as extras.

use const_oid::ObjectIdentifier;
use der::{AnyRef, Decode, Tag};
use time::OffsetDateTime;

use super::encode::{TAG_SET, put_header, tlv_len};
use super::error::CmsError;
use super::oids::{
    ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME,
    from_der_content,
};
use super::reader::{Cursor, Element};
use super::signing_time;

/// One extra signed attribute: its type and the DER encoding of its single AttributeValue.
#[derive(Clone, Debug, Eq, PartialEq, Hash)]
pub struct SignedAttribute {
    /// The attribute type.
    pub oid: ObjectIdentifier,
    /// The complete DER (tag, length, value) of the attribute's one value.
    pub value_der: Vec<u8>,
}

/// The attribute types the signer writes itself; callers may not pass them as extras.
const STANDARD: [ObjectIdentifier; 4] = [
    ID_CONTENT_TYPE,
    ID_SIGNING_TIME,
    ID_MESSAGE_DIGEST,
    ID_SIGNING_CERTIFICATE_V2,
];

/// Rejects extras that would make the attribute set invalid: values that are not one
/// DER element, standard attribute types, and types given twice.
pub(super) fn validate_extra(extra: &[SignedAttribute]) -> Result<(), CmsError> {
    for (i, attr) in extra.iter().enumerate() {
        if STANDARD.contains(&attr.oid) {
            return Err(CmsError::InvalidAttribute(format!(
                "{} is written by the signer itself",
                attr.oid
            )));
        }
        if extra
            .get(..i)
            .is_some_and(|before| before.iter().any(|a| a.oid == attr.oid))
        {
            return Err(CmsError::InvalidAttribute(format!(
                "{} is given more than once",
                attr.oid
            )));
        }
        AnyRef::from_der(&attr.value_der).map_err(|e| {
            CmsError::InvalidAttribute(format!(
                "{}: value is not exactly one DER element: {e}",
                attr.oid
            ))
        })?;
    }
    Ok(())
}

/// The DER `SET OF Attribute` (tag 0x31) holding `encoded` attributes, each a complete
/// Attribute TLV, sorted by encoding as DER requires. This is the exact byte string
/// signed; the SignerInfo stores it with the tag changed to `[0]`.
pub(super) fn signed_set(encoded: &mut [&[u8]]) -> Vec<u8> {
    encoded.sort_unstable();
    let len = encoded.iter().map(|a| a.len()).sum();
    let mut out = Vec::with_capacity(tlv_len(len));
    put_header(&mut out, TAG_SET, len);
    for attr in encoded.iter() {
        out.extend_from_slice(attr);
    }
    out
}

/// What a received set of signed attributes says.
#[derive(Debug)]
pub(super) struct ReceivedAttributes<'a> {
    /// content-type value.
    pub(super) content_type: ObjectIdentifier,
    /// message-digest value (the digest octets).
    pub(super) message_digest: &'a [u8],
    /// signing-time value (PAdES signatures carry none: the PDF says when).
    pub(super) signing_time: Option<OffsetDateTime>,
    /// signing-certificate-v2 value (whole DER), when present.
    pub(super) signing_certificate_v2: Option<&'a [u8]>,
    /// Every other attribute value, one entry per value.
    pub(super) extra: Vec<SignedAttribute>,
}

/// Reads the content octets of a SignerInfo's signedAttrs.
pub(super) fn parse(set_content: &[u8]) -> Result<ReceivedAttributes<'_>, CmsError> {
    let mut content_type = None;
    let mut message_digest = None;
    let mut signing_time = None;
    let mut signing_certificate_v2 = None;
    let mut extra = Vec::new();

    let mut set = Cursor::new(set_content, "signedAttrs")?;
    while !set.is_finished() {
        let attr = set.content(Tag::Sequence, "Attribute")?;
        let mut attr = Cursor::new(attr, "signedAttrs.Attribute")?;
        let oid = attr.oid("attrType")?;
        let values = attr.content(Tag::Set, "attrValues")?;
        attr.finish()?;

        let mut values = Cursor::new(values, "signedAttrs.Attribute.attrValues")?;
        let mut all = Vec::new();
        while !values.is_finished() {
            all.push(values.element("AttributeValue")?);
        }

        let slot = match oid {
            ID_CONTENT_TYPE => "content-type",
            ID_MESSAGE_DIGEST => "message-digest",
            ID_SIGNING_TIME => "signing-time",
            ID_SIGNING_CERTIFICATE_V2 => "signing-certificate-v2",
            _ => {
                extra.extend(all.iter().map(|v| SignedAttribute {
                    oid,
                    value_der: v.whole.to_vec(),
                }));
                continue;
            }
        };
        let value = one_value(slot, &all)?;
        let duplicate = match oid {
            ID_CONTENT_TYPE => {
                if value.tag != Tag::ObjectIdentifier {
                    return Err(malformed(slot, "value is not an OBJECT IDENTIFIER"));
                }
                let oid = from_der_content(value.content)
                    .ok_or_else(|| malformed(slot, "malformed OBJECT IDENTIFIER"))?;
                content_type.replace(oid).is_some()
            }
            ID_MESSAGE_DIGEST => {
                if value.tag != Tag::OctetString {
                    return Err(malformed(slot, "value is not an OCTET STRING"));
                }
                message_digest.replace(value.content).is_some()
            }
            ID_SIGNING_TIME => signing_time
                .replace(signing_time::decode(u8::from(value.tag), value.content)?)
                .is_some(),
            _ => signing_certificate_v2.replace(value.whole).is_some(),
        };
        if duplicate {
            return Err(malformed(slot, "attribute appears more than once"));
        }
    }

    Ok(ReceivedAttributes {
        content_type: content_type.ok_or(CmsError::MissingAttribute("content-type"))?,
        message_digest: message_digest.ok_or(CmsError::MissingAttribute("message-digest"))?,
        signing_time,
        signing_certificate_v2,
        extra,
    })
}

/// The single value RFC 5652 requires of the standard attributes.
fn one_value<'a>(slot: &'static str, values: &[Element<'a>]) -> Result<Element<'a>, CmsError> {
    match values {
        [one] => Ok(*one),
        _ => Err(malformed(
            slot,
            format!("expected exactly one value, found {}", values.len()),
        )),
    }
}

fn malformed(slot: &str, why: impl std::fmt::Display) -> CmsError {
    CmsError::Malformed(format!("{slot} attribute: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(s: &str) -> Vec<u8> {
        let mut v = vec![0x0c, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn extras_are_validated() {
        let ok = SignedAttribute {
            oid: ObjectIdentifier::new_unwrap("2.25.7"),
            value_der: utf8("phường Bến Nghé"),
        };
        validate_extra(std::slice::from_ref(&ok)).expect("valid");

        let standard = SignedAttribute {
            oid: ID_SIGNING_TIME,
            value_der: utf8("x"),
        };
        assert!(matches!(
            validate_extra(&[standard]),
            Err(CmsError::InvalidAttribute(_))
        ));
        assert!(matches!(
            validate_extra(&[ok.clone(), ok.clone()]),
            Err(CmsError::InvalidAttribute(_))
        ));
        let mut trailing = ok.clone();
        trailing.value_der.push(0);
        assert!(matches!(
            validate_extra(&[trailing]),
            Err(CmsError::InvalidAttribute(_))
        ));
    }

    #[test]
    fn set_is_sorted() {
        let a: &[u8] = &[0x30, 0x03, 0x06, 0x01, 0x02];
        let b: &[u8] = &[0x30, 0x03, 0x06, 0x01, 0x01];
        let set = signed_set(&mut [a, b]);
        assert_eq!(set, [&[0x31, 0x0a][..], b, a].concat());
    }
}
