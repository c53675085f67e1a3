//! Running the scheduler: mutual TLS (and gRPC-web over the same TLS port for browsers, JSON over
//! HTTP for intake systems), the three services, health and reflection, the tablet app for
//! browsers; graceful drain on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use signq_kit::guard::{self, GuardLayer};
use signq_kit::tls::{self, ClientTls, Trust};
use signq_proto::v1::admin_server::AdminServer;
use signq_proto::v1::inbox_server::InboxServer;
use signq_proto::v1::intake_server::IntakeServer;
use tokio::net::TcpListener;

use crate::api::Api;
use crate::config::SchedulerConfig;
use crate::config::StoreLocation;
use crate::engine::{Engine, EngineSettings};
use crate::health::Dependencies;
use crate::limits::Limiters;
use crate::signer_link::SignerLink;
use crate::store::SqlStore;

/// How often at-risk records are offered to directors and pool gauges refreshed.
const TICK: Duration = Duration::from_secs(15);

/// The streaming calls the scheduler serves (exempt from the unary time limit, counted apart).
const STREAMS: &[&str] = &[
    "/signq.v1.Inbox/StreamInbox",
    "/signq.v1.Intake/WatchRecords",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
];

/// The largest reply the scheduler takes from the signing service: a batch of 100 signatures is
/// well under a megabyte.
const SIGNER_REPLY_LIMIT: usize = 16 * 1024 * 1024;

/// How often the rate limiters forget quiet callers.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How long open calls get to finish after the shutdown signal.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Why the scheduler could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The store could not be opened or recovered.
    #[error(transparent)]
    Engine(#[from] crate::error::SchedError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Reflection could not be built.
    #[error("reflection: {0}")]
    Reflection(String),
    /// JSON over HTTP could not be set up.
    #[error(transparent)]
    Connect(#[from] signq_kit::connect::ConnectError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the scheduler on `listener` until `shutdown` completes, then drains.
pub async fn run(
    config: SchedulerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    crate::metrics::describe();
    let trust = Trust::load(config.tls.ca.clone(), config.tls.crl.clone())?;
    let server_tls = tls::server::server_config(&config.tls, &trust)?;
    let client_tls = ClientTls::new(&config.tls)?;
    let channel = tls::client::connect_lazy(&config.signer_addr, &client_tls)?;
    // Requests as large as the signing service accepts; replies of a batch's signatures (a few
    // kilobytes each) well within SIGNER_REPLY_LIMIT.
    let signer = SignerLink::over_channel(
        channel,
        config.signer_link,
        SIGNER_REPLY_LIMIT,
        config.signer_max_request_bytes,
    );
    let ca_chain = tls::material::read_certs(&config.tls.ca)?
        .into_iter()
        .map(|c| c.to_vec())
        .collect();
    let store = Arc::new(match &config.store {
        StoreLocation::Sqlite(path) => SqlStore::open(path)?,
        StoreLocation::Postgres(url) => SqlStore::connect(url).await?,
    });
    let settings = EngineSettings {
        max_document_bytes: config.max_document_bytes,
        lease_timeout: config.lease_timeout,
        session_ttl: config.session_ttl,
        utc_offset: config.utc_offset,
        ca: config.tls.ca.clone(),
        crl: config.tls.crl.clone(),
        signer_max_request_bytes: config.signer_max_request_bytes,
        calendar: config.calendar.clone(),
        at_risk: config.at_risk,
        guard_in_clock_time: config.guard_in_clock_time,
        ownership: config.ownership.clone(),
        webhooks: config.webhooks.clone(),
    };
    let engine = Engine::start(store, signer, ca_chain, config.balancer.clone(), settings).await?;
    engine.spawn_ticker(TICK);
    let limits = Arc::new(Limiters::new(&config.limits));
    let prune = Arc::downgrade(&limits);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let Some(limits) = prune.upgrade() else {
                return;
            };
            limits.prune();
        }
    });
    let engine_for_drain = engine.clone();
    let api = Api { engine, limits };

    let (health, health_service) = tonic_health::server::health_reporter();
    // Known before the first call is served, then kept current.
    crate::health::report(&health, Dependencies::probe(&engine_for_drain).await).await;
    let probes = crate::health::spawn(&engine_for_drain, health.clone());
    let reflection =
        signq_proto::reflection(&["signq.v1.Intake", "signq.v1.Inbox", "signq.v1.Admin"])
            .map_err(|e| ServerError::Reflection(e.to_string()))?;
    // Documents travel in Submit and GetDocument; leave room for the largest plus the envelope.
    let max_message = config.max_document_bytes + 64 * 1024;
    let addr = listener.local_addr().ok();
    let incoming = tls::serve_incoming(listener, server_tls, trust, config.serving.connections);
    tracing::info!(?addr, policy = ?config.balancer.policy, "scheduler listening (mutual TLS, gRPC-web)");
    let draining = Arc::new(tokio::sync::Notify::new());
    let drain = {
        let draining = draining.clone();
        let engine = engine_for_drain;
        async move {
            shutdown.await;
            draining.notify_one();
            probes.abort();
            crate::health::stop(&health).await;
            // Streams never end by themselves: end them now, so that the drain waits only for
            // unary calls and every stream's client resumes at once.
            engine.close_streams();
        }
    };
    let routes = tonic::service::Routes::new(health_service)
        .add_service(reflection)
        .add_service(
            IntakeServer::new(api.clone())
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message),
        )
        .add_service(InboxServer::new(api.clone()).max_encoding_message_size(max_message))
        .add_service(AdminServer::new(api))
        .into_axum_router()
        // gRPC-web for the services only: it answers any other HTTP/1.1 request with 400.
        .layer(tonic_web::GrpcWebLayer::new())
        // Browsers get the tablet app from the same origin as the API it calls.
        .fallback_service(signq_tablet::router());
    let guard = GuardLayer::new(guard::Limits {
        service: "scheduler",
        serving: config.serving,
        streams: STREAMS,
        max_request: format!(
            "a Submit carries at most {} bytes of document ({} bytes with its other fields)",
            config.max_document_bytes, max_message
        ),
    });
    // Intake systems that speak JSON over HTTP reach Intake through the Connect protocol: a
    // document travels in base64 there, a third larger than in protobuf.
    let connect = signq_kit::connect::ConnectLayer::new(
        signq_proto::FILE_DESCRIPTOR_SET,
        &["signq.v1.Intake"],
        max_message.div_ceil(3) * 4 + 64 * 1024,
    )?;
    let serve = guard::server_behind(connect, guard)
        .accept_http1(true)
        .add_routes(routes.into())
        .serve_with_incoming_shutdown(incoming, drain);
    // The drain ends the streams at once (above) and lets unary calls finish; a call still
    // running after the grace period is cut.
    tokio::select! {
        served = serve => served?,
        () = async {
            draining.notified().await;
            tokio::time::sleep(DRAIN_GRACE).await;
        } => tracing::info!(grace = ?DRAIN_GRACE, "closing the calls still open after the drain"),
    }
    Ok(())
}
