//! Before a record is late: an unsigned record with less than the at-risk margin of working time
//! left (one working day by default) is flagged once, which raises an at-risk event on Watch
//! (where the intake system learns it may ask for a new appointment date) and a metric.

use time::OffsetDateTime;

use super::Engine;
use crate::error::SchedError;

/// Records flagged per ward in one pass, at most (the rest wait for the next).
const BATCH: usize = 500;

impl Engine {
    /// Flags the open records that became at risk by `now`, each ward on its own calendar, in one
    /// write to the store; returns how many.
    pub async fn flag_at_risk(&self, now: OffsetDateTime) -> Result<usize, SchedError> {
        let limits = self
            .owned_wards()
            .into_iter()
            .map(|ward| {
                let due_before = self
                    .calendar_for(&ward)
                    .add_working_time(now, self.settings.at_risk);
                (ward, due_before)
            })
            .collect();
        let flagged = self.store.flag_at_risk(limits, BATCH).await?;
        crate::metrics::at_risk(flagged.len());
        let mut wards: Vec<&str> = flagged.iter().map(|r| r.meta.ward.as_str()).collect();
        wards.dedup();
        for ward in wards {
            tracing::info!(ward, "records at risk of being late");
            self.notify(ward);
        }
        Ok(flagged.len())
    }
}
