//! Before a record is late: an unsigned record with less than the at-risk margin of working time
//! left (one working day by default) is flagged once, which raises an at-risk event on Watch
//! (where the intake system learns it may ask for a new appointment date) and a metric.

use time::OffsetDateTime;

use super::Engine;
use crate::error::SchedError;

/// Records flagged in one pass, at most (the rest wait for the next).
const BATCH: usize = 500;

impl Engine {
    /// Flags the open records that became at risk by `now`, ward by ward (each on its own
    /// calendar); returns how many.
    pub async fn flag_at_risk(&self, now: OffsetDateTime) -> Result<usize, SchedError> {
        let wards: Vec<String> = self.with_directory(|d| d.wards.keys().cloned().collect());
        let mut total = 0;
        for ward in wards {
            let due_before = self
                .calendar_for(&ward)
                .add_working_time(now, self.settings.at_risk);
            let flagged = self.store.flag_at_risk(&ward, due_before, BATCH).await?;
            if !flagged.is_empty() {
                crate::metrics::at_risk(flagged.len());
                tracing::info!(
                    ward,
                    records = flagged.len(),
                    "records at risk of being late"
                );
                self.notify(&ward);
                total += flagged.len();
            }
        }
        Ok(total)
    }
}
