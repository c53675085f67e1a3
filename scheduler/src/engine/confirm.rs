//! Batches waiting for their person to confirm them in a remote signing app.
//!
//! When the signing service answers an approval with a confirmation (the signer's key is at a
//! remote provider), the batch is kept in the store and its records stay leased to the signer,
//! their leases lasting until the confirmation expires (plus [`GRACE`]); one task per
//! confirmation asks the signing service where it stands, a little less often as it waits. Once
//! confirmed, the batch is sent again with the confirmation's id and signed as any approval is,
//! fenced by the lease attempts. Refused or expired, its records return to the pool: the signing
//! service never signs under a confirmation that ended unsigned, and a late signature could not
//! be stored against a lease that moved on. After a restart the tasks start again from the
//! store.

use std::sync::{Arc, Weak};
use std::time::Duration;

use signq_proto::v1::{CheckConfirmationRequest, ConfirmationState};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::signing::{Act, Pending};
use super::{Engine, lock};
use crate::error::SchedError;
use crate::model::{Confirmation, RecordState, ReleaseReason, SignerRole};

/// How long a lease outlives its confirmation's expiry: time for the last answers to arrive.
pub const GRACE: Duration = Duration::from_secs(60);
/// The first pause between two questions, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

impl Engine {
    /// The live confirmation record `id` waits for, if any.
    pub fn waiting_on(&self, id: &str) -> Option<Arc<Confirmation>> {
        lock(&self.confirming).get(id).cloned()
    }

    /// Keeps a batch waiting for its confirmation, holds its leases until the confirmation
    /// expires, and starts asking after it.
    pub(super) async fn await_confirmation(
        self: &Arc<Self>,
        confirmation: Confirmation,
    ) -> Result<(), SchedError> {
        self.store.put_confirmation(confirmation.clone()).await?;
        crate::metrics::confirmation_waiting();
        self.follow(Arc::new(confirmation)).await;
        Ok(())
    }

    /// Starts following every confirmation kept in the store for a signer of `wards` (at
    /// start-up, or when this replica takes the wards on).
    pub(super) async fn resume_confirmations(
        self: &Arc<Self>,
        wards: &std::collections::HashSet<String>,
    ) -> Result<usize, SchedError> {
        let kept: Vec<Confirmation> = self
            .store
            .confirmations()
            .await?
            .into_iter()
            .filter(|c| {
                self.with_directory(|d| {
                    d.signers
                        .get(&c.signer_id)
                        .is_some_and(|s| wards.contains(&s.ward))
                })
            })
            .collect();
        let n = kept.len();
        if n > 0 {
            tracing::info!(waiting = n, "asking after remote confirmations again");
        }
        for confirmation in kept {
            crate::metrics::confirmation_waiting();
            self.follow(Arc::new(confirmation)).await;
        }
        Ok(n)
    }

    /// Marks the confirmation's records, holds their leases until it expires, and spawns the
    /// task that follows it.
    async fn follow(self: &Arc<Self>, confirmation: Arc<Confirmation>) {
        let until = confirmation.expires_at + GRACE;
        let left: Duration = (until - OffsetDateTime::now_utc())
            .try_into()
            .unwrap_or(Duration::ZERO);
        let due = Instant::now() + left;
        {
            let mut confirming = lock(&self.confirming);
            let mut leases = lock(&self.leases);
            for (id, attempt) in &confirmation.records {
                confirming.insert(id.clone(), Arc::clone(&confirmation));
                if let Some(held) = leases.get_mut(id).filter(|h| h.attempt == *attempt)
                    && held.due < due
                {
                    self.expiries.remove(id, held.attempt, held.due);
                    held.due = due;
                    held.expires_at = until;
                    self.expiries.add(id, held.attempt, due);
                }
            }
        }
        // The signer's tablet shows the records as waiting.
        for (id, _) in &confirmation.records {
            if let Ok(Some(record)) = self.store.get(id).await {
                self.relay_leased(&confirmation.signer_id, &record);
            }
        }
        let engine = Arc::downgrade(self);
        tokio::spawn(async move { follow(engine, confirmation).await });
    }

