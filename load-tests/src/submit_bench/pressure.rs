//! Memory under pressure: the scheduler's resident memory before and after an overload of
//! several times the durable-submit knee, and with many idle TLS connections open.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::memory::{self, Resident};
use crate::open_loop::RunFigures;

use super::climb::{Bench, within};
use super::{Call, Target};

/// What an overload did to the scheduler.
#[derive(Debug, Clone)]
pub struct Overload {
    /// Connections it used.
    pub connections: usize,
    /// What the generator measured.
    pub figures: RunFigures,
    /// Calls that failed other than by shedding, by code.
    pub failures: BTreeMap<String, u64>,
    /// The process's memory before.
    pub before: Option<Resident>,
    /// Whether the peak was reset just before, so that `after.peak_kib` is the overload's own.
    pub peak_reset: bool,
    /// The process's memory right after (the peak over the overload if reset).
    pub after: Option<Resident>,
    /// Its resident memory (`VmRSS`), KiB, every half second from the overload's start.
    pub samples_kib: Vec<u64>,
}

/// Offers durable submits at `rate` for `seconds` over `connections` new connections to
/// `target`, at most `max_outstanding` in flight, and reads `pid`'s memory around it.
pub async fn overload(
    bench: &Bench,
    target: &Target,
    connections: usize,
    rate: f64,
    seconds: f64,
    max_outstanding: usize,
    pid: u32,
) -> anyhow::Result<Overload> {
    let bench = bench.over(target.connections(connections).await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = memory::resident(pid);
    let peak_reset = memory::reset_peak(pid);
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = tokio::spawn({
        let samples = samples.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            // At most ten minutes of samples, whatever happens.
            for _ in 0..1200 {
                every.tick().await;
                let Some(r) = memory::resident(pid) else {
                    break;
                };
                if let Ok(mut s) = samples.lock() {
                    s.push(r.rss_kib);
                }
            }
        }
    });
    let run = bench
        .run(Call::Submit, rate, seconds, max_outstanding, "overload")
        .await;
    sampler.abort();
    let (figures, failures) = run?;
    let samples_kib = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let after = memory::resident(pid);
    Ok(Overload {
        connections: bench.channels(),
        figures,
        failures,
        before,
        peak_reset,
        after,
        samples_kib,
    })
}

/// Memory with idle connections open.
#[derive(Debug, Clone)]
pub struct IdleConnections {
    /// Connections asked for.
    pub asked: usize,
    /// Connections opened and answering a call.
    pub opened: usize,
    /// Connections that could not be opened or did not answer.
    pub refused: usize,
    /// The process's memory before they were opened.
    pub before: Option<Resident>,
    /// With them open and idle.
    pub with: Option<Resident>,
    /// After they were closed.
    pub after: Option<Resident>,
}

impl IdleConnections {
    /// Resident memory per open connection, KiB.
    pub fn per_connection_kib(&self) -> Option<f64> {
        let (before, with) = (self.before?, self.with?);
        (self.opened > 0)
            .then(|| (with.rss_kib as f64 - before.rss_kib as f64) / self.opened as f64)
    }
}

/// Opens `n` connections to `target` (a few at a time, within the server's handshake limits),
/// makes one Health/Check on each so that each is really established, holds them idle for
/// `hold`, reads `pid`'s memory, then closes them.
pub async fn idle_connections(
    target: &Target,
    n: usize,
    hold: Duration,
    pid: u32,
) -> anyhow::Result<IdleConnections> {
    // The server admits 32 handshakes at once from one address; stay well below.
    const AT_ONCE: usize = 16;
    let before = memory::resident(pid);
    let mut open = Vec::with_capacity(n);
    let mut refused = 0;
    let mut remaining = n;
    while remaining > 0 {
        let batch = remaining.min(AT_ONCE);
        remaining -= batch;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let target = target.clone();
            tasks.spawn(async move {
                let channel = target.connect().await?;
                within(
                    HealthClient::new(channel.clone()).check(HealthCheckRequest {
                        service: String::new(),
                    }),
                )
                .await?;
                anyhow::Ok(channel)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(channel)) => open.push(channel),
                _ => refused += 1,
            }
        }
    }
    tokio::time::sleep(hold).await;
    let with = memory::resident(pid);
    let opened = open.len();
    drop(open);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = memory::resident(pid);
    Ok(IdleConnections {
        asked: n,
        opened,
        refused,
        before,
        with,
        after,
    })
}
