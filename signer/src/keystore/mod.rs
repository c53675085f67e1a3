//! The signer service's keystore: one signing certificate and one key per signer, in a key file
//! sealed under the PIN or on a PKCS#11 token ([`crate::keys`]).
//!
//! A token's key is never in the keystore: `<signer>.token.json` says where it is (the module,
//! the token's label, the key's id), and unlocking it is the token's own login with the PIN.
//! Nor is a remote key: `<signer>.remote.json` names the provider and credential, and checks
//! the PIN (see [`remote`]).
//!
//! A signing key file (`<signer>.key.json`) records how it was sealed and holds a standard
//! encrypted PKCS#8 key (PBES2, AES-256-CBC) whose password is
//! `hex(HMAC-SHA256(KEK, "signq-signing-key" ‖ 0 ‖ signer id ‖ 0 ‖ Argon2id(PIN, salt)))`, with
//! the Argon2id parameters and salt recorded in the file (see [`crate::pin`]). A stolen key file
//! is useless without the KEK, which lives outside the data directory
//! ([`signq_kit::secrets`]), and the KEK is useless without the PIN, which only the person knows;
//! each guess at the PIN costs the Argon2id work. The key is decrypted for one batch at a time
//! into zeroizing memory, turned into a [`CmsSigner`], and dropped when the batch is signed. A
//! file sealed with weaker Argon2id parameters than [`Stretch::CURRENT`] is sealed again with
//! the current ones the next time its PIN opens it.
//!
//! Files: `<dir>/<signer id with '/' as '_'>.crt.pem` and `.key.json` (or `.token.json`,
//! `.remote.json`). The
//! keystore rescans the directory when asked for a signer it does not know or whose certificate
//! was renewed, so keys added or renewed by `signq pki signer` while the service runs are used
//! without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use signq_kit::identity::{PeerIdentity, Role};
use signq_kit::keyfile::{self, KeyFileError};
use signq_kit::secrets::Kek;
use zeroize::Zeroizing;

use crate::cms::{CmsError, CmsSigner};
use crate::keys::pkcs11::{self, TokenError, TokenKey};
use crate::pin::{self, PinFormError, Stretch, StretchError};

mod recent;
mod registration;
mod remote;

pub use recent::DEFAULT_TTL as DEFAULT_PIN_REUSE;

pub use registration::Registration;
pub use remote::RemoteKey;
use remote::RemoteRef;

/// The format tag of a signing key file.
const FORMAT: &str = "signq-signing-key/2";
/// The format tag of a reference to a key on a token.
const TOKEN_FORMAT: &str = "signq-token-key/1";
/// PBKDF2 iterations of the inner PKCS#8 container. Its password is already 256 bits derived
/// from the KEK and the stretched PIN, so iterations add nothing; a few keep stock tools happy.
const INNER_ITERATIONS: u32 = 1_000;
/// Bytes of Argon2id salt per key file.
const SALT_BYTES: usize = 16;

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
    #[error(transparent)]
    BadPin(#[from] PinFormError),
    /// The certificate is not a signing certificate (no director or deputy role, or no signer id).
    #[error("certificate is not a signq signing certificate: {0}")]
    NotASigningCertificate(String),
    /// A key file could not be read or written.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// A key file is not a signq signing key file.
    #[error("signing key file {path}: {reason}")]
    Format { path: PathBuf, reason: String },
    /// The PIN could not be stretched with the parameters of a key file.
    #[error("signing key of {signer}: {source}")]
    Stretch {
        signer: String,
        #[source]
        source: StretchError,
    },
    /// The decrypted key does not fit the certificate.
    #[error("signing key of {signer}: {source}")]
    Key {
        signer: String,
        #[source]
        source: CmsError,
    },
    /// The signer's key is at a remote provider, which signs only batches of the queue.
    #[error(
        "the key of signer {0} is at a remote signing provider; it signs records of the queue only"
    )]
    Remote(String),
    /// A confirmation was given for a signer whose key is not at a remote provider.
    #[error("the key of signer {0} is not at a remote signing provider; it needs no confirmation")]
    NotRemote(String),
    /// The signer's token refused or failed (wrong PIN, locked, absent, no such key).
    #[error("token of signer {signer}: {source}")]
    Token {
        signer: String,
        #[source]
        source: TokenError,
    },
    /// The keystore directory could not be read.
    #[error("keystore {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A signing key file as stored.
