//! Tests of the balancer: late binding (`late.rs`), the early-binding policies (`early.rs`), the
//! seal stage (`seal.rs`) and seeded random operation sequences checked against an independent
//! model (`property.rs`).
//! All deterministic: time is passed in, randomness is seeded, nothing sleeps.

mod early;
mod late;
mod property;
mod seal;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::state::Place;
use super::{Balancer, BalancerConfig, Entry, Grant, Policy, SignerView, Slack};
use crate::model::{Delegation, Priority, SignerRole, Stage};

/// The test epoch: 08:00 in Vietnam.
fn t0() -> OffsetDateTime {
    datetime!(2025-07-01 08:00 +7)
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

fn config(policy: Policy) -> BalancerConfig {
    BalancerConfig {
        policy,
        ..BalancerConfig::default()
    }
}

fn view(id: &str, ward: &str, role: SignerRole) -> SignerView {
    SignerView {
        id: id.into(),
        ward: ward.into(),
        role,
        away: false,
        online: true,
    }
}

fn entry(
    id: &str,
    ward: &str,
    procedure: &str,
    deadline: OffsetDateTime,
    submitted_at: OffsetDateTime,
) -> Entry {
    Entry {
        id: id.into(),
        ward: ward.into(),
        procedure: procedure.into(),
        priority: Priority::Normal,
        deadline,
        submitted_at,
        stage: Stage::Person,
    }
}

/// A delegation valid from a day before `t0` for 30 days.
fn delegation(id: &str, ward: &str, deputy: &str, codes: &[&str], cap: u32) -> Delegation {
    Delegation {
        id: id.into(),
        ward: ward.into(),
        director_id: format!("{ward}/dir"),
        deputy_id: deputy.into(),
        procedure_codes: codes.iter().map(|c| c.to_string()).collect(),
        not_before: t0() - Duration::days(1),
        not_after: t0() + Duration::days(30),
        daily_cap: cap,
        signed: Vec::new(),
        revoked_at: None,
        revoke_reason: None,
        notation: Default::default(),
    }
}

/// A balancer with ward `w`: director `w/dir`, deputies `w/d1`..`w/d3`, online, no delegations.
fn ward_w(config: BalancerConfig) -> Balancer {
    let mut b = Balancer::new(config, Slack::Clock);
    b.upsert_signer(view("w/dir", "w", SignerRole::Director));
    for d in ["w/d1", "w/d2", "w/d3"] {
        b.upsert_signer(view(d, "w", SignerRole::Deputy));
    }
    b
}

fn ids(grants: &[Grant]) -> Vec<&str> {
    grants.iter().map(|g| g.id.as_str()).collect()
}

/// The delegation a leased or queued record is charged to (white-box, for cap checks).
fn charged(b: &Balancer, id: &str) -> Option<String> {
    match &b.records.get(id)?.place {
        Place::Leased { charged, .. } | Place::Queue { charged, .. } => charged.clone(),
        Place::Pool => None,
    }
}
