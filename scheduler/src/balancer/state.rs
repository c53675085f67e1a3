//! The balancer's bookkeeping: where each record is (ward pool, a signer's early-binding queue,
//! or leased), per-ward and per-signer state, and the delegation charges that make daily caps
//! hold while records are still in flight.
//!
//! Every move of a record goes through [`Balancer::detach`] and [`Balancer::attach`], which keep
//! all the indexes and counters (pool, queues, ward depth, leased counts, charges) in step; no
//! other code touches them. That single path is what keeps `pool_depth` and the caps exact under
//! any sequence of calls.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Balancer;
use super::pool::{Pool, PoolKey, nanos};
use super::types::{Entry, SignerView};
use crate::model::{Delegation, Stage};

/// Where a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    /// In its ward's pool.
    Pool,
    /// In a signer's own queue (early binding), charged to a delegation if the signer is a deputy.
    Queue {
        signer: String,
        charged: Option<String>,
    },
    /// Leased to a signer, charged to a delegation if the signer is a deputy.
    Leased {
        signer: String,
        charged: Option<String>,
    },
}

/// A record the balancer knows.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) entry: Entry,
    pub(super) key: PoolKey,
    pub(super) place: Place,
}

/// One ward's state.
#[derive(Debug)]
pub(super) struct WardState {
    /// Records waiting for any signer (late binding), or for which nobody was eligible (early).
    pub(super) pool: Pool,
    /// Records waiting for the ward's seal: the ward's clerks share it under every policy.
    pub(super) seals: Pool,
    /// Every queued record of the ward (pool and signers' queues) by submission: depth and oldest.
    pub(super) queued: BTreeSet<(i128, String)>,
    /// The ward's signers (ids, in order: the candidate order of the early-binding choosers).
    pub(super) signers: BTreeSet<String>,
    /// The ward's registered delegations, as last set.
    pub(super) delegations: Vec<Delegation>,
    /// Round robin: the signer chosen last.
    pub(super) rr_last: Option<String>,
    /// Random: the ward's own stream, so one ward's traffic never shifts another's draws.
    pub(super) rng: StdRng,
}

impl WardState {
    /// An empty ward whose random stream derives from `seed` and the ward id.
    pub(super) fn new(ward: &str, seed: u64) -> WardState {
        WardState {
            pool: Pool::default(),
            seals: Pool::default(),
            queued: BTreeSet::new(),
            signers: BTreeSet::new(),
            delegations: Vec::new(),
            rr_last: None,
            rng: StdRng::seed_from_u64(seed ^ fnv1a(ward.as_bytes())),
        }
    }

    /// The pool of records waiting at `stage`.
    pub(super) fn pool_mut(&mut self, stage: Stage) -> &mut Pool {
        match stage {
            Stage::Person => &mut self.pool,
            Stage::Seal => &mut self.seals,
        }
    }
}

/// FNV-1a: a stable hash (std's hasher may change between releases), for per-ward seeds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One signer's state. It can outlive the directory entry (`view: None`) while records are
/// still leased to the signer, so that the leased count stays exact.
#[derive(Debug, Default)]
pub(super) struct SignerState {
    /// The directory facts, if the signer is known.
    pub(super) view: Option<SignerView>,
    /// Records leased to the signer.
    pub(super) leased: usize,
    /// The signer's own queue (early binding).
    pub(super) queue: Pool,
    /// Learned mean signing time per record, in seconds (None: the configured prior).
    pub(super) mean_secs: Option<f64>,
}

impl SignerState {
    fn is_idle(&self) -> bool {
        self.view.is_none() && self.leased == 0 && self.queue.is_empty()
    }
}

/// Records held under a delegation that have not been signed yet.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Held {
    /// Leased records charged to the delegation (tentatively used today).
    pub(super) leased: u32,
    /// Early binding: records in the deputy's queue charged to it.
    pub(super) queued: u32,
}

impl Balancer {
    /// The ward's state, created on first use.
    pub(super) fn ward_mut(&mut self, ward: &str) -> &mut WardState {
        let seed = self.config.seed;
        self.wards
            .entry(ward.to_owned())
            .or_insert_with(|| WardState::new(ward, seed))
    }