#[derive(Debug, Serialize, Deserialize)]
struct SealedKey {
    /// [`FORMAT`].
    format: String,
    /// The signer the key belongs to (bound into the password too).
    signer_id: String,
    /// How the PIN is stretched.
    stretch: Stretch,
    /// The Argon2id salt, hex.
    salt: String,
    /// The encrypted PKCS#8 key, PEM.
    key: String,
}

/// The key-file password for one signer and stretched PIN.
fn password(kek: &Kek, signer_id: &str, stretched: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let secret = kek.derive("signq-signing-key", &[signer_id.as_bytes(), stretched]);
    Zeroizing::new(hex::encode(secret.as_ref()).into_bytes())
}

/// Checks the form of a PIN: 6 to 12 decimal digits.
pub fn check_pin(pin: &str) -> Result<(), KeystoreError> {
    pin::check(pin).map_err(KeystoreError::from)
}

/// A reference to a signer's key on a token, as stored.
#[derive(Debug, Serialize, Deserialize)]
struct TokenRef {
    /// [`TOKEN_FORMAT`].
    format: String,
    /// The signer the key belongs to.
    signer_id: String,
    /// Where the key is.
    key: TokenKey,
}

/// Where a signer's key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A key file sealed under the PIN and the service's KEK.
    File,
    /// A PKCS#11 token or HSM.
    Token(TokenKey),
    /// A remote signing provider.
    Remote(RemoteKey),
}

/// A signer's key, opened with the PIN for one batch.
#[derive(Debug)]
pub enum Unlocked {
    /// A key file's or a token's key, ready to sign.
    Key(Box<CmsSigner>),
    /// A remote key: the PIN was right; the person confirms each batch in their signing app.
    Remote {
        /// Where the key is.
        key: RemoteKey,
        /// The signer's certificate, DER.
        cert_der: Vec<u8>,
        /// The CA chain included in every signature.
        chain: Vec<Vec<u8>>,
    },
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
    /// Where the key lives.
    pub backend: Backend,
    /// For a certificate of an outside CA: the CA chain its signatures carry (the ward CA's
    /// otherwise).
    pub outside_chain: Option<Vec<Vec<u8>>>,
    /// The directory and file-name stem of the key and certificate files.
    stem: PathBuf,
    /// When the certificate file was written, as read: a renewal (a new certificate and key for
    /// the same signer) changes it, and the entry is read again.
    written: Option<std::time::SystemTime>,
}

impl SignerEntry {
    fn key_path(&self) -> PathBuf {
        self.file(".key.json")
    }
    fn token_path(&self) -> PathBuf {
        self.file(".token.json")
    }
    fn remote_path(&self) -> PathBuf {
        self.file(".remote.json")
    }
    fn registration_path(&self) -> PathBuf {
        self.file(".identity.json")
    }
    /// Removes the signer's key files other than `keep` (a new back end replaces the old).
    fn remove_others(&self, keep: &Path) -> Result<(), KeystoreError> {
        for path in [self.key_path(), self.token_path(), self.remote_path()] {
            if path != keep && path.exists() {
                std::fs::remove_file(&path).map_err(|source| KeystoreError::Io { path, source })?;
            }
        }
        Ok(())
    }
    fn cert_path(&self) -> PathBuf {
        self.file(".crt.pem")
    }
    /// When the certificate file was last written.
    fn cert_written(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.cert_path())
            .and_then(|m| m.modified())
            .ok()
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
    kek: Arc<Kek>,
    chain: Vec<Vec<u8>>,
    /// The Argon2id parameters new (and re-sealed) key files get.
    stretch: Stretch,
    /// PINs stretched recently.
    recent: recent::Recent,
    entries: RwLock<BTreeMap<String, SignerEntry>>,
}

