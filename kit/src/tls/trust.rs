//! The ward CA and its CRL as rustls verifiers, rebuilt when the CRL file changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::CertificateDer;

use super::material::{TlsError, read_certs, read_crls};

/// What peers are judged against: the ward CA and, when configured, its CRL.
#[derive(Debug)]
pub struct Trust {
    ca: PathBuf,
    crl: Option<PathBuf>,
    current: RwLock<Current>,
}

#[derive(Debug)]
struct Current {
    crl_modified: Option<SystemTime>,
    roots: Arc<RootCertStore>,
    client: Arc<dyn ClientCertVerifier>,
    server: Arc<rustls::client::WebPkiServerVerifier>,
}

impl Trust {
    /// Loads the CA and CRL; fails if either cannot be read.
    pub fn load(ca: PathBuf, crl: Option<PathBuf>) -> Result<Arc<Self>, TlsError> {
        let current = build(&ca, crl.as_ref())?;
        Ok(Arc::new(Trust {
            ca,
            crl,
            current: RwLock::new(current),
        }))
    }

    /// The CA certificates as a root store.
    pub fn roots(&self) -> Arc<RootCertStore> {
        self.refresh();
        self.read(|c| c.roots.clone())
    }

    /// The verifier for client certificates (chain to the CA, CRL, validity, clientAuth usage).
    pub fn client_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.refresh();
        self.read(|c| c.client.clone())
    }

    /// The verifier for server certificates.
    pub fn server_verifier(&self) -> Arc<rustls::client::WebPkiServerVerifier> {
        self.refresh();
        self.read(|c| c.server.clone())
    }

    fn read<T>(&self, f: impl FnOnce(&Current) -> T) -> T {
        match self.current.read() {
            Ok(c) => f(&c),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Rebuilds the verifiers if the CRL file changed since they were built. A CRL that cannot be
    /// read keeps the previous verifiers (logged), so a half-written file never opens the door.
    fn refresh(&self) {
        let Some(crl) = &self.crl else { return };
        let modified = std::fs::metadata(crl).and_then(|m| m.modified()).ok();
        if self.read(|c| c.crl_modified == modified) {
            return;
        }
        match build(&self.ca, Some(crl)) {
            Ok(next) => {
                tracing::info!(crl = %crl.display(), "CRL changed; trust reloaded");
                match self.current.write() {
                    Ok(mut c) => *c = next,
                    Err(poisoned) => *poisoned.into_inner() = next,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "CRL changed but cannot be loaded; keeping the previous one")
            }
        }
    }
}

fn build(ca: &Path, crl: Option<&PathBuf>) -> Result<Current, TlsError> {
    let certs: Vec<CertificateDer<'static>> = read_certs(ca)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| TlsError::Verifier(format!("{}: {e}", ca.display())))?;
    }
    let roots = Arc::new(roots);
    let (crls, crl_modified) = match crl {
        Some(path) => (
            read_crls(path)?,
            std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        ),
        None => (Vec::new(), None),
    };
    let provider = super::provider();
    let client = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .with_crls(crls.clone())
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let server =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.clone(), provider)
            .with_crls(crls)
            .allow_unknown_revocation_status()
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
    Ok(Current {
        crl_modified,
        roots,
        client,
        server,
    })
}
