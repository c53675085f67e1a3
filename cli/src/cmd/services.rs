//! Running services in this process: the signer service, the scheduler, or both (`signq dev`),
//! with one metrics endpoint, until the shutdown signal; then both drain.
//!
//! A service that cannot serve (its store does not open, its port fails) stops the whole process
//! with an error naming the cause and a non-zero exit: a process that stays up with nothing
//! behind its port would only keep a supervisor from restarting it.

use std::net::SocketAddr;

use anyhow::Context;

use signq_kit::expiry::Watched;
use signq_kit::tls::TlsFiles;
use signq_scheduler::config::StoreLocation;
use signq_signer::service::config::TsaSettings;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::scheduler::SchedulerArgs;
use super::signer::SignerArgs;
use crate::layout::DataDir;

/// Which services to run, and where the metrics page goes.
#[derive(Debug)]
pub struct Services {
    /// The signer service, if run here.
    pub signer: Option<SignerArgs>,
    /// The scheduler, if run here.
    pub scheduler: Option<SchedulerArgs>,
    /// The metrics address.
    pub metrics: SocketAddr,
}

/// The bound listeners, so that callers can print or use the addresses before serving.
#[derive(Debug)]
pub struct Bound {
    signer: Option<TcpListener>,
    tsa: Option<TcpListener>,
    scheduler: Option<TcpListener>,
    metrics: TcpListener,
}

impl Bound {
    /// The signer service's address.
    pub fn signer_addr(&self) -> Option<SocketAddr> {
        self.signer.as_ref().and_then(|l| l.local_addr().ok())
    }
    /// The scheduler's address.
    pub fn scheduler_addr(&self) -> Option<SocketAddr> {
        self.scheduler.as_ref().and_then(|l| l.local_addr().ok())
    }
}

impl Services {
    /// Binds every listener (port 0 picks a free port) and prints the addresses; tests and scripts
    /// read these lines.
    pub async fn bind(&self) -> anyhow::Result<Bound> {
        let signer = match &self.signer {
            Some(a) => Some(TcpListener::bind(a.listen).await?),
            None => None,
        };
        let tsa = match self.signer.as_ref().and_then(|a| a.tsa_listen) {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let scheduler = match &self.scheduler {
            Some(a) => Some(TcpListener::bind(a.listen).await?),
            None => None,
        };
        let metrics = TcpListener::bind(self.metrics).await?;
        let bound = Bound {
            signer,
            tsa,
            scheduler,
            metrics,
        };
        if let Some(addr) = bound.signer_addr() {
            println!("signer listening on {addr}");
        }
        if let Some(addr) = bound.tsa.as_ref().and_then(|l| l.local_addr().ok()) {
            println!("timestamp authority listening on http://{addr}/");
        }
        if let Some(addr) = bound.scheduler_addr() {
            println!("scheduler listening on {addr}");
        }
        println!("metrics on http://{}/metrics", bound.metrics.local_addr()?);
        Ok(bound)
    }

    /// Serves until `shutdown`, then stops every service.
    pub async fn serve(
        self,
        bound: Bound,
        data: &DataDir,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut buckets = vec![(
            signq_signer::service::metrics::BATCH_SIZE,
            signq_signer::service::metrics::BATCH_SIZE_BUCKETS,
        )];
        for name in [
            signq_scheduler::metrics::WAIT_LEASE,
            signq_scheduler::metrics::WAIT_SIGNED,
        ] {
            buckets.push((name, signq_scheduler::metrics::WAIT_BUCKETS));
        }
        let recorder = signq_kit::metrics_http::install(&buckets)?;
        let (stop, stopped) = watch::channel(false);
        let wait = move || {
            let mut rx = stopped.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async_result(signq_kit::metrics_http::serve(
            bound.metrics,
            recorder,
            wait(),
        )));
        let mut watched = Vec::new();
        if let (Some(args), Some(listener)) = (&self.signer, bound.signer) {
            let config = args.config(data)?;
            watched.extend(depends_on(&config.tls, &args.cert_name));
            watched.push(Watched::CertificatesIn {
                kind: "signer",
                dir: config.keystore_dir.clone(),
            });
            if let Some(TsaSettings::Local { files, .. }) = &config.tsa {
                watched.push(Watched::Certificate {
                    name: args.tsa_cert_name.clone(),
                    kind: "timestamping",
                    path: files.cert.clone(),
                });
            }
            if let Some(dir) = config.state_path.parent() {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "creating the directory of the signer's state {}",
                        config.state_path.display()
                    )
                })?;
            }
            let w = wait();
            let tsa = bound.tsa;
            tasks.spawn(async move {
                signq_signer::service::run(config, listener, tsa, w)
                    .await
                    .map_err(anyhow::Error::from)
            });
        }
        if let (Some(args), Some(listener)) = (&self.scheduler, bound.scheduler) {
            let config = args.config(data)?;
            watched.extend(depends_on(&config.tls, &args.cert_name));
            if let StoreLocation::Sqlite(path) = &config.store
                && let Some(dir) = path.parent()
            {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "creating the directory of the scheduler's store {}",
                        path.display()
                    )
                })?;
            }
            let w = wait();
            tasks.spawn(async move {
                signq_scheduler::server::run(config, listener, w)
                    .await
                    .map_err(anyhow::Error::from)
            });
        }
        signq_kit::expiry::spawn(watched);
        let stop = std::sync::Arc::new(stop);
        {
            let stop = stop.clone();
            tokio::spawn(async move {
                shutdown.await;
                let _ = stop.send(true);
            });
        }
        let mut first_error = None;
        while let Some(done) = tasks.join_next().await {
            let result = done.map_err(anyhow::Error::from).and_then(|r| r);
            if let Err(e) = result {
                tracing::error!(error = %e, "service stopped with an error; stopping the others");
                // The others stop too: the process exits with the error rather than serving
                // half of what it should.
                let _ = stop.send(true);
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// What a service's TLS depends on: its own certificate, the ward CA, the CRL.
fn depends_on(tls: &TlsFiles, name: &str) -> Vec<Watched> {
    let mut watched = vec![
        Watched::Certificate {
            name: name.to_string(),
            kind: "service",
            path: tls.cert.clone(),
        },
        Watched::Certificate {
            name: "ca".to_string(),
            kind: "ca",
            path: tls.ca.clone(),
        },
    ];
    watched.extend(tls.crl.clone().map(Watched::Crl));
    watched
}

async fn async_result(f: impl Future<Output = std::io::Result<()>>) -> anyhow::Result<()> {
    f.await.map_err(anyhow::Error::from)
}
