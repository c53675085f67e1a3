//! Signing a delegation document with the director's key, and verifying a signed one.

use signq_kit::identity::{PeerIdentity, Role};
use time::OffsetDateTime;

use super::document::{DelegationDoc, InvalidField};
use crate::cms::{self, CmsError, CmsSigner, TrustStore};

/// Why a signed delegation is not acceptable at all.
#[derive(Debug, thiserror::Error)]
pub enum DelegationError {
    /// The bytes are not a CMS SignedData carrying a delegation document.
    #[error("delegation is malformed: {0}")]
    Malformed(String),
    /// The document parsed but a field is unacceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The signature does not verify against the ward CA (tampered, foreign CA, revoked key...).
    #[error("delegation signature does not verify: {0}")]
    Signature(CmsError),
    /// The signature verifies but its signer is not the director the document names.
    #[error("delegation is not signed by its director: {0}")]
    NotByDirector(String),
}

/// Why a valid delegation does not let this deputy sign this record now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The delegation names another deputy.
    #[error("delegation {id} is granted to {holder}, not to {signer}")]
    NotForThisDeputy {
        id: String,
        holder: String,
        signer: String,
    },
    /// The delegation holds in another ward.
    #[error("delegation {id} holds in ward {ward}, not in {signer_ward}")]
    OtherWard {
        id: String,
        ward: String,
        signer_ward: String,
    },
    /// The validity window has not started.
    #[error("delegation {id} is not valid before {not_before}")]
    NotYetValid { id: String, not_before: String },
    /// The validity window has ended.
    #[error("delegation {id} expired at {not_after}")]
    Expired { id: String, not_after: String },
    /// A record's procedure is outside the delegation's scope.
    #[error("delegation {id} does not cover procedure {procedure} (record {record})")]
    OutOfScope {
        id: String,
        procedure: String,
        record: String,
    },
    /// The delegation was revoked.
    #[error("delegation {id} was revoked at {at}: {reason}")]
    Revoked {
        id: String,
        at: String,
        reason: String,
    },
    /// The daily cap would be exceeded by this batch.
    #[error("delegation {id} allows {cap} signatures a day; {used} used today, batch of {batch}")]
    DailyCapReached {
        id: String,
        cap: u32,
        used: u32,
        batch: u32,
    },
    /// A deputy tried to sign without any delegation.
    #[error("deputy {signer} signs only under a delegation, and none was given")]
    Missing { signer: String },
}

/// A delegation whose signature and director verified.
#[derive(Debug, Clone)]
pub struct SignedDelegation {
    /// The document.
    pub doc: DelegationDoc,
    /// The director who signed it, from their certificate.
    pub director: PeerIdentity,
    /// The CMS bytes as given.
    pub der: Vec<u8>,
}

/// Signs `doc` with the director's key. The document must validate and name the director.
pub fn sign(
    doc: &DelegationDoc,
    director: &CmsSigner,
    director_id: &str,
    now: OffsetDateTime,
) -> Result<Vec<u8>, DelegationError> {
    doc.validate()?;
    if doc.director_id != director_id {
        return Err(DelegationError::NotByDirector(format!(
            "the document names {} but the key is {director_id}",
            doc.director_id
        )));
    }
    let json =
        serde_json::to_vec_pretty(doc).map_err(|e| DelegationError::Malformed(e.to_string()))?;
    director
        .sign_attached(const_oid::db::rfc5911::ID_DATA, &json, now, &[])
        .map_err(DelegationError::Signature)
}

impl SignedDelegation {
    /// Verifies a signed delegation against the ward CA: signature, chain and revocation of the
    /// director's certificate, the document's fields, and that the signer is the named director.
    pub fn verify(der: &[u8], trust: &TrustStore) -> Result<SignedDelegation, DelegationError> {
        let verified = cms::verify(der, None, trust).map_err(|e| match e {
            CmsError::Malformed(why) => DelegationError::Malformed(why),
            other => DelegationError::Signature(other),
        })?;
        let content = verified
            .content
            .ok_or_else(|| DelegationError::Malformed("no encapsulated document".into()))?;
        let doc: DelegationDoc = serde_json::from_slice(&content)
            .map_err(|e| DelegationError::Malformed(format!("document: {e}")))?;
        doc.validate()?;
        let director = PeerIdentity::from_der(&verified.signer_cert)
            .map_err(|e| DelegationError::NotByDirector(format!("unreadable certificate: {e}")))?;
        if !director.has_role(Role::Director) {
            return Err(DelegationError::NotByDirector(format!(
                "{} is not a director",
                director.common_name
            )));
        }
        if director.signer_id.as_deref() != Some(doc.director_id.as_str())
            || director.ward() != Some(doc.ward.as_str())
        {
            return Err(DelegationError::NotByDirector(format!(
                "signed by {:?} of ward {:?}, but the document names director {} of ward {}",
                director.signer_id.as_deref().unwrap_or("?"),
                director.ward().unwrap_or("?"),
                doc.director_id,
                doc.ward
            )));
        }
        Ok(SignedDelegation {
            doc,
            director,
            der: der.to_vec(),
        })
    }

    /// Whether the delegation lets `deputy_id` of `ward` sign `(record, procedure)` at `now`.
    pub fn authorizes(
        &self,
        deputy_id: &str,
        ward: &str,
        record: &str,
        procedure: &str,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let doc = &self.doc;
        let id = doc.id.clone();
        if doc.deputy_id != deputy_id {
            return Err(Refusal::NotForThisDeputy {
                id,
                holder: doc.deputy_id.clone(),
                signer: deputy_id.into(),
            });
        }
        if doc.ward != ward {
            return Err(Refusal::OtherWard {
                id,
                ward: doc.ward.clone(),
                signer_ward: ward.into(),
            });
        }
        if now < doc.not_before {
            return Err(Refusal::NotYetValid {
                id,
                not_before: rfc3339(doc.not_before),
            });
        }
        if now >= doc.not_after {
            return Err(Refusal::Expired {
                id,
                not_after: rfc3339(doc.not_after),
            });
        }
        if !doc.covers(procedure) {
            return Err(Refusal::OutOfScope {
                id,
                procedure: procedure.into(),
                record: record.into(),
            });
        }
        Ok(())
    }
}

/// RFC 3339 text of a time, for messages.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
