//! What the fuzz targets share: the fixed trust they judge inputs against, and the fixed inputs
//! the seed corpus was made with.
//!
//! The trust is a small ward PKI's CA certificate and CRL, committed in `data/` and read with the
//! same loaders the `signq` commands and services use. `src/bin/seed.rs` writes `data/` and
//! `corpus/` together from one fresh PKI, so that the corpus signatures chain to that CA: the
//! targets start from inputs that verify all the way and mutate them from there.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use signq_kit::tls::Trust;
use signq_signer::cms::TrustStore;
use time::OffsetDateTime;
use time::macros::datetime;

/// The document that every detached signature of the corpus signs; `cms_reader` verifies each
/// input against it.
pub const DOCUMENT: &[u8] = "Bản sao trích lục khai sinh\nHọ và tên: Nguyễn Văn An\n".as_bytes();

/// When the corpus signatures were made; signing certificates are judged at this instant, so
/// that a run does not depend on the clock.
pub const SIGNED_AT: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);

/// The folder of the committed CA certificate and CRL.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The ward CA certificate, PEM.
pub fn ca_path() -> PathBuf {
    data_dir().join("ca.pem")
}

/// The ward CA's CRL, PEM (it revokes one deputy's signing certificate).
pub fn crl_path() -> PathBuf {
    data_dir().join("crl.pem")
}

/// The CMS trust store: the CA and its CRL, as `signq verify` loads them.
pub fn trust_store() -> &'static TrustStore {
    static STORE: OnceLock<TrustStore> = OnceLock::new();
    STORE.get_or_init(|| {
        signq_signer::trust::load(&ca_path(), Some(&crl_path()))
            .unwrap_or_else(|e| panic!("fuzz trust store (run the seed binary?): {e}"))
    })
}

/// The TLS trust: the CA and its CRL, as every signq server loads them.
pub fn tls_trust() -> &'static Trust {
    static TRUST: OnceLock<Arc<Trust>> = OnceLock::new();
    TRUST.get_or_init(|| {
        Trust::load(ca_path(), Some(crl_path()))
            .unwrap_or_else(|e| panic!("fuzz TLS trust (run the seed binary?): {e}"))
    })
}