    /// Whether any record of the confirmation is still leased under its attempt.
    fn still_held(&self, confirmation: &Confirmation) -> bool {
        let leases = lock(&self.leases);
        confirmation.records.iter().any(|(id, attempt)| {
            leases
                .get(id)
                .is_some_and(|h| h.attempt == *attempt && h.signer == confirmation.signer_id)
        })
    }

    /// Forgets a confirmation that ended.
    async fn end(self: &Arc<Self>, confirmation: &Confirmation, outcome: &'static str) {
        {
            let mut confirming = lock(&self.confirming);
            for (id, _) in &confirmation.records {
                if confirming.get(id).is_some_and(|c| c.id == confirmation.id) {
                    confirming.remove(id);
                }
            }
        }
        if let Err(error) = self.store.end_confirmation(&confirmation.id).await {
            tracing::warn!(confirmation = %confirmation.id, %error, "could not forget an ended confirmation; it is asked after again at the next start");
        }
        crate::metrics::confirmation_ended(outcome);
        tracing::info!(confirmation = %confirmation.id, signer = %confirmation.signer_id, outcome, "confirmation ended");
    }

    /// Returns the confirmation's records that are still leased to the pool.
    async fn give_back(self: &Arc<Self>, confirmation: &Confirmation, outcome: &'static str) {
        self.end(confirmation, outcome).await;
        for (id, attempt) in &confirmation.records {
            self.take_back(id, *attempt, ReleaseReason::Unconfirmed)
                .await;
        }
    }

    /// Signs a confirmed batch: the same records and attempts, with the confirmation's id.
    async fn complete(self: &Arc<Self>, confirmation: &Confirmation) -> Result<(), SchedError> {
        let who = self
            .with_directory(|d| d.signers.get(&confirmation.signer_id).cloned())
            .ok_or_else(|| {
                SchedError::NotFound(format!(
                    "signer {} is no longer enrolled",
                    confirmation.signer_id
                ))
            })?;
        let ids: Vec<String> = confirmation
            .records
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let _claim = self.claim(&ids)?;
        let mut batch = Vec::with_capacity(ids.len());
        for (id, attempt) in &confirmation.records {
            let record = self
                .store
                .get(id)
                .await?
                .ok_or_else(|| SchedError::NotFound(format!("no record {id}")))?;
            if record.state != RecordState::Leased || record.attempt != *attempt {
                return Err(SchedError::FailedPrecondition(format!(
                    "record {id} is no longer leased under attempt {attempt}"
                )));
            }
            batch.push(Pending {
                record,
                attempt: *attempt,
                signed: None,
            });
        }
        let act = if confirmation.seal {
            Act::Seal { automatic: false }
        } else {
            Act::Person(confirmation.delegation_id.clone())
        };
        let (signed, waiting) = self
            .sign_group(&who, act, batch, "", Some(&confirmation.id))
            .await?;
        if !waiting.is_empty() {
            return Err(SchedError::Unavailable(
                "the signing service still waits for the confirmation".into(),
            ));
        }
        let sealing = signed
            .iter()
            .any(|r| r.state == RecordState::Queued && who.role != SignerRole::Clerk);
        if sealing {
            self.dispatch_ward(&who.ward).await;
        } else {
            self.dispatch_signer(&who.id, usize::MAX).await;
        }
        let engine = Arc::clone(self);
        tokio::spawn(async move { engine.checkpoint_or_log().await });
        Ok(())
    }
}

