//! Every call's limits, in one tower layer in front of a service's routes: the ceiling on calls
//! per second, load shedding past a number of calls in flight, a time limit on unary calls, the
//! answer to a message over the size limit, and the bookkeeping that lets idle connections close.
//!
//! Why one layer and not each handler: a limit that a handler must remember to apply is a limit
//! some handler forgets. Here every call passes, whatever its service or method, before any
//! handler runs; a refusal costs no work beyond it.
//!
//! - **Rate**: past `calls_per_second` (governor, a burst as large), RESOURCE_EXHAUSTED with
//!   RetryInfo saying when a retry can pass.
//! - **Load shedding**: past `max_unary` unary calls (or `max_streams` open streams) at once,
//!   RESOURCE_EXHAUSTED with RetryInfo immediately, rather than queueing: a queue would only add
//!   every waiter's delay to the overload (and memory, each call holding its request), while a
//!   refused caller retries later. Streams are counted apart: tablets hold their inbox open all
//!   day and must not use up the room of short calls, nor short calls theirs.
//! - **Time**: a unary call that has not answered within `unary_timeout` is dropped and answered
//!   DEADLINE_EXCEEDED. Streams (listed in `streams`) are exempt: they are meant to last.
//! - **Size**: tonic answers a message over the decoding limit with OUT_OF_RANGE quoting raw byte
//!   counts; the layer answers RESOURCE_EXHAUSTED with the documented limit instead.
//! - **Idle connections**: each call counts as activity on its connection ([`crate::tls`]'s
//!   connections close after a time without calls in flight).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{Bytes, StdError};

use crate::tls::ConnInfo;

/// How a service serves: the guard's limits and the admission of connections, as configured.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    /// Calls per second, all callers together.
    pub calls_per_second: std::num::NonZeroU32,
    /// Unary calls in flight at once.
    pub max_unary: usize,
    /// Streams open at once.
    pub max_streams: usize,
    /// How long a unary call may take.
    pub unary_timeout: Duration,
    /// Which connections are let in (see [`crate::tls::admission`]).
    pub connections: crate::tls::ConnLimits,
}

impl Default for Serving {
    /// For a ward or a province on one machine: 5,000 calls a second is far above any ward's
    /// need and below what one machine serves; 128 unary calls in flight keep at most 128
    /// requests (each up to a document's size) in memory; 4,096 streams hold every tablet and
    /// watcher of a province.
    fn default() -> Self {
        Serving {
            calls_per_second: std::num::NonZeroU32::new(5_000).unwrap_or(std::num::NonZeroU32::MIN),
            max_unary: 128,
            max_streams: 4_096,
            unary_timeout: Duration::from_secs(60),
            connections: crate::tls::ConnLimits::default(),
        }
    }
}

/// The limits of one service.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The service's name in metric labels (`scheduler`, `signer`).
    pub service: &'static str,
    /// The rate, in-flight and time limits as configured.
    pub serving: Serving,
    /// The paths (`/package.Service/Method`) of streaming calls, exempt from the time limit and
    /// counted apart.
    pub streams: &'static [&'static str],
    /// The documented limit on a request, quoted when one is larger.
    pub max_request: String,
}

/// Streams a connection may carry at once (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`): a tablet
/// needs two or three, a busy intake system a few dozen.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 64;

/// How often a server pings a client over HTTP/2, and how long it waits for the answer before
/// closing the connection: a tablet that vanished (network cut) frees its stream and its slot.
pub const KEEPALIVE: (Duration, Duration) = (Duration::from_secs(30), Duration::from_secs(20));

/// A gRPC server with the connection settings every signq service uses and `guard` in front of
/// its routes.
pub fn server(
    guard: GuardLayer,
) -> tonic::transport::Server<
    tower::layer::util::Stack<
        GuardLayer,
        tower::layer::util::Stack<tower::layer::util::Identity, tower::layer::util::Identity>,
    >,
> {
    server_behind(tower::layer::util::Identity::new(), guard)
}

/// As [`server`], with `outer` in front of the guard: e.g. [`crate::connect::ConnectLayer`],
/// whose calls then pass the guard as the gRPC calls they become.
pub fn server_behind<L>(
    outer: L,
    guard: GuardLayer,
) -> tonic::transport::Server<
    tower::layer::util::Stack<
        GuardLayer,
        tower::layer::util::Stack<L, tower::layer::util::Identity>,
    >,
> {
    tonic::transport::Server::builder()
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_keepalive_interval(Some(KEEPALIVE.0))
        .http2_keepalive_timeout(Some(KEEPALIVE.1))
        .layer(outer)
        .layer(guard)
}

/// The metric counting calls refused by the guard, by service and reason.
pub const SHED: &str = "signq_calls_refused_total";

