//! The balancer: which signer gets which record, and when (DESIGN.md "Balancing").
//!
//! Pure logic: no I/O, no tasks, no clock (`now` is always passed in), and deterministic for the
//! same calls and seed. The scheduler's engine drives it under a mutex; the discrete-event
//! simulator drives the very same code under virtual time. Every operation touches one ward and
//! costs O(log n) plus a scan over the ward's few signers, delegations and procedures.
//!
//! # Policies
//! - **Late binding** (default, `late.rs`): each ward has one pool ordered by an aged
//!   deadline key (`pool.rs`); a signer that is ready takes the best records it may sign, up
//!   to its lease room. The director comes last: it takes records no deputy may sign, and
//!   deputy-signable ones only when their slack falls below the guard while no deputy can take
//!   them (those grants are marked `escalated`).
//! - **Early binding** (round robin, random, JSQ, LET; `early.rs`, `policy.rs`): a record goes
//!   to one eligible signer's own queue at submission; `take` serves that queue only. For
//!   comparison in load tests.
//! - **The seal stage** (`seal.rs`), under every policy: records a person has signed that wait
//!   for the ward's seal share one pool per ward that only its clerks take from, in key order;
//!   clerks take nothing else.
//!
//! # Files
//! - `config.rs`: [`Policy`], [`BalancerConfig`];
//! - `types.rs`: [`SignerView`], [`Entry`], [`Grant`];
//! - `pool.rs`: the ordering key with aging and the per-procedure ordered pools;
//! - `state.rs`: where each record is, and the only code that moves it (indexes and counters);
//! - `eligibility.rs`: who may sign what now (scope, window, cap, availability);
//! - `late.rs`: late-binding take, director last, at-risk records;
//! - `seal.rs`: the clerks' take of the seal stage;
//! - `early.rs`, `policy.rs`: early-binding dispatch and the four choosers;
//! - `tests/`: unit and property tests.
//!
//! # Daily caps
//! A delegation's count is the signatures used today ([`Balancer::set_used_today`],
//! [`Balancer::note_signed`], zeroed by [`Balancer::reset_day`]) plus the records leased under
//! it and not yet signed, so a cap is never exceeded by records still in flight.

mod config;
mod early;
mod eligibility;
mod late;
mod policy;
mod pool;
mod seal;
mod state;
mod types;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;

pub use config::{BalancerConfig, ParsePolicyError, Policy, Slack};
pub use types::{Entry, Grant, SignerView};

use crate::model::{Delegation, SignerRole, Stage};
use eligibility::{Count, Extra};
use pool::PoolKey;
use state::{Held, Place, Record, SignerState, WardState};

/// The balancer of one scheduler: every ward's pool, the signers' leases and queues, and the
/// delegation facts it needs. See the [module docs](self).
pub struct Balancer {
    config: BalancerConfig,
    /// How slack is measured against the director guard.
    slack: Slack,
    /// Every record the balancer knows (queued or leased), by id.
    records: HashMap<String, Record>,
    /// Per-ward state, by ward id.
    wards: HashMap<String, WardState>,
    /// Per-signer state, by signer id.
    signers: HashMap<String, SignerState>,
    /// Signatures used today, per delegation id.
    used: HashMap<String, u32>,
    /// Records held (leased or queued) under each delegation id.
    held: HashMap<String, Held>,
}

impl fmt::Debug for Balancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer")
            .field("config", &self.config)
            .field("records", &self.records.len())
            .field("wards", &self.wards.len())
            .field("signers", &self.signers.len())
            .finish_non_exhaustive()
    }
}

impl Balancer {
    /// A balancer with no signers, delegations or records, measuring slack by `slack`.
    pub fn new(config: BalancerConfig, slack: Slack) -> Self {
        Balancer {
            config,
            slack,
            records: HashMap::new(),
            wards: HashMap::new(),
            signers: HashMap::new(),
            used: HashMap::new(),
            held: HashMap::new(),
        }
    }

    /// `ward`'s own calendar for slack, or the default again when `None`.
    pub fn set_ward_calendar(&mut self, ward: &str, calendar: Option<signq_calendar::Calendar>) {
        self.slack.set_ward(ward, calendar);
    }

