//! The signer service's settings, with the defaults a ward runs on.

use std::path::PathBuf;
use std::sync::Arc;

use signq_kit::guard::Serving;
use signq_kit::secrets::Kek;
use signq_kit::tls::TlsFiles;
use time::UtcOffset;

use super::limits::RateSettings;
use crate::pin::LockoutPolicy;

/// Documents per batch, at most: a director signs a morning's backlog of about 100 records at once.
pub const DEFAULT_MAX_BATCH: usize = 100;
/// Bytes per document, at most: scanned records are PDFs of a few pages.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;
/// Bytes per request, at most (gRPC decoding limit).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Everything the signer service needs to run.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    /// The service's TLS identity and the ward CA and CRL it judges clients by.
    pub tls: TlsFiles,
    /// Where signing keys and certificates live.
    pub keystore_dir: PathBuf,
    /// The key-encryption key that opens the signing key files (kept outside the data directory).
    pub kek: Arc<Kek>,
    /// The SQLite state (lockouts, revoked delegations, daily use).
    pub state_path: PathBuf,
    /// Documents per batch, at most.
    pub max_batch: usize,
    /// Bytes per document, at most.
    pub max_document_bytes: usize,
    /// Bytes per request, at most.
    pub max_request_bytes: usize,
    /// When wrong PINs lock a key.
    pub lockout: LockoutPolicy,
    /// How long a signer's PIN, once stretched and found right, opens their key file again
    /// without being stretched anew (zero: every batch stretches it).
    pub pin_reuse: std::time::Duration,
    /// Per-signer rate limits.
    pub rates: RateSettings,
    /// The wards' time zone, for daily caps (Vietnam: UTC+7).
    pub utc_offset: UtcOffset,
    /// Call and connection limits.
    pub serving: Serving,
    /// The timestamp authority's key and certificate, if the service runs one: every PDF
    /// signature then carries a signature timestamp (PAdES B-T).
    pub tsa: Option<TsaSettings>,
    /// Clerks whose key seals without a PIN in the request (the ward's automatic seal), each
    /// with the PIN that unlocks it, read at start. Only the scheduler can call the service.
    pub unattended: std::collections::BTreeMap<String, String>,
    /// The remote signing providers (CSC API v2) signers' keys may be at, by the name their
    /// `<signer>.remote.json` gives.
    pub remote_providers: std::collections::BTreeMap<String, super::remote::ProviderSettings>,
}

/// Which timestamp authority stamps PDF signatures.
#[derive(Debug, Clone)]
pub enum TsaSettings {
    /// The service's own.
    Local {
        /// Its certificate (from `signq pki timestamping`), with the ward CA as its chain, and
        /// its encrypted key.
        files: TlsFiles,
        /// The policy its tokens state.
        policy: const_oid::ObjectIdentifier,
    },
    /// An outside one, over HTTP (RFC 3161).
    Remote {
        /// Its URL (`http://…`).
        url: String,
        /// The certificates (PEM) its tokens must chain to.
        ca: PathBuf,
    },
}

impl SignerConfig {
    /// Settings with the defaults for everything but the paths.
    pub fn new(tls: TlsFiles, keystore_dir: PathBuf, kek: Arc<Kek>, state_path: PathBuf) -> Self {
        SignerConfig {
            tls,
            keystore_dir,
            kek,
            state_path,
            max_batch: DEFAULT_MAX_BATCH,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            lockout: LockoutPolicy::default(),
            rates: RateSettings::default(),
            utc_offset: UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC),
            serving: Serving::default(),
            tsa: None,
            unattended: Default::default(),
            remote_providers: Default::default(),
            pin_reuse: crate::keystore::DEFAULT_PIN_REUSE,
        }
    }
}
