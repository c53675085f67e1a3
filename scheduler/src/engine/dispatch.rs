//! Leasing records to ready signers, and taking leases back: on expiry, when a signer goes away,
//! and at start-up. The balancer decides who gets what; this module makes each decision durable
//! (a fenced `Lease` in the store) before the signer hears of it.

use std::sync::Arc;
use std::time::Duration;

use signq_proto::v1::{InboxSnapshot, LeaseEnded, StreamInboxResponse, stream_inbox_response};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::intake::entry;
use super::{Engine, Held, lock};
use crate::error::SchedError;
use crate::model::{Actor, Record, ReleaseReason, SignerRole, Transition};

/// How soon a lease the store could not end is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Whether a write was refused because the record or its ward moved on (another state, another
/// attempt, another replica), rather than because the store failed for a moment.
fn moved_on(error: &crate::store::StoreError) -> bool {
    use crate::store::StoreError;
    matches!(
        error,
        StoreError::Fenced { .. }
            | StoreError::NotFound(_)
            | StoreError::Precondition(_)
            | StoreError::Conflict(_)
            | StoreError::NotOwner(_)
    )
}

impl Engine {
    /// Rebuilds the balancer from the store's open records of `wards` (at start-up, or when this
    /// replica takes the wards on).
    pub(super) async fn recover(
        self: &Arc<Self>,
        wards: &std::collections::HashSet<String>,
    ) -> Result<(), SchedError> {
        let now = OffsetDateTime::now_utc();
        // A lease whose batch waits for a remote confirmation lasts as long as the confirmation.
        let mut confirming = std::collections::HashMap::new();
        for c in self.store.confirmations().await? {
            for (id, attempt) in c.records {
                confirming.insert((id, attempt), c.expires_at + super::confirm::GRACE);
            }
        }
        let open = self.store.open_records().await?;
        let mut queued = 0;
        let mut returned = 0;
        let started = Instant::now();
        for record in open.into_iter().filter(|r| wards.contains(&r.meta.ward)) {
            let lease = record.lease.clone().map(|mut lease| {
                if let Some(until) = confirming.get(&(record.meta.id.clone(), lease.attempt)) {
                    lease.expires_at = lease.expires_at.max(*until);
                }
                lease
            });
            match lease {
                Some(lease) if lease.expires_at > now => {
                    {
                        let mut balancer = lock(&self.balancer);
                        balancer.enqueue(entry(&record), now);
                        balancer.mark_leased(&record.meta.id, &lease.signer_id);
                    }
                    // What is left of the lease, by the wall clock of then and now: never more
                    // than a whole lease (a lease made while the clock ran fast would otherwise
                    // outlive its timeout by as much as the clock was wrong).
                    let left = (lease.expires_at - now)
                        .try_into()
                        .unwrap_or(Duration::ZERO)
                        .min(self.settings.lease_timeout);
                    lock(&self.leases).insert(
                        record.meta.id.clone(),
                        Held {
                            ward: record.meta.ward.clone(),
                            signer: lease.signer_id.clone(),
                            attempt: lease.attempt,
                            expires_at: now + left,
                            due: started + left,
                        },
                    );
                    self.schedule_expiry(record.meta.id.clone(), lease.attempt, started + left);
                }
                Some(lease) => {
                    let t = Transition::Release {
                        id: record.meta.id.clone(),
                        attempt: lease.attempt,
                        reason: ReleaseReason::Recovered,
                    };
                    let record = self.store.apply(t, Actor::System).await?;
                    lock(&self.balancer).enqueue(entry(&record), now);
                    returned += 1;
                }
                None => {
                    lock(&self.balancer).enqueue(entry(&record), now);
                    queued += 1;
                }
            }
        }
        tracing::info!(
            queued,
            returned,
            leased = lock(&self.leases).len(),
            "recovered open records"
        );
        Ok(())
    }

