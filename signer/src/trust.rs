//! The ward CA certificate and CRL files, read into the [`TrustStore`] that CMS verification uses.
//! Read on each use: both files are small, and `signq pki revoke` must take effect at once.

use std::path::Path;

use signq_kit::tls::material::{TlsError, read_certs, read_crls};

use crate::cms::TrustStore;

/// Loads the CA certificate(s) and, if given, the CRL(s).
pub fn load(ca: &Path, crl: Option<&Path>) -> Result<TrustStore, TlsError> {
    let roots = read_certs(ca)?.into_iter().map(|c| c.to_vec()).collect();
    let crls = match crl {
        Some(path) => read_crls(path)?.into_iter().map(|c| c.to_vec()).collect(),
        None => Vec::new(),
    };
    Ok(TrustStore { roots, crls })
}
