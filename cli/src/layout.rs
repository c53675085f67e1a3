//! Where signq keeps its files, and how secrets (the CA passphrase, key-encryption keys, PINs)
//! reach a command without appearing on its command line.
//!
//! Three places, kept apart so that no one of them opens another:
//!
//! | place | default | holds | who needs it |
//! |---|---|---|---|
//! | data directory | `./signq-data` | stores, the CA certificate and CRL, service and client certificates with their key files, signers' key files | the running services |
//! | CA directory | `signq-ca` beside it | the CA key (under the CA passphrase), the inventory, the CRL | `signq pki` only |
//! | secrets directory | `signq-secrets` beside it, or systemd's `$CREDENTIALS_DIRECTORY` | the CA passphrase, each holder's key-encryption key, device PKCS#12 files | each holder its own |
//!
//! The running services read the data directory and their own key-encryption key; neither of them
//! needs the CA passphrase or the CA directory. `signq pki` issues and revokes offline and
//! publishes what the services need (the CA certificate, the CRL, certificates and sealed keys)
//! into the data directory's `pki/`, where the services pick up a new CRL without a restart.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use signq_kit::secrets::{Kek, KekSource};
use signq_kit::tls::TlsFiles;
use signq_signer::pki::Published;
use zeroize::Zeroizing;

/// The environment variable that may carry the CA passphrase.
pub const CA_PASSPHRASE_ENV: &str = "SIGNQ_CA_PASSPHRASE";

/// The directory options shared by every subcommand.
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
    /// The CA directory, for `signq pki` (default: `signq-ca` beside the data directory).
    #[arg(long, env = "SIGNQ_CA_DIR", global = true)]
    pub ca_dir: Option<PathBuf>,
    /// The secrets directory (default: `$CREDENTIALS_DIRECTORY` under systemd, else
    /// `signq-secrets` beside the data directory).
    #[arg(long, env = "SIGNQ_SECRETS_DIR", global = true)]
    pub secrets_dir: Option<PathBuf>,
    /// The CA passphrase file, for `signq pki` (default: `ca-passphrase` in the secrets
    /// directory); `SIGNQ_CA_PASSPHRASE` overrides it.
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
}

impl DataDir {
    /// The layout of one directory `dir` holding all three: `dir/data`, `dir/ca`, `dir/secrets`
    /// (load tests and benchmarks that make a throw-away ward).
    pub fn within(dir: &Path) -> DataDir {
        DataDir {
            data_dir: dir.join("data"),
            ca_dir: Some(dir.join("ca")),
            secrets_dir: Some(dir.join("secrets")),
            passphrase_file: None,
        }
    }