    /// Leases records to every ready signer of `ward`: deputies first, then the director (who
    /// takes only what deputies may not, or what the deadline guard escalates), and its clerks
    /// the records waiting for its seal (or, when the ward seals automatically, the scheduler).
    pub async fn dispatch_ward(self: &Arc<Self>, ward: &str) {
        if !self.owns(ward) {
            // Another replica runs the ward; it hears of what changed from the store.
            return;
        }
        let automatic = self.seals_automatically(ward);
        let mut signers: Vec<(SignerRole, String)> = self.with_directory(|d| {
            d.signers
                .values()
                .filter(|s| s.ward == ward && !s.away)
                .filter(|s| !(automatic && s.role == SignerRole::Clerk))
                .map(|s| (s.role, s.id.clone()))
                .collect()
        });
        signers.sort_by_key(|(role, id)| (*role == SignerRole::Director, id.clone()));
        for (_, signer) in &signers {
            if self.signer_online(ward, signer) {
                self.dispatch_signer(signer, usize::MAX).await;
            }
        }
        // Signers who are away hold no leases, so the ward's leases are its present signers'.
        let (depth, oldest, leased) = {
            let balancer = lock(&self.balancer);
            let leased = signers.iter().map(|(_, s)| balancer.leased_count(s)).sum();
            (
                balancer.pool_depth(ward),
                balancer.oldest_queued(ward),
                leased,
            )
        };
        crate::metrics::pool(ward, (depth, oldest), leased);
        crate::metrics::ward_owned(ward, true);
        if automatic {
            self.seal_automatically(ward);
        }
    }

    /// Leases up to `max` more records to `signer` (within the lease size); returns them.
    pub async fn dispatch_signer(
        self: &Arc<Self>,
        signer: &str,
        max: usize,
    ) -> Vec<crate::model::Record> {
        let Some(s) = self.with_directory(|d| d.signers.get(signer).cloned()) else {
            return Vec::new();
        };
        if !self.owns(&s.ward) {
            // The replica running the ward leases; saying the signer is here again wakes it,
            // and its leases reach the signer's inbox stream.
            self.announce(&s).await;
            return Vec::new();
        }
        let now = OffsetDateTime::now_utc();
        let grants = {
            let mut balancer = lock(&self.balancer);
            balancer.upsert_signer(self.view(&s));
            balancer.take(signer, max, now)
        };
        let mut leased = Vec::with_capacity(grants.len());
        for grant in grants {
            match self.lease(signer, &grant.id, grant.escalated, now).await {
                Ok(record) => leased.push(record),
                Err(error) => {
                    tracing::warn!(record = %grant.id, %signer, %error, "lease not made; record stays with the balancer");
                    lock(&self.balancer).release(&grant.id, now);
                }
            }
        }
        leased
    }

