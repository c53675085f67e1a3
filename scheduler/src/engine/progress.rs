//! How a signer's work stands, for their inbox: how many more records would reach them after
//! those they hold, how many they may hold at once, and what they signed today.
//!
//! The count follows the balancer's own eligibility rules, so it promises exactly what "get
//! more" can deliver (a director is not told of the records deputies will sign). The replica that
//! runs the ward asks its balancer; another replica, where the signer's tablet may be connected,
//! builds the same answer from the store: the ward's open records, today's signatures per
//! delegation, and who has an inbox open.

use time::OffsetDateTime;

use super::intake::entry;
use super::{Engine, lock};
use crate::balancer::SignerView;
use crate::error::SchedError;
use crate::model::{Record, Signer};

/// Records of "signed today" given at most (a day's work is about a hundred).
const SIGNED_TODAY_LIMIT: usize = 500;

/// A signer's work as their inbox shows it.
#[derive(Debug)]
pub struct Progress {
    /// Records not leased to anyone that could come to the signer now.
    pub waiting: usize,
    /// How many records a signer holds at once.
    pub lease_size: usize,
    /// What they signed (a clerk: sealed) today in ward time, newest first.
    pub signed_today: Vec<Record>,
}

impl Engine {
    /// How `signer_id`'s work stands now.
    #[tracing::instrument(name = "progress", skip(self))]
    pub async fn progress(&self, signer_id: &str) -> Result<Progress, SchedError> {
        let signer = self
            .with_directory(|d| d.signers.get(signer_id).cloned())
            .ok_or_else(|| SchedError::NotFound(format!("signer {signer_id}")))?;
        let now = OffsetDateTime::now_utc();
        let waiting = self.waiting_for(&signer, now).await?;
        let signed_today = self
            .store
            .signed_by_since(
                &signer.ward,
                &signer.id,
                self.today_start(now),
                SIGNED_TODAY_LIMIT,
            )
            .await?;
        Ok(Progress {
            waiting,
            lease_size: lock(&self.balancer).config().lease_size,
            signed_today,
        })
    }

    /// Records that could come to `signer` now, by the balancer of the replica running the ward,
    /// or by one built from the store like it.
    async fn waiting_for(&self, signer: &Signer, now: OffsetDateTime) -> Result<usize, SchedError> {
        if self.owns(&signer.ward) {
            return Ok(lock(&self.balancer).waiting_for(&signer.id, now));
        }
        let ward = &signer.ward;
        let open = self.store.open_records().await?;
        let used = self
            .store
            .signed_per_delegation_since(self.today_start(now))
            .await?;
        let present = self.store.present(ward, now).await?;
        let mut balancer = lock(&self.balancer).empty_like();
        self.with_directory(|d| {
            for s in d.signers.values().filter(|s| &s.ward == ward) {
                balancer.upsert_signer(SignerView {
                    online: present.contains(&s.id) || self.inboxes.online(&s.id),
                    ..self.view(s)
                });
            }
            balancer.set_delegations(ward, d.ward_delegations(ward));
        });
        for (delegation, n) in used {
            balancer.set_used_today(&delegation, n);
        }
        for record in open.iter().filter(|r| &r.meta.ward == ward) {
            balancer.enqueue(entry(record), now);
            if let Some(lease) = &record.lease {
                balancer.mark_leased(&record.meta.id, &lease.signer_id);
            }
        }
        Ok(balancer.waiting_for(&signer.id, now))
    }
}
