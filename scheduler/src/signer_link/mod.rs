//! The scheduler's only way to the signing service. Every call has a deadline; calls that get no
//! answer (the service unreachable, hung or killed mid-call) come back as UNAVAILABLE with
//! RetryInfo, never as UNKNOWN; after a few in a row a circuit breaker answers at once for a while
//! rather than letting every approval and sign-in wait out its deadline. Every call is counted
//! by outcome and timed; the breaker's state is a gauge an alert watches.
//!
//! Every call carries the W3C trace context of the span it is made in (`signer_call`), so that
//! the signing service's spans join the scheduler's trace.
//!
//! The transport is a boxed tower service: the TLS channel in production, the signing service's
//! own gRPC server in-process in the engine's tests (which then run under paused time).
//!
//! # Layout
//! - [`breaker`]: the circuit breaker.

pub mod breaker;

use std::future::Future;
use std::time::Duration;

use signq_proto::v1 as pb;
use signq_proto::v1::signer_client::SignerClient;
use tonic::codegen::http;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::BoxError;
use tower::util::BoxCloneSyncService;
use tracing::Instrument;

pub use breaker::BreakerSettings;
use breaker::{Admission, Breaker};

use crate::error::SchedError;

/// A gRPC transport to the signing service.
pub type Transport = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    TransportError,
>;

/// A transport's failure. A named error type rather than a bare boxed one: the compiler can then
/// prove the generated client's futures `Send`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TransportError(BoxError);

impl TransportError {
    /// Wraps any transport's error.
    pub fn new(error: impl Into<BoxError>) -> TransportError {
        TransportError(error.into())
    }
}

/// A call's answer, boxed: the generated client's futures are only provably `Send` where their
/// concrete types are known.
type Reply<T> = std::pin::Pin<Box<dyn Future<Output = Result<Response<T>, Status>> + Send>>;

/// Deadlines and the breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSettings {
    /// The deadline of a Sign call (a batch: PIN stretching and up to 100 signatures).
    pub sign: Duration,
    /// The deadline of every other call (PIN check, delegation, checkpoint, revocation).
    pub other: Duration,
    /// The deadline of a health probe.
    pub probe: Duration,
    /// When calls stop going out.
    pub breaker: BreakerSettings,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            sign: Duration::from_secs(15),
            other: Duration::from_secs(5),
            probe: Duration::from_secs(2),
            breaker: BreakerSettings::default(),
        }
    }
}

/// The link: cheap to clone (the clones share the connection and the breaker).
#[derive(Debug, Clone)]
pub struct SignerLink {
    client: SignerClient<Transport>,
    health: HealthClient<Transport>,
    breaker: std::sync::Arc<Breaker>,
    settings: LinkSettings,
}

/// What became of one call, as the metric's `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Answered with a result.
    Ok,
    /// Answered with a refusal (wrong PIN, cap reached...): the service is there.
    Refused,
    /// No answer: the connection failed or broke.
    Unreachable,
    /// No answer within the deadline.
    Deadline,
    /// Not sent: the breaker is open.
    CircuitOpen,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Unreachable => "unreachable",
            Outcome::Deadline => "deadline",
            Outcome::CircuitOpen => "circuit_open",
        }
    }
}

/// Whether a failed call never got the signing service's answer, and why. A status the service
/// sent has no source; one tonic made here has: from a connection error (refused, reset, broken
/// mid-call, or a request still queued on a connection that closed, which tonic calls CANCELLED),
/// or from the channel's own timer for the deadline the request carries, which may fire before
/// ours does.
fn unanswered(status: &Status) -> Option<Outcome> {
    let mut chain = std::error::Error::source(status);
    chain?;
    while let Some(error) = chain {
        let wrapped = error.downcast_ref::<TransportError>().map(|t| &*t.0);
        if error.is::<tonic::TimeoutExpired>()
            || wrapped.is_some_and(|e| e.is::<tonic::TimeoutExpired>())
        {
            return Some(Outcome::Deadline);
        }
        chain = error.source();
    }
    Some(Outcome::Unreachable)
}

impl SignerLink {
    /// A link over `transport`. `max_reply` and `max_request` bound the messages' sizes.
    pub fn new(
        transport: Transport,
        settings: LinkSettings,
        max_reply: usize,
        max_request: usize,
    ) -> SignerLink {
        let longest = settings.sign.max(settings.other);
        SignerLink {
            client: SignerClient::new(transport.clone())
                .max_decoding_message_size(max_reply)
                .max_encoding_message_size(max_request),
            health: HealthClient::new(transport),
            breaker: std::sync::Arc::new(Breaker::new(settings.breaker, longest)),
            settings,
        }
    }

    /// A link over a tonic channel (the TLS connection in production).
    pub fn over_channel(
        channel: tonic::transport::Channel,
        settings: LinkSettings,
        max_reply: usize,
        max_request: usize,
    ) -> SignerLink {
        SignerLink::new(
            BoxCloneSyncService::new(
                tower::ServiceBuilder::new()
                    .map_err(TransportError::new)
                    .service(channel),
            ),
            settings,
            max_reply,
            max_request,
        )
    }