    #[tracing::instrument(
        name = "lease",
        skip(self, now),
        fields(ward = signer.split('/').next().unwrap_or_default(), record = %id)
    )]
    async fn lease(
        self: &Arc<Self>,
        signer: &str,
        id: &str,
        escalated: bool,
        now: OffsetDateTime,
    ) -> Result<crate::model::Record, SchedError> {
        let current = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| SchedError::NotFound(format!("record {id}")))?;
        let expires_at = now + self.settings.lease_timeout;
        let due = Instant::now() + self.settings.lease_timeout;
        let t = Transition::Lease {
            id: id.to_string(),
            attempt: current.attempt,
            signer_id: signer.to_string(),
            expires_at,
            escalated,
        };
        let record = match self.store.apply(t, Actor::System).await {
            Ok(record) => record,
            Err(e) => {
                // Cancelled (or otherwise moved on) meanwhile, or its ward now run elsewhere:
                // forget it. A store that failed for a moment leaves it to the pool.
                if moved_on(&e) {
                    lock(&self.balancer).remove(id);
                }
                return Err(e.into());
            }
        };
        let attempt = record.attempt;
        lock(&self.balancer).mark_leased(id, signer);
        lock(&self.leases).insert(
            id.to_string(),
            Held {
                ward: record.meta.ward.clone(),
                signer: signer.to_string(),
                attempt,
                expires_at,
                due,
            },
        );
        self.schedule_expiry(id.to_string(), attempt, due);
        crate::metrics::leased(&record, escalated, now);
        self.relay_leased(signer, &record);
        self.notify(&record.meta.ward);
        Ok(record)
    }

    /// A record as its signer's inbox shows it: with the confirmation it waits for, and its
    /// signature when `with_signature`.
    pub fn inbox_record(&self, record: &Record, with_signature: bool) -> signq_proto::v1::Record {
        let mut shown = crate::api::convert::record(record, with_signature);
        shown.confirmation = self
            .waiting_on(&record.meta.id)
            .map(|c| crate::api::convert::confirmation(&c));
        shown
    }

    /// Tells the signer's inbox that `record` is leased to them (again: with what changed).
    pub(super) fn relay_leased(&self, signer: &str, record: &Record) {
        lock(&self.relayed).insert(record.meta.id.clone(), (signer.to_string(), record.attempt));
        self.inboxes.send(
            signer,
            StreamInboxResponse {
                event: Some(stream_inbox_response::Event::Leased(
                    self.inbox_record(record, false),
                )),
            },
        );
    }

    /// Returns the record to the pool when its lease ends, unless it moved on meanwhile.
    fn schedule_expiry(&self, id: String, attempt: u32, at: Instant) {
        self.expiries.add(&id, attempt, at);
    }

    /// Ends a lease without a signature (fenced by its attempt) and offers the record again.
    pub(super) async fn take_back(self: &Arc<Self>, id: &str, attempt: u32, reason: ReleaseReason) {
        {
            let leases = lock(&self.leases);
            if leases.get(id).is_none_or(|h| h.attempt != attempt) {
                return;
            }
        }
        if reason != ReleaseReason::Unconfirmed
            && reason != ReleaseReason::Expired
            && self.waiting_on(id).is_some()
        {
            // Its batch waits for the person's confirmation, which will sign it or give it back.
            return;
        }
        if lock(&self.approving).contains(id) {
            // Being signed right now: look again shortly; the approval's outcome decides.
            self.schedule_expiry(id.to_string(), attempt, Instant::now() + RETRY);
            return;
        }
        let t = Transition::Release {
            id: id.to_string(),
            attempt,
            reason,
        };
        let record = match self.store.apply(t, Actor::System).await {
            Ok(record) => record,
            Err(error) if moved_on(&error) => {
                tracing::debug!(record = %id, %error, "lease already ended");
                return;
            }
            Err(error) => {
                // The store failed for a moment: try again shortly.
                tracing::warn!(record = %id, %error, "lease not taken back yet; retrying");
                self.schedule_expiry(id.to_string(), attempt, Instant::now() + RETRY);
                return;
            }
        };
        let held = self.forget_lease(id);
        let now = OffsetDateTime::now_utc();
        lock(&self.balancer).release(id, now);
        crate::metrics::released(&record.meta.ward, reason);
        if let Some(held) = held {
            self.lease_ended(&held.signer, id, reason.as_str());
        }
        self.notify(&record.meta.ward);
        self.dispatch_ward(&record.meta.ward).await;
    }

    /// Tells the signer's inbox that a record left it.
    pub(super) fn lease_ended(&self, signer: &str, id: &str, reason: &str) {
        lock(&self.relayed).remove(id);
        self.inboxes.send(
            signer,
            StreamInboxResponse {
                event: Some(stream_inbox_response::Event::Ended(LeaseEnded {
                    record_id: id.to_string(),
                    reason: reason.to_string(),
                })),
            },
        );
    }

    /// Marks a signer away (their leases return to the pool) or back (they get work).
    pub async fn set_away(self: &Arc<Self>, signer: &str, away: bool) -> Result<bool, SchedError> {
        let updated = self
            .store
            .set_away(signer, away, Actor::Signer(signer.to_string()))
            .await?;
        self.update_directory(|d| {
            d.signers.insert(updated.id.clone(), updated.clone());
        });
        lock(&self.balancer).upsert_signer(self.view(&updated));
        if away {
            self.release_all(signer, ReleaseReason::Away).await;
        }
        self.dispatch_ward(&updated.ward).await;
        Ok(updated.away)
    }

    /// Returns every lease of `signer` to the pool. Where another replica runs the signer's
    /// ward, the signer gives them back in the store (fenced by each lease's attempt), and that
    /// replica offers them again once it reads so.
    pub async fn release_all(self: &Arc<Self>, signer: &str, reason: ReleaseReason) {
        let Some(s) = self.with_directory(|d| d.signers.get(signer).cloned()) else {
            return;
        };
        if !self.owns(&s.ward) {
            let leased = match self.leased_records(&s).await {
                Ok(leased) => leased,
                Err(error) => {
                    tracing::warn!(%signer, %error, "could not read the signer's leases");
                    return;
                }
            };
            for record in leased {
                let t = Transition::Release {
                    id: record.meta.id.clone(),
                    attempt: record.attempt,
                    reason,
                };
                if let Err(error) = self.store.apply(t, Actor::Signer(signer.into())).await {
                    tracing::debug!(record = %record.meta.id, %error, "lease already ended");
                }
            }
            return;
        }
        let held: Vec<(String, u32)> = lock(&self.leases)
            .iter()
            .filter(|(_, h)| h.signer == signer)
            .map(|(id, h)| (id.clone(), h.attempt))
            .collect();
        for (id, attempt) in held {
            self.take_back(&id, attempt, reason).await;
        }
    }

    /// Opens an inbox stream for `signer`: a snapshot of the current leases first, then every change;
    /// the signer is now ready for work.
    pub async fn open_inbox(
        self: &Arc<Self>,
        signer: &str,
    ) -> Result<tokio::sync::mpsc::Receiver<StreamInboxResponse>, SchedError> {
        let s = self
            .with_directory(|d| d.signers.get(signer).cloned())
            .ok_or_else(|| SchedError::NotFound(format!("signer {signer:?} is not enrolled")))?;
        // Followed from now on (when the ward is run elsewhere), so that no lease made after
        // the snapshot below is missed.
        self.start_following(&s.ward).await;
        let rx = self.inboxes.connect(signer);
        self.announce(&s).await;
        let mut records = Vec::new();
        for r in &self.leased_records(&s).await? {
            lock(&self.relayed).insert(r.meta.id.clone(), (signer.to_string(), r.attempt));
            records.push(self.inbox_record(r, false));
        }
        records.sort_by_key(|r| r.deadline.map(|d| (d.seconds, d.nanos)));
        self.inboxes.send(
            signer,
            StreamInboxResponse {
                event: Some(stream_inbox_response::Event::Snapshot(InboxSnapshot {
                    records,
                    away: s.away,
                })),
            },
        );
        self.dispatch_ward(&s.ward).await;
        Ok(rx)
    }

    /// The records leased to `s` now: from this replica's leases when it runs the signer's ward,
    /// from the store when another replica does.
    pub async fn leased_records(
        &self,
        s: &crate::model::Signer,
    ) -> Result<Vec<Record>, SchedError> {
        let mut leased = Vec::new();
        if self.owns(&s.ward) {
            for id in self.leased_to(&s.id) {
                if let Some(r) = self.store.get(&id).await? {
                    leased.push(r);
                }
            }
            return Ok(leased);
        }
        let state = Some(crate::model::RecordState::Leased);
        for r in self.store.list(&s.ward, state, None, usize::MAX).await? {
            if r.lease.as_ref().is_some_and(|l| l.signer_id == s.id) {
                leased.push(r);
            }
        }
        Ok(leased)
    }

    /// Periodically offers at-risk records to directors and refreshes the pool gauges.
    pub fn spawn_ticker(self: &Arc<Self>, every: std::time::Duration) {
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(error) = engine.roll_day(time::OffsetDateTime::now_utc()).await {
                    tracing::warn!(%error, "could not start the new day's daily caps");
                }
                for ward in engine.owned_wards() {
                    engine.dispatch_ward(&ward).await;
                }
                if let Err(error) = engine.flag_at_risk(time::OffsetDateTime::now_utc()).await {
                    tracing::warn!(%error, "could not look for records at risk");
                }
                engine.checkpoint_or_log().await;
            }
        });
    }
}