    /// The configuration.
    pub fn config(&self) -> &BalancerConfig {
        &self.config
    }

    fn early(&self) -> bool {
        self.config.policy.is_early_binding()
    }

    // ----- Directory facts -----

    /// Adds or updates a signer. Under early binding, a signer that goes away or changes ward or
    /// role hands its own queue back to the ward pool (re-assigned at the next eligible `take`);
    /// its leases stay until the engine releases them.
    pub fn upsert_signer(&mut self, signer: SignerView) {
        let id = signer.id.clone();
        let old = self.signers.get(&id).and_then(|s| s.view.clone());
        if let Some(old) = &old
            && old.ward != signer.ward
            && let Some(ward) = self.wards.get_mut(&old.ward)
        {
            ward.signers.remove(&id);
        }
        let moved = old
            .as_ref()
            .is_some_and(|o| o.ward != signer.ward || o.role != signer.role);
        let away = signer.away;
        self.ward_mut(&signer.ward).signers.insert(id.clone());
        self.signer_mut(&id).view = Some(signer);
        if moved || away {
            let ids = self.queued_ids(&id);
            self.unassign(ids);
        }
    }

    /// Forgets a signer. Its own queue goes back to the ward pool; records still leased to it
    /// stay counted until released or removed.
    pub fn remove_signer(&mut self, id: &str) {
        if let Some(view) = self.signers.get_mut(id).and_then(|s| s.view.take())
            && let Some(ward) = self.wards.get_mut(&view.ward)
        {
            ward.signers.remove(id);
        }
        let ids = self.queued_ids(id);
        self.unassign(ids);
        self.forget_if_idle(id);
    }

    /// Replaces all of a ward's registered delegations (revoked ones included: they carry
    /// `revoked_at` and cover nothing). Under early binding, queued records a deputy no longer
    /// holds any delegation for go back to the ward pool.
    pub fn set_delegations(&mut self, ward: &str, delegations: Vec<Delegation>) {
        self.ward_mut(ward).delegations = delegations;
        if !self.early() {
            return;
        }
        let Some(state) = self.wards.get(ward) else {
            return;
        };
        let mut lost = Vec::new();
        for signer in &state.signers {
            let is_deputy = self
                .signers
                .get(signer)
                .and_then(|s| s.view.as_ref())
                .is_some_and(|v| v.role == SignerRole::Deputy);
            if !is_deputy {
                continue;
            }
            for id in self.queued_ids(signer) {
                let Some(record) = self.records.get(&id) else {
                    continue;
                };
                let held = state.delegations.iter().any(|d| {
                    d.deputy_id == *signer
                        && d.revoked_at.is_none()
                        && d.procedure_codes.contains(&record.entry.procedure)
                });
                if !held {
                    lost.push(id);
                }
            }
        }
        self.unassign(lost);
    }

    /// Sets the signatures used today under a delegation (e.g. counted by the store at start-up).
    /// Records leased under it are counted on top.
    pub fn set_used_today(&mut self, delegation_id: &str, used: u32) {
        self.used.insert(delegation_id.to_owned(), used);
    }

    /// A record left the system signed: it is forgotten, the delegation's daily use grows by one,
    /// and the signer's mean service time (EWMA, for LET) learns `service`. Calling
    /// [`remove`](Self::remove) as well is harmless.
    pub fn note_signed(
        &mut self,
        id: &str,
        signer_id: &str,
        delegation_id: Option<&str>,
        service: Duration,
    ) {
        self.detach(id);
        if let Some(d) = delegation_id {
            let used = self.used.entry(d.to_owned()).or_default();
            *used = used.saturating_add(1);
        }
        let prior = self.config.mean_service.as_secs_f64();
        let state = self.signer_mut(signer_id);
        state.mean_secs = Some(policy::ewma(
            state.mean_secs.unwrap_or(prior),
            service.as_secs_f64(),
        ));
    }

    /// The signatures used today under a delegation (leases not counted).
    pub fn used_today(&self, delegation_id: &str) -> u32 {
        self.used.get(delegation_id).copied().unwrap_or(0)
    }

    /// Zeroes every delegation's signatures used today (the engine calls it at midnight).
    /// Records still leased stay counted until signed or released.
    pub fn reset_day(&mut self) {
        self.used.clear();
    }

