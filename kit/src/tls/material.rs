//! Loading the PEM files a TLS endpoint needs: its certificate, its encrypted key, the ward CA and
//! the CRL. Every failure names the file and what was wrong with it.

use std::path::{Path, PathBuf};

use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};
use zeroize::Zeroizing;

use crate::keyfile::{self, KeyFileError};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A PEM file held nothing of the expected kind.
    #[error("{path}: no {what} found in PEM")]
    Empty { path: PathBuf, what: &'static str },
    /// The key file could not be opened.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// rustls refused the configuration (e.g. the key does not match the certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The CA certificate or CRL could not be turned into a verifier.
    #[error("trust configuration: {0}")]
    Verifier(String),
    /// The address to connect to is not usable as a TLS server name.
    #[error("invalid server name {0:?}")]
    ServerName(String),
}

/// The files of one TLS endpoint. The key is an encrypted PKCS#8 file opened with `key_password`.
#[derive(Clone)]
pub struct TlsFiles {
    /// The ward CA certificate(s) that peers must chain to.
    pub ca: PathBuf,
    /// The CRL published by the CA, re-read when it changes; optional.
    pub crl: Option<PathBuf>,
    /// This endpoint's certificate (chain), PEM.
    pub cert: PathBuf,
    /// This endpoint's encrypted private key, PEM.
    pub key: PathBuf,
    /// The password of the key file.
    pub key_password: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("ca", &self.ca)
            .field("crl", &self.crl)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// The certificate chain and decrypted key of this endpoint.
    pub fn identity(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let certs = read_certs(&self.cert)?;
        let key = keyfile::read(&self.key, &self.key_password)?;
        Ok((
            certs,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
        ))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every certificate in a PEM file; at least one must be there.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_path_buf(),
            what: "certificate",
        });
    }
    Ok(certs)
}

/// Reads every CRL in a PEM file (an empty list is allowed).
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::crls(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })
}