    /// The signer's state, created on first use.
    pub(super) fn signer_mut(&mut self, id: &str) -> &mut SignerState {
        self.signers.entry(id.to_owned()).or_default()
    }

    /// Drops a signer's state once nothing refers to it.
    pub(super) fn forget_if_idle(&mut self, id: &str) {
        if self.signers.get(id).is_some_and(SignerState::is_idle) {
            self.signers.remove(id);
        }
    }

    fn held_mut(&mut self, delegation: &str) -> &mut Held {
        self.held.entry(delegation.to_owned()).or_default()
    }

    /// Takes a record out of wherever it is, undoing every index and counter; None if unknown.
    pub(super) fn detach(&mut self, id: &str) -> Option<Record> {
        let record = self.records.remove(id)?;
        let entry = &record.entry;
        match &record.place {
            Place::Pool => {
                if let Some(ward) = self.wards.get_mut(&entry.ward) {
                    ward.pool_mut(entry.stage).remove(
                        &entry.procedure,
                        entry.deadline,
                        &record.key,
                    );
                    ward.queued
                        .remove(&(nanos(entry.submitted_at), entry.id.clone()));
                }
            }
            Place::Queue { signer, charged } => {
                if let Some(state) = self.signers.get_mut(signer) {
                    state
                        .queue
                        .remove(&entry.procedure, entry.deadline, &record.key);
                }
                if let Some(ward) = self.wards.get_mut(&entry.ward) {
                    ward.queued
                        .remove(&(nanos(entry.submitted_at), entry.id.clone()));
                }
                if let Some(d) = charged {
                    let held = self.held_mut(d);
                    held.queued = held.queued.saturating_sub(1);
                }
                self.forget_if_idle(signer);
            }
            Place::Leased { signer, charged } => {
                if let Some(state) = self.signers.get_mut(signer) {
                    state.leased = state.leased.saturating_sub(1);
                }
                if let Some(d) = charged {
                    let held = self.held_mut(d);
                    held.leased = held.leased.saturating_sub(1);
                }
                self.forget_if_idle(signer);
            }
        }
        Some(record)
    }

    /// Puts a detached record at `place`, updating every index and counter.
    pub(super) fn attach(&mut self, mut record: Record, place: Place) {
        let entry = &record.entry;
        match &place {
            Place::Pool => {
                let ward = self.ward_mut(&entry.ward);
                ward.pool_mut(entry.stage).insert(
                    &entry.procedure,
                    entry.deadline,
                    record.key.clone(),
                );
                ward.queued
                    .insert((nanos(entry.submitted_at), entry.id.clone()));
            }
            Place::Queue { signer, charged } => {
                let key = record.key.clone();
                self.signer_mut(signer)
                    .queue
                    .insert(&entry.procedure, entry.deadline, key);
                let ward = self.ward_mut(&entry.ward);
                ward.queued
                    .insert((nanos(entry.submitted_at), entry.id.clone()));
                if let Some(d) = charged {
                    let held = self.held_mut(d);
                    held.queued = held.queued.saturating_add(1);
                }
            }
            Place::Leased { signer, charged } => {
                self.signer_mut(signer).leased += 1;
                if let Some(d) = charged {
                    let held = self.held_mut(d);
                    held.leased = held.leased.saturating_add(1);
                }
            }
        }
        record.place = place;
        self.records.insert(record.entry.id.clone(), record);
    }

    /// The records in a signer's own queue, best first.
    pub(super) fn queued_ids(&self, signer: &str) -> Vec<String> {
        match self.signers.get(signer) {
            Some(state) => state
                .queue
                .all_ordered()
                .map(|(_, key)| key.id().to_owned())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Moves records back to their wards' pools. Used where a signer's queue must be emptied and
    /// no `now` is at hand to re-choose (the signer went away, left, changed ward or role, lost a
    /// delegation); the records are then assigned at the next `take` of an eligible signer.
    pub(super) fn unassign(&mut self, ids: Vec<String>) {
        for id in ids {
            if let Some(record) = self.detach(&id) {
                self.attach(record, Place::Pool);
            }
        }
    }
}
