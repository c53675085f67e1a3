//! Structured logs and traces (tracing).
//!
//! **Logs**: human-readable by default, JSON with `SIGNQ_LOG_FORMAT=json`; the level comes from
//! `RUST_LOG` (default `info`). With `SIGNQ_LOG_SPANS=1` every span is also logged when it closes,
//! with its fields (ward, record, signer) and how long it took: each RPC (`rpc`) and each stage
//! of a record (`submit`, `lease`, `approve`, `seal`, and `sign` in the signing service), so one
//! record can be followed through both services by its id.
//!
//! **Traces**: every span of signq's own crates is also an OpenTelemetry span
//! (tracing-opentelemetry over the SDK's tracer provider), so each has a W3C trace id whether or
//! not it is exported: the `rpc` span logs its own as `trace_id`, and [`crate::trace_context`]
//! carries it from the scheduler to the signing service. Export is off unless an OTLP endpoint
//! is given (the `--otlp-endpoint` flag, or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! and `OTEL_EXPORTER_OTLP_ENDPOINT`): then spans go in batches over OTLP/gRPC (tonic) with the
//! resource attribute `service.name` (`signq-scheduler`, `signq-signer`; `OTEL_SERVICE_NAME`
//! overrides it). Export runs on the SDK's own thread: a collector that is down or slow costs
//! spans, logged once as a warning, never a call's time. [`Telemetry::shutdown`] flushes what
//! is left.
//!
//! The level from `RUST_LOG` filters the logs only: traces keep signq's spans at `info` whatever
//! the logs show.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, Registry};

/// The standard variables naming the OTLP endpoint, the one for traces first.
pub const OTLP_ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// How long [`Telemetry::shutdown`] waits for the last spans to reach the collector.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP endpoint is not one the exporter can use.
    #[error(
        "the OTLP endpoint {endpoint:?} (from {given_in}) cannot be used: {reason} (give the http:// URL of an OTLP/gRPC collector, such as http://127.0.0.1:4317)"
    )]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Where it was given: the flag or the variable.
        given_in: &'static str,
        /// What the exporter said.
        reason: String,
    },
}

/// The installed tracer provider, to flush and stop at shutdown.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    endpoint: Option<String>,
}

impl Telemetry {
    /// Where spans are exported, if anywhere.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Exports the spans still buffered (waiting at most [`FLUSH_LIMIT`]) and stops the export
    /// thread. A failure is logged, not returned: the process is stopping anyway.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let exporting = self.endpoint.is_some();
        let done =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_LIMIT)).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(error)) if exporting => {
                tracing::warn!(%error, "the last traces could not be exported")
            }
            Ok(Err(_)) => {}
            Err(error) => tracing::warn!(%error, "stopping the trace exporter failed"),
        }
    }
}

/// Installs the global subscriber without exporting traces; a second call is a no-op. Prefer
/// [`init`] in a service, which can export.
pub fn init_logging() {
    let provider = SdkTracerProvider::builder().build();
    install(provider, "signq");
}

/// Installs the global subscriber: logs as configured by the environment, and traces under the
/// resource name `service`, exported to `otlp_endpoint` if given, else to the endpoint of the
/// standard variables ([`OTLP_ENDPOINT_VARS`]) if set, else nowhere. Must run inside a Tokio
/// runtime (the exporter's channel is made there). A second call installs nothing but still
/// returns a provider.
pub fn init(service: &str, otlp_endpoint: Option<&str>) -> Result<Telemetry, TelemetryError> {
    let given = otlp_endpoint
        .map(|e| (e.to_string(), "--otlp-endpoint or SIGNQ_OTLP_ENDPOINT"))
        .or_else(|| {
            OTLP_ENDPOINT_VARS
                .iter()
                .find_map(|var| Some((std::env::var(var).ok()?, *var)))
        })
        .filter(|(e, _)| !e.trim().is_empty());
    let mut builder = SdkTracerProvider::builder().with_resource(resource(service));
    if let Some((endpoint, source)) = &given {
        let refused = |reason: String| TelemetryError::Endpoint {
            endpoint: endpoint.clone(),
            given_in: source,
            reason,
        };
        // The exporter is built without TLS: a collector is reached in plain HTTP/2 on the
        // machine or a private network, and forwards further itself.
        if endpoint.trim().to_ascii_lowercase().starts_with("https:") {
            return Err(refused(
                "TLS to the collector is not supported; run a collector on this machine or a private network".into(),
            ));
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| refused(e.to_string()))?;
        builder = builder.with_batch_exporter(Lenient {
            inner: exporter,
            endpoint: endpoint.clone(),
            failing: AtomicBool::new(false),
        });
    }
    let provider = builder.build();
    install(provider.clone(), service);
    let endpoint = given.map(|(endpoint, _)| endpoint);
    if let Some(endpoint) = &endpoint {
        tracing::info!(%endpoint, service, "exporting traces over OTLP/gRPC");
    }
    Ok(Telemetry { provider, endpoint })
}

/// The resource: `service.name` is `service` unless `OTEL_SERVICE_NAME` says otherwise; the
/// SDK's detectors add the rest (`OTEL_RESOURCE_ATTRIBUTES`, the SDK's name and version).
fn resource(service: &str) -> Resource {
    let builder = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty()) {
        builder.build()
    } else {
        builder.with_service_name(service.to_string()).build()
    }
}

/// The subscriber: the log layer under `RUST_LOG`, and the OpenTelemetry layer for signq's own
/// spans at `info` and above.
fn install(provider: SdkTracerProvider, service: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SIGNQ_LOG_FORMAT").is_ok_and(|v| v == "json");
    let spans = if std::env::var("SIGNQ_LOG_SPANS").is_ok_and(|v| v == "1") {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_span_events(spans)
        .with_writer(std::io::stderr);
    let logs = if json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    // Every crate of the workspace is named `signq…`; other crates' spans (tonic, h2, the
    // exporter's own) stay out of the traces.
    let ours = Targets::new()
        .with_target("signq", LevelFilter::INFO)
        .with_default(LevelFilter::OFF);
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service.to_string()))
        .with_filter(ours);
    let _ = Registry::default().with(logs).with(traces).try_init();
}

/// An exporter that never fails its caller: a failed export is logged once as a warning until
/// one succeeds again, and its spans are dropped. Without it the SDK would log an error for
/// every batch while a collector is down.
#[derive(Debug)]
struct Lenient<E> {
    inner: E,
    endpoint: String,
    failing: AtomicBool,
}

impl<E: SpanExporter> SpanExporter for Lenient<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        match self.inner.export(batch).await {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(endpoint = %self.endpoint, "traces are exported again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        %error,
                        spans,
                        "traces could not be exported; dropping them until the collector answers"
                    );
                }
            }
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
