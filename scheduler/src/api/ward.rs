//! What the director's ward screen asks of `Admin` beyond the counts: the ward's backlog over the
//! last day, read from the store (so the line is there as soon as the screen opens, not only for
//! the minutes it has been open), and for each signer until when their key is locked and the
//! records they hold, so that a director sees whose records wait on someone who cannot sign.
//!
//! The locks are the signing service's to know. When it cannot be reached, `ListSigners` still
//! answers, without them, and the scheduler logs a warning: the rest of the screen must not go
//! dark with it.

use std::collections::HashMap;
use std::time::Duration;

use signq_proto::v1 as pb;
use time::OffsetDateTime;

use super::{Api, convert};
use crate::error::SchedError;
use crate::model::Signer;

/// How far back the backlog line goes.
const BACKLOG_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// The time between two of its points.
const BACKLOG_STEP: Duration = Duration::from_secs(15 * 60);

/// The instants of the backlog line that ends at `now`: every [`BACKLOG_STEP`] back to
/// [`BACKLOG_WINDOW`] before it, oldest first, `now` last.
pub(crate) fn backlog_instants(now: OffsetDateTime) -> Vec<OffsetDateTime> {
    let steps = (BACKLOG_WINDOW.as_secs() / BACKLOG_STEP.as_secs()) as u32;
    (0..=steps).rev().map(|k| now - BACKLOG_STEP * k).collect()
}

impl Api {
    /// `ward`'s backlog at each of [`backlog_instants`] of `now`.
    pub(super) async fn backlog_history(
        &self,
        ward: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<pb::BacklogPoint>, SchedError> {
        let instants = backlog_instants(now);
        let counts = self
            .engine
            .store()
            .backlog_at(ward, instants.clone())
            .await?;
        Ok(instants
            .into_iter()
            .zip(counts)
            .map(|(at, waiting)| pb::BacklogPoint {
                at: Some(convert::ts(at)),
                waiting,
            })
            .collect())
    }

    /// Until when each locked signer's key is locked, by signer id, as the signing service says;
    /// none when it cannot be asked (logged as a warning).
    pub(super) async fn locks(&self, ward: &str) -> HashMap<String, prost_types::Timestamp> {
        match self.engine.signer().list_signer_keys().await {
            Ok(reply) => reply
                .keys
                .into_iter()
                .filter(|k| k.ward == ward)
                .filter_map(|k| Some((k.signer_id, k.locked_until?)))
                .collect(),
            Err(error) => {
                tracing::warn!(
                    %ward,
                    %error,
                    "listing signers without their keys' locks: the signing service did not answer"
                );
                HashMap::new()
            }
        }
    }

    /// The records `signer` holds now, soonest due first.
    pub(super) async fn held(&self, signer: &Signer) -> Result<Vec<pb::HeldRecord>, SchedError> {
        let mut records = self.engine.leased_records(signer).await?;
        records.sort_by(|a, b| (a.meta.deadline, &a.meta.id).cmp(&(b.meta.deadline, &b.meta.id)));
        Ok(records.iter().map(convert::held).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_line_has_a_point_every_quarter_hour_for_a_day_ending_now() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let instants = backlog_instants(now);
        assert_eq!(instants.len(), 97);
        assert_eq!(instants.first(), Some(&(now - time::Duration::hours(24))));
        assert_eq!(instants.last(), Some(&now));
        assert!(
            instants
                .windows(2)
                .all(|w| w[1] - w[0] == time::Duration::minutes(15))
        );
    }
}
