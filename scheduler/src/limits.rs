//! Rate limits per caller (governor): per intake client and per ward on Submit, per signer on
//! Approve and on opening sessions (against PIN guessing). Each refusal is RESOURCE_EXHAUSTED with
//! the delay after which a retry can pass. (The ceiling on all calls is the guard layer's.)
//!
//! Every key is a verified identity, never a value a caller merely sent: the intake client is its
//! certificate's name, the ward one its certificate names, the signer the one its device or
//! session proves. So nobody can grow the limiters' tables by inventing names, and [`Limiters::
//! prune`] forgets the keys that have been quiet long enough to be back at a full quota.

use std::hash::Hash;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::RateLimits;
use crate::error::SchedError;

/// The scheduler's limiters.
#[derive(Debug)]
pub struct Limiters {
    submit_client: DefaultKeyedRateLimiter<String>,
    submit_ward: DefaultKeyedRateLimiter<String>,
    approve: DefaultKeyedRateLimiter<String>,
    sessions: DefaultKeyedRateLimiter<String>,
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

    /// Forgets the keys whose quota has refilled (called every minute).
    pub fn prune(&self) {
        for limiter in [
            &self.submit_client,
            &self.submit_ward,
            &self.approve,
            &self.sessions,
        ] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
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
