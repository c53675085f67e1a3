//! Approving and rejecting leased records. Approval is exactly-once: the records are claimed
//! in memory (a concurrent approve of the same record gets ABORTED), the signer service signs the
//! batch, and each signature is stored fenced by the lease attempt, so a retried approve after a
//! lost reply returns the stored signature instead of signing again.
//!
//! A clerk's approval is the seal stage: the signing service seals the PDF its person signed
//! (the document with the person's update appended), and the record is done.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use signq_kit::identity::PeerIdentity;
use signq_proto::v1::{Document, SignRequest};
use time::OffsetDateTime;

use super::admin::Registration;
use super::{Engine, lock};
use crate::error::SchedError;
use crate::model::{
    Actor, Confirmation, Record, RecordState, SealMode, Signer, SignerRole, Stage, Transition,
};

/// Records per approval, at most (the signer service's batch limit).
pub const MAX_APPROVE: usize = 100;

/// Bytes of a Sign request beyond its documents and delegation: signer id, PIN, framing.
const REQUEST_ENVELOPE: usize = 64 * 1024;
/// Bytes of one document's entry beyond its content: record id, procedure code, framing.
const DOCUMENT_ENVELOPE: usize = 512;

/// Splits `batch` into parts whose documents add up to at most `budget` bytes each (a document
/// alone over the budget still gets a part of its own: the signing service then refuses it).
fn by_size(batch: Vec<Pending>, budget: usize) -> Vec<Vec<Pending>> {
    let mut parts: Vec<Vec<Pending>> = Vec::new();
    let mut used: usize = 0;
    for p in batch {
        let size = usize::try_from(p.record.meta.document_size)
            .unwrap_or(usize::MAX)
            .saturating_add(p.signed.as_ref().map_or(0, Vec::len))
            .saturating_add(DOCUMENT_ENVELOPE);
        match parts.last_mut() {
            Some(part) if used.saturating_add(size) <= budget => {
                used += size;
                part.push(p);
            }
            _ => {
                used = size;
                parts.push(vec![p]);
            }
        }
    }
    parts
}

/// Holds the claim on records being approved; released when dropped, whatever happens.
pub(super) struct Claim<'a> {
    engine: &'a Engine,
    ids: Vec<String>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut approving = lock(&self.engine.approving);
        for id in &self.ids {
            approving.remove(id);
        }
    }
}

/// A record ready to be signed: its lease attempt and the delegation it will be signed under.
pub(super) struct Pending {
    pub(super) record: Record,
    pub(super) attempt: u32,
    /// For the seal: the update holding its person's signature, appended to the document.
    pub(super) signed: Option<Vec<u8>>,
}

/// What a batch is signed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    /// A director's or deputy's signature, under this delegation for a deputy.
    Person(Option<String>),
    /// The ward's seal, by a clerk or (`automatic`) by the scheduler with a clerk's unattended
    /// key.
    Seal { automatic: bool },
}

/// Whether `signer` already made the signature an approval of `record` asks for (a retry).
fn already_done(record: &Record, who: &Signer) -> bool {
    let by = |id: &Option<String>| id.as_deref() == Some(who.id.as_str());
    match who.role {
        SignerRole::Clerk => record.state == RecordState::Signed && by(&record.clerk_id),
        SignerRole::Director | SignerRole::Deputy => {
            (record.state == RecordState::Signed || record.stage == Stage::Seal)
                && by(&record.signer_id)
        }
    }
}

/// What approving a batch came to: the records signed (or as they were, for a retry), and the
/// confirmations a remote signer's records wait for.
#[derive(Debug, Default)]
pub struct Approved {
    /// In request order; those waiting for a confirmation as they are (leased).
    pub records: Vec<Record>,
    /// The confirmations to give in the signing app.
    pub confirmations: Vec<Confirmation>,
}

