//! One Sign call, from request to signatures: the request's form, the signer's certificate, PIN
//! and lockout, the deputy's delegation, the PDFs' updates (see [`super::pdf`]), rate limits,
//! the daily cap, and the ledger that makes a repeated request for the same lease attempt return
//! the signature already made (see [`super::ledger`]). Preparing PDFs and signing run on
//! blocking threads.

use std::sync::Arc;

use signq_kit::identity::Role;
use signq_proto::v1::{Document, DocumentSignature, SignRequest};
use time::OffsetDateTime;

use super::error::SignError;
use super::grpc::{MAX_ID_LEN, SignerService, timestamp, validate_credentials, validate_signer_id};
use super::ledger::{Capped, Lease, Made, Prior};
use super::pdf::{self, Unsigned};
use crate::cms::{CmsError, CmsSigner, SignedAttribute, TrustStore};
use crate::delegation::attributes::{acting_under, content_hint, record_description};
use crate::delegation::document::is_procedure_code;
use crate::delegation::{Refusal, SignedDelegation};
use crate::keys::KeyError;
use crate::keystore::{SignerEntry, Unlocked};

/// A batch's signatures, in request order, and how many of them were made by this call (the
/// others were kept from an earlier call for the same lease attempts).
#[derive(Debug)]
pub struct Signed {
    /// The signer's role.
    pub role: Role,
    /// One per document, in order (none while a confirmation waits).
    pub signatures: Vec<DocumentSignature>,
    /// Made by this call.
    pub made: usize,
    /// For a remote signer: the confirmation the batch waits for.
    pub confirmation: Option<signq_proto::v1::Confirmation>,
}

/// What a batch's fresh signatures are made of; shared by the two passes of a remote batch.
pub(super) struct Making {
    /// The documents not signed before, with their place in the request.
    pub documents: Vec<(usize, Document)>,
    /// What PDF signatures show.
    pub look: pdf::Look,
    /// The signer's signature image (PNG), or the ward's seal.
    pub image: Vec<u8>,
    /// What goes into each PDF's Document Security Store.
    pub validation: signq_pades::ValidationData,
    /// The signer's ward.
    pub ward: String,
    /// The signer.
    pub signer: String,
    /// A deputy's delegation: its id and director.
    pub claim: Option<(String, String)>,
}

/// Room, beyond the largest document, for the update a person's signature added to a PDF the
/// ward's seal then goes on: the signature, its block and image, its validation data.
const SIGNED_UPDATE_ROOM: usize = 2 * 1024 * 1024;

