//! `signq signer`: the signing service. gRPC `Signer` over mutual TLS, callable only by
//! certificates with the scheduler role, plus grpc.health.v1 and server reflection.
//!
//! # Layout
//! - [`config`]: settings and defaults.
//! - [`attempts`]: one PIN check at a time per signer, so wrong PINs are counted exactly.
//! - [`grpc`]: the `Signer` service.
//! - [`batch`]: one Sign call, from request to signatures.
//! - [`pdf`]: the PDFs of a batch, signed as PAdES with the signer's block.
//! - [`ledger`]: signatures kept per lease attempt, so a retry is answered, not signed again.
//! - [`remote`]: batches of signers whose key is at a remote provider, confirmed in their app.
//! - [`confirmations`]: the confirmations those batches wait for (SQLite).
//! - [`error`]: failures and their gRPC statuses (the one mapping).
//! - [`state`]: durable lockouts, revoked delegations, daily use (SQLite).
//! - [`limits`]: per-signer rate limits (governor).
//! - [`metrics`]: metric names and help.

pub mod attempts;
pub mod batch;
pub mod config;
pub mod confirmations;
pub mod error;
pub mod grpc;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod pdf;
pub mod remote;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use signq_kit::auth::RequireRole;
use signq_kit::guard::{self, GuardLayer};
use signq_kit::identity::Role;
use signq_kit::tls::{self, TlsFiles, Trust};
use signq_proto::v1::signer_server::SignerServer;
use tokio::net::TcpListener;