impl Engine {
    pub(super) fn claim(&self, ids: &[String]) -> Result<Claim<'_>, SchedError> {
        let mut approving = lock(&self.approving);
        if let Some(busy) = ids.iter().find(|id| approving.contains(*id)) {
            return Err(SchedError::Aborted(format!(
                "record {busy} is being approved by another request; retry"
            )));
        }
        approving.extend(ids.iter().cloned());
        Ok(Claim {
            engine: self,
            ids: ids.to_vec(),
        })
    }

    /// Signs leased records with the signer's PIN (a clerk's: seals them); returns them in
    /// request order, signed. A record this signer already signed (a retry) is returned as it is.
    /// A remote signer's records wait for their confirmation instead (see [`super::confirm`]).
    pub async fn approve(
        self: &Arc<Self>,
        signer: &str,
        ids: Vec<String>,
        pin: String,
    ) -> Result<Approved, SchedError> {
        self.approve_as(signer, ids, pin, false).await
    }

    /// [`approve`](Self::approve); `automatic`: the scheduler seals with a clerk's unattended
    /// key (no PIN).
    #[tracing::instrument(
        name = "approve",
        skip_all,
        fields(
            ward = signer.split('/').next().unwrap_or_default(),
            signer = %signer,
            records = ?ids,
            automatic,
        )
    )]
    pub(super) async fn approve_as(
        self: &Arc<Self>,
        signer: &str,
        ids: Vec<String>,
        pin: String,
        automatic: bool,
    ) -> Result<Approved, SchedError> {
        if ids.is_empty() || ids.len() > MAX_APPROVE {
            return Err(SchedError::invalid(
                "record_ids",
                format!(
                    "{} records; approve 1 to {MAX_APPROVE} at a time",
                    ids.len()
                ),
            ));
        }
        let mut seen = HashSet::new();
        if let Some((i, dup)) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| !seen.insert(id.as_str()))
        {
            return Err(SchedError::invalid(
                format!("record_ids[{i}]"),
                format!("{dup} appears twice"),
            ));
        }
        let who = self
            .with_directory(|d| d.signers.get(signer).cloned())
            .ok_or_else(|| SchedError::NotFound(format!("signer {signer:?} is not enrolled")))?;
        let _claim = self.claim(&ids)?;
        if let Some((id, waiting)) = ids.iter().find_map(|id| Some((id, self.waiting_on(id)?))) {
            return Err(SchedError::FailedPrecondition(format!(
                "record {id} waits for confirmation {} in {signer}'s signing app until {}",
                waiting.code, waiting.expires_at
            )));
        }

        let mut done: BTreeMap<String, Record> = BTreeMap::new();
        let mut pending = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let record =
                self.store.get(id).await?.ok_or_else(|| {
                    SchedError::NotFound(format!("record_ids[{i}]: no record {id}"))
                })?;
            // The store's lease decides, whichever replica runs the record's ward.
            let held = record
                .lease
                .as_ref()
                .filter(|l| l.signer_id == signer && l.attempt == record.attempt)
                .map(|l| l.attempt);
            match (&record.state, held) {
                _ if already_done(&record, &who) => {
                    done.insert(id.clone(), record);
                }
                (RecordState::Leased, Some(attempt)) => {
                    pending.push(Pending {
                        attempt,
                        record,
                        signed: None,
                    });
                }
                (state, _) => {
                    let code = &record.meta.procedure_code;
                    if who.role == SignerRole::Deputy
                        && self.with_directory(|d| {
                            d.covering(signer, code, OffsetDateTime::now_utc())
                                .is_none()
                        })
                    {
                        return Err(SchedError::PermissionDenied(format!(
                            "record_ids[{i}]: record {id} ({code}) is not yours to sign: no delegation to {signer} covers {code}"
                        )));
                    }
                    return Err(SchedError::FailedPrecondition(format!(
                        "record_ids[{i}]: record {id} is {} and not leased to {signer}",
                        state.as_str()
                    )));
                }
            }
        }

        // Group by the delegation each record is signed under (none for a director).
        let now = OffsetDateTime::now_utc();
        let mut groups: BTreeMap<Option<String>, Vec<Pending>> = BTreeMap::new();
        for p in pending {
            let delegation = match who.role {
                SignerRole::Director | SignerRole::Clerk => None,
                SignerRole::Deputy => Some(
                    self.with_directory(|d| {
                        d.covering(signer, &p.record.meta.procedure_code, now)
                            .map(|d| d.id.clone())
                    })
                    .ok_or_else(|| {
                        SchedError::PermissionDenied(format!(
                            "no delegation lets {signer} sign procedure {} (record {}) now",
                            p.record.meta.procedure_code, p.record.meta.id
                        ))
                    })?,
                ),
            };
            groups.entry(delegation).or_default().push(p);
        }
        let mut to_seal = false;
        let mut confirmations = Vec::new();
        for (delegation, batch) in groups {
            let act = match who.role {
                SignerRole::Clerk => Act::Seal { automatic },
                SignerRole::Director | SignerRole::Deputy => Act::Person(delegation),
            };
            let (signed, waiting) = self.sign_group(&who, act, batch, &pin, None).await?;
            for record in signed {
                to_seal |= record.stage == Stage::Seal && record.state == RecordState::Queued;
                done.insert(record.meta.id.clone(), record);
            }
            for (confirmation, records) in waiting {
                self.await_confirmation(confirmation.clone()).await?;
                for record in records {
                    done.insert(record.meta.id.clone(), record);
                }
                confirmations.push(confirmation);
            }
        }
        if to_seal {
            // The ward's clerks (or its automatic seal) have new records.
            self.dispatch_ward(&who.ward).await;
        } else if !automatic {
            self.dispatch_signer(signer, usize::MAX).await;
        }
        // Every signature is followed by a checkpoint of the chain that now records it.
        let engine = Arc::clone(self);
        tokio::spawn(async move { engine.checkpoint_or_log().await });
        Ok(Approved {
            records: ids.iter().filter_map(|id| done.remove(id)).collect(),
            confirmations,
        })
    }

    /// Signs one batch under one delegation (or none), in as many requests as the signing
    /// service's size limit needs; with `confirmation`, completes the batch its remote signer
    /// confirmed. Returns the records signed, and each part that waits for a confirmation with
    /// its records as they are.
    pub(super) async fn sign_group(
        self: &Arc<Self>,
        who: &Signer,
        act: Act,
        mut batch: Vec<Pending>,
        pin: &str,
        confirmation: Option<&str>,
    ) -> Result<(Vec<Record>, Vec<(Confirmation, Vec<Record>)>), SchedError> {
        let delegation = match &act {
            Act::Person(delegation) => delegation.clone(),
            Act::Seal { .. } => None,
        };
        if matches!(act, Act::Seal { .. }) {
            // The seal goes on the PDF its person signed, over the person's block.
            for p in &mut batch {
                let id = &p.record.meta.id;
                p.signed = Some(self.store.pdf_update(id).await?.ok_or_else(|| {
                    SchedError::Internal(format!(
                        "record {id} waits for a seal but has no signed PDF"
                    ))
                })?);
            }
        }
        let (signed_delegation, director) = match &delegation {
            Some(id) => self
                .with_directory(|d| {
                    d.delegations
                        .get(id)
                        .map(|d| (d.signed.clone(), d.director_id.clone()))
                })
                .ok_or_else(|| SchedError::Internal(format!("delegation {id} vanished")))?,
            None => (Vec::new(), String::new()),
        };
        let mut renewed = None;
        let actor = match (&act, &delegation) {
            (Act::Seal { automatic: true }, _) => Actor::System,
            (_, Some(d)) => Actor::Deputy {
                deputy: who.id.clone(),
                director: director.clone(),
                delegation: d.clone(),
            },
            (_, None) => Actor::Signer(who.id.clone()),
        };
        let (titles, seals) = self.with_directory(|d| {
            let ward = d.wards.get(&who.ward);
            (
                ward.and_then(|w| w.signature_titles.as_ref())
                    .map(crate::api::convert::titles),
                ward.is_some_and(|w| w.seal != SealMode::Off),
            )
        });
        // The signing service takes requests up to its size limit: send the documents in as few
        // requests as fit under it.
        let budget = self
            .settings
            .signer_max_request_bytes
            .saturating_sub(REQUEST_ENVELOPE + signed_delegation.len());
        let mut out = Vec::with_capacity(batch.len());
        let mut waiting = Vec::new();
        for part in by_size(batch, budget) {
            let mut documents = Vec::with_capacity(part.len());
            for p in &part {
                let id = &p.record.meta.id;
                let mut content = self
                    .store
                    .document(id)
                    .await?
                    .ok_or_else(|| SchedError::Internal(format!("document of {id} missing")))?;
                let mut place = p.record.meta.signature_place.clone();
                if let Some(signed) = &p.signed {
                    content.extend_from_slice(signed);
                    // The signing service places the seal over the person's block.
                    place = None;
                }
                documents.push(Document {
                    record_id: p.record.meta.id.clone(),
                    procedure_code: p.record.meta.procedure_code.clone(),
                    content,
                    // The signing service answers a retry of the same lease attempt with the
                    // signature it already made (one whose reply was lost with a crash).
                    attempt: p.attempt,
                    place: place.as_ref().map(crate::api::convert::place),
                });
            }
            let request = SignRequest {
                signer_id: who.id.clone(),
                pin: pin.to_string(),
                delegation: signed_delegation.clone(),
                documents,
                titles: titles.clone(),
                signature_image: who.signature_image.clone().unwrap_or_default(),
                confirmation_id: confirmation.unwrap_or_default().to_string(),
            };
            let reply = self.signer.sign(request).await?;
            if let Some(asked) = reply.confirmation {
                let confirmation = Confirmation {
                    id: asked.id,
                    signer_id: who.id.clone(),
                    code: asked.code,
                    expires_at: asked
                        .expires_at
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.seconds).ok())
                        .unwrap_or_else(OffsetDateTime::now_utc),
                    signatures: asked.signatures,
                    records: part
                        .iter()
                        .map(|p| (p.record.meta.id.clone(), p.attempt))
                        .collect(),
                    seal: matches!(act, Act::Seal { .. }),
                    delegation_id: delegation.clone(),
                };
                waiting.push((confirmation, part.into_iter().map(|p| p.record).collect()));
                continue;
            }
            if reply.signatures.len() != part.len() {
                return Err(SchedError::Internal(format!(
                    "the signer service returned {} signatures for {} documents; none was stored",
                    reply.signatures.len(),
                    part.len()
                )));
            }
            if let Some((p, s)) = part
                .iter()
                .zip(&reply.signatures)
                .find(|(p, s)| s.record_id != p.record.meta.id)
            {
                return Err(SchedError::Internal(format!(
                    "the signer service answered for {} instead of {}; none was stored",
                    s.record_id, p.record.meta.id
                )));
            }
            for (p, signature) in part.into_iter().zip(reply.signatures) {
                let id = p.record.meta.id.clone();
                // The certificate the signature names (after the signer's key was renewed in the
                // signing service, the new one, enrolled below) and the CA chain it carries (the
                // ward CA's, or an outside CA's).
                let chain = signq_signer::cms::signer_chain(&signature.cms).unwrap_or_else(|_| {
                    [vec![who.certificate.clone()], self.ca_chain.clone()].concat()
                });
                if chain[0] != who.certificate {
                    renewed = Some(chain[0].clone());
                }
                let t = match &act {
                    Act::Person(_) => Transition::Sign {
                        id: id.clone(),
                        attempt: p.attempt,
                        signer_id: who.id.clone(),
                        delegation_id: delegation.clone(),
                        signature: signature.cms,
                        chain,
                        seal_next: seals && !signature.pdf_update.is_empty(),
                        pdf_update: signature.pdf_update,
                    },
                    Act::Seal { .. } => Transition::Seal {
                        id: id.clone(),
                        attempt: p.attempt,
                        clerk_id: who.id.clone(),
                        signature: signature.cms,
                        pdf_update: signature.pdf_update,
                    },
                };
                let record = self.store.apply(t, actor.clone()).await?;
                self.forget_lease(&id);
                let now = OffsetDateTime::now_utc();
                {
                    let mut balancer = lock(&self.balancer);
                    balancer.remove(&id);
                    let service = (now - record.meta.submitted_at)
                        .try_into()
                        .unwrap_or_default();
                    balancer.note_signed(&id, &who.id, delegation.as_deref(), service);
                    if !record.state.is_final() {
                        balancer.enqueue(super::intake::entry(&record), now);
                    }
                }
                self.lease_ended(&who.id, &id, "signed");
                if record.state.is_final() {
                    let by_director = self.is_director(record.signer_id.as_deref());
                    crate::metrics::finished(&record, by_director);
                }
                self.notify(&record.meta.ward);
                out.push(record);
            }
        }
        if let Some(certificate) = renewed {
            tracing::info!(signer = %who.id, "the signer's certificate was renewed; enrolling the new one");
            // An outside CA's certificate keeps the signer's registered identity.
            let registration = PeerIdentity::from_der(&certificate)
                .ok()
                .filter(|id| id.signer_id.is_none())
                .map(|_| Registration {
                    signer_id: who.id.clone(),
                    display_name: who.display_name.clone(),
                    ward: who.ward.clone(),
                    role: who.role,
                });
            if let Err(error) = self
                .enroll_signer(certificate, registration, Actor::System)
                .await
            {
                tracing::warn!(signer = %who.id, %error, "the renewed certificate could not be enrolled");
            }
        }
        Ok((out, waiting))
    }

    /// Returns a leased record to intake with a reason. Like approval, it is safe to retry: the
    /// signer who already returned the record gets it back as it was stored.
    pub async fn reject(
        self: &Arc<Self>,
        signer: &str,
        id: &str,
        reason: String,
    ) -> Result<Record, SchedError> {
        let current = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| SchedError::NotFound(format!("record_id: no record {id}")))?;
        let held = current
            .lease
            .as_ref()
            .filter(|l| current.state == RecordState::Leased && l.signer_id == signer);
        let Some(held) = held else {
            return if current.state == RecordState::Rejected
                && [&current.signer_id, &current.clerk_id].contains(&&Some(signer.to_string()))
            {
                Ok(current)
            } else {
                Err(SchedError::FailedPrecondition(format!(
                    "record_id: record {id} is not leased to {signer}"
                )))
            };
        };
        let _claim = self.claim(&[id.to_string()])?;
        let t = Transition::Reject {
            id: id.to_string(),
            attempt: held.attempt,
            signer_id: signer.to_string(),
            reason,
        };
        let record = self
            .store
            .apply(t, Actor::Signer(signer.to_string()))
            .await?;
        self.forget_lease(id);
        lock(&self.balancer).remove(id);
        self.lease_ended(signer, id, "rejected");
        crate::metrics::finished(&record, self.is_director(Some(signer)));
        self.notify(&record.meta.ward);
        self.dispatch_ward(&record.meta.ward).await;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use signq_proto::v1 as pb;

    use super::*;
    use crate::engine::testing::{DIRECTOR, FakeSigner, engine, leased_to_director};
    use crate::signer_link::LinkSettings;

    /// Signs only the first document of every batch.
    fn short(request: pb::SignRequest) -> Result<pb::SignResponse, tonic::Status> {
        let first = request.documents.into_iter().next();
        Ok(pb::SignResponse {
            confirmation: None,
            signatures: first
                .map(|d| pb::DocumentSignature {
                    record_id: d.record_id,
                    cms: b"signature".to_vec(),
                    signing_time: None,
                    pdf_update: Vec::new(),
                })
                .into_iter()
                .collect(),
        })
    }

    #[tokio::test]
    async fn a_signing_service_that_returns_fewer_signatures_signs_nothing() {
        let signer = FakeSigner::signing(short).link(LinkSettings::default());
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir, signer).await;
        let ids = leased_to_director(&engine, &["a", "b"]).await;
        let error = engine
            .approve(DIRECTOR, ids.clone(), "246810".into())
            .await
            .expect_err("fewer signatures than documents");
        assert!(
            error
                .to_string()
                .contains("returned 1 signatures for 2 documents"),
            "{error}"
        );
        // Neither record was signed (before, the first was stored and the second vanished from
        // the reply): both are still leased, ready for another approval.
        for id in &ids {
            let record = engine.store().get(id).await.expect("get").expect("record");
            assert_eq!(record.state, RecordState::Leased, "{id}");
        }
        assert_eq!(engine.leased_to(DIRECTOR).len(), 2);
    }

    #[tokio::test]
    async fn a_hung_signing_service_fails_approval_and_sign_in_unavailable_leaving_the_lease() {
        let quick = LinkSettings {
            sign: std::time::Duration::from_millis(300),
            other: std::time::Duration::from_millis(300),
            ..LinkSettings::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir, FakeSigner::HUNG.link(quick)).await;
        let ids = leased_to_director(&engine, &["k"]).await;
        let approval = engine
            .approve(DIRECTOR, ids.clone(), "246810".into())
            .await
            .expect_err("no answer");
        let status = tonic::Status::from(approval);
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert!(
            signq_kit::limit::retry_after(&status).is_some(),
            "{status:?}"
        );
        let sign_in = engine
            .sign_in(DIRECTOR, "246810", "device")
            .await
            .expect_err("no answer");
        assert_eq!(
            tonic::Status::from(sign_in).code(),
            tonic::Code::Unavailable
        );
        // Nothing changed: the record is still leased to the director, ready for a retry.
        let stored = engine.store().get(&ids[0]).await.expect("get");
        assert_eq!(stored.expect("record").state, RecordState::Leased);
        assert_eq!(engine.leased_to(DIRECTOR), ids);
    }
}
