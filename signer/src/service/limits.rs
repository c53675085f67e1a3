//! Per-signer rate limits (governor): PIN attempts, so that guessing is slow even before the
//! lockout; and signatures, a cap generous for a person but not for a stolen session signing
//! thousands of records.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The limits' settings.
#[derive(Debug, Clone, Copy)]
pub struct RateSettings {
    /// PIN attempts per signer per minute (burst as large).
    pub pin_attempts_per_minute: NonZeroU32,
    /// Signatures per signer per hour, replenished evenly.
    pub signatures_per_hour: NonZeroU32,
    /// Signatures a signer may make at once (the bucket size); at least the batch limit.
    pub signature_burst: NonZeroU32,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            pin_attempts_per_minute: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            signatures_per_hour: NonZeroU32::new(1_200).unwrap_or(NonZeroU32::MIN),
            signature_burst: NonZeroU32::new(300).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The per-signer limiters.
#[derive(Debug)]
pub struct Limits {
    pins: DefaultKeyedRateLimiter<String>,
    signatures: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Limits {
    /// Limiters with `settings`.
    pub fn new(settings: RateSettings) -> Limits {
        let signatures =
            Quota::with_period(Duration::from_secs(3600) / settings.signatures_per_hour.get())
                .unwrap_or_else(|| Quota::per_hour(settings.signatures_per_hour))
                .allow_burst(settings.signature_burst);
        Limits {
            pins: governor::RateLimiter::keyed(Quota::per_minute(settings.pin_attempts_per_minute)),
            signatures: governor::RateLimiter::keyed(signatures),
            clock: DefaultClock::default(),
        }
    }

    /// Forgets the signers whose quota has refilled. Keys are only ever signers the keystore holds
    /// (the service checks the signer before any limiter), so the tables stay small anyway.
    pub fn prune(&self) {
        for limiter in [&self.pins, &self.signatures] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Takes one PIN attempt for `signer`, or says how long to wait.
    pub fn pin_attempt(&self, signer: &str) -> Result<(), Duration> {
        self.pins
            .check_key(&signer.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes `n` signatures for `signer`, or says how long to wait. A batch larger than the burst
    /// can never pass; it is refused with the time a full bucket takes.
    pub fn signatures(&self, signer: &str, n: u32) -> Result<(), Duration> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.signatures.check_key_n(&signer.to_string(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            Err(_insufficient) => Err(Duration::from_secs(3600)),
        }
    }
}