impl SignerService {
    fn validate(&self, req: &SignRequest) -> Result<(), SignError> {
        if !req.confirmation_id.is_empty() {
            validate_signer_id(&req.signer_id)?;
            if !req.pin.is_empty() {
                return Err(SignError::invalid(
                    "pin",
                    "must be empty with a confirmation_id: the confirmation stands for it",
                ));
            }
            if req.confirmation_id.len() > MAX_ID_LEN {
                return Err(SignError::invalid(
                    "confirmation_id",
                    format!("longer than {MAX_ID_LEN} bytes"),
                ));
            }
        } else if req.pin.is_empty() {
            // Only a key held for the automatic seal: see `pin_for`.
            validate_signer_id(&req.signer_id)?;
        } else {
            validate_credentials(&req.signer_id, &req.pin)?;
        }
        if req.documents.is_empty() {
            return Err(SignError::invalid("documents", "the batch is empty"));
        }
        if req.documents.len() > self.config.max_batch {
            return Err(SignError::invalid(
                "documents",
                format!(
                    "{} documents; a batch holds at most {}",
                    req.documents.len(),
                    self.config.max_batch
                ),
            ));
        }
        // A seal's document is a PDF its person signed: the document and the update that signed it.
        let sealing = self
            .entry(&req.signer_id)
            .is_ok_and(|e| e.role == Role::Clerk);
        let limit = self.config.max_document_bytes + if sealing { SIGNED_UPDATE_ROOM } else { 0 };
        for (i, doc) in req.documents.iter().enumerate() {
            if doc.record_id.is_empty() || doc.record_id.len() > MAX_ID_LEN {
                return Err(SignError::invalid(
                    format!("documents[{i}].record_id"),
                    "is empty or longer than 200 bytes",
                ));
            }
            if !is_procedure_code(&doc.procedure_code) {
                return Err(SignError::invalid(
                    format!("documents[{i}].procedure_code"),
                    format!(
                        "{} is not a procedure code (2-16 of A-Z, 0-9, -)",
                        signq_kit::echo::shown(&doc.procedure_code)
                    ),
                ));
            }
            if doc.content.is_empty() {
                return Err(SignError::invalid(
                    format!("documents[{i}].content"),
                    "is empty",
                ));
            }
            pdf::check_place(i, doc)?;
            if doc.content.len() > limit {
                return Err(SignError::invalid(
                    format!("documents[{i}].content"),
                    format!(
                        "{} bytes; a document holds at most {limit}",
                        doc.content.len(),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks a deputy's delegation against every document; returns it for the signatures.
    async fn check_delegation(
        &self,
        entry: &SignerEntry,
        req: &SignRequest,
        trust: &TrustStore,
        now: OffsetDateTime,
    ) -> Result<SignedDelegation, SignError> {
        let delegation = SignedDelegation::verify(&req.delegation, trust)?;
        let id = delegation.doc.id.clone();
        if let Some((at, reason)) = self.db(move |s| s.revocation(&id)).await? {
            return Err(Refusal::Revoked {
                id: delegation.doc.id.clone(),
                at: crate::delegation::signed::rfc3339(at),
                reason,
            }
            .into());
        }
        for doc in &req.documents {
            delegation.authorizes(
                &entry.signer_id,
                &entry.ward,
                &doc.record_id,
                &doc.procedure_code,
                now,
            )?;
        }
        Ok(delegation)
    }

    /// Signs a batch; see the module's documentation for the order of the checks. A remote
    /// signer's batch is signed in two passes around their confirmation (see [`super::remote`]).
    #[tracing::instrument(
        name = "sign",
        skip_all,
        fields(
            ward = req.signer_id.split('/').next().unwrap_or_default(),
            signer = %req.signer_id,
            records = ?req.documents.iter().map(|d| d.record_id.as_str()).collect::<Vec<_>>(),
        )
    )]
    pub(super) async fn sign_batch(&self, req: SignRequest) -> Result<Signed, SignError> {
        let now = OffsetDateTime::now_utc();
        let Authorized {
            entry,
            key,
            delegation,
            trust,
        } = self.authorize(&req, now).await?;
        let cap = delegation.as_ref().map(|d| Capped {
            delegation_id: d.doc.id.clone(),
            daily_cap: d.doc.daily_cap,
            day: now.to_offset(self.config.utc_offset).date().to_string(),
        });
        let look = pdf::look_of(&entry, delegation.as_ref(), req.titles.as_ref(), &trust);
        let SignRequest {
            documents,
            signature_image,
            confirmation_id,
            ..
        } = req;
        let leases: Vec<Option<Lease>> = documents.iter().map(lease_of).collect();
        let priors = self.priors(&entry.signer_id, &leases).await?;
        // Answered from the ledger: a retry of a lease attempt signed before.
        let mut slots: Vec<Option<DocumentSignature>> = priors
            .into_iter()
            .zip(&documents)
            .map(|(prior, doc)| match prior {
                Prior::Same(kept) => Some(DocumentSignature {
                    record_id: doc.record_id.clone(),
                    cms: kept.cms,
                    signing_time: Some(timestamp(kept.signed_at)),
                    pdf_update: kept.pdf_update,
                }),
                _ => None,
            })
            .collect();
        let fresh: Vec<usize> = (0..documents.len())
            .filter(|&i| slots[i].is_none())
            .collect();
        if !fresh.is_empty() {
            let making = Arc::new(Making {
                documents: fresh.iter().map(|&i| (i, documents[i].clone())).collect(),
                look,
                image: signature_image,
                // What a validator will need later goes into each PDF's update (PAdES B-LT).
                validation: validation_data(&entry, &trust, self.tsa.as_deref()),
                ward: entry.ward.clone(),
                signer: entry.signer_id.clone(),
                claim: delegation
                    .as_ref()
                    .map(|d| (d.doc.id.clone(), d.doc.director_id.clone())),
            });
            let (signatures, signed_at) = match key {
                Unlocked::Key(key) => {
                    // Every PDF's update before anything is counted or signed: a PDF that cannot
                    // be signed refuses the batch as it stands.
                    let unsigned = self.prepare(&making, now).await?;
                    self.count(&entry, cap.as_ref(), &leases, &fresh).await?;
                    let signatures = self.make(&making, *key, unsigned, now, Some(now)).await?;
                    (signatures, now)
                }
                Unlocked::Remote {
                    key,
                    cert_der,
                    chain,
                } => {
                    let remote = super::remote::RemoteBatch {
                        entry: &entry,
                        key,
                        cert_der,
                        chain,
                        leases: fresh.iter().filter_map(|&i| leases[i].clone()).collect(),
                        confirmation_id,
                    };
                    if remote.leases.len() != fresh.len() {
                        return Err(SignError::invalid(
                            "documents",
                            format!(
                                "{} signs with a key at a remote provider, which signs records \
                                 of the queue only (attempt 1 and up)",
                                entry.signer_id
                            ),
                        ));
                    }
                    match self.sign_remote(remote, &making, now).await? {
                        super::remote::Outcome::Waiting(confirmation) => {
                            return Ok(Signed {
                                role: entry.role,
                                signatures: Vec::new(),
                                made: 0,
                                confirmation: Some(confirmation),
                            });
                        }
                        super::remote::Outcome::Signed { signatures, at } => (signatures, at),
                    }
                }
            };
            for (&i, signature) in fresh.iter().zip(signatures) {
                slots[i] = Some(signature);
            }
            self.keep(
                &entry.signer_id,
                cap,
                &leases,
                &fresh,
                &mut slots,
                signed_at,
            )
            .await?;
        }
        let signatures = slots
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| SignError::Internal("a document of the batch was not signed".into()))?;
        Ok(Signed {
            role: entry.role,
            signatures,
            made: fresh.len(),
            confirmation: None,
        })
    }

    /// Prepares the PDFs of a batch to be signed at `at` (on a blocking thread).
    pub(super) async fn prepare(
        &self,
        making: &Arc<Making>,
        at: OffsetDateTime,
    ) -> Result<Vec<Unsigned>, SignError> {
        let making = Arc::clone(making);
        tokio::task::spawn_blocking(move || {
            pdf::prepare_all(
                making.documents.clone(),
                &making.look,
                &making.image,
                &making.validation,
                at,
            )
        })
        .await
        .map_err(|e| SignError::Internal(e.to_string()))?
    }

    /// Counts the fresh signatures of a batch against the signer's rate limit and, for ad-hoc
    /// documents (no lease), against the delegation's daily cap, before anything is signed.
    pub(super) async fn count(
        &self,
        entry: &SignerEntry,
        cap: Option<&Capped>,
        leases: &[Option<Lease>],
        fresh: &[usize],
    ) -> Result<(), SignError> {
        self.limits
            .signatures(&entry.signer_id, fresh.len() as u32)
            .map_err(|retry_after| SignError::RateLimited {
                what: "signatures for this signer",
                retry_after,
            })?;
        // Ad-hoc documents (no lease) count against the cap every time, before signing.
        let ad_hoc = fresh.iter().filter(|&&i| leases[i].is_none()).count() as u32;
        if let Some(cap) = cap.filter(|_| ad_hoc > 0) {
            let counted = cap.clone();
            if let Err(used) = self.db(move |s| s.reserve_daily(&counted, ad_hoc)).await? {
                return Err(cap_reached(cap, used, ad_hoc));
            }
        }
        Ok(())
    }

    /// Signs the prepared documents of a batch with `key` at the signing time `at`; with
    /// `stamped`, PDF signatures are timestamped then (if the service has an authority).
    pub(super) async fn make(
        &self,
        making: &Arc<Making>,
        key: CmsSigner,
        unsigned: Vec<Unsigned>,
        at: OffsetDateTime,
        stamped: Option<OffsetDateTime>,
    ) -> Result<Vec<DocumentSignature>, SignError> {
        let making = Arc::clone(making);
        let tsa = self.tsa.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let stamper = tsa
                .as_deref()
                .zip(stamped)
                .map(|(tsa, t)| (tsa, &runtime, t));
            sign_documents(&key, &making, unsigned, stamper, at)
        })
        .await
        .map_err(|e| SignError::Internal(e.to_string()))?
    }

    /// Everything a batch must pass before anything is signed: its form, the signer's role,
    /// certificate and PIN, a deputy's delegation.
    async fn authorize(
        &self,
        req: &SignRequest,
        now: OffsetDateTime,
    ) -> Result<Authorized, SignError> {
        self.validate(req)?;
        let entry = self.entry(&req.signer_id)?;
        if matches!(entry.role, Role::Director | Role::Clerk) && !req.delegation.is_empty() {
            return Err(SignError::invalid(
                "delegation",
                "a director, or a clerk applying the seal, signs under their own authority; \
                 leave it empty",
            ));
        }
        if entry.role == Role::Deputy && req.delegation.is_empty() {
            return Err(Refusal::Missing {
                signer: entry.signer_id.clone(),
            }
            .into());
        }
        // The CA and CRL are re-read for every batch, so a revocation takes effect at once.
        let trust = self.usable_certificate(&entry, now)?;
        let key = if req.confirmation_id.is_empty() {
            // A retry needs the PIN as much as the first request did.
            self.unlock(&entry, self.pin_for(req, &entry)?).await?
        } else {
            // The PIN was checked when the confirmation was asked for; the person's
            // confirmation in their app is checked before anything is signed.
            self.keystore()
                .remote(&entry.signer_id)
                .map_err(|e| SignError::invalid("confirmation_id", e.to_string()))?
        };
        let delegation = match entry.role {
            Role::Deputy => Some(self.check_delegation(&entry, req, &trust, now).await?),
            _ => None,
        };
        Ok(Authorized {
            entry,
            key,
            delegation,
            trust,
        })
    }

    /// The PIN that unlocks `entry`'s key for `req`: the request's, or, for a request without
    /// one, the PIN configured for a clerk whose key is held for the automatic seal.
    fn pin_for(&self, req: &SignRequest, entry: &SignerEntry) -> Result<String, SignError> {
        if !req.pin.is_empty() {
            return Ok(req.pin.clone());
        }
        match self.config.unattended.get(&entry.signer_id) {
            Some(pin) if entry.role == Role::Clerk => Ok(pin.clone()),
            _ => Err(SignError::invalid(
                "pin",
                format!(
                    "is empty; only a clerk's key held for the automatic seal signs without one, \
                     and {} is not one",
                    entry.signer_id
                ),
            )),
        }
    }

    /// Keeps the signatures just made for lease attempts (`fresh` among `slots`) in the ledger,
    /// with their count against the cap, in one transaction: a signature is returned only once
    /// it is kept, so a retry always finds it. A concurrent identical request may have kept its
    /// own first: then that one is returned, so both callers get the same.
    async fn keep(
        &self,
        signer_id: &str,
        cap: Option<Capped>,
        leases: &[Option<Lease>],
        fresh: &[usize],
        slots: &mut [Option<DocumentSignature>],
        now: OffsetDateTime,
    ) -> Result<(), SignError> {
        let made: Vec<(usize, Made)> = fresh
            .iter()
            .filter_map(|&i| {
                let lease = leases[i].clone()?;
                let slot = slots[i].as_ref()?;
                Some((
                    i,
                    Made {
                        lease,
                        cms: slot.cms.clone(),
                        pdf_update: slot.pdf_update.clone(),
                    },
                ))
            })
            .collect();
        if made.is_empty() {
            return Ok(());
        }
        let signer = signer_id.to_string();
        let to_keep: Vec<Made> = made.iter().map(|(_, m)| m.clone()).collect();
        let refused_cap = cap.clone();
        let kept = self
            .db(move |s| s.keep(&signer, cap.as_ref(), &to_keep, now))
            .await?;
        let kept = match (kept, refused_cap) {
            (Ok(kept), _) => kept,
            (Err(reached), Some(cap)) => return Err(cap_reached(&cap, reached.used, reached.new)),
            (Err(_), None) => {
                return Err(SignError::Internal(
                    "a cap refused a batch without one".into(),
                ));
            }
        };
        for ((i, _), k) in made.iter().zip(kept) {
            if let Some(slot) = slots[*i].as_mut() {
                slot.cms = k.cms;
                slot.pdf_update = k.pdf_update;
                slot.signing_time = Some(timestamp(k.signed_at));
            }
        }
        Ok(())
    }

    /// What the ledger holds for each leased document; a contradiction refuses the batch.
    async fn priors(
        &self,
        signer_id: &str,
        leases: &[Option<Lease>],
    ) -> Result<Vec<Prior>, SignError> {
        let asked: Vec<Lease> = leases.iter().flatten().cloned().collect();
        let found = if asked.is_empty() {
            Vec::new()
        } else {
            let signer = signer_id.to_string();
            self.db(move |s| s.priors(&signer, &asked)).await?
        };
        let mut found = found.into_iter();
        let priors: Vec<Prior> = leases
            .iter()
            .map(|l| match l {
                Some(_) => found.next().unwrap_or(Prior::None),
                None => Prior::None,
            })
            .collect();
        if let Some(Prior::Contradicts(why)) =
            priors.iter().find(|p| matches!(p, Prior::Contradicts(_)))
        {
            return Err(SignError::Contradicts(why.clone()));
        }
        Ok(priors)
    }
}

/// A batch that passed [`SignerService::authorize`].
struct Authorized {
    /// The signer.
    entry: SignerEntry,
    /// Their unlocked key.
    key: Unlocked,
    /// A deputy's verified delegation.
    delegation: Option<SignedDelegation>,
    /// The ward CA and CRL the signer's certificate was checked against.
    trust: TrustStore,
}

/// The ledger's key of a document: its lease attempt (none for an ad-hoc document).
fn lease_of(doc: &Document) -> Option<Lease> {
    (doc.attempt > 0).then(|| Lease {
        record_id: doc.record_id.clone(),
        attempt: doc.attempt,
        document_sha256: ring::digest::digest(&ring::digest::SHA256, &doc.content)
            .as_ref()
            .try_into()
            .unwrap_or([0; 32]),
    })
}

fn cap_reached(cap: &Capped, used: u32, batch: u32) -> SignError {
    Refusal::DailyCapReached {
        id: cap.delegation_id.clone(),
        cap: cap.daily_cap,
        used,
        batch,
    }
    .into()
}

/// The certificates and CRLs a validator needs for the signatures of `entry`: theirs, the ward
/// CA's and the timestamp authority's, and the ward's CRL.
fn validation_data(
    entry: &SignerEntry,
    trust: &TrustStore,
    tsa: Option<&crate::tsa::Timestamper>,
) -> signq_pades::ValidationData {
    let mut certs = vec![entry.cert_der.clone()];
    certs.extend(tsa.map(|t| t.certificates()).unwrap_or_default());
    certs.extend(trust.roots.iter().cloned());
    signq_pades::ValidationData {
        certs,
        crls: trust.crls.clone(),
    }
}

/// Signs every document of the batch: a PDF's update gets its CAdES signature embedded, with a
/// signature timestamp by `tsa` if there is one (PAdES B-T; an outside authority is asked on
/// the runtime given with it); any other document a detached CMS. The key is dropped (and its
/// PKCS#8 buffer was zeroized) when this returns.
fn sign_documents(
    key: &CmsSigner,
    making: &Making,
    documents: Vec<Unsigned>,
    tsa: Option<(
        &crate::tsa::Timestamper,
        &tokio::runtime::Handle,
        OffsetDateTime,
    )>,
    now: OffsetDateTime,
) -> Result<Vec<DocumentSignature>, SignError> {
    let Making {
        signer,
        ward,
        claim,
        ..
    } = making;
    let internal = |e: &dyn std::fmt::Display| SignError::Internal(e.to_string());
    // A key whose token went away fails the batch as unavailable (retry once it is back);
    // nothing of the batch is kept.
    let failed = |e: CmsError| match e {
        CmsError::Signing(KeyError::Unavailable(reason)) => SignError::KeyUnavailable {
            signer: signer.to_string(),
            reason,
        },
        CmsError::Timestamp(why) => SignError::Timestamps(why),
        other => internal(&other),
    };
    let acting = claim
        .as_ref()
        .map(|(id, director)| acting_under(id, director))
        .transpose()
        .map_err(|e| internal(&e))?;
    let signing_time = timestamp(now);
    let attributes = |doc: &Document| -> Result<Vec<SignedAttribute>, SignError> {
        let mut attrs = vec![
            content_hint(record_description(
                &doc.record_id,
                &doc.procedure_code,
                ward,
            ))
            .map_err(|e| internal(&e))?,
        ];
        attrs.extend(acting.clone());
        Ok(attrs)
    };
    documents
        .into_iter()
        .map(|unsigned| match unsigned {
            Unsigned::Detached(doc) => {
                let cms = key
                    .sign_detached(&doc.content, now, &attributes(&doc)?)
                    .map_err(failed)?;
                Ok(DocumentSignature {
                    record_id: doc.record_id,
                    cms,
                    signing_time: Some(signing_time),
                    pdf_update: Vec::new(),
                })
            }
            Unsigned::Pdf { document, prepared } => {
                let stamp = tsa.map(|(tsa, runtime, at)| {
                    move |hash: &[u8; 32]| {
                        tsa.stamp(hash, at, runtime)
                            .map_err(|e| CmsError::Timestamp(e.to_string()))
                    }
                });
                let cms = key
                    .sign_cades_detached_stamped(
                        &prepared.signed_parts(),
                        &attributes(&document)?,
                        stamp.as_ref().map(|s| s as &crate::cms::Stamp<'_>),
                    )
                    .map_err(failed)?;
                let mut signed = prepared.embed(&cms).map_err(|e| internal(&e))?;
                Ok(DocumentSignature {
                    record_id: document.record_id,
                    cms,
                    signing_time: Some(signing_time),
                    pdf_update: signed.split_off(document.content.len()),
                })
            }
        })
        .collect()
}