/// Asks after one confirmation until it ends, the records move on, or the engine is gone.
async fn follow(engine: Weak<Engine>, confirmation: Arc<Confirmation>) {
    let mut pause = FIRST_PAUSE;
    loop {
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(LONGEST_PAUSE);
        let Some(engine) = engine.upgrade() else {
            return;
        };
        if *engine.closing.borrow() {
            // Kept in the store: asked after again at the next start.
            return;
        }
        if !engine.still_held(&confirmation) {
            engine.end(&confirmation, "moved_on").await;
            return;
        }
        let asked = engine
            .signer
            .check_confirmation(CheckConfirmationRequest {
                confirmation_id: confirmation.id.clone(),
            })
            .await;
        let state = match asked {
            Ok(answer) => answer.state(),
            Err(SchedError::NotFound(_)) => ConfirmationState::Expired,
            Err(error) => {
                tracing::debug!(confirmation = %confirmation.id, %error, "could not ask after the confirmation; asking again");
                continue;
            }
        };
        match state {
            ConfirmationState::Waiting | ConfirmationState::Unspecified => {}
            ConfirmationState::Confirmed | ConfirmationState::Signed => {
                match engine.complete(&confirmation).await {
                    Ok(()) => {
                        engine.end(&confirmation, "signed").await;
                        return;
                    }
                    Err(
                        SchedError::Unavailable(_)
                        | SchedError::SignerUnavailable { .. }
                        | SchedError::Aborted(_),
                    ) => {}
                    Err(error) => {
                        tracing::warn!(confirmation = %confirmation.id, %error, "a confirmed batch could not be signed; its records return to the pool");
                        engine.give_back(&confirmation, "failed").await;
                        return;
                    }
                }
            }
            ConfirmationState::Refused => {
                engine.give_back(&confirmation, "refused").await;
                return;
            }
            ConfirmationState::Expired => {
                engine.give_back(&confirmation, "expired").await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use signq_proto::v1 as pb;

    use super::*;
    use crate::engine::testing::{DIRECTOR, FakeSigner, engine, leased_to_director};
    use crate::signer_link::LinkSettings;

    /// A remote signer's service: the first request (with the PIN) is answered with a
    /// confirmation, the one that completes it with signatures.
    fn remote(request: pb::SignRequest) -> Result<pb::SignResponse, tonic::Status> {
        if request.confirmation_id.is_empty() {
            assert!(!request.pin.is_empty(), "the PIN asks for the confirmation");
            return Ok(pb::SignResponse {
                signatures: Vec::new(),
                confirmation: Some(pb::Confirmation {
                    id: "c-1".into(),
                    code: "K7P-4QX".into(),
                    expires_at: Some(crate::api::convert::ts(
                        OffsetDateTime::now_utc() + time::Duration::minutes(5),
                    )),
                    signatures: request.documents.len() as u32,
                }),
            });
        }
        assert_eq!(request.confirmation_id, "c-1");
        assert!(
            request.pin.is_empty(),
            "the confirmation stands for the PIN"
        );
        Ok(pb::SignResponse {
            signatures: request
                .documents
                .into_iter()
                .map(|d| pb::DocumentSignature {
                    record_id: d.record_id,
                    cms: b"signature".to_vec(),
                    signing_time: None,
                    pdf_update: Vec::new(),
                })
                .collect(),
            confirmation: None,
        })
    }

    /// A signing service whose confirmations are all at `state` when asked after.
    fn remote_signer(
        check: fn(
            pb::CheckConfirmationRequest,
        ) -> Result<pb::CheckConfirmationResponse, tonic::Status>,
    ) -> crate::signer_link::SignerLink {
        FakeSigner {
            sign: Some(remote),
            check: Some(check),
        }
        .link(LinkSettings::default())
    }

    fn says(state: pb::ConfirmationState) -> Result<pb::CheckConfirmationResponse, tonic::Status> {
        Ok(pb::CheckConfirmationResponse {
            state: state as i32,
            confirmation: None,
        })
    }

    fn confirmed(
        _: pb::CheckConfirmationRequest,
    ) -> Result<pb::CheckConfirmationResponse, tonic::Status> {
        says(pb::ConfirmationState::Confirmed)
    }

    fn expired(
        _: pb::CheckConfirmationRequest,
    ) -> Result<pb::CheckConfirmationResponse, tonic::Status> {
        says(pb::ConfirmationState::Expired)
    }

    /// Leases two records to the director and approves them: their ids and the approval.
    async fn approved(engine: &Arc<Engine>) -> (Vec<String>, super::super::signing::Approved) {
        let ids = leased_to_director(engine, &["a", "b"]).await;
        let approved = engine
            .approve(DIRECTOR, ids.clone(), "246810".into())
            .await
            .expect("sent for confirmation");
        (ids, approved)
    }

    /// Whether the store still keeps a confirmation.
    async fn any_kept(engine: &Arc<Engine>) -> bool {
        !engine
            .store()
            .confirmations()
            .await
            .expect("read")
            .is_empty()
    }

    /// Waits until `done` holds of every record of `ids` (the task that follows a confirmation
    /// asks after it every half second at first), for a minute at most.
    async fn until(engine: &Arc<Engine>, ids: &[String], done: fn(&crate::model::Record) -> bool) {
        for _ in 0..600 {
            let mut all = true;
            for id in ids {
                let record = engine.store().get(id).await.expect("get").expect("record");
                all &= done(&record);
            }
            if all {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the records never got there");
    }

    #[tokio::test]
    async fn a_confirmed_batch_is_signed_without_the_pin_and_forgotten() {
        let signer = remote_signer(confirmed);
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir, signer).await;
        let (ids, approved) = approved(&engine).await;
        assert_eq!(approved.confirmations.len(), 1);
        assert!(
            approved
                .records
                .iter()
                .all(|r| r.state == RecordState::Leased)
        );
        assert!(ids.iter().all(|id| engine.waiting_on(id).is_some()));
        // Approving again while it waits is refused, naming the code.
        let again = engine
            .approve(DIRECTOR, ids.clone(), "246810".into())
            .await
            .expect_err("waiting");
        assert!(again.to_string().contains("K7P-4QX"), "{again}");
        until(&engine, &ids, |r| r.state == RecordState::Signed).await;
        // The confirmation is forgotten once its signatures are stored: just after, not with them.
        for _ in 0..600 {
            if !any_kept(&engine).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!any_kept(&engine).await, "the confirmation is still kept");
        assert!(ids.iter().all(|id| engine.waiting_on(id).is_none()));
    }

    #[tokio::test]
    async fn an_expired_batch_returns_to_the_pool_unsigned() {
        let signer = remote_signer(expired);
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir, signer).await;
        let (ids, _) = approved(&engine).await;
        // Back in the pool, never signed.
        until(&engine, &ids, |r| r.state == RecordState::Queued).await;
        for id in &ids {
            let record = engine.store().get(id).await.expect("get").expect("record");
            assert_ne!(record.state, RecordState::Signed);
            assert!(engine.waiting_on(id).is_none());
        }
        assert!(!any_kept(&engine).await);
    }

    #[tokio::test]
    async fn a_restarted_engine_follows_the_confirmations_it_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let waiting = FakeSigner {
            sign: Some(remote),
            check: None,
        }
        .link(LinkSettings::default());
        let engine = engine(&dir, waiting).await;
        let (ids, _) = approved(&engine).await;
        assert_eq!(engine.store().confirmations().await.expect("read").len(), 1);
        engine.close_streams();
        drop(engine);
        // The same store, a signing service that now says confirmed.
        let store = std::sync::Arc::new(
            crate::store::SqlStore::open(&dir.path().join("s.db")).expect("store"),
        );
        let signer = remote_signer(confirmed);
        let engine = crate::engine::testing::engine_over(&dir, store, signer).await;
        assert!(
            ids.iter().all(|id| engine.waiting_on(id).is_some()),
            "resumed"
        );
        until(&engine, &ids, |r| r.state == RecordState::Signed).await;
    }
}