    /// The options that make a child `signq` process use this same layout.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args = vec!["--data-dir".into(), self.data_dir.clone().into_os_string()];
        args.extend(["--ca-dir".into(), self.ca_dir().into_os_string()]);
        args.extend(["--secrets-dir".into(), self.secrets_dir().into_os_string()]);
        args
    }

    /// A directory beside the data directory.
    fn beside(&self, name: &str) -> PathBuf {
        match self.data_dir.parent() {
            Some(parent) => parent.join(name),
            None => PathBuf::from(name),
        }
    }

    /// The CA directory (`signq pki` only).
    pub fn ca_dir(&self) -> PathBuf {
        self.ca_dir
            .clone()
            .unwrap_or_else(|| self.beside("signq-ca"))
    }

    /// The secrets directory.
    pub fn secrets_dir(&self) -> PathBuf {
        if let Some(dir) = &self.secrets_dir {
            return dir.clone();
        }
        match std::env::var_os("CREDENTIALS_DIRECTORY") {
            Some(dir) => PathBuf::from(dir),
            None => self.beside("signq-secrets"),
        }
    }

    /// Where the key-encryption keys come from; `file` is a `--kek-file` given to a service.
    pub fn keks<'a>(&'a self, secrets: &'a Path, file: Option<&'a Path>) -> KekSource<'a> {
        KekSource {
            file,
            secrets_dir: secrets,
            data_dir: &self.data_dir,
        }
    }

    /// The key-encryption key of the holder `name` (a service, client or device).
    pub fn kek(&self, name: &str, file: Option<&Path>) -> anyhow::Result<Kek> {
        let secrets = self.secrets_dir();
        self.keks(&secrets, file)
            .load(name)
            .with_context(|| format!("the key-encryption key of {name}"))
    }

    /// As [`DataDir::kek`], creating it in the secrets directory if none exists yet (offline steps
    /// that issue keys).
    pub fn kek_or_create(&self, name: &str) -> anyhow::Result<Kek> {
        let secrets = self.secrets_dir();
        self.keks(&secrets, None)
            .load_or_create(name)
            .with_context(|| format!("the key-encryption key of {name}"))
    }

    /// What the services read of the PKI: the CA certificate, the CRL, certificates and keys.
    pub fn published(&self) -> Published {
        Published::new(self.data_dir.join("pki"))
    }
    /// The signer service's keystore.
    pub fn keystore(&self) -> PathBuf {
        self.data_dir.join("signer").join("keys")
    }
    /// The signer service's state database.
    pub fn signer_state(&self) -> PathBuf {
        self.data_dir.join("signer").join("state.db")
    }
    /// The calendar's override files, one per year.
    pub fn calendar_dir(&self) -> PathBuf {
        self.data_dir.join("calendar")
    }
    /// The scheduler's database.
    pub fn scheduler_db(&self) -> PathBuf {
        self.data_dir.join("scheduler").join("signq.db")
    }
    /// The ward CA certificate, as published to the services.
    pub fn ca_cert(&self) -> PathBuf {
        self.published().ca_cert()
    }
    /// The ward CRL, as published to the services.
    pub fn crl(&self) -> PathBuf {
        self.published().crl()
    }
    /// A device's PKCS#12 file (certificate and key for a browser) and its password file.
    pub fn device_p12(&self, name: &str) -> (PathBuf, PathBuf) {
        self.p12_in("devices", name)
    }
    /// A client's PKCS#12 file (certificate and key for an intake system's HTTP client) and its
    /// password file.
    pub fn client_p12(&self, name: &str) -> (PathBuf, PathBuf) {
        self.p12_in("clients", name)
    }
    fn p12_in(&self, kind: &str, name: &str) -> (PathBuf, PathBuf) {
        let stem = name.replace('/', "_");
        let dir = self.secrets_dir().join(kind);
        (
            dir.join(format!("{stem}.p12")),
            dir.join(format!("{stem}.p12.password")),
        )
    }

    fn passphrase_path(&self) -> PathBuf {
        self.passphrase_file
            .clone()
            .unwrap_or_else(|| self.secrets_dir().join("ca-passphrase"))
    }

    /// The CA passphrase (`signq pki` only).
    pub fn passphrase(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if let Ok(p) = std::env::var(CA_PASSPHRASE_ENV) {
            return Ok(Zeroizing::new(p.into_bytes()));
        }
        let path = self.passphrase_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the CA passphrase from {} (or set {CA_PASSPHRASE_ENV})",
                path.display()
            )
        })?;
        Ok(Zeroizing::new(
            text.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
        ))
    }

    /// The CA passphrase, first creating a random one (mode 0600) if none exists.
    pub fn passphrase_or_create(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let path = self.passphrase_path();
        if std::env::var_os(CA_PASSPHRASE_ENV).is_none() && !path.exists() {
            let mut bytes = [0u8; 24];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let text = hex::encode(bytes);
            signq_kit::keyfile::write_private(&path, text.as_bytes())?;
        }
        self.passphrase()
    }

    /// The TLS files of the certificate `name` published by `signq pki server|client|device`,
    /// its key opened with the holder's key-encryption key (`kek_file`, or the usual sources).
    pub fn tls(&self, name: &str, kek_file: Option<&Path>) -> anyhow::Result<TlsFiles> {
        let kek = self.kek(name, kek_file)?;
        let published = self.published();
        Ok(TlsFiles {
            ca: published.ca_cert(),
            crl: Some(published.crl()),
            cert: published.cert(name),
            key: published.key(name),
            key_password: kek.tls_key_password(name),
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
