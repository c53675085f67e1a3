//! The Prometheus endpoint: the process-wide `metrics` recorder rendered as text on `/metrics`.
//!
//! Histograms are real Prometheus histograms (buckets), not summaries, so that operators can
//! aggregate them across processes and wards.

use std::future::Future;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Buckets for durations of machine work, in seconds (100 µs to 10 s).
pub const MACHINE_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("metrics recorder: {0}")]
pub struct MetricsError(String);

/// Installs the global recorder. `buckets` pairs a metric-name suffix with its buckets; other
/// histograms get [`MACHINE_SECONDS`]. Call once per process.
pub fn install(buckets: &[(&str, &[f64])]) -> Result<PrometheusHandle, MetricsError> {
    let mut builder = PrometheusBuilder::new()
        .set_buckets(MACHINE_SECONDS)
        .map_err(|e| MetricsError(e.to_string()))?;
    for (suffix, values) in buckets {
        builder = builder
            .set_buckets_for_metric(Matcher::Suffix((*suffix).to_string()), values)
            .map_err(|e| MetricsError(e.to_string()))?;
    }
    let handle = builder
        .install_recorder()
        .map_err(|e| MetricsError(e.to_string()))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