    /// Whether the breaker is refusing calls now.
    pub fn is_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Makes one call through the breaker, under `deadline`.
    async fn call<M, T, F>(
        &self,
        name: &'static str,
        deadline: Duration,
        message: M,
        f: F,
    ) -> Result<T, SchedError>
    where
        F: FnOnce(SignerClient<Transport>, Request<M>) -> Reply<T>,
    {
        if let Admission::Refused(retry_after) = self.breaker.admit() {
            self.record(name, Outcome::CircuitOpen, None);
            return Err(SchedError::SignerUnavailable {
                reason: "has not answered the last calls".into(),
                retry_after,
            });
        }
        let mut request = Request::new(message);
        // The service learns the deadline too (grpc-timeout) and stops work nobody waits for.
        request.set_timeout(deadline);
        // And the trace: its `rpc` span becomes a child of this one (W3C `traceparent`).
        let span = tracing::info_span!("signer_call", call = name);
        signq_kit::trace_context::inject(&span, request.metadata_mut());
        let started = tokio::time::Instant::now();
        let answer = tokio::time::timeout(deadline, f(self.client.clone(), request))
            .instrument(span)
            .await;
        let took = started.elapsed();
        let failed = |outcome, reason: String| {
            if self.breaker.unanswered() {
                tracing::warn!(%reason, "signing service unanswered; refusing calls for a while");
            }
            self.record(name, outcome, Some(took));
            // Retry once the breaker lets a trial through, or soon if it is still closed.
            let retry_after = self.breaker.retry_hint().unwrap_or(Duration::from_secs(1));
            Err(SchedError::SignerUnavailable {
                reason,
                retry_after,
            })
        };
        let late = || format!("did not answer within {} ms", deadline.as_millis());
        match answer {
            Err(_) => failed(Outcome::Deadline, late()),
            Ok(Err(status)) => match unanswered(&status) {
                Some(Outcome::Deadline) => failed(Outcome::Deadline, late()),
                Some(outcome) => failed(outcome, format!("is unreachable ({})", status.message())),
                None => {
                    self.breaker.answered();
                    self.record(name, Outcome::Refused, Some(took));
                    Err(SchedError::Signer(status))
                }
            },
            Ok(Ok(reply)) => {
                self.breaker.answered();
                self.record(name, Outcome::Ok, Some(took));
                Ok(reply.into_inner())
            }
        }
    }

    /// Signs a batch of documents.
    pub async fn sign(&self, message: pb::SignRequest) -> Result<pb::SignResponse, SchedError> {
        self.call("Sign", self.settings.sign, message, |mut c, r| {
            Box::pin(async move { c.sign(r).await })
        })
        .await
    }

    /// Where a remote signer's confirmation stands.
    pub async fn check_confirmation(
        &self,
        message: pb::CheckConfirmationRequest,
    ) -> Result<pb::CheckConfirmationResponse, SchedError> {
        self.call(
            "CheckConfirmation",
            self.settings.other,
            message,
            |mut c, r| Box::pin(async move { c.check_confirmation(r).await }),
        )
        .await
    }

    /// Checks a signer's PIN.
    pub async fn verify_pin(
        &self,
        message: pb::VerifyPinRequest,
    ) -> Result<pb::VerifyPinResponse, SchedError> {
        self.call("VerifyPin", self.settings.other, message, |mut c, r| {
            Box::pin(async move { c.verify_pin(r).await })
        })
        .await
    }

    /// Signs a delegation with the director's key.
    pub async fn sign_delegation(
        &self,
        message: pb::SignDelegationRequest,
    ) -> Result<pb::SignDelegationResponse, SchedError> {
        self.call(
            "SignDelegation",
            self.settings.other,
            message,
            |mut c, r| Box::pin(async move { c.sign_delegation(r).await }),
        )
        .await
    }

    /// Revokes a delegation in the signing service.
    pub async fn revoke_delegation(
        &self,
        message: pb::RevokeDelegationRequest,
    ) -> Result<pb::RevokeDelegationResponse, SchedError> {
        self.call(
            "RevokeDelegation",
            self.settings.other,
            message,
            |mut c, r| Box::pin(async move { c.revoke_delegation(r).await }),
        )
        .await
    }

    /// Every signer key the service holds, with until when each is locked after wrong PINs.
    pub async fn list_signer_keys(&self) -> Result<pb::ListSignerKeysResponse, SchedError> {
        self.call(
            "ListSignerKeys",
            self.settings.other,
            pb::ListSignerKeysRequest {},
            |mut c, r| Box::pin(async move { c.list_signer_keys(r).await }),
        )
        .await
    }

    /// Signs an audit checkpoint.
    pub async fn sign_checkpoint(
        &self,
        message: pb::SignCheckpointRequest,
    ) -> Result<pb::SignCheckpointResponse, SchedError> {
        self.call(
            "SignCheckpoint",
            self.settings.other,
            message,
            |mut c, r| Box::pin(async move { c.sign_checkpoint(r).await }),
        )
        .await
    }

    fn record(&self, call: &'static str, outcome: Outcome, took: Option<Duration>) {
        crate::metrics::signer_call(call, outcome.label(), took, self.breaker.is_open());
    }

    /// Asks the signing service's health service whether it serves, within the probe deadline.
    /// Does not move the breaker: only real calls do.
    pub async fn probe(&self) -> bool {
        let mut request = Request::new(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        });
        request.set_timeout(self.settings.probe);
        signq_kit::trace_context::inject(&tracing::Span::current(), request.metadata_mut());
        let mut health = self.health.clone();
        matches!(
            tokio::time::timeout(self.settings.probe, health.check(request)).await,
            Ok(Ok(reply)) if reply.get_ref().status == ServingStatus::Serving as i32
        )
    }
}

#[cfg(test)]
mod tests;
