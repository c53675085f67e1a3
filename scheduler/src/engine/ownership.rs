//! Which wards this scheduler runs: the balancer, lease timers and automatic work of a ward live
//! on exactly one replica at a time, the one holding the ward's ownership row in the store.
//!
//! A task renews this replica's wards every third of the ownership lease, adopts the wards it
//! gains (rebuilding their pool and leases from the store, then following their event log) and
//! abandons those it lost (forgetting their state, so nothing here acts for them again). If the
//! store cannot be reached for most of a lease, the replica abandons every ward before another
//! could take them: it never acts for a ward it may no longer own. Even then, the store refuses
//! the scheduler's own writes for a ward held at another epoch (see `store::sql::replicas`).
//!
//! Signers' presence rides on the same beat: every signer with an inbox open here is said to be
//! present, so that the replica owning their ward leases them records.
//!
//! A store one scheduler has to itself holds every ward: the same code then owns them all.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::{Engine, lock};
use crate::error::SchedError;

/// How long a signer's presence lasts unless renewed: three beats of the default lease.
const PRESENCE_TTL: Duration = Duration::from_secs(10);

/// Who this replica is, and how long its hold on a ward lasts unless renewed.
#[derive(Debug, Clone)]
pub struct Ownership {
    /// This replica's id, unique among the replicas sharing the store.
    pub replica: String,
    /// How long a ward stays this replica's without renewal: after it, another replica takes
    /// the ward over.
    pub ttl: Duration,
}

impl Default for Ownership {
    fn default() -> Self {
        Ownership {
            replica: format!("replica-{}", hex::encode(rand::random::<[u8; 6]>())),
            ttl: Duration::from_secs(6),
        }
    }
}

impl Engine {
    /// Whether this replica runs `ward` (always, for a store it has to itself).
    pub fn owns(&self, ward: &str) -> bool {
        !self.replicated || lock(&self.owned).contains_key(ward)
    }

    /// The wards this replica runs now.
    pub fn owned_wards(&self) -> Vec<String> {
        if !self.replicated {
            return self.with_directory(|d| d.wards.keys().cloned().collect());
        }
        let mut wards: Vec<String> = lock(&self.owned).keys().cloned().collect();
        wards.sort();
        wards
    }

    /// Renews, adopts and abandons once; returns when the next beat is due.
    pub(super) async fn hold_wards(self: &Arc<Self>) -> Result<(), SchedError> {
        let settings = &self.settings.ownership;
        let held = self
            .store
            .hold_wards(&settings.replica, settings.ttl)
            .await?;
        *lock(&self.held_at) = Some(Instant::now());
        let held: HashMap<String, u64> = held.into_iter().collect();
        let (gained, lost) = {
            let mut owned = lock(&self.owned);
            let gained: HashSet<String> = held
                .iter()
                .filter(|(w, e)| owned.get(*w) != Some(*e))
                .map(|(w, _)| w.clone())
                .collect();
            let lost: Vec<String> = owned
                .iter()
                .filter(|(w, e)| held.get(*w) != Some(*e))
                .map(|(w, _)| w.clone())
                .collect();
            *owned = held.clone();
            (gained, lost)
        };
        for ward in &lost {
            self.abandon(ward);
        }
        if !gained.is_empty()
            && let Err(error) = self.adopt(&gained).await
        {
            // Not adopted: gained again at the next beat, adopted then.
            let mut owned = lock(&self.owned);
            for ward in &gained {
                owned.remove(ward);
            }
            return Err(error);
        }
        if self.replicated {
            for ward in self.with_directory(|d| d.wards.keys().cloned().collect::<Vec<_>>()) {
                crate::metrics::ward_owned(&ward, held.contains_key(&ward));
            }
        }
        Ok(())
    }

