//! The signer service's keystore: one signing certificate and one encrypted key per signer.
//!
//! A signing key file is encrypted PKCS#8 whose password is derived from the signer's PIN *and* the
//! service's key-encryption key (KEK): `hex(HMAC-SHA256(KEK, "signq-signing-key" ‖ 0 ‖ signer id ‖
//! 0 ‖ PIN))`. A stolen key file is useless without the KEK, and the KEK is useless without the
//! PIN, which only the person knows. The key is decrypted for one batch at a time into zeroizing
//! memory, turned into a [`CmsSigner`], and dropped when the batch is signed.
//!
//! Files: `<dir>/<signer id with '/' as '_'>.crt.pem` and `.key.pem`. The keystore rescans the
//! directory when asked for a signer it does not know, so keys added by `signq pki signer` while
//! the service runs are found without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rand::RngCore;
use signq_kit::identity::{PeerIdentity, Role};
use signq_kit::keyfile::{self, KeyFileError};
use zeroize::Zeroizing;

use crate::cms::{CmsError, CmsSigner};

/// The shortest PIN accepted when a key is installed.
pub const MIN_PIN_DIGITS: usize = 6;
/// The longest PIN accepted.
pub const MAX_PIN_DIGITS: usize = 12;

/// Why the keystore could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No key is held for this signer id.
    #[error("no signing key for signer {0:?}")]
    UnknownSigner(String),
    /// The PIN did not open the key.
    #[error("wrong PIN for signer {0:?}")]
    WrongPin(String),
    /// A PIN is not 6 to 12 decimal digits.
    #[error("a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits")]
    BadPin,
    /// The certificate is not a signing certificate (no director or deputy role, or no signer id).
    #[error("certificate is not a signq signing certificate: {0}")]
    NotASigningCertificate(String),
    /// The key-encryption key file is missing, unreadable or not 32 bytes.
    #[error("key-encryption key {path}: {reason}")]
    Kek { path: PathBuf, reason: String },
    /// A key file could not be read or written.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The decrypted key does not fit the certificate.
    #[error("signing key of {signer}: {source}")]
    Key {
        signer: String,
        #[source]
        source: CmsError,
    },
    /// The keystore directory could not be read.
    #[error("keystore {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The service's key-encryption key: 32 random bytes kept apart from the key files.
pub struct Kek(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// Reads the KEK from `path`.
    pub fn load(path: &Path) -> Result<Kek, KeystoreError> {
        let err = |reason: String| KeystoreError::Kek {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| err(e.to_string()))?);
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| err(format!("{} bytes, expected 32", bytes.len())))?;
        Ok(Kek(Zeroizing::new(array)))
    }

    /// Reads the KEK from `path`, first creating it (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Kek, KeystoreError> {
        if !path.exists() {
            let mut fresh = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(fresh.as_mut());
            keyfile::write_private(path, fresh.as_ref())?;
        }
        Kek::load(path)
    }

    /// The key-file password for one signer and PIN.
    fn password(&self, signer_id: &str, pin: &str) -> Zeroizing<Vec<u8>> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.0.as_ref());
        let mut mac = ring::hmac::Context::with_key(&key);
        for part in [
            b"signq-signing-key".as_slice(),
            &[0],
            signer_id.as_bytes(),
            &[0],
            pin.as_bytes(),
        ] {
            mac.update(part);
        }
        Zeroizing::new(hex::encode(mac.sign().as_ref()).into_bytes())
    }
}

/// Checks the form of a PIN: 6 to 12 decimal digits.
pub fn check_pin(pin: &str) -> Result<(), KeystoreError> {
    let ok = (MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len())
        && pin.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(KeystoreError::BadPin)
    }
}

/// What the keystore knows of one signer, without the key.
#[derive(Debug, Clone)]
pub struct SignerEntry {
    /// The signer id from the certificate (`urn:signq:signer:`).
    pub signer_id: String,
    /// The person's name (certificate CN).
    pub display_name: String,
    /// The ward id from the certificate.
    pub ward: String,
    /// Director or deputy.
    pub role: Role,
    /// The signing certificate, DER.
    pub cert_der: Vec<u8>,
    /// The directory and file-name stem of the key and certificate files.
    stem: PathBuf,
}

impl SignerEntry {
    fn key_path(&self) -> PathBuf {
        self.file(".key.pem")
    }
    fn cert_path(&self) -> PathBuf {
        self.file(".crt.pem")
    }
    fn file(&self, suffix: &str) -> PathBuf {
        let mut name = self.stem.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    }
}

/// The keys of every signer the service serves.
#[derive(Debug)]
pub struct Keystore {
    dir: PathBuf,
    kek: Kek,
    chain: Vec<Vec<u8>>,
    iterations: u32,
    entries: RwLock<BTreeMap<String, SignerEntry>>,
}

