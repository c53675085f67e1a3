//! Rate limits on every service (governor): per intake client and per ward on Submit, per signer
//! on Approve and on opening sessions (against credential guessing), and a global ceiling on all
//! calls. Each refusal is RESOURCE_EXHAUSTED with the delay after which a retry can pass.

use std::hash::Hash;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::config::RateLimits;
use crate::error::SchedError;

/// The scheduler's limiters.
#[derive(Debug)]
pub struct Limiters {
    submit_client: DefaultKeyedRateLimiter<String>,
    submit_ward: DefaultKeyedRateLimiter<String>,
    approve: DefaultKeyedRateLimiter<String>,
    sessions: DefaultKeyedRateLimiter<String>,
    global: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl Limiters {
    /// Limiters with the configured quotas.
    pub fn new(limits: &RateLimits) -> Limiters {
        Limiters {
            submit_client: governor::RateLimiter::keyed(Quota::per_second(
                limits.submit_per_client,
            )),
            submit_ward: governor::RateLimiter::keyed(Quota::per_second(limits.submit_per_ward)),
            approve: governor::RateLimiter::keyed(Quota::per_minute(limits.approve_per_signer)),
            sessions: governor::RateLimiter::keyed(Quota::per_minute(limits.sessions_per_signer)),
            global: governor::RateLimiter::direct(Quota::per_second(limits.global)),
            clock: DefaultClock::default(),
        }
    }

    fn keyed<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        service: &'static str,
        limit: &'static str,
        what: String,
    ) -> Result<(), SchedError> {
        limiter.check_key(key).map_err(|not_until| {
            crate::metrics::rate_limited(service, limit);
            SchedError::RateLimited {
                what,
                retry_after: not_until.wait_time_from(self.clock.now()),
            }
        })
    }

    /// Every call passes here first.
    pub fn global(&self, service: &'static str) -> Result<(), SchedError> {
        self.global.check().map_err(|not_until| {
            crate::metrics::rate_limited(service, "global");
            SchedError::RateLimited {
                what: "the scheduler is at its call ceiling".into(),
                retry_after: not_until.wait_time_from(self.clock.now()),
            }
        })
    }

    /// A submit by intake client `client` for `ward`.
    pub fn submit(&self, client: &str, ward: &str) -> Result<(), SchedError> {
        self.keyed(
            &self.submit_client,
            &client.to_string(),
            "intake",
            "client",
            format!("submits from client {client}"),
        )?;
        self.keyed(
            &self.submit_ward,
            &ward.to_string(),
            "intake",
            "ward",
            format!("submits for ward {ward}"),
        )
    }

    /// An approval by `signer`.
    pub fn approve(&self, signer: &str) -> Result<(), SchedError> {
        self.keyed(
            &self.approve,
            &signer.to_string(),
            "inbox",
            "approve",
            format!("approvals by {signer}"),
        )
    }

    /// A session opening for `signer`.
    pub fn session(&self, signer: &str) -> Result<(), SchedError> {
        self.keyed(
            &self.sessions,
            &signer.to_string(),
            "inbox",
            "session",
            format!("sign-ins for {signer}"),
        )
    }
}
