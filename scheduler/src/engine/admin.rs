//! Configuration changes: wards, signers, the catalogue, delegations; and signing in. Each goes to
//! the store first, then to the in-memory directory and the balancer.

use std::sync::Arc;

use signq_kit::identity::{PeerIdentity, Role};
use signq_proto::v1::{RevokeDelegationRequest, VerifyPinRequest};
use signq_signer::delegation::SignedDelegation;
use time::OffsetDateTime;

use super::sessions::Session;
use super::{Engine, lock};
use crate::error::SchedError;
use crate::model::{Actor, Delegation, Procedure, Signer, SignerRole, Ward};

/// Who the holder of an outside CA's certificate is in signq (such a certificate names none of
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The signer id (e.g. `cat-lai/director`).
    pub signer_id: String,
    /// The person's name.
    pub display_name: String,
    /// Their ward.
    pub ward: String,
    /// Director, deputy or clerk.
    pub role: SignerRole,
}

impl Engine {
    fn trust(&self) -> Result<signq_signer::cms::TrustStore, SchedError> {
        signq_signer::trust::load(&self.settings.ca, self.settings.crl.as_deref())
            .map_err(|e| SchedError::Internal(e.to_string()))
    }

    /// Adds or renames a ward.
    pub async fn put_ward(&self, ward: Ward, actor: Actor) -> Result<Ward, SchedError> {
        let ward = self.store.put_ward(ward, actor).await?;
        self.update_directory(|d| {
            d.wards.insert(ward.id.clone(), ward.clone());
        });
        lock(&self.balancer).set_ward_calendar(&ward.id, self.own_calendar(&ward));
        Ok(ward)
    }

    /// Adds or updates a procedure of the catalogue.
    pub async fn put_procedure(
        &self,
        procedure: Procedure,
        actor: Actor,
    ) -> Result<Procedure, SchedError> {
        let procedure = self.store.put_procedure(procedure, actor).await?;
        self.update_directory(|d| {
            d.procedures
                .insert(procedure.code.clone(), procedure.clone());
        });
        Ok(procedure)
    }

    /// Enrolls a director, deputy or clerk by their signing certificate (a clerk's: the ward's
    /// organisation certificate), which must chain to the ward CA (or to an outside CA trusted
    /// for signers, with a `registration` saying who the holder is), be valid now, and name a
    /// known ward.
    pub async fn enroll_signer(
        self: &Arc<Self>,
        certificate: Vec<u8>,
        registration: Option<Registration>,
        actor: Actor,
    ) -> Result<Signer, SchedError> {
        let id = PeerIdentity::from_der(&certificate).map_err(|e| {
            SchedError::invalid("certificate", format!("not a DER X.509 certificate: {e}"))
        })?;
        signq_signer::cms::check_signing_certificate(
            &self.trust()?,
            &certificate,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| {
            SchedError::invalid(
                "certificate",
                format!(
                    "not a usable signing certificate of this ward CA or of an outside CA \
                     trusted for signers: {e}"
                ),
            )
        })?;
        let (signer_id, display_name, ward, role) = match registration {
            Some(r) if id.signer_id.is_some() => {
                return Err(SchedError::invalid(
                    "registration",
                    format!(
                        "must be unset: the certificate is a ward certificate naming {}",
                        r.signer_id
                    ),
                ));
            }
            Some(r) => (r.signer_id, r.display_name, r.ward, r.role),
            None => Self::identity_of(&id)?,
        };
        if !self.with_directory(|d| d.wards.contains_key(&ward)) {
            return Err(SchedError::NotFound(format!(
                "ward: no ward {ward:?}; create it first"
            )));
        }
        let signer = Signer {
            id: signer_id,
            display_name,
            ward,
            role,
            certificate,
            away: false,
            signature_image: None,
        };
        let signer = self.store.put_signer(signer, actor).await?;
        self.update_directory(|d| {
            d.signers.insert(signer.id.clone(), signer.clone());
        });
        lock(&self.balancer).upsert_signer(self.view(&signer));
        self.dispatch_ward(&signer.ward).await;
        Ok(signer)
    }

