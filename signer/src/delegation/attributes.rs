//! The signed attributes by which a signature names its record and, for a deputy, the
//! delegation it was made under. Both are standard CMS attributes, so no private OID is needed
//! and every CMS tool shows them:
//!
//! - content hints (RFC 2634, `id-aa-contentHint`): a description of what was signed, e.g.
//!   `signq record R-17; procedure HT-KS; ward cat-lai`.
//! - signer attributes (RFC 5126, `id-aa-ets-signerAttr`) with one claimed X.509 `role`
//!   (RFC 5755 RoleSyntax): the role is `urn:signq:delegation:<id>`, its authority
//!   `urn:signq:signer:<director id>`; that is, "B signs for A under delegation D".

use const_oid::ObjectIdentifier;
use der::asn1::{Any, Ia5String, SetOfVec};
use der::{Decode, Encode, Sequence};
use signq_kit::identity::SIGNER_URI_PREFIX;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

use crate::cms::SignedAttribute;

/// `id-aa-contentHint` (RFC 2634).
pub const ID_AA_CONTENT_HINT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.4");
/// `id-aa-ets-signerAttr` (RFC 5126).
pub const ID_AA_SIGNER_ATTR: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.18");
/// `id-at-role` (X.509 attribute type for roles).
pub const ID_AT_ROLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.72");
/// The prefix of a delegation's URI in a role claim.
pub const DELEGATION_URI_PREFIX: &str = "urn:signq:delegation:";

#[derive(Sequence)]
struct ContentHints {
    content_description: Option<String>,
    content_type: ObjectIdentifier,
}

#[derive(Sequence)]
struct RoleSyntax {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    role_authority: Option<Vec<GeneralName>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    role_name: GeneralName,
}

/// SignerAttribute with a single `claimedAttributes` choice: the same DER as
/// `SEQUENCE OF CHOICE { claimedAttributes [0] ... }` holding one element.
#[derive(Sequence)]
struct ClaimedSignerAttribute {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    claimed: Vec<Attribute>,
}

/// Why a signq attribute could not be made or read.
#[derive(Debug, thiserror::Error)]
#[error("signed attribute: {0}")]
pub struct AttributeError(String);

fn err(e: impl std::fmt::Display) -> AttributeError {
    AttributeError(e.to_string())
}

/// The description written into the content hint of a record's signature.
pub fn record_description(record_id: &str, procedure: &str, ward: &str) -> String {
    format!("signq record {record_id}; procedure {procedure}; ward {ward}")
}

/// A content-hints attribute with `description`.
pub fn content_hint(description: String) -> Result<SignedAttribute, AttributeError> {
    let hints = ContentHints {
        content_description: Some(description),
        content_type: const_oid::db::rfc5911::ID_DATA,
    };
    Ok(SignedAttribute {
        oid: ID_AA_CONTENT_HINT,
        value_der: hints.to_der().map_err(err)?,
    })
}

/// A signer-attributes attribute claiming the role "acting under delegation `delegation_id` of
/// director `director_id`".
pub fn acting_under(
    delegation_id: &str,
    director_id: &str,
) -> Result<SignedAttribute, AttributeError> {
    let uri = |s: String| {
        Ia5String::new(&s)
            .map(GeneralName::UniformResourceIdentifier)
            .map_err(err)
    };
    let role = RoleSyntax {
        role_authority: Some(vec![uri(format!("{SIGNER_URI_PREFIX}{director_id}"))?]),
        role_name: uri(format!("{DELEGATION_URI_PREFIX}{delegation_id}"))?,
    };
    let values = SetOfVec::try_from(vec![Any::encode_from(&role).map_err(err)?]).map_err(err)?;
    let claimed = ClaimedSignerAttribute {
        claimed: vec![Attribute {
            oid: ID_AT_ROLE,
            values,
        }],
    };
    Ok(SignedAttribute {
        oid: ID_AA_SIGNER_ATTR,
        value_der: claimed.to_der().map_err(err)?,
    })
}

/// What a signature's signq attributes say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// The content hint's description.
    pub description: Option<String>,
    /// The delegation id the signer acted under.
    pub delegation_id: Option<String>,
    /// The director who granted that delegation.
    pub delegated_by: Option<String>,
}

/// Reads the content hint and role claim out of a verified signature's extra attributes;
/// attributes of other types are ignored.
pub fn read_claims(extra: &[SignedAttribute]) -> Result<Claims, AttributeError> {
    let mut claims = Claims::default();
    for attr in extra {
        if attr.oid == ID_AA_CONTENT_HINT {
            claims.description = ContentHints::from_der(&attr.value_der)
                .map_err(err)?
                .content_description;
        } else if attr.oid == ID_AA_SIGNER_ATTR {
            let signer_attr = ClaimedSignerAttribute::from_der(&attr.value_der).map_err(err)?;
            for value in signer_attr
                .claimed
                .iter()
                .filter(|a| a.oid == ID_AT_ROLE)
                .flat_map(|a| a.values.iter())
            {
                let role: RoleSyntax = value.decode_as().map_err(err)?;
                if let GeneralName::UniformResourceIdentifier(uri) = &role.role_name {
                    claims.delegation_id = uri
                        .as_str()
                        .strip_prefix(DELEGATION_URI_PREFIX)
                        .map(str::to_string);
                }
                for name in role.role_authority.iter().flatten() {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        claims.delegated_by = uri
                            .as_str()
                            .strip_prefix(SIGNER_URI_PREFIX)
                            .map(str::to_string);
                    }
                }
            }
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip() {
        let attrs = vec![
            content_hint(record_description("R-1", "HT-KS", "cat-lai")).expect("hint"),
            acting_under("cat-lai/d-1", "cat-lai/director").expect("role"),
        ];
        let claims = read_claims(&attrs).expect("read");
        assert_eq!(
            claims.description.as_deref(),
            Some("signq record R-1; procedure HT-KS; ward cat-lai")
        );
        assert_eq!(claims.delegation_id.as_deref(), Some("cat-lai/d-1"));
        assert_eq!(claims.delegated_by.as_deref(), Some("cat-lai/director"));
    }
}
