//! Property-style test: seeded random operation sequences over two wards (a director and three
//! deputies each, random delegations with scopes, windows, caps and revocations; signers going
//! away, offline and back; releases, signatures, cancellations, day resets), for every policy.
//! Each step is checked against an independent model of the rules:
//! - no grant of a record the signer may not sign (ward, away, scope, window, revocation, cap
//!   counting signatures used today plus records leased under the delegation);
//! - late binding: director last (a non-escalated director grant has no eligible deputy; an
//!   escalated one is below the guard with no online eligible deputy with room, and was listed
//!   by `at_risk` just before); `eligible_signers` lists only eligible signers;
//! - no record granted twice without a release in between;
//! - `pool_depth` = enqueued − leased − removed, per ward; `leased_count` matches, per signer.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const WARDS: [&str; 2] = ["w", "v"];
const PROCEDURES: [&str; 5] = ["A", "B", "C", "D", "E"];
const STEPS: usize = 4_000;

#[derive(Default)]
struct Model {
    entries: BTreeMap<String, Entry>,
    /// Enqueued, not leased, not removed.
    queued: BTreeMap<String, ()>,
    /// Leased: signer and the delegation charged.
    leased: BTreeMap<String, (String, Option<String>)>,
    used: BTreeMap<String, u32>,
    views: BTreeMap<String, SignerView>,
    delegations: BTreeMap<String, Vec<Delegation>>,
}

impl Model {
    fn held(&self, delegation: &str) -> u32 {
        self.leased
            .values()
            .filter(|(_, c)| c.as_deref() == Some(delegation))
            .count() as u32
    }

    fn under_cap(&self, d: &Delegation) -> bool {
        d.daily_cap == 0
            || self.used.get(&d.id).copied().unwrap_or(0) + self.held(&d.id) < d.daily_cap
    }

    fn leased_by(&self, signer: &str) -> usize {
        self.leased.values().filter(|(s, _)| s == signer).count()
    }

    /// Deputy eligibility by the rules, straight from the facts.
    fn deputy_eligible(&self, deputy: &str, entry: &Entry, now: OffsetDateTime) -> bool {
        self.views.get(deputy).is_some_and(|v| !v.away) && self.deputy_in_scope(deputy, entry, now)
    }

    /// Whether the deputy's delegations cover the record now, present or away.
    fn deputy_in_scope(&self, deputy: &str, entry: &Entry, now: OffsetDateTime) -> bool {
        let Some(v) = self.views.get(deputy) else {
            return false;
        };
        v.role == SignerRole::Deputy
            && v.ward == entry.ward
            && self.delegations.get(&entry.ward).is_some_and(|ds| {
                ds.iter().any(|d| {
                    d.deputy_id == deputy && d.covers(&entry.procedure, now) && self.under_cap(d)
                })
            })
    }

    /// Early binding: may one more record be queued for the deputy (records already queued
    /// under a delegation count against its cap, as given by `queued`)?
    fn deputy_assignable(
        &self,
        deputy: &str,
        entry: &Entry,
        now: OffsetDateTime,
        queued: impl Fn(&str) -> u32,
    ) -> bool {
        let Some(v) = self.views.get(deputy) else {
            return false;
        };
        v.role == SignerRole::Deputy
            && !v.away
            && v.ward == entry.ward
            && self.delegations.get(&entry.ward).is_some_and(|ds| {
                ds.iter().any(|d| {
                    d.deputy_id == deputy
                        && d.covers(&entry.procedure, now)
                        && (d.daily_cap == 0
                            || self.used.get(&d.id).copied().unwrap_or(0)
                                + self.held(&d.id)
                                + queued(&d.id)
                                < d.daily_cap)
                })
            })
    }

    /// Deputies whose delegations cover the record now, away or not: while there is one, the
    /// record is not director-only (it goes to the director only by the deadline guard).
    fn in_scope_deputies(&self, entry: &Entry, now: OffsetDateTime) -> Vec<String> {
        self.views
            .keys()
            .filter(|s| self.deputy_in_scope(s, entry, now))
            .cloned()
            .collect()
    }
}