    /// Who a ward certificate names: signer id, name, ward and role.
    fn identity_of(id: &PeerIdentity) -> Result<(String, String, String, SignerRole), SchedError> {
        if id.signer_id.is_none() && !id.roles.iter().any(|r| r.is_signer()) {
            return Err(SchedError::invalid(
                "registration",
                "is needed: the certificate names no signq signer (an outside CA's certificate \
                 does not); give the signer id, name, ward and role",
            ));
        }
        let role = if id.has_role(Role::Director) {
            SignerRole::Director
        } else if id.has_role(Role::Deputy) {
            SignerRole::Deputy
        } else if id.has_role(Role::Clerk) {
            SignerRole::Clerk
        } else {
            return Err(SchedError::invalid(
                "certificate",
                "names none of the director, deputy and clerk roles",
            ));
        };
        let ward = id.ward().map(str::to_string);
        let (Some(signer_id), Some(ward)) = (id.signer_id.clone(), ward) else {
            return Err(SchedError::invalid(
                "certificate",
                "names no signer id, or not exactly one ward (a certificate of an outside CA \
                 needs a registration)",
            ));
        };
        Ok((signer_id, id.common_name.clone(), ward, role))
    }

    /// Sets a signer's signature image (a PNG the signing service can use), or removes it
    /// with an empty one.
    pub async fn set_signature_image(
        self: &Arc<Self>,
        signer_id: &str,
        png: Vec<u8>,
        actor: Actor,
    ) -> Result<Signer, SchedError> {
        if !self.with_directory(|d| d.signers.contains_key(signer_id)) {
            return Err(SchedError::NotFound(format!(
                "signer_id: signer {signer_id:?} is not enrolled"
            )));
        }
        let image = if png.is_empty() {
            None
        } else {
            // Decoding takes a moment for a large image: off the runtime's threads.
            let checked = png.clone();
            tokio::task::spawn_blocking(move || signq_pades::Image::from_png(&checked))
                .await
                .map_err(|e| SchedError::Internal(format!("checking the image: {e}")))?
                .map_err(|e| SchedError::invalid("png", e.to_string()))?;
            Some(png)
        };
        let signer = self
            .store
            .set_signature_image(signer_id, image, actor)
            .await?;
        self.update_directory(|d| {
            d.signers.insert(signer.id.clone(), signer.clone());
        });
        Ok(signer)
    }

    /// Registers a director-signed delegation after verifying it against the ward CA.
    /// With `only_director`, the delegation must be that director's (a director registering their own).
    pub async fn register_delegation(
        self: &Arc<Self>,
        signed: Vec<u8>,
        actor: Actor,
        only_director: Option<&str>,
    ) -> Result<Delegation, SchedError> {
        let verified = SignedDelegation::verify(&signed, &self.trust()?).map_err(|e| match e {
            signq_signer::delegation::DelegationError::Malformed(_)
            | signq_signer::delegation::DelegationError::Invalid(_) => {
                SchedError::invalid("signed_delegation", e.to_string())
            }
            other => SchedError::PermissionDenied(other.to_string()),
        })?;
        let doc = verified.doc;
        let unknown = self.with_directory(|d| {
            doc.procedure_codes
                .iter()
                .find(|c| !d.procedures.contains_key(*c))
                .cloned()
        });
        if let Some(code) = unknown {
            return Err(SchedError::invalid(
                "signed_delegation",
                format!("procedure {code} is not in the catalogue"),
            ));
        }
        if doc.not_after <= OffsetDateTime::now_utc() {
            return Err(SchedError::invalid(
                "signed_delegation",
                "the delegation ended in the past",
            ));
        }
        if only_director.is_some_and(|d| d != doc.director_id) {
            return Err(SchedError::PermissionDenied(format!(
                "the delegation is granted by {}, not by you",
                doc.director_id
            )));
        }
        let known = self.with_directory(|d| {
            d.signers
                .get(&doc.deputy_id)
                .map(|s| s.role == SignerRole::Deputy && s.ward == doc.ward)
        });
        if known != Some(true) {
            return Err(SchedError::NotFound(format!(
                "deputy {} is not an enrolled deputy of ward {}",
                doc.deputy_id, doc.ward
            )));
        }
        let delegation = Delegation {
            id: doc.id,
            ward: doc.ward,
            director_id: doc.director_id,
            deputy_id: doc.deputy_id,
            procedure_codes: doc.procedure_codes,
            not_before: doc.not_before,
            not_after: doc.not_after,
            daily_cap: doc.daily_cap,
            notation: doc.notation,
            signed,
            revoked_at: None,
            revoke_reason: None,
        };
        let delegation = self.store.put_delegation(delegation, actor).await?;
        self.refresh_delegations(&delegation).await;
        Ok(delegation)
    }

