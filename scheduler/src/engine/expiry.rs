//! Lease deadlines: one ordered set and one timer task for every lease, instead of a sleeping
//! task per lease. A lease that ends early (signed, rejected, cancelled) is taken out of the set,
//! so memory follows the leases that are open, not every lease made in the last timeout.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::Engine;
use crate::model::ReleaseReason;

/// Open lease deadlines, soonest first.
#[derive(Debug, Default)]
pub struct Expiries {
    due: Mutex<BTreeSet<(OffsetDateTime, String, u32)>>,
    wake: Arc<Notify>,
}

impl Expiries {
    fn due(&self) -> std::sync::MutexGuard<'_, BTreeSet<(OffsetDateTime, String, u32)>> {
        self.due.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches the lease `(id, attempt)` until `at`.
    pub fn add(&self, id: &str, attempt: u32, at: OffsetDateTime) {
        let soonest = {
            let mut due = self.due();
            due.insert((at, id.to_string(), attempt));
            due.first().is_some_and(|(t, _, _)| *t == at)
        };
        if soonest {
            self.wake.notify_one();
        }
    }

    /// Stops watching a lease that ended.
    pub fn remove(&self, id: &str, attempt: u32, at: OffsetDateTime) {
        self.due().remove(&(at, id.to_string(), attempt));
    }

    /// Takes the leases due at `now`.
    fn take_due(&self, now: OffsetDateTime) -> Vec<(String, u32)> {
        let mut due = self.due();
        let mut out = Vec::new();
        while due.first().is_some_and(|(t, _, _)| *t <= now) {
            if let Some((_, id, attempt)) = due.pop_first() {
                out.push((id, attempt));
            }
        }
        out
    }

    fn next(&self) -> Option<OffsetDateTime> {
        self.due().first().map(|(t, _, _)| *t)
    }
}

/// Runs the timer: returns each lease to the pool when it falls due, until the engine is gone.
pub(super) fn spawn(engine: Weak<Engine>) {
    tokio::spawn(async move {
        loop {
            let Some(strong) = engine.upgrade() else {
                return;
            };
            for (id, attempt) in strong.expiries.take_due(OffsetDateTime::now_utc()) {
                strong.take_back(&id, attempt, ReleaseReason::Expired).await;
            }
            let next = strong.expiries.next();
            let wake = strong.expiries.wake.clone();
            drop(strong);
            let wait = next.map(|at| {
                (at - OffsetDateTime::now_utc())
                    .try_into()
                    .unwrap_or(std::time::Duration::ZERO)
            });
            match wait {
                // Wake at the deadline, or earlier when a sooner lease is added; at least once a
                // minute, so that a dropped engine ends the task.
                Some(wait) => {
                    let _ = tokio::time::timeout(
                        wait.min(std::time::Duration::from_secs(60)),
                        wake.notified(),
                    )
                    .await;
                }
                None => {
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(60), wake.notified())
                            .await;
                }
            }
        }
    });
}
