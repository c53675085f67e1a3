//! Where signq keeps its files under the data directory (default `./signq-data`), and how
//! secrets (the PKI passphrase, PINs) reach a command without appearing on its command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use signq_kit::tls::TlsFiles;
use zeroize::Zeroizing;

/// The data directory option shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// The data directory.
    #[arg(
        long,
        env = "SIGNQ_DATA_DIR",
        default_value = "./signq-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// The PKI passphrase file (encrypts the CA and service keys); `SIGNQ_PKI_PASSPHRASE` overrides it.
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
}

impl DataDir {
    /// The ward PKI directory.
    pub fn pki(&self) -> PathBuf {
        self.data_dir.join("pki")
    }
    /// The signer service's keystore.
    pub fn keystore(&self) -> PathBuf {
        self.data_dir.join("signer").join("keys")
    }
    /// The signer service's key-encryption key.
    pub fn kek(&self) -> PathBuf {
        self.data_dir.join("signer").join("kek")
    }
    /// The signer service's state database.
    pub fn signer_state(&self) -> PathBuf {
        self.data_dir.join("signer").join("state.db")
    }
    /// The scheduler's database.
    pub fn scheduler_db(&self) -> PathBuf {
        self.data_dir.join("scheduler").join("signq.db")
    }
    /// The ward CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.pki().join("ca.crt.pem")
    }
    /// The ward CRL.
    pub fn crl(&self) -> PathBuf {
        self.pki().join("crl.pem")
    }
    fn passphrase_path(&self) -> PathBuf {
        self.passphrase_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets").join("pki-passphrase"))
    }

    /// The PKI passphrase.
    pub fn passphrase(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if let Ok(p) = std::env::var("SIGNQ_PKI_PASSPHRASE") {
            return Ok(Zeroizing::new(p.into_bytes()));
        }
        let path = self.passphrase_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the PKI passphrase from {} (or set SIGNQ_PKI_PASSPHRASE)",
                path.display()
            )
        })?;
        Ok(Zeroizing::new(
            text.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
        ))
    }

    /// The PKI passphrase, first creating a random one (mode 0600) if none exists.
    pub fn passphrase_or_create(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let path = self.passphrase_path();
        if std::env::var_os("SIGNQ_PKI_PASSPHRASE").is_none() && !path.exists() {
            let mut bytes = [0u8; 24];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let text = hex::encode(bytes);
            signq_kit::keyfile::write_private(&path, text.as_bytes())?;
        }
        self.passphrase()
    }

    /// The TLS files of the service certificate `name` issued by `signq pki server|client`.
    pub fn tls(&self, name: &str) -> anyhow::Result<TlsFiles> {
        let stem = name.replace('/', "_");
        let issued = self.pki().join("issued");
        Ok(TlsFiles {
            ca: self.ca_cert(),
            crl: Some(self.crl()),
            cert: issued.join(format!("{stem}.crt.pem")),
            key: issued.join(format!("{stem}.key.pem")),
            key_password: self.passphrase()?,
        })
    }
}

/// How a command gets a signer's PIN: from a file, or from the environment variable `SIGNQ_PIN`.
#[derive(Debug, Clone, Args)]
pub struct PinSource {
    /// A file holding the PIN (first line); otherwise the `SIGNQ_PIN` environment variable.
    #[arg(long)]
    pub pin_file: Option<PathBuf>,
}

impl PinSource {
    /// The PIN.
    pub fn pin(&self) -> anyhow::Result<Zeroizing<String>> {
        match &self.pin_file {
            Some(path) => read_first_line(path),
            None => std::env::var("SIGNQ_PIN")
                .map(Zeroizing::new)
                .context("no PIN: set SIGNQ_PIN or pass --pin-file"),
        }
    }
}

fn read_first_line(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or_default().to_string(),
    ))
}
