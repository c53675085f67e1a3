//! Late binding, the default policy: records wait in their ward's pool, and a signer that is
//! ready takes the best records it may sign, up to its lease room.
//!
//! **Director last.** Deputies take whatever they are eligible for. The director takes, in one
//! key order:
//! - records of procedures no deputy may sign right now (no delegation covers them, or every
//!   covering delegation is at its cap): director-only, `escalated = false`;
//! - records deputies may sign, only when their slack (deadline − now, in working time on the
//!   ward's calendar: see [`super::Slack`]) is below the director guard and no eligible deputy
//!   is online, present and below its lease size: `escalated = true`. A deputy who is away still keeps their records from the director
//!   until the guard: delegation exists to take the load off the director, and the deadline
//!   still holds.
//!
//! Both conditions depend on the procedure, not on the record, so the plan is made once per
//! procedure bucket; the guard's records come from the bucket's deadline index, so a take costs
//! O(procedures + grants · log n), not a scan of the pool.

use time::OffsetDateTime;

use super::Balancer;
use super::eligibility::{Count, Extra};
use super::pool::{Merge, PoolKey};
use super::state::{Place, WardState};
use super::types::{Grant, SignerView};
use crate::model::SignerRole;

/// What the director may take from a ward's pool now, by procedure.
#[derive(Debug, Default)]
struct DirectorPlan<'w> {
    /// Procedures no deputy is eligible for: every record.
    only: Vec<&'w str>,
    /// Deputy-signable procedures no deputy can take now: records with slack below the guard.
    guarded: Vec<&'w str>,
}

impl Balancer {
    /// Deadlines before this (unix nanoseconds) leave less slack than the director guard in
    /// `ward`.
    fn guard_limit(&self, ward: &str, now: OffsetDateTime) -> i128 {
        super::pool::nanos(self.slack.limit(ward, now, self.config.director_guard))
    }

    fn director_plan<'w>(&self, ward: &'w WardState, now: OffsetDateTime) -> DirectorPlan<'w> {
        let mut plan = DirectorPlan::default();
        for procedure in ward.pool.procedures() {
            let deputies = self.eligible_deputies(ward, procedure, now, Count::Leases);
            if deputies.is_empty() && !self.deputy_in_scope(ward, procedure, now) {
                plan.only.push(procedure);
            } else if !deputies
                .iter()
                .any(|(v, _)| v.online && self.leased_count(&v.id) < self.config.lease_size)
            {
                plan.guarded.push(procedure);
            }
        }
        plan
    }

    /// The records of `procedures` whose slack is below the guard, best first.
    fn below_guard<'w>(
        &self,
        ward_id: &str,
        ward: &'w WardState,
        procedures: &[&str],
        now: OffsetDateTime,
    ) -> Vec<&'w PoolKey> {
        let limit = self.guard_limit(ward_id, now);
        let mut keys: Vec<&PoolKey> = procedures
            .iter()
            .flat_map(|p| ward.pool.due_before(p, limit))
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Late-binding `take` for an available signer with `room > 0`.
    pub(super) fn take_late(
        &mut self,
        signer: &SignerView,
        room: usize,
        now: OffsetDateTime,
    ) -> Vec<Grant> {
        let picks: Vec<(String, bool, Option<String>)> = {
            let Some(ward) = self.wards.get(&signer.ward) else {
                return Vec::new();
            };
            match signer.role {
                SignerRole::Director => {
                    let plan = self.director_plan(ward, now);
                    let mut merge = Merge::default();
                    for procedure in &plan.only {
                        merge.push(false, ward.pool.ordered(procedure));
                    }
                    let guarded = self.below_guard(&signer.ward, ward, &plan.guarded, now);
                    merge.push(true, guarded.into_iter());
                    merge
                        .take(room)
                        .map(|(escalated, key)| (key.id().to_owned(), escalated, None))
                        .collect()
                }
                // Clerks take from the seal pool (`seal.rs`), never from this one.
                SignerRole::Clerk => Vec::new(),
                SignerRole::Deputy => {
                    let mut merge = Merge::default();
                    for procedure in ward.pool.procedures() {
                        if ward
                            .delegations
                            .iter()
                            .any(|d| d.deputy_id == signer.id && d.covers(procedure, now))
                        {
                            merge.push(procedure, ward.pool.ordered(procedure));
                        }
                    }
                    let mut extra = Extra::new();
                    let mut picks = Vec::new();
                    while picks.len() < room {
                        let Some((procedure, key)) = merge.next() else {
                            break;
                        };
                        match self.delegation_for(
                            ward,
                            &signer.id,
                            procedure,
                            now,
                            Count::Leases,
                            &extra,
                        ) {
                            Some(d) => {
                                *extra.entry(d.id.clone()).or_default() += 1;
                                picks.push((key.id().to_owned(), false, Some(d.id.clone())));
                            }
                            // Every covering delegation is at its cap: nothing more of this procedure.
                            None => merge.retire(&procedure),
                        }
                    }
                    picks
                }
            }
        };
        picks
            .into_iter()
            .map(|(id, escalated, charged)| {
                if let Some(record) = self.detach(&id) {
                    self.attach(
                        record,
                        Place::Leased {
                            signer: signer.id.clone(),
                            charged,
                        },
                    );
                }
                Grant { id, escalated }
            })
            .collect()
    }

    /// Late-binding `at_risk`: what `take(director)` would now hand over with `escalated = true`.
    pub(super) fn at_risk_late(&self, ward_id: &str, now: OffsetDateTime) -> Vec<String> {
        let Some(ward) = self.wards.get(ward_id) else {
            return Vec::new();
        };
        let plan = self.director_plan(ward, now);
        self.below_guard(ward_id, ward, &plan.guarded, now)
            .into_iter()
            .map(|k| k.id().to_owned())
            .collect()
    }

    /// Late-binding `eligible_signers` of a pooled record: the eligible deputies, and the
    /// directors when `take(director)` would hand the record over now.
    pub(super) fn eligible_late(
        &self,
        ward: &WardState,
        entry: &super::Entry,
        now: OffsetDateTime,
    ) -> Vec<String> {
        let deputies = self.eligible_deputies(ward, &entry.procedure, now, Count::Leases);
        let director_may = deputies.is_empty()
            || (super::pool::nanos(entry.deadline) < self.guard_limit(&entry.ward, now)
                && !deputies
                    .iter()
                    .any(|(v, _)| v.online && self.leased_count(&v.id) < self.config.lease_size));
        let mut ids: Vec<String> = deputies.iter().map(|(v, _)| v.id.clone()).collect();
        if director_may {
            ids.extend(
                self.ward_signers(ward, SignerRole::Director)
                    .map(|v| v.id.clone()),
            );
        }
        ids
    }
}
