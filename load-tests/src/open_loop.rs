//! An open-loop driver: requests leave on a fixed schedule whatever the server does, and each
//! latency is measured from the request's *intended* send time, so a stalled server shows its full
//! delay in the percentiles instead of slowing the generator down (no coordinated omission).
//!
//! The driver itself stays bounded whatever the server does: at most `max_outstanding` requests
//! are in flight (a request whose turn comes while that many are outstanding is not sent, and
//! counted as such), sending stops shortly after the run's duration even when the generator has
//! fallen behind its schedule (the rest counted as not sent), and the total is `rate × duration`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with success.
    Ok,
    /// Refused at once because the server is overloaded (RESOURCE_EXHAUSTED): load shedding.
    Shed,
    /// Failed any other way.
    Failed,
}

impl From<bool> for Outcome {
    fn from(ok: bool) -> Outcome {
        if ok { Outcome::Ok } else { Outcome::Failed }
    }
}

/// What one run at one offered rate measured.
#[derive(Debug, Clone)]
pub struct RunFigures {
    /// Requests per second offered.
    pub offered: f64,
    /// Requests scheduled (`rate × duration`): sent or not.
    pub scheduled: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests refused by load shedding (RESOURCE_EXHAUSTED).
    pub shed: u64,
    /// Requests that failed otherwise.
    pub failed: u64,
    /// Requests never sent: `max_outstanding` were in flight when their turn came, or the
    /// generator was still behind its schedule when the run's time was up.
    pub not_sent: u64,
    /// Of those, the ones left when the run's time was up with the generator behind schedule.
    pub late: u64,
    /// Successful requests per second over the run (until the last reply).
    pub throughput: f64,
    /// Latency percentiles of successful requests from the intended send time, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Seconds from the first intended send to the last reply.
    pub wall_secs: f64,
}

/// Sends `rate × duration` requests made by `request(i)` on a fixed schedule and measures them,
/// with at most `max_outstanding` in flight. The total, the time spent sending and the requests
/// held at once are all bounded, so the run always ends and the generator's memory stays bounded.
pub async fn run<F, Fut, O>(
    rate: f64,
    duration: Duration,
    max_outstanding: usize,
    request: F,
) -> anyhow::Result<RunFigures>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
    O: Into<Outcome>,
{
    anyhow::ensure!(
        rate.is_finite() && rate > 0.0,
        "offered rate {rate}: not a positive number"
    );
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let max_outstanding = max_outstanding.clamp(1, Semaphore::MAX_PERMITS);
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        3_600_000_000,
        3,
    )?));
    let shed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let outstanding = Arc::new(Semaphore::new(max_outstanding));
    let (mut not_sent, mut late) = (0, 0);
    let start = Instant::now();
    // A generator behind its schedule stops here: a tenth of the duration late, at least 100 ms.
    let stop_sending = start + duration + (duration / 10).max(Duration::from_millis(100));
    for i in 0..total {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(intended).await;
        if Instant::now() > stop_sending {
            late = total - i;
            not_sent += late;
            break;
        }
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            not_sent += 1;
            continue;
        };
        let fut = request(i);
        let (latencies, shed, failed) = (latencies.clone(), shed.clone(), failed.clone());
        tokio::spawn(async move {
            match fut.await.into() {
                Outcome::Ok => {
                    let micros = intended.elapsed().as_micros().max(1) as u64;
                    let _ = latencies.lock().await.record(micros);
                }
                Outcome::Shed => {
                    shed.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Failed => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
    // Every request has answered once all the permits are back.
    let _all = outstanding.acquire_many(max_outstanding as u32).await?;
    let wall = start.elapsed().as_secs_f64();
    let h = latencies.lock().await;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(RunFigures {
        offered: rate,
        scheduled: total,
        ok: h.len(),
        shed: shed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        not_sent,
        late,
        throughput: h.len() as f64 / wall,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: h.max() as f64 / 1000.0,
        wall_secs: wall,
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
        let figures = run(
            200.0,
            Duration::from_millis(1000),
            1000,
            move |_| async move {
                tokio::time::sleep_until(stall_until.max(Instant::now())).await;
                tokio::time::sleep(Duration::from_millis(1)).await;
                true
            },
        )
        .await
        .expect("run");
        assert_eq!(figures.ok, 200);
        // A closed loop would report ~1 ms; the open loop sees the requests queued behind the stall.
        assert!(figures.max_ms >= 250.0, "{figures:?}");
        assert!(figures.p50_ms >= 1.0, "{figures:?}");
    }

    #[tokio::test]
    async fn requests_past_the_bound_are_counted_not_sent() {
        // A server that never answers within the run: only `max_outstanding` requests are ever
        // in flight, the others are counted as not sent instead of piling up in the generator.
        let figures = run(1000.0, Duration::from_millis(200), 10, |i| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if i % 2 == 0 {
                Outcome::Shed
            } else {
                Outcome::Failed
            }
        })
        .await
        .expect("run");
        assert_eq!(figures.scheduled, 200);
        assert_eq!(figures.shed + figures.failed, 10, "{figures:?}");
        assert_eq!(figures.not_sent, 190, "{figures:?}");
        assert_eq!(figures.late, 0, "{figures:?}");
        assert_eq!(figures.ok, 0);
    }
}