    // ----- Records -----

    /// A new or returned record. Late binding: into the ward pool (returns None). Early binding:
    /// assigned at once to an eligible signer's own queue, whose id is returned (None if nobody
    /// is eligible now: it waits in the pool until someone is). A known id is replaced.
    pub fn enqueue(&mut self, entry: Entry, now: OffsetDateTime) -> Option<String> {
        self.detach(&entry.id);
        let key = PoolKey::new(&entry, &self.config);
        let record = Record {
            entry,
            key,
            place: Place::Pool,
        };
        if self.early() && record.entry.stage == Stage::Person {
            self.dispatch(record, now, None)
        } else {
            self.attach(record, Place::Pool);
            None
        }
    }

    /// A record is leased to `signer` (from `take`, or restored at start-up after
    /// [`enqueue`](Self::enqueue)). Unknown ids are ignored. A deputy's lease is charged to a
    /// delegation listing the procedure, for the daily cap.
    pub fn mark_leased(&mut self, id: &str, signer: &str) {
        let Some(record) = self.records.get(id) else {
            return;
        };
        let charged = match &record.place {
            Place::Leased { signer: holder, .. } if holder == signer => return,
            Place::Queue {
                signer: holder,
                charged,
            } if holder == signer => charged.clone(),
            _ => self.restored_charge(signer, &record.entry),
        };
        if let Some(record) = self.detach(id) {
            self.attach(
                record,
                Place::Leased {
                    signer: signer.to_owned(),
                    charged,
                },
            );
        }
    }

    /// A lease ended without a signature (expired, away, reassigned): the record goes back. Late
    /// binding: to the pool (returns None). Early binding: re-chosen by the policy, never the same
    /// signer if it is away or offline; returns the new signer. A record not leased is left alone.
    pub fn release(&mut self, id: &str, now: OffsetDateTime) -> Option<String> {
        let Place::Leased { signer, .. } = &self.records.get(id)?.place else {
            return None;
        };
        let signer = signer.clone();
        let record = self.detach(id)?;
        if !self.early() || record.entry.stage == Stage::Seal {
            self.attach(record, Place::Pool);
            return None;
        }
        let gone = self
            .signers
            .get(&signer)
            .and_then(|s| s.view.as_ref())
            .is_none_or(|v| v.away || !v.online);
        self.dispatch(record, now, gone.then_some(signer.as_str()))
    }

    /// A record's deadline moved (a new appointment): its order follows, now if it waits, at its
    /// release if it is leased. Unknown ids are ignored.
    pub fn set_deadline(&mut self, id: &str, deadline: OffsetDateTime, now: OffsetDateTime) {
        let Some(record) = self.records.get_mut(id) else {
            return;
        };
        if matches!(record.place, Place::Leased { .. }) {
            record.entry.deadline = deadline;
            record.key = PoolKey::new(&record.entry, &self.config);
            return;
        }
        let mut entry = record.entry.clone();
        entry.deadline = deadline;
        self.enqueue(entry, now);
    }

    /// A record left for good (signed, rejected, cancelled). Unknown ids are ignored.
    pub fn remove(&mut self, id: &str) {
        self.detach(id);
    }

    /// The stage record `id` waits for, if the balancer holds it (queued or leased).
    pub fn stage_of(&self, id: &str) -> Option<Stage> {
        self.records.get(id).map(|r| r.entry.stage)
    }

