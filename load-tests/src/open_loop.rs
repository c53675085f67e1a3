//! An open-loop driver: requests leave on a fixed schedule whatever the server does, and each
//! latency is measured from the request's *intended* send time, so a stalled server shows its full
//! delay in the percentiles instead of slowing the generator down (no coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// What one run at one offered rate measured.
#[derive(Debug, Clone)]
pub struct RunFigures {
    /// Requests per second offered.
    pub offered: f64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Successful requests per second over the run (until the last reply).
    pub throughput: f64,
    /// Latency percentiles from the intended send time, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

/// Sends `rate × duration` requests made by `request(i)` on a fixed schedule and measures them.
/// The total is bounded, so the run always ends.
pub async fn run<F, Fut>(rate: f64, duration: Duration, request: F) -> anyhow::Result<RunFigures>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        3_600_000_000,
        3,
    )?));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(intended).await;
        let fut = request(i);
        let (latencies, failed) = (latencies.clone(), failed.clone());
        tasks.spawn(async move {
            if fut.await {
                let micros = intended.elapsed().as_micros().max(1) as u64;
                let _ = latencies.lock().await.record(micros);
            } else {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let wall = start.elapsed().as_secs_f64();
    let h = latencies.lock().await;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(RunFigures {
        offered: rate,
        ok: h.len(),
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        throughput: h.len() as f64 / wall,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: h.max() as f64 / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stall_shows_in_the_percentiles() {
        // Every request takes 1 ms except that the "server" stalls for 300 ms once, early on:
        // every request scheduled during the stall waits for it, and the percentiles say so.
        let stall_until = Instant::now() + Duration::from_millis(300);
        let figures = run(200.0, Duration::from_millis(1000), move |_| async move {
            tokio::time::sleep_until(stall_until.max(Instant::now())).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            true
        })
        .await
        .expect("run");
        assert_eq!(figures.ok, 200);
        // A closed loop would report ~1 ms; the open loop sees the requests queued behind the stall.
        assert!(figures.max_ms >= 250.0, "{figures:?}");
        assert!(figures.p50_ms >= 1.0, "{figures:?}");
    }
}
