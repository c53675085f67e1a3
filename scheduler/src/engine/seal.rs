//! The automatic seal. In a ward whose seal mode is automatic, the records waiting for its seal
//! are leased to one of its clerks and sealed through the signing service with that clerk's key,
//! which the service holds unlocked for the purpose (`signq signer --unattended-seal`): no PIN,
//! no person. The leases, the fences, the audit entries and the events are the same as a
//! clerk's own approval; the actor is the scheduler.
//!
//! One task per ward at a time. A failure (the signing service down, no unattended key) leaves
//! the batch leased: its lease's expiry returns it to the seal pool, and the next dispatch of the
//! ward (every submission, signature and tick) tries again, so a service that is down is retried
//! at the lease's pace rather than hammered.

use std::sync::Arc;

use super::signing::MAX_APPROVE;
use super::{Engine, lock};
use crate::model::{SealMode, SignerRole};

impl Engine {
    /// The clerk whose key seals `ward`'s records (the first present one by id), if any.
    fn automatic_clerk(&self, ward: &str) -> Option<String> {
        self.with_directory(|d| {
            d.signers
                .values()
                .filter(|s| s.ward == ward && s.role == SignerRole::Clerk && !s.away)
                .map(|s| s.id.clone())
                .min()
        })
    }

    /// Whether `ward`'s clerks are left out of dispatch: its seal is applied automatically.
    pub(super) fn seals_automatically(&self, ward: &str) -> bool {
        self.with_directory(|d| d.wards.get(ward).map(|w| w.seal)) == Some(SealMode::Automatic)
    }

    /// Starts sealing `ward`'s waiting records automatically, unless its seal is not automatic,
    /// nothing waits, or a task already does it.
    pub(super) fn seal_automatically(self: &Arc<Self>, ward: &str) {
        if !self.seals_automatically(ward) || lock(&self.balancer).seal_depth(ward) == 0 {
            return;
        }
        let Some(clerk) = self.automatic_clerk(ward) else {
            tracing::warn!(%ward, "records wait for the automatic seal, but the ward has no clerk enrolled and present");
            return;
        };
        if !lock(&self.auto_sealing).insert(ward.to_string()) {
            return;
        }
        let engine = Arc::clone(self);
        let ward = ward.to_string();
        tokio::spawn(async move {
            let sealed = engine.seal_waiting(&ward, &clerk).await;
            lock(&engine.auto_sealing).remove(&ward);
            // Records that arrived while the task was finishing are not left waiting.
            if sealed {
                engine.seal_automatically(&ward);
            }
        });
    }

    /// Leases and seals batches until none is left; false if a batch failed.
    #[tracing::instrument(name = "seal", skip(self))]
    async fn seal_waiting(self: &Arc<Self>, ward: &str, clerk: &str) -> bool {
        loop {
            let leased = self.dispatch_signer(clerk, MAX_APPROVE).await;
            if leased.is_empty() {
                return true;
            }
            let ids: Vec<String> = leased.into_iter().map(|r| r.meta.id).collect();
            let count = ids.len();
            match self.approve_as(clerk, ids, String::new(), true).await {
                Ok(_) => tracing::info!(%ward, %clerk, count, "sealed automatically"),
                Err(error) => {
                    tracing::warn!(%ward, %clerk, count, %error, "automatic seal failed; the records return to the seal pool when their leases end");
                    return false;
                }
            }
        }
    }
}
