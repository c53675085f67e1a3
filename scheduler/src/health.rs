//! Health as supervisors and load balancers see it: each service says SERVING only while what it
//! needs answers. Intake and Admin need the store (a write goes through); the Inbox, where
//! signers sign, and the server as a whole (`""`) need the signing service too. Probes run every
//! few seconds, so a lost dependency shows within one period, and so does its return.

use std::sync::Arc;
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::engine::Engine;

/// How often the dependencies are probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

/// The longest a store probe may take before the store counts as gone.
const STORE_PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// The services and what each needs: (service name, needs the signing service).
const SERVICES: &[(&str, bool)] = &[
    ("signq.v1.Intake", false),
    ("signq.v1.Admin", false),
    ("signq.v1.Inbox", true),
    ("", true),
];

/// What the last probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependencies {
    /// The store takes writes.
    pub store: bool,
    /// The signing service says it serves.
    pub signer: bool,
}

impl Dependencies {
    /// Probes both, concurrently.
    pub async fn probe(engine: &Engine) -> Dependencies {
        let store = async {
            matches!(
                tokio::time::timeout(STORE_PROBE_DEADLINE, engine.store().probe()).await,
                Ok(Ok(()))
            )
        };
        let (store, signer) = tokio::join!(store, engine.signer().probe());
        Dependencies { store, signer }
    }

    fn status(self, needs_signer: bool) -> ServingStatus {
        if self.store && (self.signer || !needs_signer) {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    }
}

/// Sets every service's status from `found`.
pub async fn report(reporter: &HealthReporter, found: Dependencies) {
    for &(service, needs_signer) in SERVICES {
        reporter
            .set_service_status(service, found.status(needs_signer))
            .await;
    }
    crate::metrics::dependencies(found.store, found.signer);
}

/// Sets every service NOT_SERVING (the scheduler is draining).
pub async fn stop(reporter: &HealthReporter) {
    for &(service, _) in SERVICES {
        reporter
            .set_service_status(service, ServingStatus::NotServing)
            .await;
    }
}

/// Probes every [`PROBE_EVERY`] and reports, until aborted (at shutdown) or the engine is gone.
pub fn spawn(engine: &Arc<Engine>, reporter: HealthReporter) -> tokio::task::JoinHandle<()> {
    let engine = Arc::downgrade(engine);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = None;
        loop {
            every.tick().await;
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let found = Dependencies::probe(&engine).await;
            if last != Some(found) {
                tracing::info!(store = found.store, signer = found.signer, "dependencies");
                last = Some(found);
            }
            report(&reporter, found).await;
        }
    })
}
