//! The wards' day. Daily caps count a deputy's signatures since the ward's midnight (Vietnam:
//! UTC+7), so when a new day begins the counts start again; the balancer learns it on the tick
//! after midnight, whatever the scheduler was doing, and from the store, so that signatures made
//! after midnight but before the tick still count.

use time::{Date, OffsetDateTime};

use super::{Engine, lock};
use crate::error::SchedError;

impl Engine {
    /// The wards' date at `now`.
    pub(super) fn ward_date(&self, now: OffsetDateTime) -> Date {
        now.to_offset(self.settings.utc_offset).date()
    }

    /// Starts the day's counts afresh if `now` falls on another ward date than the last one seen;
    /// returns whether it did.
    pub async fn roll_day(&self, now: OffsetDateTime) -> Result<bool, SchedError> {
        let today = self.ward_date(now);
        if *lock(&self.day) == today {
            return Ok(false);
        }
        let used = self
            .store
            .signed_per_delegation_since(self.today_start(now))
            .await?;
        let mut balancer = lock(&self.balancer);
        balancer.reset_day();
        for (delegation, n) in used {
            balancer.set_used_today(&delegation, n);
        }
        *lock(&self.day) = today;
        tracing::info!(%today, "a new day: daily caps start again");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::engine::testing::{DEPUTY, engine, unused_signer};

    #[tokio::test]
    async fn daily_caps_start_again_at_the_wards_midnight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir, unused_signer()).await;
        // The deputy signs once: the cap of one is used up for the day.
        lock(&engine.balancer).note_signed("r1", DEPUTY, Some("d"), Duration::from_secs(60));
        assert_eq!(lock(&engine.balancer).used_today("d"), 1);
        let evening = datetime!(2026-11-30 23:59 +07:00).to_offset(time::UtcOffset::UTC);
        *lock(&engine.day) = engine.ward_date(evening);
        assert!(!engine.roll_day(evening).await.expect("same day"));
        assert_eq!(lock(&engine.balancer).used_today("d"), 1, "still today");
        // Midnight in the ward (17:00 UTC): the count starts again, with no restart.
        let after_midnight = datetime!(2026-12-01 00:00:30 +07:00).to_offset(time::UtcOffset::UTC);
        assert!(engine.roll_day(after_midnight).await.expect("new day"));
        assert_eq!(lock(&engine.balancer).used_today("d"), 0);
    }
}
