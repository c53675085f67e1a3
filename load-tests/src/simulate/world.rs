//! The simulated world, built once from a scenario: wards, signers (people at tablets) and the
//! arrival trace, all in flat vectors addressed by index, plus the directory facts (signer views,
//! delegations) the balancer is told about.
//!
//! Strings exist once per ward and signer (the ids the balancer knows them by); the event loop
//! passes indices around and borrows these ids, so a national run allocates no strings per event
//! beyond what the balancer's own API needs.

use std::collections::VecDeque;

use rand::Rng;
use rand::rngs::StdRng;
use rand_distr::Exp1;
use signq_scheduler::balancer::{Balancer, SignerView};
use signq_scheduler::model::{Delegation, SignerRole};

use super::error::{SimError, invalid};
use super::trace::{self, Fact, Mix, Schedule, Service};
use crate::dates::{Deadlines, Timeline};
use crate::scenario::{Scenario, SignerTemplate, WardTemplate};

/// Where a record is, as the simulator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Not arrived yet.
    Future,
    /// With the balancer, waiting (ward pool or, early binding, a signer's queue).
    Queued,
    /// Leased to this signer, not yet being signed (its lease can expire or be released).
    Leased { signer: u32 },
    /// In a signer's batch in progress.
    Signing,
    /// Signed.
    Signed,
}

/// One record: the trace's facts and where it is now.
#[derive(Debug, Clone)]
pub(super) struct Record {
    /// Fixed at arrival.
    pub(super) fact: Fact,
    /// The ward, an index into [`World::wards`].
    pub(super) ward: u32,
    /// Where it is.
    pub(super) state: State,
    /// Lease generation: bumped by every lease, so a stale expiry event is recognised.
    pub(super) lease: u32,
    /// When the current lease was granted, virtual seconds.
    pub(super) lease_at: f64,
}

/// One ward.
#[derive(Debug)]
pub(super) struct Ward {
    /// The ward id (`<template id>-<n>` for templates with a count).
    pub(super) id: String,
    /// Its signers, in the order the engine offers work: deputies by id, then the director.
    pub(super) signers: Vec<u32>,
    /// The next record to arrive (an index into [`World::records`]).
    pub(super) next: u32,
    /// One past the ward's last record.
    pub(super) end: u32,
    /// Which procedures of the mix some deputy of the ward may sign.
    pub(super) deputy_scope: Vec<bool>,
}

/// A signer's dropping connection: drops at exponential intervals, each down for a fixed time.
#[derive(Debug)]
pub(super) struct Drops {
    rng: StdRng,
    /// Mean time connected between drops, seconds.
    every: f64,
    /// Time down per drop, seconds.
    pub(super) down: f64,
}

impl Drops {
    /// The time connected until the next drop.
    pub(super) fn next_gap(&mut self) -> f64 {
        let e: f64 = self.rng.sample(Exp1);
        self.every * e
    }
}

/// One person at a tablet.
#[derive(Debug)]
pub(super) struct Signer {
    /// `<ward>/<signer id>`, as the balancer knows them.
    pub(super) id: String,
    /// The ward, an index into [`World::wards`].
    pub(super) ward: u32,
    /// Director or deputy.
    pub(super) role: SignerRole,
    /// Seconds per record.
    pub(super) service: Service,
    /// Records signed at once, at most.
    pub(super) batch: usize,
    /// Which procedures of the mix the signer may sign (a deputy's delegated scope).
    pub(super) scope: Vec<bool>,
    /// A deputy's delegation id (for `note_signed` and the daily cap).
    pub(super) delegation: Option<String>,
    /// Away periods from the scenario, seconds from the start.
    pub(super) away_periods: Vec<(f64, f64)>,
    /// Connection drops, if the scenario has them.
    pub(super) drops: Option<Drops>,
    /// Connected.
    pub(super) online: bool,
    /// Away periods currently open (they may overlap): away while above zero.
    pub(super) away: u32,
    /// A batch is in progress.
    pub(super) busy: bool,
    /// The batch finished while the connection was down: it completes on reconnecting.
    pub(super) done_pending: bool,
    /// Leased records not yet in a batch, in lease order.
    pub(super) held: VecDeque<u32>,
    /// The batch in progress.
    pub(super) in_batch: Vec<u32>,
}