/// Records queued for a deputy under a delegation (white-box: where early binding put them).
fn queued_under(b: &Balancer, delegation: &str) -> u32 {
    b.records
        .values()
        .filter(|r| matches!(&r.place, Place::Queue { charged: Some(d), .. } if d == delegation))
        .count() as u32
}

fn signers_of(ward: &str) -> [String; 4] {
    [
        format!("{ward}/dir"),
        format!("{ward}/d1"),
        format!("{ward}/d2"),
        format!("{ward}/d3"),
    ]
}

fn pick<'a, K: Ord, V>(rng: &mut StdRng, map: &'a BTreeMap<K, V>) -> Option<&'a K> {
    if map.is_empty() {
        return None;
    }
    map.keys().nth(rng.random_range(0..map.len()))
}

fn random_delegations(
    rng: &mut StdRng,
    ward: &str,
    now: OffsetDateTime,
    serial: &mut u32,
) -> Vec<Delegation> {
    let mut out = Vec::new();
    for deputy in &signers_of(ward)[1..] {
        for _ in 0..rng.random_range(0..=2) {
            *serial += 1;
            let codes: Vec<&str> = PROCEDURES
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.4))
                .collect();
            let cap = if rng.random_bool(0.5) {
                0
            } else {
                rng.random_range(1..=4)
            };
            let mut d = delegation(&format!("{ward}/g{serial}"), ward, deputy, &codes, cap);
            d.not_before = now + Duration::minutes(rng.random_range(-180..=60));
            d.not_after = now + Duration::minutes(rng.random_range(30..=720));
            if rng.random_bool(0.1) {
                d.revoked_at = Some(now);
            }
            out.push(d);
        }
    }
    out
}