impl Keystore {
    /// Opens the keystore in `dir` (created if missing). `chain` is the CA certificate chain (DER)
    /// included in every signature.
    pub fn open(dir: &Path, kek: Arc<Kek>, chain: Vec<Vec<u8>>) -> Result<Keystore, KeystoreError> {
        std::fs::create_dir_all(dir).map_err(|source| KeystoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = Keystore {
            dir: dir.to_path_buf(),
            kek,
            chain,
            stretch: Stretch::CURRENT,
            recent: recent::Recent::new(recent::DEFAULT_TTL),
            entries: RwLock::new(BTreeMap::new()),
        };
        store.rescan()?;
        Ok(store)
    }

    /// The same keystore, keeping stretched PINs for `ttl` (zero: stretching every PIN anew;
    /// see [`recent`]).
    pub fn reusing_pins_for(mut self, ttl: std::time::Duration) -> Keystore {
        self.recent = recent::Recent::new(ttl);
        self
    }

    /// Encrypts and stores a signer's key under its PIN, with its certificate.
    pub fn install(
        &self,
        cert_der: &[u8],
        key_pkcs8: &[u8],
        pin: &str,
    ) -> Result<SignerEntry, KeystoreError> {
        self.install_registered(cert_der, None, key_pkcs8, pin)
    }

    /// As [`Keystore::install`], for a certificate of an outside CA with its `registration`
    /// (none for a certificate of the ward CA).
    pub fn install_registered(
        &self,
        cert_der: &[u8],
        registration: Option<&Registration>,
        key_pkcs8: &[u8],
        pin: &str,
    ) -> Result<SignerEntry, KeystoreError> {
        check_pin(pin)?;
        let mut entry = self.entry_for(cert_der, registration)?;
        // Refuse a key that does not belong to the certificate before anything is written.
        CmsSigner::new(key_pkcs8, cert_der.to_vec(), Vec::new()).map_err(|source| {
            KeystoreError::Key {
                signer: entry.signer_id.clone(),
                source,
            }
        })?;
        self.seal(&entry, key_pkcs8, pin, self.stretch)?;
        self.write_certificate(&entry, registration)?;
        // A key file replaces a token or remote key the signer had.
        entry.remove_others(&entry.key_path())?;
        entry.written = entry.cert_written();
        self.write_entries()
            .insert(entry.signer_id.clone(), entry.clone());
        Ok(entry)
    }

    /// Registers a signer whose key is on a token (see [`pkcs11`]), with its certificate (an
    /// outside CA's with its `registration`); the key must be the certificate's. Replaces a key
    /// file the signer had.
    pub fn install_token(
        &self,
        cert_der: &[u8],
        registration: Option<&Registration>,
        key: TokenKey,
        pin: &str,
    ) -> Result<SignerEntry, KeystoreError> {
        let mut entry = self.entry_for(cert_der, registration)?;
        let token = |source| KeystoreError::Token {
            signer: entry.signer_id.clone(),
            source,
        };
        // The key on the token must be the certificate's before anything is written.
        let unlocked = pkcs11::unlock(&key, pin).map_err(token)?;
        CmsSigner::with_key(Box::new(unlocked), cert_der.to_vec(), Vec::new()).map_err(
            |source| KeystoreError::Key {
                signer: entry.signer_id.clone(),
                source,
            },
        )?;
        let reference = TokenRef {
            format: TOKEN_FORMAT.to_string(),
            signer_id: entry.signer_id.clone(),
            key: key.clone(),
        };
        let json = serde_json::to_vec_pretty(&reference).map_err(|e| KeystoreError::Format {
            path: entry.token_path(),
            reason: e.to_string(),
        })?;
        keyfile::write_private(&entry.token_path(), &json)?;
        self.write_certificate(&entry, registration)?;
        entry.remove_others(&entry.token_path())?;
        entry.backend = Backend::Token(key);
        entry.written = entry.cert_written();
        self.write_entries()
            .insert(entry.signer_id.clone(), entry.clone());
        Ok(entry)
    }

    /// Registers a signer whose key is at a remote provider, with its certificate (of the
    /// credential's key) and the PIN they will approve batches with. Replaces a key file or token
    /// the signer had.
    pub fn install_remote(
        &self,
        cert_der: &[u8],
        registration: Option<&Registration>,
        key: RemoteKey,
        pin: &str,
    ) -> Result<SignerEntry, KeystoreError> {
        check_pin(pin)?;
        let mut entry = self.entry_for(cert_der, registration)?;
        RemoteRef::new(&self.kek, &entry.signer_id, key.clone(), pin, self.stretch)?
            .write(&entry.remote_path())?;
        self.write_certificate(&entry, registration)?;
        entry.remove_others(&entry.remote_path())?;
        entry.backend = Backend::Remote(key);
        entry.written = entry.cert_written();
        self.write_entries()
            .insert(entry.signer_id.clone(), entry.clone());
        Ok(entry)
    }

    /// Writes the signer's certificate, and for an outside CA's its registration (removing one
    /// a ward certificate no longer needs): the registration first, so that a certificate is
    /// never read without it.
    fn write_certificate(
        &self,
        entry: &SignerEntry,
        registration: Option<&Registration>,
    ) -> Result<(), KeystoreError> {
        match registration {
            Some(registration) => registration.write(&entry.registration_path())?,
            None if entry.registration_path().exists() => {
                std::fs::remove_file(entry.registration_path()).map_err(|source| {
                    KeystoreError::Io {
                        path: entry.registration_path(),
                        source,
                    }
                })?
            }
            None => {}
        }
        keyfile::write_private(&entry.cert_path(), pem_cert(&entry.cert_der).as_bytes())?;
        Ok(())
    }

    /// The CA chain `entry`'s signatures carry: an outside CA's, or the ward CA's.
    fn chain_of(&self, entry: &SignerEntry) -> Vec<Vec<u8>> {
        entry
            .outside_chain
            .clone()
            .unwrap_or_else(|| self.chain.clone())
    }

    /// The signer's entry, rescanning the directory once if it is not known yet or its
    /// certificate was renewed since it was read (so a renewal needs no restart).
    pub fn get(&self, signer_id: &str) -> Result<SignerEntry, KeystoreError> {
        if let Some(entry) = self.read_entries().get(signer_id)
            && entry.written == entry.cert_written()
        {
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

    /// Unlocks the signer's key with the PIN into a signer for one batch; refuses a remote key
    /// (see [`Keystore::open_key`]).
    pub fn unlock(&self, signer_id: &str, pin: &str) -> Result<CmsSigner, KeystoreError> {
        match self.open_key(signer_id, pin)? {
            Unlocked::Key(signer) => Ok(*signer),
            Unlocked::Remote { .. } => Err(KeystoreError::Remote(signer_id.to_string())),
        }
    }

    /// The remote key of `signer_id`, without the PIN: only to complete a batch whose
    /// confirmation its person gave (the PIN was checked when it was asked for).
    pub fn remote(&self, signer_id: &str) -> Result<Unlocked, KeystoreError> {
        let entry = self.get(signer_id)?;
        let chain = self.chain_of(&entry);
        match entry.backend {
            Backend::Remote(key) => Ok(Unlocked::Remote {
                key,
                cert_der: entry.cert_der,
                chain,
            }),
            _ => Err(KeystoreError::NotRemote(signer_id.to_string())),
        }
    }

    /// Opens the signer's key with the PIN for one batch: a token's by its own login, a key file
    /// by decrypting it, a remote key by checking the PIN. A key file sealed with weaker
    /// stretching than the keystore's is sealed again with the current parameters.
    pub fn open_key(&self, signer_id: &str, pin: &str) -> Result<Unlocked, KeystoreError> {
        let entry = self.get(signer_id)?;
        if let Backend::Remote(key) = &entry.backend {
            check_pin(pin)?;
            let reference = RemoteRef::read(&entry.remote_path(), signer_id)?;
            if !reference.pin_matches(&self.kek, pin)? {
                return Err(KeystoreError::WrongPin(signer_id.to_string()));
            }
            return Ok(Unlocked::Remote {
                key: key.clone(),
                cert_der: entry.cert_der.clone(),
                chain: self.chain_of(&entry),
            });
        }
        if let Backend::Token(key) = &entry.backend {
            check_pin(pin)?;
            let unlocked = pkcs11::unlock(key, pin).map_err(|source| KeystoreError::Token {
                signer: signer_id.to_string(),
                source,
            })?;
            return CmsSigner::with_key(
                Box::new(unlocked),
                entry.cert_der.clone(),
                self.chain_of(&entry),
            )
            .map(|signer| Unlocked::Key(Box::new(signer)))
            .map_err(|source| KeystoreError::Key {
                signer: signer_id.to_string(),
                source,
            });
        }
        let path = entry.key_path();
        let sealed = read_sealed(&path)?;
        if sealed.signer_id != signer_id {
            return Err(KeystoreError::Format {
                path,
                reason: format!("sealed for {:?}", sealed.signer_id),
            });
        }
        let salt = hex::decode(&sealed.salt).map_err(|_| KeystoreError::Format {
            path: path.clone(),
            reason: "salt is not hex".into(),
        })?;
        let recent = self.recent.get(signer_id, pin, &salt, sealed.stretch);
        let fresh = recent.is_none();
        let stretched = match recent {
            Some(stretched) => stretched,
            None => sealed
                .stretch
                .apply(pin, &salt)
                .map_err(|source| KeystoreError::Stretch {
                    signer: signer_id.to_string(),
                    source,
                })?,
        };
        let password = password(&self.kek, signer_id, &stretched);
        let key = keyfile::decrypt_pem(&sealed.key, &password, &path).map_err(|e| match e {
            KeyFileError::WrongPassword { .. } => KeystoreError::WrongPin(signer_id.to_string()),
            other => KeystoreError::KeyFile(other),
        })?;
        if fresh {
            // The PIN opened the key: the next batches within the lifetime skip the stretching.
            self.recent
                .put(signer_id, pin, &salt, sealed.stretch, &stretched);
        }
        let signer = CmsSigner::new(&key, entry.cert_der.clone(), self.chain_of(&entry)).map_err(
            |source| KeystoreError::Key {
                signer: signer_id.to_string(),
                source,
            },
        )?;
        if sealed.stretch.weaker_than(&self.stretch) {
            match self.seal(&entry, &key, pin, self.stretch) {
                Ok(()) => {
                    tracing::info!(signer = %signer_id, "signing key sealed again with stronger PIN stretching")
                }
                Err(error) => {
                    tracing::warn!(signer = %signer_id, %error, "could not seal the signing key again; it keeps its old stretching")
                }
            }
        }
        Ok(Unlocked::Key(Box::new(signer)))
    }

    /// Seals `key_pkcs8` under the KEK and the PIN stretched with `stretch` and a fresh salt,
    /// replacing the key file atomically.
    fn seal(
        &self,
        entry: &SignerEntry,
        key_pkcs8: &[u8],
        pin: &str,
        stretch: Stretch,
    ) -> Result<(), KeystoreError> {
        let mut salt = [0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let stretched = stretch
            .apply(pin, &salt)
            .map_err(|source| KeystoreError::Stretch {
                signer: entry.signer_id.clone(),
                source,
            })?;
        let password = password(&self.kek, &entry.signer_id, &stretched);
        let sealed = SealedKey {
            format: FORMAT.to_string(),
            signer_id: entry.signer_id.clone(),
            stretch,
            salt: hex::encode(salt),
            key: keyfile::encrypt_pem(key_pkcs8, &password, INNER_ITERATIONS)?,
        };
        let json = serde_json::to_vec_pretty(&sealed).map_err(|e| KeystoreError::Format {
            path: entry.key_path(),
            reason: e.to_string(),
        })?;
        keyfile::write_private(&entry.key_path(), &json)?;
        Ok(())
    }

    /// The entry of the certificate `cert_der`: who it names (a ward certificate), or who its
    /// `registration` says (an outside CA's, which names none of signq's identity).
    fn entry_for(
        &self,
        cert_der: &[u8],
        registration: Option<&Registration>,
    ) -> Result<SignerEntry, KeystoreError> {
        let bad = |why: &str| KeystoreError::NotASigningCertificate(why.to_string());
        let identity = PeerIdentity::from_der(cert_der).map_err(|e| bad(&e.to_string()))?;
        let (signer_id, display_name, ward, role, outside_chain) = match registration {
            Some(r) => {
                if identity.signer_id.is_some() {
                    return Err(bad(
                        "it names a signq signer itself (a ward certificate): register it \
                         without a registration",
                    ));
                }
                if !r.role.is_signer() {
                    return Err(bad("the registration's role is not a signer's"));
                }
                (
                    r.signer_id.clone(),
                    r.display_name.clone(),
                    r.ward.clone(),
                    r.role,
                    Some(r.chain.clone()),
                )
            }
            None => {
                let role = identity
                    .roles
                    .iter()
                    .copied()
                    .find(|r| r.is_signer())
                    .ok_or_else(|| bad("no director or deputy role"))?;
                let ward = identity
                    .ward()
                    .map(str::to_string)
                    .ok_or_else(|| bad("no ward, or more than one"))?;
                let signer_id = identity.signer_id.ok_or_else(|| {
                    bad("no signer id (a certificate of an outside CA needs a registration)")
                })?;
                (signer_id, identity.common_name, ward, role, None)
            }
        };
        if signer_id.is_empty() || signer_id.contains("..") || signer_id.contains(['\\', '\0']) {
            return Err(bad("signer id is not usable as a file name"));
        }
        let stem = self.dir.join(signer_id.replace('/', "_"));
        let mut entry = SignerEntry {
            signer_id,
            display_name,
            ward,
            role,
            cert_der: cert_der.to_vec(),
            backend: Backend::File,
            outside_chain,
            written: None,
            stem,
        };
        entry.written = entry.cert_written();
        Ok(entry)
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
            // An outside CA's certificate is read with its registration.
            let registration_path = path.with_file_name(name.replace(".crt.pem", ".identity.json"));
            let registration = if registration_path.exists() {
                match Registration::read(&registration_path) {
                    Ok(r) => Some(r),
                    Err(error) => {
                        tracing::warn!(%error, "skipped");
                        continue;
                    }
                }
            } else {
                None
            };
            match self.entry_for(&der, registration.as_ref()) {
                Ok(entry) if entry.cert_path() != path => {
                    tracing::warn!(path = %path.display(), signer = %entry.signer_id, "named for another signer; skipped")
                }
                Ok(entry) if entry.key_path().exists() => {
                    found.insert(entry.signer_id.clone(), entry);
                }
                Ok(mut entry) if entry.token_path().exists() => match read_token(&entry) {
                    Ok(key) => {
                        entry.backend = Backend::Token(key);
                        found.insert(entry.signer_id.clone(), entry);
                    }
                    Err(error) => tracing::warn!(%error, "skipped"),
                },
                Ok(mut entry) if entry.remote_path().exists() => {
                    match RemoteRef::read(&entry.remote_path(), &entry.signer_id) {
                        Ok(reference) => {
                            entry.backend = Backend::Remote(reference.key);
                            found.insert(entry.signer_id.clone(), entry);
                        }
                        Err(error) => tracing::warn!(%error, "skipped"),
                    }
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

/// Reads a key file; anything but a signq signing key file is refused with what is wrong.
fn read_sealed(path: &Path) -> Result<SealedKey, KeystoreError> {
    read_tagged(path, FORMAT, None, |s: &SealedKey| (&s.format, None))
}

/// Reads a signer's token reference; anything else is refused with what is wrong.
fn read_token(entry: &SignerEntry) -> Result<TokenKey, KeystoreError> {
    let reference = read_tagged(
        &entry.token_path(),
        TOKEN_FORMAT,
        Some(&entry.signer_id),
        |r: &TokenRef| (&r.format, Some(&r.signer_id)),
    )?;
    Ok(reference.key)
}

/// Reads a keystore file (JSON) whose format tag must be `format` and, for a file made for one
/// signer, whose signer must be `signer`; `tags` gives a value's format tag and signer. Anything
/// else is refused with what is wrong.
pub(super) fn read_tagged<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
    signer: Option<&str>,
    tags: impl for<'a> Fn(&'a T) -> (&'a str, Option<&'a str>),
) -> Result<T, KeystoreError> {
    let bad = |reason: String| KeystoreError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| KeystoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: T = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let (found, named) = tags(&value);
    if found != format {
        return Err(bad(format!("format {found:?}, expected {format:?}")));
    }
    if let (Some(named), Some(expected)) = (named, signer)
        && named != expected
    {
        return Err(bad(format!("made for {named:?}")));
    }
    Ok(value)
}

fn pem_to_cert(pem: &[u8]) -> Option<Vec<u8>> {
    let (label, der) = der::pem::decode_vec(pem).ok()?;
    (label == "CERTIFICATE").then_some(der)
}

fn pem_cert(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Pki, SignerSpec, Validity, WardInfo};

    const WEAK: Stretch = Stretch {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    /// A keystore with one deputy's key sealed under `stretch`, and its directory.
    fn keystore(stretch: Stretch) -> (tempfile::TempDir, Keystore, [u8; 32]) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ward = WardInfo {
            id: "w".into(),
            name: "Phường W".into(),
        };
        let pki = Pki::init(
            &dir.path().join("ca"),
            &ward,
            b"pass",
            Validity::days_from_now(30),
        )
        .expect("pki");
        let spec = SignerSpec {
            signer_id: "w/deputy".into(),
            display_name: "Phó Giám Đốc".into(),
            role: Role::Deputy,
            ward,
        };
        let (issued, key) = pki
            .issue_signer(&spec, Validity::days_from_now(30))
            .expect("issue");
        let kek = [7u8; 32];
        let mut store = Keystore::open(
            &dir.path().join("keys"),
            Arc::new(Kek::from_bytes(kek)),
            Vec::new(),
        )
        .expect("open");
        store.stretch = stretch;
        store
            .install(&issued.cert_der, &key, "135790")
            .expect("install");
        (dir, store, kek)
    }

    fn sealed(dir: &tempfile::TempDir) -> SealedKey {
        read_sealed(&dir.path().join("keys").join("w_deputy.key.json")).expect("read")
    }

    #[test]
    fn the_right_pin_opens_the_key_and_a_wrong_one_does_not() {
        let (dir, store, kek) = keystore(Stretch::CURRENT);
        assert!(store.unlock("w/deputy", "135790").is_ok());
        assert!(matches!(
            store.unlock("w/deputy", "135791"),
            Err(KeystoreError::WrongPin(_))
        ));
        assert!(matches!(
            store.unlock("w/nobody", "135790"),
            Err(KeystoreError::UnknownSigner(_))
        ));
        // The same file with another KEK opens with no PIN.
        let other = Keystore::open(
            &dir.path().join("keys"),
            Arc::new(Kek::from_bytes([8u8; 32])),
            Vec::new(),
        )
        .expect("open");
        assert!(matches!(
            other.unlock("w/deputy", "135790"),
            Err(KeystoreError::WrongPin(_))
        ));
        let again = Keystore::open(
            &dir.path().join("keys"),
            Arc::new(Kek::from_bytes(kek)),
            Vec::new(),
        )
        .expect("open");
        assert!(again.unlock("w/deputy", "135790").is_ok());
        let file = sealed(&dir);
        assert_eq!(file.stretch, Stretch::CURRENT);
        assert!(
            file.key
                .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        );
    }

    #[test]
    fn weaker_stretching_is_replaced_when_the_pin_opens_the_key() {
        let (dir, mut store, _) = keystore(WEAK);
        assert_eq!(sealed(&dir).stretch, WEAK);
        store.stretch = Stretch::CURRENT;
        assert!(store.unlock("w/deputy", "000000").is_err());
        assert_eq!(sealed(&dir).stretch, WEAK, "a wrong PIN changes nothing");
        assert!(store.unlock("w/deputy", "135790").is_ok());
        assert_eq!(sealed(&dir).stretch, Stretch::CURRENT);
        assert!(store.unlock("w/deputy", "135790").is_ok());
    }

    #[test]
    fn a_remote_key_is_opened_by_its_pin_alone_and_replaces_the_key_file() {
        let (dir, store, _) = keystore(WEAK);
        let cert = store.get("w/deputy").expect("entry").cert_der;
        let key = RemoteKey {
            provider: "csc".into(),
            credential_id: "cred-1".into(),
        };
        store
            .install_remote(&cert, None, key.clone(), "246810")
            .expect("install");
        let keys = dir.path().join("keys");
        assert!(keys.join("w_deputy.remote.json").exists());
        assert!(
            !keys.join("w_deputy.key.json").exists(),
            "the key file is gone"
        );
        let text = std::fs::read_to_string(keys.join("w_deputy.remote.json")).expect("read");
        assert!(!text.contains("246810"), "the PIN is not stored");
        // Read afresh, as the signing service does.
        let again =
            Keystore::open(&keys, Arc::new(Kek::from_bytes([7u8; 32])), Vec::new()).expect("open");
        assert_eq!(
            again.get("w/deputy").expect("entry").backend,
            Backend::Remote(key.clone())
        );
        assert!(matches!(
            again.open_key("w/deputy", "246810"),
            Ok(Unlocked::Remote { key: k, .. }) if k == key
        ));
        assert!(matches!(
            again.open_key("w/deputy", "246811"),
            Err(KeystoreError::WrongPin(_))
        ));
        assert!(matches!(
            again.unlock("w/deputy", "246810"),
            Err(KeystoreError::Remote(_))
        ));
        assert!(matches!(
            again.remote("w/deputy"),
            Ok(Unlocked::Remote { .. })
        ));
    }

    #[test]
    fn a_pin_of_the_wrong_form_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Keystore::open(dir.path(), Arc::new(Kek::from_bytes([1u8; 32])), Vec::new())
            .expect("open");
        assert!(matches!(
            store.install(b"not a certificate", b"", "12"),
            Err(KeystoreError::BadPin(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }
}