    /// Forgets every record of `ward`: another scheduler replica runs the ward now.
    pub fn forget_ward(&mut self, ward: &str) {
        let ids: Vec<String> = self
            .records
            .iter()
            .filter(|(_, r)| r.entry.ward == ward)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.detach(&id);
        }
    }

    /// The signer is ready for up to `capacity` more records: which to lease to it now, best
    /// first, at most `lease_size − leased_count(signer)`. The grants are marked leased. Never a
    /// record the signer may not sign; nothing for an unknown or away signer.
    pub fn take(&mut self, signer_id: &str, capacity: usize, now: OffsetDateTime) -> Vec<Grant> {
        let Some(signer) = self.available(signer_id).cloned() else {
            return Vec::new();
        };
        let room = capacity.min(
            self.config
                .lease_size
                .saturating_sub(self.leased_count(signer_id)),
        );
        if room == 0 {
            return Vec::new();
        }
        if signer.role == SignerRole::Clerk {
            self.take_seals(&signer, room)
        } else if self.early() {
            self.take_early(&signer, room, now)
        } else {
            self.take_late(&signer, room, now)
        }
    }

    /// Records at risk in a ward, best first: queued records whose slack is below the guard with
    /// no online, non-away eligible deputy having spare lease capacity, i.e. those
    /// `take(director)` would now hand over with `escalated = true`. Always empty under early
    /// binding (the director is chosen at submission there, never escalated to).
    pub fn at_risk(&self, ward: &str, now: OffsetDateTime) -> Vec<String> {
        if self.early() {
            Vec::new()
        } else {
            self.at_risk_late(ward, now)
        }
    }

    /// The signers a record could go to now, in id order (for "who should be woken up"); online
    /// or not. Late binding: its eligible deputies, plus the director if `take(director)` would
    /// hand it over now. Early binding: the signer whose queue holds it if that signer may still
    /// sign it, else whom the policy may choose. Empty for leased and unknown records.
    pub fn eligible_signers(&self, id: &str, now: OffsetDateTime) -> Vec<String> {
        let Some(record) = self.records.get(id) else {
            return Vec::new();
        };
        let Some(ward) = self.wards.get(&record.entry.ward) else {
            return Vec::new();
        };
        match &record.place {
            Place::Leased { .. } => Vec::new(),
            Place::Pool if record.entry.stage == Stage::Seal => self.clerks(ward),
            Place::Queue { signer, .. } => {
                let still = self
                    .available(signer)
                    .and_then(|v| {
                        self.authority(v, &record.entry, now, Count::Leases, &Extra::new())
                    })
                    .is_some();
                if still {
                    vec![signer.clone()]
                } else {
                    self.candidates(&record.entry, now, Some(signer))
                        .into_iter()
                        .map(|c| c.id)
                        .collect()
                }
            }
            Place::Pool if self.early() => self
                .candidates(&record.entry, now, None)
                .into_iter()
                .map(|c| c.id)
                .collect(),
            Place::Pool => self.eligible_late(ward, &record.entry, now),
        }
    }

    // ----- Observations -----

    /// Queued records of the ward: its pool plus its signers' early-binding queues.
    pub fn pool_depth(&self, ward: &str) -> usize {
        self.wards.get(ward).map_or(0, |w| w.queued.len())
    }

    /// Records of the ward waiting for its seal (not leased).
    pub fn seal_depth(&self, ward: &str) -> usize {
        self.wards.get(ward).map_or(0, |w| w.seals.len())
    }

    /// `submitted_at` of the ward's oldest queued record.
    pub fn oldest_queued(&self, ward: &str) -> Option<OffsetDateTime> {
        let (_, id) = self.wards.get(ward)?.queued.first()?;
        self.records.get(id).map(|r| r.entry.submitted_at)
    }

    /// Records leased to the signer.
    pub fn leased_count(&self, signer: &str) -> usize {
        self.signers.get(signer).map_or(0, |s| s.leased)
    }

    /// Records in the signer's own early-binding queue.
    pub fn queued_for(&self, signer: &str) -> usize {
        self.signers.get(signer).map_or(0, |s| s.queue.len())
    }

    /// Records of the signer's ward, not leased, that could go to the signer now (see
    /// [`eligible_signers`](Self::eligible_signers)): what more would reach their inbox as it
    /// frees up. Under late binding a director counts only what deputies may not sign or the
    /// deadline guard would hand over, so "more wait for you" never promises a deputy's work.
    pub fn waiting_for(&self, signer: &str, now: OffsetDateTime) -> usize {
        let Some(ward) = self.signers.get(signer).and_then(|s| s.view.as_ref()) else {
            return 0;
        };
        self.records
            .iter()
            .filter(|(_, r)| r.entry.ward == ward.ward)
            .filter(|(id, _)| self.eligible_signers(id, now).iter().any(|s| s == signer))
            .count()
    }

    /// A balancer with this one's configuration and calendars and nothing else: to be filled
    /// from the store, for a ward another replica runs.
    pub fn empty_like(&self) -> Balancer {
        Balancer::new(self.config.clone(), self.slack.clone())
    }
}