fn run(policy: Policy, seed: u64) {
    let config = BalancerConfig {
        policy,
        lease_size: 3,
        seed,
        ..BalancerConfig::default()
    };
    let guard = Duration::try_from(config.director_guard).unwrap_or(Duration::MAX);
    let lease_size = config.lease_size;
    let mut b = Balancer::new(config, Slack::Clock);
    let mut m = Model::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut now = t0();
    let mut serial = 0u32;
    let (mut grants_total, mut escalations, mut director_only) = (0usize, 0usize, 0usize);

    for ward in WARDS {
        for (i, id) in signers_of(ward).iter().enumerate() {
            let role = if i == 0 {
                SignerRole::Director
            } else {
                SignerRole::Deputy
            };
            let v = view(id, ward, role);
            b.upsert_signer(v.clone());
            m.views.insert(id.clone(), v);
        }
        let ds = random_delegations(&mut rng, ward, now, &mut serial);
        b.set_delegations(ward, ds.clone());
        m.delegations.insert(ward.to_owned(), ds);
    }

    for step in 0..STEPS {
        now += Duration::seconds(rng.random_range(0..=600));
        let ctx = format!("{policy} seed {seed} step {step}");
        match rng.random_range(0..100) {
            0..24 => {
                let id = format!("r{step}");
                let ward = WARDS[rng.random_range(0..2)];
                let mut e = entry(
                    &id,
                    ward,
                    PROCEDURES[rng.random_range(0..PROCEDURES.len())],
                    now + Duration::minutes(rng.random_range(10..=600)),
                    now - Duration::minutes(rng.random_range(0..=60)),
                );
                e.priority =
                    [Priority::Normal, Priority::High, Priority::Urgent][rng.random_range(0..3)];
                let to = b.enqueue(e.clone(), now);
                if let Some(to) = &to {
                    assert!(
                        policy.is_early_binding(),
                        "{ctx}: late binding assigns nobody at enqueue"
                    );
                    let v = &m.views[to];
                    assert!(v.ward == e.ward && !v.away, "{ctx}: {id} assigned to {to}");
                    // Assigning counts the records already queued under a delegation against its cap.
                    let deputies: Vec<&String> = m
                        .views
                        .keys()
                        .filter(|s| m.deputy_assignable(s, &e, now, |d| queued_under(&b, d)))
                        .collect();
                    match v.role {
                        SignerRole::Director => {
                            assert!(deputies.is_empty(), "{ctx}: director before {deputies:?}")
                        }
                        SignerRole::Deputy => assert!(
                            m.delegations[ward]
                                .iter()
                                .any(|d| d.deputy_id == *to && d.covers(&e.procedure, now)),
                            "{ctx}: {id} ({}) assigned to {to} out of scope",
                            e.procedure
                        ),
                        SignerRole::Clerk => panic!("{ctx}: the model enrols no clerks"),
                    }
                }
                m.entries.insert(id.clone(), e);
                m.queued.insert(id, ());
            }
            24..52 => {
                let ward = WARDS[rng.random_range(0..2)];
                let signer = signers_of(ward)[rng.random_range(0..4)].clone();
                let capacity = rng.random_range(1..=5);
                // eligible_signers lists only signers eligible by the model.
                if let Some(id) = pick(&mut rng, &m.queued).cloned() {
                    let e = &m.entries[&id];
                    for s in b.eligible_signers(&id, now) {
                        let v = &m.views[&s];
                        assert!(
                            v.role == SignerRole::Director && !v.away && v.ward == e.ward
                                || m.deputy_eligible(&s, e, now),
                            "{ctx}: eligible_signers({id}) lists {s}"
                        );
                    }
                }
                let at_risk = b.at_risk(ward, now);
                let deputies_with_room: Vec<String> = signers_of(ward)[1..]
                    .iter()
                    .filter(|d| {
                        m.views[*d].online && !m.views[*d].away && m.leased_by(d) < lease_size
                    })
                    .cloned()
                    .collect();
                let grants = b.take(&signer, capacity, now);
                assert!(grants.len() <= capacity, "{ctx}");
                let v = m.views[&signer].clone();
                if v.away {
                    assert!(
                        grants.is_empty(),
                        "{ctx}: away signer {signer} got {grants:?}"
                    );
                }
                for g in &grants {
                    grants_total += 1;
                    assert!(
                        m.queued.remove(&g.id).is_some(),
                        "{ctx}: {} granted twice or unknown",
                        g.id
                    );
                    let e = m.entries[&g.id].clone();
                    assert_eq!(e.ward, v.ward, "{ctx}");
                    let charge = charged(&b, &g.id);
                    match v.role {
                        SignerRole::Deputy => {
                            assert!(!g.escalated, "{ctx}");
                            let d_id = charge.clone().unwrap_or_default();
                            let d = m.delegations[&e.ward].iter().find(|d| d.id == d_id);
                            let d = d.unwrap_or_else(|| {
                                panic!("{ctx}: {} to {signer} under no delegation", g.id)
                            });
                            assert!(
                                d.deputy_id == signer && d.covers(&e.procedure, now),
                                "{ctx}: {} out of scope",
                                g.id
                            );
                            assert!(m.under_cap(d), "{ctx}: {} over the cap of {}", g.id, d.id);
                        }
                        SignerRole::Clerk => panic!("{ctx}: the model enrols no clerks"),
                        SignerRole::Director => {
                            assert_eq!(charge, None, "{ctx}");
                            if !policy.is_early_binding() {
                                let deputies = m.in_scope_deputies(&e, now);
                                if g.escalated {
                                    escalations += 1;
                                    assert!(
                                        !deputies.is_empty(),
                                        "{ctx}: escalated but director-only"
                                    );
                                    assert!(
                                        e.deadline - now < guard,
                                        "{ctx}: escalated above the guard"
                                    );
                                    assert!(
                                        deputies.iter().all(|d| !deputies_with_room.contains(d)),
                                        "{ctx}: escalated while {deputies:?} have room"
                                    );
                                    assert!(
                                        at_risk.contains(&g.id),
                                        "{ctx}: {} not in at_risk {at_risk:?}",
                                        g.id
                                    );
                                } else {
                                    director_only += 1;
                                    assert!(
                                        deputies.is_empty(),
                                        "{ctx}: {} to the director before {deputies:?}",
                                        g.id
                                    );
                                }
                            } else {
                                assert!(!g.escalated, "{ctx}");
                            }
                        }
                    }
                    m.leased.insert(g.id.clone(), (signer.clone(), charge));
                }
                assert!(b.leased_count(&signer) <= lease_size, "{ctx}");
            }
            52..60 => {
                if let Some(id) = pick(&mut rng, &m.leased).cloned() {
                    let (holder, _) = m.leased.remove(&id).unwrap_or_default();
                    let to = b.release(&id, now);
                    if let Some(to) = to {
                        let hv = &m.views[&holder];
                        assert!(
                            !(to == holder && (hv.away || !hv.online)),
                            "{ctx}: released back to {holder}"
                        );
                        assert!(!m.views[&to].away, "{ctx}");
                    }
                    m.queued.insert(id, ());
                }
            }
            60..80 => {
                if let Some(id) = pick(&mut rng, &m.leased).cloned() {
                    let (signer, charge) = m.leased.remove(&id).unwrap_or_default();
                    let service = StdDuration::from_secs(rng.random_range(20..=200));
                    b.note_signed(&id, &signer, charge.as_deref(), service);
                    if let Some(d) = charge {
                        *m.used.entry(d).or_default() += 1;
                    }
                }
            }
            80..85 => {
                let id = if rng.random_bool(0.5) {
                    pick(&mut rng, &m.queued)
                } else {
                    pick(&mut rng, &m.leased)
                };
                if let Some(id) = id.cloned() {
                    b.remove(&id);
                    m.queued.remove(&id);
                    m.leased.remove(&id);
                }
                b.remove("never-enqueued");
            }
            85..93 => {
                let ward = WARDS[rng.random_range(0..2)];
                let id = signers_of(ward)[rng.random_range(0..4)].clone();
                let mut v = m.views[&id].clone();
                v.away = rng.random_bool(0.2);
                v.online = rng.random_bool(0.7);
                b.upsert_signer(v.clone());
                m.views.insert(id, v);
            }
            93..96 => {
                let ward = WARDS[rng.random_range(0..2)];
                let ds = random_delegations(&mut rng, ward, now, &mut serial);
                b.set_delegations(ward, ds.clone());
                m.delegations.insert(ward.to_owned(), ds);
            }
            96..98 => {
                let ward = WARDS[rng.random_range(0..2)];
                let ds = &m.delegations[ward];
                if !ds.is_empty() {
                    let d = ds[rng.random_range(0..ds.len())].id.clone();
                    let used = rng.random_range(0..=3);
                    b.set_used_today(&d, used);
                    m.used.insert(d, used);
                }
            }
            _ => {
                b.reset_day();
                m.used.clear();
            }
        }

        for ward in WARDS {
            let queued = m
                .queued
                .keys()
                .filter(|id| m.entries[*id].ward == ward)
                .count();
            assert_eq!(b.pool_depth(ward), queued, "{ctx}: pool depth of {ward}");
        }
        for signer in m.views.keys() {
            assert_eq!(
                b.leased_count(signer),
                m.leased_by(signer),
                "{ctx}: leased by {signer}"
            );
        }
        let early_queued: usize = m.views.keys().map(|s| b.queued_for(s)).sum();
        assert!(early_queued <= m.queued.len(), "{ctx}");
        if !policy.is_early_binding() {
            assert_eq!(
                early_queued, 0,
                "{ctx}: late binding keeps no per-signer queue"
            );
        }
    }
    // The sequence exercised what it checks.
    assert!(grants_total > 500, "{policy}: only {grants_total} grants");
    if !policy.is_early_binding() {
        assert!(
            escalations > 0 && director_only > 0,
            "{policy}: {escalations} escalations, {director_only} director-only"
        );
    }
}

#[test]
fn late_binding_keeps_the_invariants() {
    for seed in [1, 2, 3] {
        run(Policy::LateBinding, seed);
    }
}

#[test]
fn round_robin_keeps_the_invariants() {
    for seed in [1, 2, 3] {
        run(Policy::RoundRobin, seed);
    }
}

#[test]
fn random_keeps_the_invariants() {
    for seed in [1, 2, 3] {
        run(Policy::Random, seed);
    }
}

#[test]
fn jsq_keeps_the_invariants() {
    for seed in [1, 2, 3] {
        run(Policy::JoinShortestQueue, seed);
    }
}

#[test]
fn let_keeps_the_invariants() {
    for seed in [1, 2, 3] {
        run(Policy::LeastExpectedTime, seed);
    }
}
