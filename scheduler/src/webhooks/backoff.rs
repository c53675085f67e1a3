//! The delay before a webhook's next attempt: exponential, capped, with jitter, so that a
//! receiver coming back is not hit by every scheduler's retries in the same instant.

use std::time::Duration;

/// The delay after failed attempt number `attempt` (1 for the first): `base` doubled for each
/// attempt after the first, at most `max`, then a random point in its upper half.
pub fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    let full = base
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(max)
        .min(max);
    let half = full / 2;
    let jitter = rand::random_range(0.0..=1.0);
    half + half.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_stays_in_the_upper_half() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (99, 1000),
        ] {
            let d = delay(attempt, base, max);
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(delay(0, Duration::ZERO, max), Duration::ZERO);
    }
}