    /// Revokes a delegation here and in the signer service.
    pub async fn revoke_delegation(
        self: &Arc<Self>,
        id: &str,
        reason: &str,
        actor: Actor,
    ) -> Result<Delegation, SchedError> {
        // The signer service first: once it refuses, no signature can be made under the delegation,
        // whatever happens to the scheduler next.
        self.signer
            .revoke_delegation(RevokeDelegationRequest {
                delegation_id: id.to_string(),
                reason: reason.to_string(),
            })
            .await?;
        let delegation = self.store.revoke_delegation(id, reason, actor).await?;
        self.refresh_delegations(&delegation).await;
        Ok(delegation)
    }

    async fn refresh_delegations(self: &Arc<Self>, changed: &Delegation) {
        self.update_directory(|d| {
            d.delegations.insert(changed.id.clone(), changed.clone());
        });
        let all = self.with_directory(|d| d.ward_delegations(&changed.ward));
        lock(&self.balancer).set_delegations(&changed.ward, all);
        self.dispatch_ward(&changed.ward).await;
    }

    /// Has the signer service sign `delegation` with `director`'s key under their PIN.
    pub async fn sign_delegation(
        &self,
        director: &str,
        pin: &str,
        delegation: signq_proto::v1::Delegation,
    ) -> Result<Vec<u8>, SchedError> {
        let request = signq_proto::v1::SignDelegationRequest {
            director_id: director.to_string(),
            pin: pin.to_string(),
            delegation: Some(delegation),
        };
        let reply = self
            .signer
            .sign_delegation(request)
            .await
            // The signing service names `delegation.not_after`; the caller sent `not_after`.
            .map_err(|e| match e {
                SchedError::Signer(s) => SchedError::signer_with_fields(s, |f| {
                    f.strip_prefix("delegation.").unwrap_or(f).to_string()
                }),
                other => other,
            })?;
        Ok(reply.signed_delegation)
    }

    /// Checks a signer's PIN with the signer service and opens a session on the device whose
    /// certificate has serial `device` (enrolled for that signer: the caller checked).
    pub async fn sign_in(
        &self,
        signer_id: &str,
        pin: &str,
        device: &str,
    ) -> Result<(String, Session, Signer), SchedError> {
        let signer = self
            .with_directory(|d| d.signers.get(signer_id).cloned())
            .ok_or_else(|| {
                SchedError::PermissionDenied(format!(
                    "this device is enrolled for {signer_id}, who is not enrolled in this scheduler; ask the operator"
                ))
            })?;
        self.signer
            .verify_pin(VerifyPinRequest {
                signer_id: signer_id.to_string(),
                pin: pin.to_string(),
            })
            .await?;
        let (token, session) = self
            .sessions
            .create(
                self.store.as_ref(),
                signer_id,
                device,
                OffsetDateTime::now_utc(),
            )
            .await?;
        Ok((token, session, signer))
    }
}