    /// Takes `wards` on: their followers start from their newest event, then their open records
    /// become this replica's pool and leases, their remote confirmations are followed, and
    /// their signers get work.
    async fn adopt(self: &Arc<Self>, wards: &HashSet<String>) -> Result<(), SchedError> {
        for ward in wards {
            // The cursor first: anything committed after it is followed (again, harmlessly). A
            // ward followed already (for an inbox open here) keeps its cursor, so that inbox
            // still hears of every lease made before the takeover.
            let head = self.store.last_event(ward).await?;
            lock(&self.cursors).entry(ward.clone()).or_insert(head);
        }
        self.recover(wards).await?;
        self.resume_confirmations(wards).await?;
        for ward in wards {
            self.refresh_presence(ward).await;
            self.dispatch_ward(ward).await;
        }
        tracing::info!(wards = ?wards, replica = %self.settings.ownership.replica, "adopted wards");
        Ok(())
    }

    /// Lets `ward` go (no longer in `owned`): its pool, leases and timers are forgotten here (the
    /// store keeps them, and the replica that takes the ward over rebuilds them).
    fn abandon(&self, ward: &str) {
        let ids: Vec<String> = lock(&self.leases)
            .iter()
            .filter(|(_, h)| h.ward == ward)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.forget_lease(id);
        }
        lock(&self.balancer).forget_ward(ward);
        lock(&self.present).remove(ward);
        tracing::warn!(%ward, replica = %self.settings.ownership.replica, "no longer owns the ward");
    }

    /// Says every signer with an inbox open here is present; takes back those whose inbox closed.
    async fn renew_presence(&self) {
        let replica = &self.settings.ownership.replica;
        let until = OffsetDateTime::now_utc() + PRESENCE_TTL;
        let announced: Vec<String> = lock(&self.announced).iter().cloned().collect();
        for signer in announced {
            let Some(s) = self.with_directory(|d| d.signers.get(&signer).cloned()) else {
                continue;
            };
            let result = if self.inboxes.online(&signer) {
                self.store.put_presence(&s, replica, until).await
            } else {
                lock(&self.announced).remove(&signer);
                self.store.end_presence(&s, replica).await
            };
            if let Err(error) = result {
                tracing::warn!(%signer, %error, "could not renew a signer's presence");
            }
        }
    }

    /// Says `signer`'s inbox is open here (for the replica that owns their ward).
    pub(super) async fn announce(&self, signer: &crate::model::Signer) {
        if !self.replicated {
            return;
        }
        lock(&self.announced).insert(signer.id.clone());
        let until = OffsetDateTime::now_utc() + PRESENCE_TTL;
        if let Err(error) = self
            .store
            .put_presence(signer, &self.settings.ownership.replica, until)
            .await
        {
            tracing::warn!(signer = %signer.id, %error, "could not announce a signer's presence");
        }
    }

    /// Reads which of `ward`'s signers have an inbox open on some replica.
    pub(super) async fn refresh_presence(&self, ward: &str) {
        if !self.replicated {
            return;
        }
        match self.store.present(ward, OffsetDateTime::now_utc()).await {
            Ok(signers) => {
                lock(&self.present).insert(ward.to_string(), signers);
            }
            Err(error) => tracing::warn!(%ward, %error, "could not read signers' presence"),
        }
    }

    /// Whether `signer` (of `ward`) can take work: an inbox open here or on another replica.
    pub(super) fn signer_online(&self, ward: &str, signer: &str) -> bool {
        self.inboxes.online(signer)
            || lock(&self.present)
                .get(ward)
                .is_some_and(|present| present.contains(signer))
    }

    /// Holds the wards every third of the lease, until the engine is gone.
    pub(super) fn spawn_ownership(self: &Arc<Self>) {
        let engine = Arc::downgrade(self);
        let ttl = self.settings.ownership.ttl;
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(ttl / 3);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                beat.tick().await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(error) = engine.hold_wards().await {
                    tracing::warn!(%error, "could not renew this replica's wards");
                    let last = *lock(&engine.held_at);
                    // Most of a lease without renewal: another replica may take the wards at
                    // any moment; stop acting for them first.
                    if last.is_none_or(|at| at.elapsed() > ttl.mul_f64(0.8)) {
                        let wards: Vec<String> =
                            lock(&engine.owned).drain().map(|(w, _)| w).collect();
                        for ward in wards {
                            engine.abandon(&ward);
                        }
                    }
                }
                engine.renew_presence().await;
            }
        });
    }
}
