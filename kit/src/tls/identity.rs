//! An endpoint's own certificate and key, re-read when their files change: `signq pki` renews a
//! service's certificate in place, and the running service presents the new one from its next
//! handshake on, with no restart (connections already open keep theirs). The same holds for the
//! certificate a client presents. A renewal that cannot be read (written half-way, a key that
//! does not open or does not match) is logged and the identity in use stays.
//!
//! Checking costs two `stat`s per handshake.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::material::{TlsError, TlsFiles};

/// When the certificate and the key files were last changed.
type Stamp = (Option<SystemTime>, Option<SystemTime>);

/// The identity in use and the files it came from.
pub struct Identity {
    files: TlsFiles,
    current: RwLock<(Stamp, Arc<CertifiedKey>)>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert", &self.files.cert)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads the identity of `files`; fails if it cannot be read now.
    pub fn load(files: &TlsFiles) -> Result<Arc<Identity>, TlsError> {
        let stamp = stamp(files);
        let key = certified(files)?;
        Ok(Arc::new(Identity {
            files: files.clone(),
            current: RwLock::new((stamp, key)),
        }))
    }

    /// The identity to present now, re-read first if its files changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let now = stamp(&self.files);
        {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            if current.0 == now {
                return Arc::clone(&current.1);
            }
        }
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if current.0 != now {
            match certified(&self.files) {
                Ok(key) => {
                    tracing::info!(cert = %self.files.cert.display(), "certificate changed; presenting the new one");
                    *current = (now, key);
                }
                Err(error) => {
                    tracing::warn!(cert = %self.files.cert.display(), %error, "the changed certificate cannot be used; keeping the one in use");
                    // Not tried again until the files change once more.
                    current.0 = now;
                }
            }
        }
        Arc::clone(&current.1)
    }
}

fn stamp(files: &TlsFiles) -> Stamp {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (modified(&files.cert), modified(&files.key))
}

fn certified(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let (certs, key) = files.identity()?;
    Ok(Arc::new(CertifiedKey::from_der(
        certs,
        key,
        &super::provider(),
    )?))
}

impl ResolvesServerCert for Identity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for Identity {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
