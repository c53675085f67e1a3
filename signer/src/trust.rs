//! The ward CA certificate and CRL files, read into the [`TrustStore`] that CMS verification uses,
//! with the outside CAs (the government's) trusted for signers' certificates: listed in
//! [`OUTSIDE_SIGNER_CAS`] beside the ward CA certificate, as `signq pki trust add` writes it.
//! Read on each use: the files are small, and `signq pki revoke` must take effect at once.
//!
//! The outside CAs are trusted for signatures on documents and delegations only; the services'
//! TLS trusts the ward CA alone.

use std::path::{Path, PathBuf};

use signq_kit::tls::material::{TlsError, read_certs, read_crls};

use crate::cms::TrustStore;

/// The file, beside the ward CA certificate, listing the outside CAs trusted for signers (PEM).
pub const OUTSIDE_SIGNER_CAS: &str = "outside-signer-cas.pem";

/// Where the outside CAs trusted beside the ward CA certificate `ca` are listed.
pub fn outside_list(ca: &Path) -> PathBuf {
    ca.with_file_name(OUTSIDE_SIGNER_CAS)
}

/// Loads the CA certificate(s), the outside CAs trusted for signers beside them, and, if given,
/// the CRL(s).
pub fn load(ca: &Path, crl: Option<&Path>) -> Result<TrustStore, TlsError> {
    let mut roots: Vec<Vec<u8>> = read_certs(ca)?.into_iter().map(|c| c.to_vec()).collect();
    let outside = outside_list(ca);
    if outside.exists() {
        roots.extend(read_certs(&outside)?.into_iter().map(|c| c.to_vec()));
    }
    let crls = match crl {
        Some(path) => read_crls(path)?.into_iter().map(|c| c.to_vec()).collect(),
        None => Vec::new(),
    };
    Ok(TrustStore { roots, crls })
}

/// Why a certificate cannot join the outside CAs.
#[derive(Debug, thiserror::Error)]
pub enum TrustListError {
    /// The file holds no PEM certificate.
    #[error("{0}: no PEM certificate")]
    Empty(PathBuf),
    /// A certificate is not a CA's (no basicConstraints CA).
    #[error("certificate #{index} ({subject}) is not a CA certificate")]
    NotACa { index: usize, subject: String },
    /// A certificate does not parse.
    #[error("certificate #{index}: {reason}")]
    Invalid { index: usize, reason: String },
    /// The list could not be read or written.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The list could not be written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The subject of a certificate, as people read it.
pub fn subject(cert_der: &[u8]) -> Result<String, String> {
    use der::Decode;
    x509_cert::Certificate::from_der(cert_der)
        .map(|c| c.tbs_certificate.subject.to_string())
        .map_err(|e| e.to_string())
}

/// Adds the CA certificates in `file` to the outside CAs trusted beside the ward CA `ca`
/// (each once); returns the subjects added.
pub fn add_outside(ca: &Path, file: &Path) -> Result<Vec<String>, TrustListError> {
    use der::Decode;
    let certs = read_certs(file)?;
    if certs.is_empty() {
        return Err(TrustListError::Empty(file.to_path_buf()));
    }
    let list = outside_list(ca);
    let mut kept: Vec<Vec<u8>> = if list.exists() {
        read_certs(&list)?.into_iter().map(|c| c.to_vec()).collect()
    } else {
        Vec::new()
    };
    let mut added = Vec::new();
    for (index, cert) in certs.iter().enumerate() {
        let parsed =
            x509_cert::Certificate::from_der(cert).map_err(|e| TrustListError::Invalid {
                index,
                reason: e.to_string(),
            })?;
        let is_ca = parsed
            .tbs_certificate
            .get::<x509_cert::ext::pkix::BasicConstraints>()
            .ok()
            .flatten()
            .is_some_and(|(_, bc)| bc.ca);
        let subject = parsed.tbs_certificate.subject.to_string();
        if !is_ca {
            return Err(TrustListError::NotACa { index, subject });
        }
        if !kept.iter().any(|k| k.as_slice() == cert.as_ref()) {
            kept.push(cert.to_vec());
            added.push(subject);
        }
    }
    let pem: String = kept
        .iter()
        .map(|der| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
                .unwrap_or_default()
        })
        .collect();
    std::fs::write(&list, pem).map_err(|source| TrustListError::Io { path: list, source })?;
    Ok(added)
}
