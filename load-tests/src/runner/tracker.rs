//! What the load runner observes of every record, in virtual seconds: when it was submitted,
//! first leased and signed, by whom, and its deadline; and the events that matter for the report
//! (lease expiries, escalations, rate-limited calls). Shared by the submitter and the agents.

use std::collections::HashMap;
use std::sync::Mutex;

/// One record's observed life.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Virtual second of submission.
    pub submitted: f64,
    /// Virtual deadline.
    pub deadline: f64,
    /// First lease.
    pub first_lease: Option<f64>,
    /// Signature.
    pub signed: Option<f64>,
    /// Signed by a director.
    pub by_director: bool,
    /// Leased now.
    pub leased: bool,
}

/// Counters and records.
#[derive(Debug, Default)]
pub struct Observed {
    /// By record id.
    pub records: HashMap<String, Seen>,
    /// Lease expiries.
    pub lease_expiries: u64,
    /// Leases escalated to a director by the deadline guard.
    pub escalations: u64,
    /// Calls refused with RESOURCE_EXHAUSTED.
    pub rate_limited: u64,
    /// Other failed calls.
    pub errors: u64,
    /// (virtual second, queued records) samples.
    pub pool_depth: Vec<(f64, u64)>,
    /// (virtual second, cumulative director share) samples.
    pub director_share: Vec<(f64, f64)>,
    /// Leases seen before the submit's reply reached the submitter (the push can overtake it).
    early_leases: HashMap<String, f64>,
}

/// The shared tracker.
#[derive(Debug, Default)]
pub struct Tracker(Mutex<Observed>);

impl Tracker {
    /// Runs `f` on the observations.
    pub fn with<T>(&self, f: impl FnOnce(&mut Observed) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A submit was acknowledged.
    pub fn submitted(&self, id: String, at: f64, deadline: f64) {
        self.with(|o| {
            let first_lease = o.early_leases.remove(&id);
            let seen = o.records.entry(id).or_insert(Seen {
                submitted: at,
                deadline,
                ..Seen::default()
            });
            if let Some(l) = first_lease {
                seen.leased = true;
                seen.first_lease.get_or_insert(l);
            }
        });
    }

    /// A record was leased to someone.
    pub fn leased(&self, id: &str, at: f64, escalated: bool) {
        self.with(|o| {
            if escalated {
                o.escalations += 1;
            }
            match o.records.get_mut(id) {
                Some(s) => {
                    s.leased = true;
                    s.first_lease.get_or_insert(at);
                }
                None => {
                    o.early_leases.entry(id.to_string()).or_insert(at);
                }
            }
        });
    }

    /// A lease ended without a signature.
    pub fn lease_ended(&self, id: &str, reason: &str) {
        self.with(|o| {
            if reason == "expired" {
                o.lease_expiries += 1;
            }
            if let Some(s) = o.records.get_mut(id) {
                s.leased = false;
            }
        });
    }

    /// A record was signed.
    pub fn signed(&self, id: &str, at: f64, by_director: bool) {
        self.with(|o| {
            if let Some(s) = o.records.get_mut(id) {
                s.leased = false;
                s.signed.get_or_insert(at);
                s.by_director = by_director;
            }
        });
    }

    /// Takes a sample of the pool depth and the director's share.
    pub fn sample(&self, at: f64) {
        self.with(|o| {
            let queued = o
                .records
                .values()
                .filter(|s| s.signed.is_none() && !s.leased)
                .count() as u64;
            let signed = o.records.values().filter(|s| s.signed.is_some()).count();
            let director = o
                .records
                .values()
                .filter(|s| s.signed.is_some() && s.by_director)
                .count();
            o.pool_depth.push((at, queued));
            let share = if signed == 0 {
                0.0
            } else {
                director as f64 / signed as f64
            };
            o.director_share.push((at, share));
        });
    }
}