/// The layer.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    rate: DefaultDirectRateLimiter,
    unary: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    clock: DefaultClock,
}

impl GuardLayer {
    /// A guard with `limits`.
    pub fn new(limits: Limits) -> GuardLayer {
        metrics::describe_counter!(
            SHED,
            metrics::Unit::Count,
            "Calls refused before any handler ran, by service and reason (rate, overload, timeout, size)."
        );
        // Every series exported from the start at zero, so that alerts on their rate can fire.
        for reason in ["rate", "overload", "timeout", "size"] {
            metrics::counter!(SHED, "service" => limits.service, "reason" => reason).increment(0);
        }
        GuardLayer {
            shared: Arc::new(Shared {
                rate: governor::RateLimiter::direct(Quota::per_second(
                    limits.serving.calls_per_second,
                )),
                unary: Arc::new(Semaphore::new(limits.serving.max_unary)),
                streams: Arc::new(Semaphore::new(limits.serving.max_streams)),
                clock: DefaultClock::default(),
                limits,
            }),
        }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl Shared {
    fn refuse(&self, reason: &'static str, status: Status) -> Response<Body> {
        metrics::counter!(SHED, "service" => self.limits.service, "reason" => reason).increment(1);
        status.into_http()
    }
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for Guard<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<StdError> + Send,
    ReqBody: Send + 'static,
    ResBody: tonic::codegen::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<StdError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let shared = self.shared.clone();
        // The service that was polled ready handles this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // One span per call, which the handler's own spans (submit, lease, approve, sign) nest in;
        // a caller's W3C trace context (the scheduler calling the signing service) is its parent.
        let span = tracing::info_span!(
            "rpc",
            service = shared.limits.service,
            method = request.uri().path(),
            trace_id = tracing::field::Empty,
        );
        crate::trace_context::adopt(&span, request.headers());
        let call = async move {
            if let Err(not_until) = shared.rate.check() {
                let wait = not_until.wait_time_from(shared.clock.now());
                return Ok(shared.refuse(
                    "rate",
                    crate::limit::exhausted(
                        &format!(
                            "the {} is at its ceiling of calls per second",
                            shared.limits.service
                        ),
                        wait,
                    ),
                ));
            }
            let streaming = shared.limits.streams.contains(&request.uri().path());
            let (slots, most, what) = if streaming {
                (
                    &shared.streams,
                    shared.limits.serving.max_streams,
                    "streams open",
                )
            } else {
                (
                    &shared.unary,
                    shared.limits.serving.max_unary,
                    "calls in flight",
                )
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                return Ok(shared.refuse(
                    "overload",
                    crate::limit::exhausted(
                        &format!("the {} has {most} {what}, its most", shared.limits.service),
                        Duration::from_millis(250),
                    ),
                ));
            };
            let activity = request
                .extensions()
                .get::<ConnInfo>()
                .map(|info| info.activity.begin());
            let call = inner.call(request);
            let response = if streaming {
                call.await?
            } else {
                match tokio::time::timeout(shared.limits.serving.unary_timeout, call).await {
                    Ok(response) => response?,
                    Err(_) => {
                        return Ok(shared.refuse(
                            "timeout",
                            Status::deadline_exceeded(format!(
                                "the call did not finish within {} s; retry it (a retried Submit or Approve never acts twice)",
                                shared.limits.serving.unary_timeout.as_secs()
                            )),
                        ));
                    }
                }
            };
            if is_oversize(response.headers()) {
                return Ok(shared.refuse(
                    "size",
                    Status::resource_exhausted(format!(
                        "the request is larger than this service accepts: {}",
                        shared.limits.max_request
                    )),
                ));
            }
            // The permit and the activity last as long as the response body: for a stream, as
            // long as the stream.
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(
                parts,
                Body::new(Held {
                    body: Box::pin(body),
                    _permit: permit,
                    _activity: activity,
                }),
            ))
        };
        Box::pin(tracing::Instrument::instrument(call, span))
    }
}

/// Whether tonic refused the request for its size (OUT_OF_RANGE, "decoded message length too
/// large"), which it does in the headers of a trailers-only response.
fn is_oversize(headers: &tonic::codegen::http::HeaderMap) -> bool {
    Status::from_header_map(headers).is_some_and(|s| {
        s.code() == tonic::Code::OutOfRange && s.message().contains("message length too large")
    })
}

/// A response body that holds its call's permit and activity until it ends.
struct Held<B> {
    body: Pin<Box<B>>,
    _permit: OwnedSemaphorePermit,
    _activity: Option<crate::tls::CallActivity>,
}

impl<B> tonic::codegen::Body for Held<B>
where
    B: tonic::codegen::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        self.body.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