pub use config::SignerConfig;
pub use grpc::SignerService;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The keystore could not be opened.
    #[error(transparent)]
    Keystore(#[from] crate::keystore::KeystoreError),
    /// The state database could not be opened.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The service's own key cannot sign audit checkpoints.
    #[error("audit checkpoint key: {0}")]
    Checkpoints(String),
    /// The timestamp authority cannot run.
    #[error("timestamp authority: {0}")]
    Timestamps(String),
    /// A remote signing provider is misconfigured.
    #[error("remote signing provider {0}")]
    Provider(String),
    /// The reflection service could not be built.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The streaming calls the service serves (exempt from the unary time limit).
const STREAMS: &[&str] = &[
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
];

/// How often the state database is probed for health.
const STATE_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Health of the Signer service and the server as a whole: SERVING while the state takes writes.
async fn report_state(health: &tonic_health::server::HealthReporter, up: bool) {
    metrics::state_up(up);
    let status = if up {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    health.set_service_status("", status).await;
    health.set_service_status("signq.v1.Signer", status).await;
}

/// The key and certificate in `files` as a CMS signer, with the ward CA as its chain; a failure
/// is described for `what` uses it.
fn cms_signer(
    files: &TlsFiles,
    what: fn(String) -> ServiceError,
) -> Result<crate::cms::CmsSigner, ServiceError> {
    let (certs, key) = files.identity()?;
    let cert = certs
        .first()
        .map(|c| c.to_vec())
        .ok_or_else(|| what("no certificate".into()))?;
    let chain = tls::material::read_certs(&files.ca)?
        .into_iter()
        .map(|c| c.to_vec())
        .collect();
    crate::cms::CmsSigner::new(key.secret_der(), cert, chain).map_err(|e| what(e.to_string()))
}

/// The service's own key and certificate as a CMS signer, for audit checkpoints.
fn own_signer(config: &SignerConfig) -> Result<crate::cms::CmsSigner, ServiceError> {
    cms_signer(&config.tls, ServiceError::Checkpoints)
}

/// The timestamp authority `settings` describe.
fn timestamper(settings: &config::TsaSettings) -> Result<crate::tsa::Timestamper, ServiceError> {
    match settings {
        config::TsaSettings::Local { files, policy } => {
            let signer = cms_signer(files, ServiceError::Timestamps)?;
            Ok(crate::tsa::Timestamper::Local(Arc::new(
                crate::tsa::Authority::new(signer, *policy),
            )))
        }
        config::TsaSettings::Remote { url, ca } => {
            let trust = crate::trust::load(ca, None)
                .map_err(|e| ServiceError::Timestamps(format!("{}: {e}", ca.display())))?;
            crate::tsa::remote::Remote::new(url, trust)
                .map(|remote| crate::tsa::Timestamper::Remote(Box::new(remote)))
                .map_err(|e| ServiceError::Timestamps(e.to_string()))
        }
    }
}

/// Serves the signer service on `listener` until `shutdown` completes, then drains in-flight
/// calls; with `tsa_listener`, also the timestamp authority's HTTP endpoint (RFC 3161).
pub async fn run(
    config: SignerConfig,
    listener: TcpListener,
    tsa_listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    metrics::describe();
    let trust = Trust::load(config.tls.ca.clone(), config.tls.crl.clone())?;
    let server_tls = tls::server::server_config(&config.tls, &trust)?;
    let chain = tls::material::read_certs(&config.tls.ca)?
        .into_iter()
        .map(|c| c.to_vec())
        .collect();
    let keystore = Arc::new(
        crate::keystore::Keystore::open(&config.keystore_dir, config.kek.clone(), chain)?
            .reusing_pins_for(config.pin_reuse),
    );
    let state = Arc::new(state::State::open(&config.state_path)?);
    let checkpoints = own_signer(&config)?;
    let tsa = config
        .tsa
        .as_ref()
        .map(timestamper)
        .transpose()?
        .map(Arc::new);
    let max_request = config.max_request_bytes;
    let serving = config.serving;
    let providers = config
        .remote_providers
        .iter()
        .map(|(name, settings)| {
            crate::keys::csc::CscClient::new(settings.csc.clone())
                .map(|client| {
                    let provider = remote::Provider {
                        client,
                        confirmation_timeout: settings.confirmation_timeout,
                    };
                    (name.clone(), Arc::new(provider))
                })
                .map_err(|e| ServiceError::Provider(format!("{name}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let mut service =
        SignerService::new(config, keystore, state, checkpoints).with_providers(providers);
    if let Some(tsa) = &tsa {
        service = service.with_timestamps(Arc::clone(tsa));
    }
    let service = Arc::new(service);
    let (stop_tsa, tsa_stopped) = tokio::sync::watch::channel(false);
    let own = tsa.as_ref().and_then(|t| match t.as_ref() {
        crate::tsa::Timestamper::Local(authority) => Some(Arc::clone(authority)),
        crate::tsa::Timestamper::Remote(_) => None,
    });
    let tsa_endpoint = match (own, tsa_listener) {
        (Some(authority), Some(listener)) => Some(tokio::spawn(crate::tsa::http::serve(
            authority,
            listener,
            async move {
                let mut stopped = tsa_stopped;
                let _ = stopped.wait_for(|s| *s).await;
            },
        ))),
        (None, Some(_)) => {
            return Err(ServiceError::Timestamps(
                "an endpoint was asked for but the service runs no authority of its own (no \
                 timestamping certificate, or an outside one is used)"
                    .into(),
            ));
        }
        _ => None,
    };
    let prune = Arc::downgrade(&service);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(service) = prune.upgrade() else {
                return;
            };
            service.prune_limits();
        }
    });

    let (health, health_service) = tonic_health::server::health_reporter();
    // The service serves while its state database takes writes: probed now and then every few
    // seconds, so a full or vanished disk shows in health, and so does its return.
    report_state(&health, service.probe().await).await;
    let probes = {
        let (health, service) = (health.clone(), Arc::downgrade(&service));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(STATE_PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(service) = service.upgrade() else {
                    return;
                };
                report_state(&health, service.probe().await).await;
            }
        })
    };
    let reflection = signq_proto::reflection(&["signq.v1.Signer"])
        .map_err(|e| ServiceError::Reflection(e.to_string()))?;
    let signer = SignerServer::from_arc(service)
        .max_decoding_message_size(max_request)
        .max_encoding_message_size(max_request);
    let guarded = tonic::service::interceptor::InterceptedService::new(
        signer,
        RequireRole(&[Role::Scheduler]),
    );

    let addr = listener.local_addr().ok();
    let incoming = tls::serve_incoming(listener, server_tls, trust, serving.connections);
    tracing::info!(?addr, "signer service listening (mutual TLS)");
    let drain = async move {
        shutdown.await;
        probes.abort();
        let _ = stop_tsa.send(true);
        report_state(&health, false).await;
    };
    let guard = GuardLayer::new(guard::Limits {
        service: "signer",
        serving,
        streams: STREAMS,
        max_request: format!("at most {max_request} bytes per request"),
    });
    guard::server(guard)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(guarded)
        .serve_with_incoming_shutdown(incoming, drain)
        .await?;
    if let Some(endpoint) = tsa_endpoint {
        endpoint
            .await
            .map_err(|e| ServiceError::Timestamps(e.to_string()))?
            .map_err(|e| ServiceError::Timestamps(format!("HTTP endpoint: {e}")))?;
    }
    Ok(())
}
