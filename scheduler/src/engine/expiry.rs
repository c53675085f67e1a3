//! Lease deadlines: one ordered set and one timer task for every lease, instead of a sleeping
//! task per lease. A lease that ends early (signed, rejected, cancelled) is taken out of the set,
//! so memory follows the leases that are open, not every lease made in the last timeout.
//!
//! Deadlines are monotonic instants, not wall-clock times: a wall clock corrected by a day (NTP
//! after a fast clock, an operator's fix) neither keeps a lease for a day nor ends every lease at
//! once. The wall-clock `expires_at` a lease carries is for people; this is what ends it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Engine;
use crate::model::ReleaseReason;

/// Open lease deadlines, soonest first.
#[derive(Debug, Default)]
pub struct Expiries {
    due: Mutex<BTreeSet<(Instant, String, u32)>>,
    wake: Arc<Notify>,
}

impl Expiries {
    fn due(&self) -> std::sync::MutexGuard<'_, BTreeSet<(Instant, String, u32)>> {
        self.due.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches the lease `(id, attempt)` until `at`.
    pub fn add(&self, id: &str, attempt: u32, at: Instant) {
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
    pub fn remove(&self, id: &str, attempt: u32, at: Instant) {
        self.due().remove(&(at, id.to_string(), attempt));
    }

    /// Takes the leases due at `now`.
    fn take_due(&self, now: Instant) -> Vec<(String, u32)> {
        let mut due = self.due();
        let mut out = Vec::new();
        while due.first().is_some_and(|(t, _, _)| *t <= now) {
            if let Some((_, id, attempt)) = due.pop_first() {
                out.push((id, attempt));
            }
        }
        out
    }

    fn next(&self) -> Option<Instant> {
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
            for (id, attempt) in strong.expiries.take_due(Instant::now()) {
                strong.take_back(&id, attempt, ReleaseReason::Expired).await;
            }
            let next = strong.expiries.next();
            let wake = strong.expiries.wake.clone();
            drop(strong);
            let wait = next.map(|at| at.saturating_duration_since(Instant::now()));
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use crate::engine::testing::{
        DIRECTOR, LEASE_TIMEOUT, engine_over, submission, unused_signer, ward_store,
    };
    use crate::model::{Actor, Priority, RecordMeta, RecordState, Transition};
    use crate::store::Store;

    /// Waits (bounded, in paused time) until the record's lease at `attempt` has ended (the record
    /// queued, or leased again at a later attempt); how long since `since`. (Paused time jumps to
    /// the next timer whenever the test waits on the store's threads, so only times measured
    /// from before the lease mean anything.)
    async fn until_released(
        store: &dyn Store,
        id: &str,
        attempt: u32,
        since: tokio::time::Instant,
    ) -> Duration {
        for _ in 0..100_000 {
            let record = store.get(id).await.expect("get").expect("record");
            if record.state == RecordState::Queued || record.attempt > attempt {
                return since.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the lease never ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_ends_after_its_timeout_on_the_monotonic_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ward_store(&dir).await;
        let engine = engine_over(&dir, store.clone(), unused_signer()).await;
        let (record, _) = engine
            .submit(submission("a"), Actor::Intake("desk".into()))
            .await
            .expect("submit");
        let leased_at = tokio::time::Instant::now();
        let leased = engine.dispatch_signer(DIRECTOR, 10).await;
        assert_eq!(leased.len(), 1);
        // Only the monotonic clock moves (the wall clock of this test does not): the lease
        // still ends after its timeout.
        let waited = until_released(
            store.as_ref(),
            &record.meta.id,
            leased[0].attempt,
            leased_at,
        )
        .await;
        assert!(waited >= LEASE_TIMEOUT, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_made_while_the_clock_ran_a_day_fast_lasts_one_timeout_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ward_store(&dir).await;
        // The scheduler before the restart leased the record with its clock a day fast.
        let fast = OffsetDateTime::now_utc() + Duration::from_secs(86_400);
        let (record, _) = store
            .submit(
                RecordMeta {
                    id: "R-FAST".into(),
                    ward: "w".into(),
                    procedure_code: "DD-BD".into(),
                    title: "Leased with a fast clock".into(),
                    priority: Priority::Normal,
                    deadline: fast + Duration::from_secs(86_400),
                    submitted_at: fast,
                    idempotency_key: "fast".into(),
                    document_size: 4,
                    document_sha256: hex::encode(ring::digest::digest(
                        &ring::digest::SHA256,
                        b"fast",
                    )),
                    signature_place: None,
                },
                b"fast".to_vec(),
                Actor::Intake("desk".into()),
            )
            .await
            .expect("submit");
        let leased = store
            .apply(
                Transition::Lease {
                    id: record.meta.id.clone(),
                    attempt: record.attempt,
                    signer_id: DIRECTOR.into(),
                    expires_at: fast + LEASE_TIMEOUT,
                    escalated: false,
                },
                Actor::System,
            )
            .await
            .expect("lease");
        // Restarted with the clock right: the lease is held again, for one timeout at most.
        let restarted = tokio::time::Instant::now();
        let engine = engine_over(&dir, store.clone(), unused_signer()).await;
        assert_eq!(engine.leased_to(DIRECTOR), vec![record.meta.id.clone()]);
        let waited =
            until_released(store.as_ref(), &record.meta.id, leased.attempt, restarted).await;
        // About one timeout (paused time overshoots by the store's waits), not a day.
        assert!(waited < 2 * LEASE_TIMEOUT, "{waited:?}");
    }
}
