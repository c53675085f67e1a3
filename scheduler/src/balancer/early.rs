//! Early binding (round robin, random, join-shortest-queue, least-expected-time): a record is
//! given to one signer at submission and waits in that signer's own queue; `take` serves the
//! signer from its own queue only. These policies exist to be compared with late binding on the
//! same traffic.
//!
//! The chosen signer is an eligible deputy when there is one, else the director (director last,
//! decided early). Records nobody is eligible for wait in the ward pool and are adopted by the
//! next eligible signer that takes (a director adopts only records no deputy is eligible for).
//! A queued record the signer can no longer sign when it takes (delegation expired or revoked,
//! cap reached) is re-chosen by the policy among the others.

use time::OffsetDateTime;

use super::Balancer;
use super::eligibility::{Authority, Count, Extra};
use super::policy::{Candidate, choose};
use super::state::{Place, Record};
use super::types::{Entry, Grant, SignerView};
use crate::model::SignerRole;

impl Balancer {
    /// The signers the policy may give `entry` to now: eligible deputies, else eligible
    /// directors; never `exclude`. In id order.
    pub(super) fn candidates(
        &self,
        entry: &Entry,
        now: OffsetDateTime,
        exclude: Option<&str>,
    ) -> Vec<Candidate> {
        let Some(ward) = self.wards.get(&entry.ward) else {
            return Vec::new();
        };
        let prior = self.config.mean_service.as_secs_f64();
        let candidate = |view: &SignerView, charge: Option<String>| {
            let state = self.signers.get(&view.id);
            Candidate {
                id: view.id.clone(),
                load: state.map_or(0, |s| s.queue.len() + s.leased),
                mean_secs: state.and_then(|s| s.mean_secs).unwrap_or(prior),
                charge,
            }
        };
        let deputies: Vec<Candidate> = self
            .eligible_deputies(ward, &entry.procedure, now, Count::LeasesAndQueues)
            .into_iter()
            .filter(|(v, _)| Some(v.id.as_str()) != exclude)
            .map(|(v, d)| candidate(v, Some(d.id.clone())))
            .collect();
        if !deputies.is_empty() {
            return deputies;
        }
        self.ward_signers(ward, SignerRole::Director)
            .filter(|v| Some(v.id.as_str()) != exclude)
            .map(|v| candidate(v, None))
            .collect()
    }

    /// Gives a detached record to the signer the policy picks, or to the ward pool if nobody is
    /// eligible; returns the signer.
    pub(super) fn dispatch(
        &mut self,
        record: Record,
        now: OffsetDateTime,
        exclude: Option<&str>,
    ) -> Option<String> {
        let candidates = self.candidates(&record.entry, now, exclude);
        let policy = self.config.policy;
        let ward = self.ward_mut(&record.entry.ward);
        let chosen = choose(policy, &candidates, &mut ward.rr_last, &mut ward.rng);
        match chosen.and_then(|i| candidates.into_iter().nth(i)) {
            Some(c) => {
                self.attach(
                    record,
                    Place::Queue {
                        signer: c.id.clone(),
                        charged: c.charge,
                    },
                );
                Some(c.id)
            }
            None => {
                self.attach(record, Place::Pool);
                None
            }
        }
    }

    /// Moves the ward-pool records `signer` may adopt into its own queue.
    fn adopt(&mut self, signer: &SignerView, now: OffsetDateTime) {
        let adopted: Vec<(String, Option<String>)> = {
            let Some(ward) = self.wards.get(&signer.ward) else {
                return;
            };
            let mut extra = Extra::new();
            let mut adopted = Vec::new();
            for (_, key) in ward.pool.all_ordered() {
                let Some(record) = self.records.get(key.id()) else {
                    continue;
                };
                let procedure = &record.entry.procedure;
                match signer.role {
                    SignerRole::Director => {
                        if self
                            .eligible_deputies(ward, procedure, now, Count::LeasesAndQueues)
                            .is_empty()
                        {
                            adopted.push((key.id().to_owned(), None));
                        }
                    }
                    SignerRole::Clerk => {}
                    SignerRole::Deputy => {
                        let count = Count::LeasesAndQueues;
                        if let Some(d) =
                            self.delegation_for(ward, &signer.id, procedure, now, count, &extra)
                        {
                            *extra.entry(d.id.clone()).or_default() += 1;
                            adopted.push((key.id().to_owned(), Some(d.id.clone())));
                        }
                    }
                }
            }
            adopted
        };
        for (id, charged) in adopted {
            if let Some(record) = self.detach(&id) {
                self.attach(
                    record,
                    Place::Queue {
                        signer: signer.id.clone(),
                        charged,
                    },
                );
            }
        }
    }

    /// Early-binding `take` for an available signer with `room > 0`.
    pub(super) fn take_early(
        &mut self,
        signer: &SignerView,
        room: usize,
        now: OffsetDateTime,
    ) -> Vec<Grant> {
        if self
            .wards
            .get(&signer.ward)
            .is_some_and(|w| !w.pool.is_empty())
        {
            self.adopt(signer, now);
        }
        let (picks, bounced) = {
            let Some(state) = self.signers.get(&signer.id) else {
                return Vec::new();
            };
            let mut extra = Extra::new();
            let mut picks: Vec<(String, Option<String>)> = Vec::new();
            let mut bounced: Vec<String> = Vec::new();
            for (_, key) in state.queue.all_ordered() {
                if picks.len() >= room {
                    break;
                }
                let Some(record) = self.records.get(key.id()) else {
                    continue;
                };
                match self.authority(signer, &record.entry, now, Count::Leases, &extra) {
                    Some(authority) => {
                        if let Authority::Delegated(d) = &authority {
                            *extra.entry(d.clone()).or_default() += 1;
                        }
                        picks.push((key.id().to_owned(), authority.charge()));
                    }
                    None => bounced.push(key.id().to_owned()),
                }
            }
            (picks, bounced)
        };
        for id in bounced {
            if let Some(record) = self.detach(&id) {
                self.dispatch(record, now, Some(&signer.id));
            }
        }
        picks
            .into_iter()
            .map(|(id, charged)| {
                if let Some(record) = self.detach(&id) {
                    self.attach(
                        record,
                        Place::Leased {
                            signer: signer.id.clone(),
                            charged,
                        },
                    );
                }
                Grant {
                    id,
                    escalated: false,
                }
            })
            .collect()
    }
}
