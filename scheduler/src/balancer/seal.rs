//! The seal stage: a record a person has signed, in a ward that seals its results, waits for
//! the ward's seal in a pool of its own that only the ward's clerks take from. Whatever the
//! policy, this pool is late-bound: clerks apply a seal in seconds and share one queue, so
//! there is nothing to balance beyond taking the most urgent records first (the same aged
//! deadline key as the persons' pool).

use super::Balancer;
use super::state::{Place, WardState};
use super::types::{Grant, SignerView};
use crate::model::SignerRole;

impl Balancer {
    /// A clerk's take: up to `room` records of its ward's seal pool, best first.
    pub(super) fn take_seals(&mut self, clerk: &SignerView, room: usize) -> Vec<Grant> {
        let ids: Vec<String> = match self.wards.get(&clerk.ward) {
            Some(ward) => ward
                .seals
                .all_ordered()
                .take(room)
                .map(|(_, key)| key.id().to_owned())
                .collect(),
            None => return Vec::new(),
        };
        for id in &ids {
            if let Some(record) = self.detach(id) {
                self.attach(
                    record,
                    Place::Leased {
                        signer: clerk.id.clone(),
                        charged: None,
                    },
                );
            }
        }
        ids.into_iter()
            .map(|id| Grant {
                id,
                escalated: false,
            })
            .collect()
    }

    /// The ward's clerks that are known and not away, in id order.
    pub(super) fn clerks(&self, ward: &WardState) -> Vec<String> {
        self.ward_signers(ward, SignerRole::Clerk)
            .map(|v| v.id.clone())
            .collect()
    }
}
