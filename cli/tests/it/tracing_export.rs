//! Traces: one record's trace runs from the scheduler into the signing service (W3C trace
//! context on the gRPC call) and reaches an OpenTelemetry collector over OTLP/gRPC when an
//! endpoint is given; without one, nothing is exported and the trace ids still show in the logs.
//!
//! The collector is a real OTLP/gRPC `TraceService` served by this test process on a loopback
//! port, in plain HTTP/2 as a local collector speaks it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};

use super::services::{Services, Started};

/// How long the spans may take to show (the exporter sends every 100 ms here).
const LIMIT: Duration = Duration::from_secs(60);

/// One span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: String,
}

/// The collector: keeps every span it is sent.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

fn string_value(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| string_value(&r.attributes, "service.name"))
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                got.push(Received {
                    service: service.clone(),
                    attributes: format!("{:?}", span.attributes),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                });
            }
        }
        self.spans.lock().expect("spans").extend(got);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// Serves on a free loopback port; returns its `http://` endpoint.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the collector");
        let addr = listener.local_addr().expect("addr");
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        format!("http://{addr}")
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().expect("spans").clone()
    }
}

/// Starts the signing service and the scheduler of a provisioned ward, with `signer_env` and
/// `scheduler_env` and the scheduler's `scheduler_extra` options.
async fn start(
    signer_env: &[(&str, &str)],
    scheduler_extra: &[&str],
    scheduler_env: &[(&str, &str)],
) -> Services {
    let mut services = Services::provision(None, &[], &[]);
    let started = services.start_signer_with(signer_env).await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    let started = services
        .start_scheduler_with(scheduler_extra, scheduler_env)
        .await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    services
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_is_one_trace_across_both_services_at_the_collector() {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    // The signing service finds the endpoint in the standard variable, the scheduler in its
    // flag.
    let services = start(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
        &["--otlp-endpoint", &endpoint],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await;
    let id = super::flow::submit_and_approve(&services.ward, "traced").await;

    let deadline = Instant::now() + LIMIT;
    loop {
        let spans = collector.spans();
        // The signing service's `sign` span for the record, in its `rpc` span, whose parent is
        // a span of the scheduler's in the same trace as the scheduler's `approve`.
        let sign = spans.iter().find(|s| {
            s.service == "signq-signer" && s.name == "sign" && s.attributes.contains(&id)
        });
        let rpc = sign.and_then(|sign| {
            spans.iter().find(|s| {
                s.service == "signq-signer" && s.name == "rpc" && s.span_id == sign.parent_span_id
            })
        });
        let caller = rpc.and_then(|rpc| {
            spans
                .iter()
                .find(|s| s.service == "signq-scheduler" && s.span_id == rpc.parent_span_id)
        });
        let approve = sign.and_then(|sign| {
            spans.iter().find(|s| {
                s.service == "signq-scheduler"
                    && s.name == "approve"
                    && s.attributes.contains(&id)
                    && s.trace_id == sign.trace_id
            })
        });
        if let (Some(sign), Some(rpc), Some(caller), Some(_)) = (sign, rpc, caller, approve) {
            assert_eq!(rpc.trace_id, sign.trace_id);
            assert_eq!(caller.trace_id, sign.trace_id);
            assert_eq!(caller.name, "signer_call", "{caller:?}");
            assert!(rpc.attributes.contains("/signq.v1.Signer/Sign"), "{rpc:?}");
            break;
        }
        if Instant::now() > deadline {
            let (signer_log, scheduler_log) = services.outputs();
            let seen: Vec<_> = spans
                .iter()
                .map(|s| format!("{} {} {}", s.service, s.name, hex::encode(&s.trace_id)))
                .collect();
            panic!(
                "the collector did not get one trace from approve to sign (sign {}, its rpc {}, the scheduler's caller {}, approve {}); it got:\n{}\n--- signer:\n{signer_log}\n--- scheduler:\n{scheduler_log}",
                sign.is_some(),
                rpc.is_some(),
                caller.is_some(),
                approve.is_some(),
                seen.join("\n"),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `rpc` spans a service logged as they closed (JSON logs, `SIGNQ_LOG_SPANS=1`): each as
/// its method and trace id.
fn rpc_spans(output: &str) -> Vec<(String, String)> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "close" && v["span"]["name"] == "rpc")
        .filter_map(|v| {
            Some((
                v["span"]["method"].as_str()?.to_string(),
                v["span"]["trace_id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_nothing_is_exported_and_the_logs_show_the_shared_trace_id() {
    let env = [
        ("SIGNQ_LOG_FORMAT", "json"),
        ("SIGNQ_LOG_SPANS", "1"),
        ("RUST_LOG", "info"),
    ];
    let services = start(&env, &[], &env).await;
    super::flow::submit_and_approve(&services.ward, "traced").await;

    let deadline = Instant::now() + LIMIT;
    loop {
        let (signer_log, scheduler_log) = services.outputs();
        let approve = rpc_spans(&scheduler_log)
            .into_iter()
            .find(|(method, _)| method == "/signq.v1.Inbox/Approve");
        let sign = rpc_spans(&signer_log)
            .into_iter()
            .find(|(method, _)| method == "/signq.v1.Signer/Sign");
        if let (Some((_, approved)), Some((_, signed))) = (&approve, &sign) {
            assert_eq!(
                approved, signed,
                "the Sign call continues the Approve call's trace"
            );
            assert_eq!(approved.len(), 32, "a W3C trace id: {approved}");
            for log in [&signer_log, &scheduler_log] {
                assert!(
                    !log.contains("exporting traces"),
                    "no endpoint, no export:\n{log}"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rpc spans of Approve ({approve:?}) and Sign ({sign:?}) did not both show\n--- signer:\n{signer_log}\n--- scheduler:\n{scheduler_log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