impl Signer {
    /// Whether the signer would ask for work now.
    pub(super) fn ready(&self) -> bool {
        self.online && self.away == 0 && !self.busy
    }

    /// The signer as the balancer sees it, with the ward's id.
    pub(super) fn view(&self, ward: &str) -> SignerView {
        SignerView {
            id: self.id.clone(),
            ward: ward.to_owned(),
            role: self.role,
            away: self.away > 0,
            online: self.online,
        }
    }
}

/// Everything simulated, by index.
#[derive(Debug)]
pub(super) struct World {
    /// The procedure mix.
    pub(super) mix: Mix,
    /// The wards, in `Scenario::expanded_wards` order.
    pub(super) wards: Vec<Ward>,
    /// The signers, ward by ward.
    pub(super) signers: Vec<Signer>,
    /// The records, ward by ward, each ward's in arrival order.
    pub(super) records: Vec<Record>,
    /// Each ward's delegations, to register with the balancer.
    delegations: Vec<Vec<Delegation>>,
}

impl World {
    /// Builds the world of `scenario` with the streams of `seed`.
    pub(super) fn build(
        scenario: &Scenario,
        seed: u64,
        timeline: &Timeline,
        deadlines: Deadlines,
        schedule: Schedule,
    ) -> Result<World, SimError> {
        let mix = Mix::new(scenario, deadlines)?;
        for (i, template) in scenario.wards.iter().enumerate() {
            check_template(i, template)?;
        }
        let mut world = World {
            mix,
            wards: Vec::new(),
            signers: Vec::new(),
            records: Vec::new(),
            delegations: Vec::new(),
        };
        let valid_until = timeline
            .instant(scenario.duration_secs)
            .saturating_add(time::Duration::days(366));
        let valid_from = timeline
            .instant(0.0)
            .saturating_sub(time::Duration::days(1));
        for (w, (ward_id, template)) in scenario.expanded_wards().into_iter().enumerate() {
            let index = u32::try_from(w).map_err(|_| invalid("wards", "too many wards"))?;
            let mut rng = trace::stream(seed, w as u64, 0);
            let facts = trace::ward_trace(
                &scenario.arrivals,
                scenario.duration_secs,
                template.load,
                &world.mix,
                &mut rng,
                schedule,
            );
            let first = world.records.len();
            world.records.extend(facts.into_iter().map(|fact| Record {
                fact,
                ward: index,
                state: State::Future,
                lease: 0,
                lease_at: 0.0,
            }));
            let too_many = || invalid("arrivals", "more than 4 billion records");
            let next = u32::try_from(first).map_err(|_| too_many())?;
            let end = u32::try_from(world.records.len()).map_err(|_| too_many())?;

            let director_id = template
                .signers
                .iter()
                .find(|s| s.role == "director")
                .map(|s| format!("{ward_id}/{}", s.id))
                .unwrap_or_default();
            let mut delegations = Vec::new();
            let mut deputies = Vec::new();
            let mut director = None;
            for (j, s) in template.signers.iter().enumerate() {
                let id = format!("{ward_id}/{}", s.id);
                let role = if s.role == "director" {
                    SignerRole::Director
                } else {
                    SignerRole::Deputy
                };
                let field = format!(
                    "wards[{}].signers[{j}].service",
                    ward_template(scenario, template)
                );
                let codes = scope_codes(s, &world.mix.codes);
                let delegation = (role == SignerRole::Deputy).then(|| format!("{id}/delegation"));
                if let Some(d) = &delegation {
                    delegations.push(Delegation {
                        id: d.clone(),
                        ward: ward_id.clone(),
                        director_id: director_id.clone(),
                        deputy_id: id.clone(),
                        procedure_codes: codes.clone(),
                        not_before: valid_from,
                        not_after: valid_until,
                        daily_cap: s.daily_cap,
                        signed: Vec::new(),
                        revoked_at: None,
                        revoke_reason: None,
                        notation: Default::default(),
                    });
                }
                let scope = world
                    .mix
                    .codes
                    .iter()
                    .map(|c| role == SignerRole::Director || codes.contains(c))
                    .collect();
                let drops = (s.disconnect_every_secs > 0.0).then(|| Drops {
                    rng: trace::stream(seed, w as u64, 1 + j as u64),
                    every: s.disconnect_every_secs,
                    down: s.reconnect_after_secs,
                });
                let signer_index = u32::try_from(world.signers.len())
                    .map_err(|_| invalid("wards", "too many signers"))?;
                match role {
                    SignerRole::Director => director = Some(signer_index),
                    SignerRole::Deputy => deputies.push((id.clone(), signer_index)),
                    // The scenarios model the persons who sign, not the seal.
                    SignerRole::Clerk => {}
                }
                world.signers.push(Signer {
                    id,
                    ward: index,
                    role,
                    service: Service::new(&s.service, &field)?,
                    batch: s.batch.max(1),
                    scope,
                    delegation,
                    away_periods: s.away.clone(),
                    drops,
                    online: true,
                    away: 0,
                    busy: false,
                    done_pending: false,
                    held: VecDeque::new(),
                    in_batch: Vec::new(),
                });
            }
            deputies.sort();
            let deputy_scope = (0..world.mix.codes.len())
                .map(|p| {
                    deputies.iter().any(|&(_, i)| {
                        world
                            .signers
                            .get(i as usize)
                            .and_then(|s| s.scope.get(p).copied())
                            .unwrap_or(false)
                    })
                })
                .collect();
            let mut order: Vec<u32> = deputies.into_iter().map(|(_, i)| i).collect();
            order.extend(director);
            world.wards.push(Ward {
                id: ward_id,
                signers: order,
                next,
                end,
                deputy_scope,
            });
            world.delegations.push(delegations);
        }
        Ok(world)
    }

