//! `signq signer`: runs the signing service until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use signq_kit::tls::TlsFiles;
use signq_signer::service::config::TsaSettings;
use signq_signer::service::remote::ProviderSettings;
use signq_signer::service::{self, SignerConfig};

use crate::layout::DataDir;

/// Options of `signq signer`.
#[derive(Debug, Clone, Args)]
pub struct SignerArgs {
    /// The gRPC (mutual TLS) address.
    #[arg(long, default_value = "127.0.0.1:7443")]
    pub listen: SocketAddr,
    /// The name of the service's certificate in the PKI (`signq pki server --name`).
    #[arg(long, default_value = "signer")]
    pub cert_name: String,
    /// The service's key-encryption key (opens its TLS key and the signers' key files); else
    /// `SIGNQ_KEK`, else `<cert name>.kek` in the secrets directory. Never in the data directory.
    #[arg(long)]
    pub kek_file: Option<std::path::PathBuf>,
    /// Documents per batch, at most.
    #[arg(long, default_value_t = service::config::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Bytes per document, at most.
    #[arg(long, default_value_t = service::config::DEFAULT_MAX_DOCUMENT_BYTES)]
    pub max_document_bytes: usize,
    /// Bytes per request, at most (a batch's documents together).
    #[arg(long, default_value_t = service::config::DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Wrong PINs within the lockout window that lock a key.
    #[arg(long, default_value_t = 5)]
    pub lockout_failures: u32,
    /// The window in which wrong PINs are counted, in seconds.
    #[arg(long, default_value_t = 900)]
    pub lockout_window_secs: u64,
    /// How long a locked key stays locked, in seconds.
    #[arg(long, default_value_t = 900)]
    pub lockout_secs: u64,
    /// How long a signer's PIN, once stretched (Argon2id) and found right, opens their key file
    /// again without being stretched anew, in seconds; every batch still needs the PIN. 0:
    /// stretch it for every batch.
    #[arg(long, default_value_t = 600)]
    pub pin_reuse_secs: u64,
    /// PIN attempts per signer per minute.
    #[arg(long, default_value_t = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN))]
    pub pin_attempts_per_minute: NonZeroU32,
    /// Signatures per signer per hour.
    #[arg(long, default_value_t = NonZeroU32::new(1200).unwrap_or(NonZeroU32::MIN))]
    pub signatures_per_hour: NonZeroU32,
    /// Signatures a signer may make at once.
    #[arg(long, default_value_t = NonZeroU32::new(300).unwrap_or(NonZeroU32::MIN))]
    pub signature_burst: NonZeroU32,
    /// The name of the timestamp authority's certificate (`signq pki timestamping`); while it
    /// is published, every PDF signature carries a signature timestamp.
    #[arg(long, default_value = super::pki::TIMESTAMPING)]
    pub tsa_cert_name: String,
    /// The policy the timestamp authority's tokens state (an object identifier); set the one
    /// your province registered.
    #[arg(long, default_value_t = signq_signer::tsa::DEFAULT_POLICY)]
    pub tsa_policy: der::oid::ObjectIdentifier,
    /// Also serve the timestamp authority over HTTP (RFC 3161) at this address.
    #[arg(long)]
    pub tsa_listen: Option<SocketAddr>,
    /// Timestamp with an outside authority at this URL (RFC 3161 over HTTP) instead of the
    /// service's own.
    #[arg(long, requires = "tsa_ca")]
    pub tsa_url: Option<String>,
    /// The certificates (PEM) the outside authority's tokens must chain to.
    #[arg(long)]
    pub tsa_ca: Option<std::path::PathBuf>,
    /// Hold a clerk's key for the ward's automatic seal, as `SIGNER_ID=PIN_FILE` (the file
    /// holds the PIN that unlocks it; e.g. a systemd credential): the scheduler then seals
    /// that ward's signed PDFs without a PIN. Repeat for each ward that seals automatically.
    #[arg(long, value_name = "SIGNER_ID=PIN_FILE", value_parser = name_and_file)]
    pub unattended_seal: Vec<(String, PathBuf)>,
    /// A remote signing provider (CSC API v2) signers' keys may be at, as `NAME=FILE`: the TOML
    /// file gives `base_uri`, `token_uri`, `client_id`, `client_secret_file` and optionally
    /// `tls_roots` and `confirmation_timeout_secs` (see docs/keys.md). Repeat for each provider.
    #[arg(long, value_name = "NAME=FILE", value_parser = name_and_file)]
    pub remote_provider: Vec<(String, PathBuf)>,
}

impl SignerArgs {
    /// The service configuration these options and the data directory describe.
    pub fn config(&self, data: &DataDir) -> anyhow::Result<SignerConfig> {
        let kek = self.kek_file.as_deref();
        let mut config = SignerConfig::new(
            data.tls(&self.cert_name, kek)?,
            data.keystore(),
            Arc::new(data.kek(&self.cert_name, kek)?),
            data.signer_state(),
        );
        config.max_batch = self.max_batch;
        config.max_document_bytes = self.max_document_bytes;
        config.max_request_bytes = self.max_request_bytes;
        config.lockout.max_failures = self.lockout_failures;
        config.lockout.window = Duration::from_secs(self.lockout_window_secs);
        config.lockout.lock_for = Duration::from_secs(self.lockout_secs);
        config.pin_reuse = Duration::from_secs(self.pin_reuse_secs);
        config.rates.pin_attempts_per_minute = self.pin_attempts_per_minute;
        config.rates.signatures_per_hour = self.signatures_per_hour;
        config.rates.signature_burst = self.signature_burst;
        for (signer, file) in &self.unattended_seal {
            let pin = std::fs::read_to_string(file).with_context(|| {
                format!("--unattended-seal {signer}={}: reading it", file.display())
            })?;
            config
                .unattended
                .insert(signer.clone(), pin.trim().to_string());
        }
        for (name, file) in &self.remote_provider {
            let settings = ProviderSettings::from_file(file)
                .map_err(|e| anyhow::anyhow!("--remote-provider {name}={}: {e}", file.display()))?;
            config.remote_providers.insert(name.clone(), settings);
        }
        let published = data.published();
        if let (Some(url), Some(ca)) = (&self.tsa_url, &self.tsa_ca) {
            config.tsa = Some(TsaSettings::Remote {
                url: url.clone(),
                ca: ca.clone(),
            });
        } else if published.cert(&self.tsa_cert_name).exists() {
            let name = &self.tsa_cert_name;
            let kek = data.kek(&self.cert_name, kek)?;
            config.tsa = Some(TsaSettings::Local {
                files: TlsFiles {
                    ca: published.ca_cert(),
                    crl: Some(published.crl()),
                    cert: published.cert(name),
                    key: published.key(name),
                    key_password: kek.tls_key_password(name),
                },
                policy: self.tsa_policy,
            });
        }
        Ok(config)
    }
}

/// A value parser for `NAME=FILE`.
fn name_and_file(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("{text:?} is not NAME=FILE")),
    }
}