impl Keystore {
    /// Opens the keystore in `dir` (created if missing). `chain` is the CA certificate chain (DER)
    /// included in every signature.
    pub fn open(dir: &Path, kek: Kek, chain: Vec<Vec<u8>>) -> Result<Keystore, KeystoreError> {
        std::fs::create_dir_all(dir).map_err(|source| KeystoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = Keystore {
            dir: dir.to_path_buf(),
            kek,
            chain,
            iterations: keyfile::DEFAULT_ITERATIONS,
            entries: RwLock::new(BTreeMap::new()),
        };
        store.rescan()?;
        Ok(store)
    }

    /// Encrypts and stores a signer's key under its PIN, with its certificate.
    pub fn install(
        &self,
        cert_der: &[u8],
        key_pkcs8: &[u8],
        pin: &str,
    ) -> Result<SignerEntry, KeystoreError> {
        check_pin(pin)?;
        let entry = self.entry_for(cert_der)?;
        // Refuse a key that does not belong to the certificate before anything is written.
        CmsSigner::new(key_pkcs8, cert_der.to_vec(), Vec::new()).map_err(|source| {
            KeystoreError::Key {
                signer: entry.signer_id.clone(),
                source,
            }
        })?;
        let password = self.kek.password(&entry.signer_id, pin);
        keyfile::write(&entry.key_path(), key_pkcs8, &password, self.iterations)?;
        keyfile::write_private(&entry.cert_path(), pem_cert(cert_der).as_bytes())?;
        self.write_entries()
            .insert(entry.signer_id.clone(), entry.clone());
        Ok(entry)
    }

    /// The signer's entry, rescanning the directory once if it is not known yet.
    pub fn get(&self, signer_id: &str) -> Result<SignerEntry, KeystoreError> {
        if let Some(entry) = self.read_entries().get(signer_id) {
            return Ok(entry.clone());
        }
        self.rescan()?;
        self.read_entries()
            .get(signer_id)
            .cloned()
            .ok_or_else(|| KeystoreError::UnknownSigner(signer_id.to_string()))
    }

    /// Every signer, ordered by id.
    pub fn list(&self) -> Result<Vec<SignerEntry>, KeystoreError> {
        self.rescan()?;
        Ok(self.read_entries().values().cloned().collect())
    }

    /// Decrypts the signer's key with the PIN into a signer for one batch.
    pub fn unlock(&self, signer_id: &str, pin: &str) -> Result<CmsSigner, KeystoreError> {
        let entry = self.get(signer_id)?;
        let password = self.kek.password(signer_id, pin);
        let key = keyfile::read(&entry.key_path(), &password).map_err(|e| match e {
            KeyFileError::WrongPassword { .. } => KeystoreError::WrongPin(signer_id.to_string()),
            other => KeystoreError::KeyFile(other),
        })?;
        CmsSigner::new(&key, entry.cert_der.clone(), self.chain.clone()).map_err(|source| {
            KeystoreError::Key {
                signer: signer_id.to_string(),
                source,
            }
        })
    }

    fn entry_for(&self, cert_der: &[u8]) -> Result<SignerEntry, KeystoreError> {
        let bad = |why: &str| KeystoreError::NotASigningCertificate(why.to_string());
        let identity = PeerIdentity::from_der(cert_der).map_err(|e| bad(&e.to_string()))?;
        let role = identity
            .roles
            .iter()
            .copied()
            .find(|r| r.is_signer())
            .ok_or_else(|| bad("no director or deputy role"))?;
        let signer_id = identity.signer_id.ok_or_else(|| bad("no signer id"))?;
        let ward = identity.ward.ok_or_else(|| bad("no ward"))?;
        if signer_id.is_empty() || signer_id.contains("..") || signer_id.contains(['\\', '\0']) {
            return Err(bad("signer id is not usable as a file name"));
        }
        let stem = self.dir.join(signer_id.replace('/', "_"));
        Ok(SignerEntry {
            signer_id,
            display_name: identity.common_name,
            ward,
            role,
            cert_der: cert_der.to_vec(),
            stem,
        })
    }

    fn rescan(&self) -> Result<(), KeystoreError> {
        let io = |source| KeystoreError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut found = BTreeMap::new();
        for item in std::fs::read_dir(&self.dir).map_err(io)? {
            let path = item.map_err(io)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".crt.pem") {
                continue;
            }
            let pem = std::fs::read(&path).map_err(|source| KeystoreError::Io {
                path: path.clone(),
                source,
            })?;
            let der = match pem_to_cert(&pem) {
                Some(der) => der,
                None => {
                    tracing::warn!(path = %path.display(), "not a PEM certificate; skipped");
                    continue;
                }
            };
            match self.entry_for(&der) {
                Ok(entry) if entry.key_path().exists() => {
                    found.insert(entry.signer_id.clone(), entry);
                }
                Ok(entry) => {
                    tracing::warn!(signer = %entry.signer_id, "certificate without key file; skipped")
                }
                Err(error) => tracing::warn!(path = %path.display(), %error, "skipped"),
            }
        }
        *self.write_entries() = found;
        Ok(())
    }

    fn read_entries(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, SignerEntry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_entries(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, SignerEntry>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn pem_to_cert(pem: &[u8]) -> Option<Vec<u8>> {
    let (label, der) = der::pem::decode_vec(pem).ok()?;
    (label == "CERTIFICATE").then_some(der)
}

fn pem_cert(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}
