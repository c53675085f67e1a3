//! W3C trace context (`traceparent`, `tracestate`) on gRPC calls, so that one trace follows a
//! record from the scheduler into the signing service.
//!
//! The caller [`inject`]s the context of the span it calls from into the request's metadata;
//! the guard layer ([`crate::guard`]) [`adopt`]s it as the remote parent of the callee's `rpc`
//! span, and records the trace id as that span's `trace_id` field so that the logs show it too.
//! Both do nothing without the OpenTelemetry layer that [`crate::telemetry`] installs: a span
//! then has no trace id to pass on.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http::HeaderMap;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the trace context of `span` into `metadata` (nothing if it has none).
pub fn inject(span: &tracing::Span, metadata: &mut MetadataMap) {
    let cx = span.context();
    TraceContextPropagator::new().inject_context(&cx, &mut MetadataInjector(metadata));
}

/// Makes the trace context carried in `headers`, if a valid one is, the parent of `span` (which
/// must not have been entered yet), then records the span's trace id in its `trace_id` field
/// (declared empty by the caller).
pub fn adopt(span: &tracing::Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Refused only if the span was already started, which the caller rules out.
        let _ = span.set_parent(parent);
    }
    if let Some(id) = trace_id(span) {
        span.record("trace_id", id.as_str());
    }
}

/// The trace id of `span`, in hex as `traceparent` writes it, if it has one.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let context = cx.span().span_context().clone();
    context.is_valid().then(|| context.trace_id().to_string())
}

/// A request's metadata as somewhere to write the context.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes lowercase ASCII keys and values; anything else is left out.
        if let (Ok(key), Ok(value)) = (
            AsciiMetadataKey::from_bytes(key.as_bytes()),
            AsciiMetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// A request's headers as somewhere to read the context from.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn a_context_injected_on_one_side_is_adopted_on_the_other() {
        use opentelemetry::trace::TracerProvider as _;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let caller = tracing::info_span!("signer_call");
            let mut metadata = MetadataMap::new();
            inject(&caller, &mut metadata);
            let sent = trace_id(&caller).expect("the caller has a trace id");
            let traceparent = metadata
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .expect("traceparent")
                .to_string();
            assert!(traceparent.contains(&sent), "{traceparent} names {sent}");

            let headers = metadata.into_headers();
            let callee = tracing::info_span!("rpc", trace_id = tracing::field::Empty);
            adopt(&callee, &headers);
            assert_eq!(trace_id(&callee), Some(sent));

            // Without a context, the callee starts a trace of its own.
            let fresh = tracing::info_span!("rpc", trace_id = tracing::field::Empty);
            adopt(&fresh, &HeaderMap::new());
            let own = trace_id(&fresh).expect("a trace id of its own");
            assert_ne!(Some(own), trace_id(&caller));
        });
    }

    #[test]
    fn a_malformed_traceparent_is_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "00-not-a-trace-01".parse().expect("header"));
        let span = tracing::Span::none();
        adopt(&span, &headers);
        assert_eq!(trace_id(&span), None);
    }
}