    /// Tells the balancer every signer (online, present) and every ward's delegations.
    pub(super) fn register(&self, balancer: &mut Balancer) {
        for signer in &self.signers {
            if let Some(ward) = self.wards.get(signer.ward as usize) {
                balancer.upsert_signer(signer.view(&ward.id));
            }
        }
        for (ward, delegations) in self.wards.iter().zip(&self.delegations) {
            balancer.set_delegations(&ward.id, delegations.clone());
        }
    }
}

/// The index of `template` in the scenario, for error messages.
fn ward_template(scenario: &Scenario, template: &WardTemplate) -> usize {
    scenario
        .wards
        .iter()
        .position(|w| std::ptr::eq(w, template))
        .unwrap_or(0)
}

/// A deputy's delegated codes, `*` expanded to every code of the mix (a director: none).
fn scope_codes(signer: &SignerTemplate, mix: &[String]) -> Vec<String> {
    if signer.role == "director" {
        return Vec::new();
    }
    let mut codes: Vec<String> = Vec::new();
    for code in &signer.procedures {
        let add: Vec<&String> = if code == "*" {
            mix.iter().collect()
        } else {
            vec![code]
        };
        for c in add {
            if !codes.contains(c) {
                codes.push(c.clone());
            }
        }
    }
    codes
}

/// The values `Scenario::validate` lets through that the simulator cannot use.
fn check_template(i: usize, template: &WardTemplate) -> Result<(), SimError> {
    if !(template.load.is_finite() && template.load >= 0.0) {
        return Err(invalid(
            format!("wards[{i}].load"),
            "must be a non-negative number",
        ));
    }
    for (j, s) in template.signers.iter().enumerate() {
        let field = |f: &str| format!("wards[{i}].signers[{j}].{f}");
        if template.signers[..j].iter().any(|o| o.id == s.id) {
            return Err(invalid(
                field("id"),
                format!("{:?} appears twice in the ward", s.id),
            ));
        }
        if s.away
            .iter()
            .any(|(a, b)| !(a.is_finite() && b.is_finite()))
        {
            return Err(invalid(field("away"), "periods must be finite"));
        }
        let every = s.disconnect_every_secs;
        if !(every.is_finite() && (every == 0.0 || every >= 1.0)) {
            return Err(invalid(
                field("disconnect_every_secs"),
                "must be 0 (never) or at least 1 second",
            ));
        }
        let down = s.reconnect_after_secs;
        if !(down.is_finite() && down >= 0.0) {
            return Err(invalid(
                field("reconnect_after_secs"),
                "must be non-negative",
            ));
        }
    }
    Ok(())
}
