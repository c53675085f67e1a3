//! The ward CA certificate and CRL files, read into the [`TrustStore`] that CMS verification uses.
//! Read on each use: both files are small, and `signq pki revoke` must take effect at once.

use std::path::{Path, PathBuf};

use crate::cms::TrustStore;

/// A trust file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TrustError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

fn pem_blocks(path: &Path, label: &str) -> Result<Vec<Vec<u8>>, TrustError> {
    let err = |reason: String| TrustError {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(&begin) {
        let stop = rest[start..]
            .find(&end)
            .ok_or_else(|| err(format!("unterminated {label}")))?
            + start
            + end.len();
        let (_, der) =
            der::pem::decode_vec(rest[start..stop].as_bytes()).map_err(|e| err(e.to_string()))?;
        blocks.push(der);
        rest = &rest[stop..];
    }
    Ok(blocks)
}

/// Loads the CA certificate(s) and, if given, the CRL(s).
pub fn load(ca: &Path, crl: Option<&Path>) -> Result<TrustStore, TrustError> {
    let roots = pem_blocks(ca, "CERTIFICATE")?;
    if roots.is_empty() {
        return Err(TrustError {
            path: ca.to_path_buf(),
            reason: "no CERTIFICATE in file".into(),
        });
    }
    let crls = match crl {
        Some(path) => pem_blocks(path, "X509 CRL")?,
        None => Vec::new(),
    };
    Ok(TrustStore { roots, crls })
}
